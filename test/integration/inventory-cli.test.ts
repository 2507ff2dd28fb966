/**
 * `s3-campaigns manifest` as a subprocess: a local inventory to a local directory, an S3 inventory (newest report) to
 * S3 through moto, and the exit code and message of a filter the inventory cannot answer.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { GetObjectCommand } from '@aws-sdk/client-s3';

import type { ManifestSummary } from '../../src/inventory';
import { stackEndpoints, withBucket } from '../helpers';
import { uploadInventory, writeInventoryDir, type InventoryRow } from '../inventory-fixtures';
import { runCli as cli } from '../support/cli';

const ROWS: InventoryRow[] = [
  { Bucket: 'src', Key: 'logs/2019/a b.gz', Size: 2_000_000, StorageClass: 'GLACIER' },
  { Bucket: 'src', Key: 'logs/2019/small.gz', Size: 10, StorageClass: 'DEEP_ARCHIVE' },
  { Bucket: 'src', Key: 'logs/2020/c.gz', Size: 3_000_000, StorageClass: 'GLACIER' },
  { Bucket: 'src', Key: 'logs/2019/d.gz', Size: 4_000_000, StorageClass: 'STANDARD' },
];

describe('s3-campaigns manifest', () => {
  test('filters a local inventory into a local directory and prints the summary', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-cli-inv-'));
    try {
      const inventory = await writeInventoryDir(dir, {
        schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
        files: [ROWS.slice(0, 2), ROWS.slice(2)],
      });
      const out = path.join(dir, 'out');
      const res = await cli([
        'manifest',
        '--inventory',
        inventory,
        '--prefix',
        'logs/2019/',
        '--storage-class',
        'glacier,DEEP_ARCHIVE',
        '--min-size',
        '1MB',
        '--out',
        out,
      ]);
      expect(res.stderr).not.toMatch(/error/i);
      expect(res.code).toBe(0);
      const summary = JSON.parse(res.stdout) as ManifestSummary;
      expect(summary).toMatchObject({
        rowsScanned: 4,
        rowsSelected: 1,
        shards: [{ key: path.join(out, 'manifest-00001.csv'), rows: 1 }],
        sampleKeys: ['logs/2019/a b.gz'],
        bytesByStorageClass: { GLACIER: 2_000_000 },
      });
      expect(readFileSync(path.join(out, 'manifest-00001.csv'), 'utf-8')).toBe('src,logs/2019/a+b.gz\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('reads the newest report under an S3 destination prefix and writes manifests to S3', async () => {
    await withBucket(async (bucket, s3) => {
      const inv = await uploadInventory(s3, bucket, {
        schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
        files: [ROWS],
      });
      const e = stackEndpoints();
      const res = await cli(
        [
          'manifest',
          '--inventory',
          `s3://${bucket}/${inv.reportsPrefix}`,
          '--storage-class',
          'GLACIER',
          '--out',
          `s3://${bucket}/cli-out`,
        ],
        {
          AWS_REGION: e.region,
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
          S3C_S3_ENDPOINT: e.s3Endpoint,
        },
      );
      expect(res.code).toBe(0);
      const summary = JSON.parse(res.stdout) as ManifestSummary;
      expect(summary.output).toEqual({ bucket, prefix: 'cli-out' });
      const body = await (
        await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cli-out/manifest-00001.csv' }))
      ).Body!.transformToString();
      expect(body).toBe('src,logs/2019/a+b.gz\nsrc,logs/2020/c.gz\n');
    });
  });

  test('a filter on a field the inventory lacks exits 2 naming the field', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-cli-inv-'));
    try {
      const inventory = await writeInventoryDir(dir, {
        schema: ['Bucket', 'Key'],
        files: [[{ Bucket: 'b', Key: 'k' }]],
      });
      const res = await cli(['manifest', '--inventory', inventory, '--latest-only', '--out', path.join(dir, 'out')]);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/latestOnly needs the field IsLatest/);
      expect(res.stdout).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
