/**
 * The manifest reader against real S3 (moto): CSV manifests with awkward keys, ETag and missing-object failures, and
 * S3 Inventory reports with gzip data files and MD5 checks.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { encodeManifestKey, readJobManifest } from '../../src/local-batch/manifest-reader';
import { JobFailure, type JobManifest } from '../../src/local-batch/types';
import { withBucket } from '../helpers';
import { putCsvManifest } from '../support/data-plane';

async function failureOf(p: Promise<unknown>): Promise<JobFailure> {
  try {
    await p;
  } catch (err) {
    if (err instanceof JobFailure) return err;
    throw err;
  }
  throw new Error('expected a JobFailure');
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('CSV manifests read from S3', () => {
  test('awkward keys decode, raw keys are kept, versions pass through, the manifest key itself may be awkward', () =>
    withBucket(async (bucket, s3) => {
      const keys = ['a b.txt', 'c+d.txt', 'e,f.txt', 'g"h".txt', 'ü/ñ/日本.txt', '100%.txt', 'line\nbreak'];
      const body = keys.map((k, i) => `${bucket},${encodeManifestKey(k)},v${i}`).join('\r\n') + '\r\n';
      const manifest = await putCsvManifest(s3, bucket, 'manifests/my manifest+1.csv', body, [
        'Bucket',
        'Key',
        'VersionId',
      ]);
      const tasks = await readJobManifest(s3, manifest);
      expect(tasks.map((t) => t.key)).toEqual(keys);
      expect(tasks.map((t) => t.rawKey)).toEqual(keys.map(encodeManifestKey));
      expect(tasks.map((t) => t.versionId)).toEqual(keys.map((_, i) => `v${i}`));
      expect(tasks.map((t) => t.index)).toEqual(keys.map((_, i) => i));
    }));

  test('a quoted ETag in the job spec matches too', () =>
    withBucket(async (bucket, s3) => {
      const manifest = await putCsvManifest(s3, bucket, 'm.csv', `${bucket},k\n`);
      manifest.Location.ETag = `"${manifest.Location.ETag}"`;
      expect(await readJobManifest(s3, manifest)).toHaveLength(1);
    }));

  test('an ETag mismatch fails the job, naming the object and both ETags', () =>
    withBucket(async (bucket, s3) => {
      const manifest = await putCsvManifest(s3, bucket, 'm.csv', `${bucket},k\n`);
      const actual = manifest.Location.ETag;
      manifest.Location.ETag = '0123456789abcdef0123456789abcdef';
      const f = await failureOf(readJobManifest(s3, manifest));
      expect(f.failureCode).toBe('ManifestETagMismatch');
      expect(f.failureReason).toContain(`s3://${bucket}/m.csv`);
      expect(f.failureReason).toContain(actual);
      expect(f.failureReason).toContain('0123456789abcdef0123456789abcdef');
    }));

  test('a missing manifest object or bucket fails the job with a reason naming it', () =>
    withBucket(async (bucket, s3) => {
      const missing: JobManifest = {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ObjectArn: `arn:aws:s3:::${bucket}/nope.csv`, ETag: 'x' },
      };
      const f = await failureOf(readJobManifest(s3, missing));
      expect(f.failureCode).toBe('ManifestNotFound');
      expect(f.failureReason).toBe(
        `Reading the manifest failed: 404 Not Found (NoSuchKey) for s3://${bucket}/nope.csv`,
      );
      const noBucket = { ...missing, Location: { ObjectArn: `arn:aws:s3:::${bucket}-gone/m.csv`, ETag: 'x' } };
      expect((await failureOf(readJobManifest(s3, noBucket))).failureReason).toContain('NoSuchBucket');
    }));

  test('an invalid row fails the job naming the manifest and the line', () =>
    withBucket(async (bucket, s3) => {
      const manifest = await putCsvManifest(s3, bucket, 'm.csv', `${bucket},ok\n${bucket},bad,extra\n`);
      const f = await failureOf(readJobManifest(s3, manifest));
      expect(f.failureCode).toBe('InvalidManifest');
      expect(f.failureReason).toMatch(new RegExp(`Manifest s3://${bucket}/m\\.csv line 2 has 3 fields`));
    }));
});

/** Writes an inventory (manifest.json + gzip CSV data files) in the S3 Inventory delivery layout. */
async function putInventory(
  s3: S3Client,
  bucket: string,
  opts: { fileSchema: string; files: string[][]; tamper?: boolean; fileFormat?: string },
): Promise<JobManifest> {
  const base = `inv/${bucket}/cfg/2026-11-01T01-00Z`;
  const files = [];
  for (const [i, rows] of opts.files.entries()) {
    const gz = gzipSync(Buffer.from(rows.join('\n') + '\n'));
    const key = `inv/${bucket}/cfg/data/file-${i}.csv.gz`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: gz }));
    files.push({ key, size: gz.length, MD5checksum: opts.tamper && i === 1 ? md5(Buffer.from('other')) : md5(gz) });
  }
  const manifestJson = JSON.stringify({
    sourceBucket: bucket,
    destinationBucket: `arn:aws:s3:::${bucket}`,
    version: '2016-11-30',
    creationTimestamp: '1793581200000',
    fileFormat: opts.fileFormat ?? 'CSV',
    fileSchema: opts.fileSchema,
    files,
  });
  const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${base}/manifest.json`, Body: manifestJson }));
  return {
    Spec: { Format: 'S3InventoryReport_CSV_20161130' },
    Location: { ObjectArn: `arn:aws:s3:::${bucket}/${base}/manifest.json`, ETag: out.ETag!.replace(/"/g, '') },
  };
}

describe('S3 Inventory manifests', () => {
  const q = (...v: string[]) => v.map((x) => `"${x}"`).join(',');

  test('every gzip data file is read, columns by fileSchema, versions kept (empty ones too)', () =>
    withBucket(async (bucket, s3) => {
      const manifest = await putInventory(s3, bucket, {
        fileSchema: 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, StorageClass',
        files: [
          [
            q(bucket, 'a%20b.txt', 'v1', 'true', 'false', '3', 'GLACIER'),
            q(bucket, 'c%2Cd', 'v2', 'true', 'false', '5', 'STANDARD'),
          ],
          [q(bucket, 'null-version.txt', '', 'true', 'false', '1', 'DEEP_ARCHIVE')],
        ],
      });
      const tasks = await readJobManifest(s3, manifest);
      expect(tasks).toEqual([
        { index: 0, bucket, key: 'a b.txt', rawKey: 'a%20b.txt', versionId: 'v1' },
        { index: 1, bucket, key: 'c,d', rawKey: 'c%2Cd', versionId: 'v2' },
        { index: 2, bucket, key: 'null-version.txt', rawKey: 'null-version.txt', versionId: '' },
      ]);
    }));

  test('a current-versions inventory with another column order gives tasks without versions', () =>
    withBucket(async (bucket, s3) => {
      const manifest = await putInventory(s3, bucket, {
        fileSchema: 'Bucket, Key, Size, LastModifiedDate, ETag, StorageClass',
        files: [[q(bucket, 'k1', '0', '2024-04-12T06:45:57.000Z', 'd41d8cd98f00b204e9800998ecf8427e', 'STANDARD')]],
      });
      expect(await readJobManifest(s3, manifest)).toEqual([{ index: 0, bucket, key: 'k1', rawKey: 'k1' }]);
    }));

  test('a data file whose MD5 differs from manifest.json fails the job naming the file', () =>
    withBucket(async (bucket, s3) => {
      const manifest = await putInventory(s3, bucket, {
        fileSchema: 'Bucket, Key',
        files: [[q(bucket, 'k1')], [q(bucket, 'k2')]],
        tamper: true,
      });
      const f = await failureOf(readJobManifest(s3, manifest));
      expect(f.failureCode).toBe('ManifestChecksumMismatch');
      expect(f.failureReason).toContain(`s3://${bucket}/inv/${bucket}/cfg/data/file-1.csv.gz has MD5`);
    }));

  test('a Parquet inventory is refused', () =>
    withBucket(async (bucket, s3) => {
      const manifest = await putInventory(s3, bucket, {
        fileSchema: 'message s3.inventory {}',
        files: [],
        fileFormat: 'Parquet',
      });
      const f = await failureOf(readJobManifest(s3, manifest));
      expect(f.failureCode).toBe('UnsupportedManifestFormat');
    }));
});
