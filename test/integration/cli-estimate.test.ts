/**
 * `s3-campaigns estimate` as a subprocess against the test run's moto: the preview's counts and bytes and the
 * estimate's total for inventory, csv and keys sources, the price override, and the exit codes of bad input.
 * Hand computations are next to the expected totals (shipped us-east-1 prices; 1 GB = 2^30 bytes; month = 30 days).
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';

import type { EstimateOutput } from '../../src/cli/estimate';
import { writeInventoryReport } from '../../src/demo/inventory-writer';
import shippedPrices from '../../src/cost/prices-us-east-1.json';
import { withBucket } from '../helpers';
import { localAwsEnv, runCli } from '../support/cli';

const GiB = 2 ** 30;
const TiB = 2 ** 40;
const when = new Date('2026-11-20T10:00:00Z');

/** 7 inventory rows; the filter below keeps the 5 archived ones under logs/2019/. */
const ROWS = [
  { key: 'logs/2019/a.gz', size: TiB, lastModified: when, storageClass: 'GLACIER' },
  { key: 'logs/2019/b.gz', size: TiB, lastModified: when, storageClass: 'GLACIER' },
  { key: 'logs/2019/c.gz', size: TiB, lastModified: when, storageClass: 'GLACIER' },
  { key: 'logs/2019/d.gz', size: 512 * GiB, lastModified: when, storageClass: 'DEEP_ARCHIVE' },
  { key: 'logs/2019/e.gz', size: 512 * GiB, lastModified: when, storageClass: 'DEEP_ARCHIVE' },
  { key: 'logs/2020/f.gz', size: GiB, lastModified: when, storageClass: 'GLACIER' },
  { key: 'logs/2019/g.txt', size: 1024, lastModified: when, storageClass: 'STANDARD' },
];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 's3c-cli-estimate-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeSpec(name: string, spec: Record<string, unknown>): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    JSON.stringify({
      name: 'estimate test',
      accountId: '111122223333',
      region: 'us-east-1',
      roleArn: 'arn:aws:iam::111122223333:role/S3BatchOperationsRole',
      ...spec,
    }),
  );
  return file;
}

/** Runs the test with an inventory bucket holding ROWS' report and an empty report bucket. */
async function withInventory(fn: (manifest: string, reportBucket: string) => Promise<void>): Promise<void> {
  await withBucket(
    async (inventoryBucket, s3) => {
      const manifest = await writeInventoryReport({
        s3,
        sourceBucket: 'logs-bucket',
        destinationBucket: inventoryBucket,
        prefix: 'inventory',
        createdAt: when,
        rows: ROWS,
      });
      await withBucket(async (reportBucket) => fn(manifest, reportBucket), { prefix: 'estimate-reports' });
    },
    { prefix: 'estimate-inventory' },
  );
}

const restoreSpec = (manifest: string, reportBucket: string, extra: Record<string, unknown> = {}) => ({
  source: { type: 'inventory', manifest },
  filter: { keyPrefixes: ['logs/2019/'], storageClasses: ['GLACIER', 'DEEP_ARCHIVE'] },
  operation: { type: 'restore', tier: 'BULK', expirationDays: 7 },
  report: { bucket: reportBucket },
  ...extra,
});

test('inventory restore: counts, bytes by class and total printed; no job, nothing written to S3, no temporary files left', async () => {
  await withInventory(async (manifest, reportBucket) => {
    const file = writeSpec('restore.json', restoreSpec(manifest, reportBucket));
    const tmp = mkdtempSync(path.join(dir, 'tmp-'));
    const res = await runCli(['estimate', file], { ...localAwsEnv(), TMPDIR: tmp });
    expect(res.code).toBe(0);
    const out = res.stdout;
    expect(out).toContain(`Campaign "estimate test" (${file}): restore (BULK, 7 days), us-east-1`);
    expect(out).toContain(`  source   ${manifest}`);
    expect(out).toContain('  objects  5 selected of 7 read, in 1 job (at most 10,000,000 objects per job)');
    expect(out).toContain('  bytes    4,398,046,511,104 bytes (4 TiB)');
    expect(out).toContain('           DEEP_ARCHIVE  1,099,511,627,776 bytes (1 TiB), 2 objects');
    expect(out).toContain('           GLACIER       3,298,534,883,328 bytes (3 TiB), 3 objects');
    expect(out).toContain('  No job was created and nothing was written to S3.');
    // jobs 0.25; 5 objects 0.000005 → 0.00; requests GLACIER 3 × $0 and DEEP_ARCHIVE 2 × $0.025/1,000 → 0.00;
    // retrieval GLACIER 3,072 GB × $0 = 0, DEEP_ARCHIVE 1,024 GB × $0.0025 = 2.56; restored copies
    // 4,096 GB × 7/30 = 955.73 GB-month × $0.023 = 21.98. Total 24.79.
    expect(out).toMatch(/Retrieval, DEEP_ARCHIVE BULK +1,024 GB +\$0\.0025 \/ GB \* +\$2\.56/);
    expect(out).toMatch(
      /Restored copies at the STANDARD rate, 7 days \[\d\] +955\.7 GB-months +\$0\.023 \/ GB-month +\$21\.98/,
    );
    expect(out).toMatch(/\n {2}Total +\$24\.79\n/);
    // The five sample keys are the selected ones.
    for (const k of ['a.gz', 'b.gz', 'c.gz', 'd.gz', 'e.gz']) expect(out).toContain(`logs/2019/${k}`);
    expect(out).not.toContain('logs/2020/f.gz');

    await withBucket(async (_b, s3) => {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: reportBucket }));
      expect(listed.KeyCount).toBe(0);
    });
    expect(readdirSync(tmp)).toEqual([]);
  });
});

test('--json with sharding and a --prices override: the numbers scripts read', async () => {
  await withInventory(async (manifest, reportBucket) => {
    const file = writeSpec('restore.json', restoreSpec(manifest, reportBucket, { maxObjectsPerJob: 2 }));
    const prices = path.join(dir, 'prices.json');
    writeFileSync(
      prices,
      JSON.stringify({ ...shippedPrices, batchOperations: { ...shippedPrices.batchOperations, perJob: { usd: 1 } } }),
    );
    const res = await runCli(['estimate', file, '--json', '--prices', prices], localAwsEnv());
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as EstimateOutput;
    expect(out.preview).toMatchObject({
      rowsScanned: 7,
      rowsSelected: 5,
      jobs: 3,
      bytesByStorageClass: { GLACIER: 3 * TiB, DEEP_ARCHIVE: TiB },
      rowsByStorageClass: { GLACIER: 3, DEEP_ARCHIVE: 2 },
      sourceBuckets: ['logs-bucket'],
      versioned: false,
    });
    expect(out.preview.sampleKeys.sort()).toEqual([
      'logs/2019/a.gz',
      'logs/2019/b.gz',
      'logs/2019/c.gz',
      'logs/2019/d.gz',
      'logs/2019/e.gz',
    ]);
    // 3 jobs × $1.00 (overridden) = 3.00 + 2.56 + 21.98 = 27.54
    expect(out.estimate.items[0]).toMatchObject({
      what: 'Batch Operations jobs',
      quantity: 3,
      unitPriceUsd: 1,
      amountUsd: 3,
    });
    expect(out.estimate.totalUsd).toBe(27.54);
    expect(out.estimate.complete).toBe(true);
    expect(out.priceTable).toBe(prices);
  });
});

test('csv source: rows counted across buckets, sizes unknown, the total says so', async () => {
  await withBucket(async (bucket, s3) => {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'lists/copy.csv',
        Body: 'bucket-one,a%20b.txt\nbucket-one,c.txt\nbucket-two,d.txt\nbucket-two,e.txt\n',
      }),
    );
    const file = writeSpec('copy.json', {
      source: { type: 'csv', manifest: `s3://${bucket}/lists/copy.csv` },
      operation: { type: 'copy', targetBucket: 'dr-bucket' },
      report: { bucket },
    });
    const res = await runCli(['estimate', file], localAwsEnv());
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('  objects  4 selected of 4 read, in 1 job');
    expect(res.stdout).toContain('  bytes    unknown (the source gives no sizes: only an inventory does)');
    expect(res.stdout).toContain('  sample   a b.txt\n           c.txt\n           d.txt\n           e.txt');
    // 0.25 + 4 objects and 4 COPY requests (0.00) = 0.25; the copies' storage is unknown.
    expect(res.stdout).toMatch(/\n {2}Total +\$0\.25 \+ unknown\n/);
    expect(res.stdout).toMatch(/Storage of the copies in STANDARD, per month \[\d\] +unknown +unknown +unknown/);
  });
});

test('keys source: duplicates counted once, no AWS access needed', async () => {
  const file = writeSpec('tags.json', {
    source: { type: 'keys', bucket: 'my-bucket', keys: ['one.txt', 'two.txt', 'one.txt'] },
    operation: { type: 'put-tags', tags: { project: 'x' } },
    report: { bucket: 'my-bucket' },
  });
  // A bogus endpoint proves nothing is fetched.
  const res = await runCli(['estimate', file, '--json'], { S3C_S3_ENDPOINT: 'http://127.0.0.1:9' });
  expect(res.code).toBe(0);
  const out = JSON.parse(res.stdout) as EstimateOutput;
  expect(out.preview).toMatchObject({ rowsScanned: 3, rowsSelected: 2, jobs: 1, sampleKeys: ['one.txt', 'two.txt'] });
  // 0.25 + 2 objects (0.000002) + 2 PUTs (0.00001) → 0.25
  expect(out.estimate.totalUsd).toBe(0.25);
  expect(out.estimate.complete).toBe(true);
});

test('bad input exits 2 naming the file and the field; an unreadable source exits 1', async () => {
  await withInventory(async (manifest, reportBucket) => {
    const good = writeSpec('restore.json', restoreSpec(manifest, reportBucket));

    const badPrices = path.join(dir, 'prices.json');
    writeFileSync(
      badPrices,
      JSON.stringify({ ...shippedPrices, lambda: { ...shippedPrices.lambda, perGBSecond: { usd: 'cheap' } } }),
    );
    const prices = await runCli(['estimate', good, '--prices', badPrices], localAwsEnv());
    expect(prices.code).toBe(2);
    expect(prices.stderr).toContain(
      `invalid price table ${badPrices}:\n  - lambda.perGBSecond.usd: must be a number of US dollars`,
    );

    const envPrices = await runCli(['estimate', good], {
      ...localAwsEnv(),
      S3C_PRICE_TABLE: path.join(dir, 'missing.json'),
    });
    expect(envPrices.code).toBe(2);
    expect(envPrices.stderr).toContain(`invalid price table ${path.join(dir, 'missing.json')}:\n  - cannot read it`);

    const badSpec = writeSpec('bad.json', {
      ...restoreSpec(manifest, reportBucket),
      operation: { type: 'restore', tier: 'EXPEDITED' },
    });
    const spec = await runCli(['estimate', badSpec], localAwsEnv());
    expect(spec.code).toBe(2);
    expect(spec.stderr).toContain(badSpec);
    expect(spec.stderr).toContain('operation.tier');

    // latestOnly needs an IsLatest column, which this inventory does not have.
    const noColumn = writeSpec('latest.json', { ...restoreSpec(manifest, reportBucket), filter: { latestOnly: true } });
    const column = await runCli(['estimate', noColumn], localAwsEnv());
    expect(column.code).toBe(2);
    expect(column.stderr).toContain(noColumn);
    expect(column.stderr).toContain('IsLatest');

    const lambda = await runCli(['estimate', good, '--lambda-memory', 'lots'], localAwsEnv());
    expect(lambda.code).toBe(2);
    expect(lambda.stderr).toContain('--lambda-memory must be a whole number');

    const missing = writeSpec(
      'missing.json',
      restoreSpec(manifest.replace('/manifest.json', '-nope/manifest.json'), reportBucket),
    );
    const notFound = await runCli(['estimate', missing], localAwsEnv());
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toContain('reading the source failed');
    expect(notFound.stderr).toContain('does not exist');
  });
});
