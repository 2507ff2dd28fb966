/**
 * Inventory → manifests against moto: a real S3 Inventory layout uploaded to a bucket, manifests written back with
 * multipart uploads and read row by row; every filter; version ids; corrupt, missing and unusable inventories;
 * sharding across parts; newest-report discovery; cancellation.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';

import {
  buildManifests,
  decodeManifestKey,
  type BuildManifestsInput,
  type ManifestProgress,
  type ManifestSummary,
} from '../../src/inventory';
import { FailureType } from '../../src/shared/errors';
import { withBucket } from '../helpers';
import {
  FILTER_CASES,
  FILTER_ROWS,
  inventoryEncodeKey,
  uploadInventory,
  type InventoryRow,
} from '../inventory-fixtures';

const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

const FULL_SCHEMA = [
  'Bucket',
  'Key',
  'VersionId',
  'IsLatest',
  'IsDeleteMarker',
  'Size',
  'LastModifiedDate',
  'ETag',
  'StorageClass',
  'IsMultipartUploaded',
  'ReplicationStatus',
  'EncryptionStatus',
  'ObjectLockRetainUntilDate',
  'ObjectLockMode',
  'ObjectLockLegalHoldStatus',
  'IntelligentTieringAccessTier',
  'BucketKeyStatus',
  'ChecksumAlgorithm',
  'ObjectAccessControlList',
  'ObjectOwner',
] as const;

async function text(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body!.transformToString('utf-8')) ?? '';
}

/** Every manifest's text, and a check that each summary ETag is the object's. */
async function readShards(s3: S3Client, bucket: string, summary: ManifestSummary): Promise<string[]> {
  const texts: string[] = [];
  for (const shard of summary.shards) {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: shard.key }));
    expect(head.ETag?.replace(/"/g, '')).toBe(shard.etag);
    expect(head.ContentLength).toBe(shard.bytes);
    texts.push(await text(s3, bucket, shard.key));
  }
  return texts;
}

/** Objects and open uploads under a prefix: what a failed or cancelled build must not leave behind. */
async function leftovers(
  s3: S3Client,
  bucket: string,
  prefix: string,
): Promise<{ objects: string[]; uploads: string[] }> {
  const objects = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return {
    objects: (objects.Contents ?? []).map((o) => o.Key!),
    uploads: (uploads.Uploads ?? []).map((u) => u.Key!),
  };
}

function build(
  s3: S3Client,
  input: BuildManifestsInput,
  deps: { signal?: AbortSignal; onProgress?: (p: ManifestProgress) => void } = {},
) {
  return buildManifests(input, { s3, log: quiet, ...deps });
}

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

/** Rows with long keys, so that manifests span several 8 MiB parts. */
function bigFiles(files: number, perFile: number): InventoryRow[][] {
  const pad = 'x'.repeat(180);
  return Array.from({ length: files }, (_, f) =>
    Array.from({ length: perFile }, (_, i) => ({
      Bucket: 'big-source',
      Key: `part-${f}/${pad}/object ${String(i).padStart(6, '0')}.dat`,
      Size: i,
      StorageClass: i % 4 === 0 ? 'STANDARD' : 'GLACIER',
    })),
  );
}

describe('inventory → manifests in S3', () => {
  test('a versioned inventory in S3 becomes sharded manifests whose rows are exactly the selected objects', async () => {
    await withBucket(async (bucket, s3) => {
      const files = [FILTER_ROWS.slice(0, 2), FILTER_ROWS.slice(2, 3), FILTER_ROWS.slice(3)];
      const inv = await uploadInventory(s3, bucket, { schema: FULL_SCHEMA, files });
      const summary = await build(s3, {
        inventory: `s3://${bucket}/${inv.manifestKey}`,
        output: `s3://${bucket}/campaign-1/manifests/`,
        maxObjectsPerJob: 2,
        filter: { skipDeleteMarkers: true },
      });
      expect(summary).toMatchObject({
        inventory: {
          manifest: `s3://${bucket}/${inv.manifestKey}`,
          sourceBucket: 'source-bucket',
          fileFormat: 'CSV',
          files: 3,
        },
        format: 'S3BatchOperations_CSV_20180820',
        fields: ['Bucket', 'Key', 'VersionId'],
        output: { bucket, prefix: 'campaign-1/manifests' },
        rowsScanned: 5,
        rowsSelected: 4,
        bytesByStorageClass: { GLACIER: 2148, DEEP_ARCHIVE: 0, STANDARD: 5_000_000_000 },
      });
      expect(summary.shards.map((s) => [s.key, s.rows])).toEqual([
        ['campaign-1/manifests/manifest-00001.csv', 2],
        ['campaign-1/manifests/manifest-00002.csv', 2],
      ]);
      const rows = (await readShards(s3, bucket, summary)).join('').split('\n').slice(0, -1);
      const expected = FILTER_ROWS.filter((r) => r.IsDeleteMarker !== true);
      expect(rows).toEqual(expected.map((r) => `src,${inventoryEncodeKey(String(r.Key))},${String(r.VersionId)}`));
      expect(rows.map((r) => decodeManifestKey(r.split(',')[1]!))).toEqual(expected.map((r) => r.Key));
      expect(new Set(summary.sampleKeys)).toEqual(new Set(expected.map((r) => r.Key)));
      expect(await leftovers(s3, bucket, 'campaign-1/')).toEqual({
        objects: summary.shards.map((s) => s.key),
        uploads: [],
      });
    });
  });

  test('every filter selects the same objects from S3 as by hand', async () => {
    await withBucket(async (bucket, s3) => {
      const inv = await uploadInventory(s3, bucket, {
        schema: FULL_SCHEMA,
        files: [FILTER_ROWS.slice(0, 3), FILTER_ROWS.slice(3)],
      });
      for (const [name, filter, expected] of FILTER_CASES) {
        const summary = await build(s3, {
          inventory: `s3://${bucket}/${inv.manifestKey}`,
          output: `s3://${bucket}/filters/${FILTER_CASES.findIndex((c) => c[0] === name)}`,
          filter,
        });
        const rows = (await readShards(s3, bucket, summary)).join('').split('\n').slice(0, -1);
        expect({ name, keys: rows.map((r) => decodeManifestKey(r.split(',')[1]!)) }).toEqual({ name, keys: expected });
      }
    });
  });

  test('a Parquet inventory in S3: files downloaded, verified, filtered by DuckDB, raw keys encoded', async () => {
    await withBucket(async (bucket, s3) => {
      const inv = await uploadInventory(s3, bucket, {
        format: 'Parquet',
        schema: ['Bucket', 'Key', 'VersionId', 'IsLatest', 'IsDeleteMarker', 'Size', 'StorageClass'],
        files: [FILTER_ROWS.slice(0, 3), FILTER_ROWS.slice(3)],
      });
      const summary = await build(s3, {
        inventory: `s3://${bucket}/${inv.manifestKey}`,
        output: `s3://${bucket}/pq`,
        filter: { storageClasses: ['GLACIER', 'DEEP_ARCHIVE'], latestOnly: true },
      });
      expect(summary.inventory.fileFormat).toBe('Parquet');
      expect(summary.fields).toEqual(['Bucket', 'Key', 'VersionId']);
      expect(await readShards(s3, bucket, summary)).toEqual(['src,logs/2019/a.gz,v0\nsrc,data/f%2Bg.csv,v4\n']);
      expect(summary.bytesByStorageClass).toEqual({ GLACIER: 2148 });
      expect(new Set(summary.sampleKeys)).toEqual(new Set(['logs/2019/a.gz', 'data/f+g.csv']));
    });
  });

  test('null versions of an all-versions inventory are written as null', async () => {
    await withBucket(async (bucket, s3) => {
      const rows: InventoryRow[] = [
        {
          Bucket: 'b',
          Key: 'k1',
          VersionId: '3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY',
          IsLatest: true,
          IsDeleteMarker: false,
        },
        { Bucket: 'b', Key: 'k2', VersionId: '', IsLatest: true, IsDeleteMarker: false },
      ];
      const inv = await uploadInventory(s3, bucket, {
        schema: ['Bucket', 'Key', 'VersionId', 'IsLatest', 'IsDeleteMarker'],
        files: [rows],
      });
      const summary = await build(s3, { inventory: `s3://${bucket}/${inv.manifestKey}`, output: `s3://${bucket}/v` });
      expect(await readShards(s3, bucket, summary)).toEqual(['b,k1,3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY\nb,k2,null\n']);
    });
  });

  test('manifests spanning several parts and shards are byte-exact, with multipart ETags', async () => {
    await withBucket(async (bucket, s3) => {
      const files = bigFiles(3, 30_000);
      const inv = await uploadInventory(s3, bucket, { schema: ['Bucket', 'Key', 'Size', 'StorageClass'], files });
      const summary = await build(s3, {
        inventory: `s3://${bucket}/${inv.manifestKey}`,
        output: `s3://${bucket}/big`,
        maxObjectsPerJob: 50_000,
        filter: { storageClasses: ['GLACIER'] },
      });
      const expected = files
        .flat()
        .filter((r) => r.StorageClass === 'GLACIER')
        .map((r) => `big-source,${inventoryEncodeKey(String(r.Key))}\n`);
      expect(summary.shards.map((s) => s.rows)).toEqual([50_000, 17_500]);
      expect(summary.shards[0]!.etag).toMatch(/^[0-9a-f]{32}-[2-9]$/);
      const texts = await readShards(s3, bucket, summary);
      expect(texts[0]).toBe(expected.slice(0, 50_000).join(''));
      expect(texts[1]).toBe(expected.slice(50_000).join(''));
    });
  });

  test('a destination prefix picks the newest complete report in S3', async () => {
    await withBucket(async (bucket, s3) => {
      await uploadInventory(s3, bucket, {
        schema: ['Bucket', 'Key'],
        timestamp: '2024-05-01T00-00Z',
        files: [[{ Bucket: 'b', Key: 'old' }]],
      });
      const newest = await uploadInventory(s3, bucket, {
        schema: ['Bucket', 'Key'],
        timestamp: '2024-05-02T00-00Z',
        files: [[{ Bucket: 'b', Key: 'new' }]],
      });
      // A delivery still being written: files under its folder, no manifest.json yet.
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: newest.reportsPrefix + '2024-05-03T00-00Z/manifest.checksum',
          Body: 'x',
        }),
      );
      const summary = await build(s3, {
        inventory: `s3://${bucket}/${newest.reportsPrefix}`,
        output: `s3://${bucket}/latest`,
      });
      expect(summary.inventory.manifest).toBe(`s3://${bucket}/${newest.manifestKey}`);
      expect(await readShards(s3, bucket, summary)).toEqual(['b,new\n']);
      const none = await failure(build(s3, { inventory: `s3://${bucket}/nothing-here/`, output: `s3://${bucket}/x` }));
      expect(none.type).toBe(FailureType.NotFound);
      expect(none.message).toMatch(/no inventory report \(YYYY-MM-DDTHH-MMZ\/manifest\.json\) under s3:\/\//);
    });
  });

  test.each([
    [
      'an MD5 mismatch',
      {
        corrupt: (i: number, b: Buffer) =>
          i === 1 ? Buffer.concat([b.subarray(0, 20), Buffer.alloc(b.length - 20)]) : b,
      },
      FailureType.InvalidInput,
      /inventory data file inventory\/source-bucket\/config-1\/data\/0001-file\.csv\.gz is corrupt: its MD5 is/,
    ],
    [
      'a missing data file',
      { omitFiles: [1] },
      FailureType.NotFound,
      /inventory data file s3:\/\/.*\/0001-file\.csv\.gz does not exist \(listed in the manifest\)/,
    ],
  ])(
    '%s fails the build non-retryably and leaves no manifest or upload behind',
    async (_name, extra, type, message) => {
      await withBucket(async (bucket, s3) => {
        const inv = await uploadInventory(s3, bucket, {
          schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
          files: bigFiles(3, 20_000),
          ...extra,
        });
        const err = await failure(
          build(s3, {
            inventory: `s3://${bucket}/${inv.manifestKey}`,
            output: `s3://${bucket}/out`,
            maxObjectsPerJob: 10_000,
          }),
        );
        expect(err.type).toBe(type);
        expect(err.nonRetryable).toBe(true);
        expect(err.message).toMatch(message);
        expect(await leftovers(s3, bucket, 'out/')).toEqual({ objects: [], uploads: [] });
      });
    },
  );

  test('a filter on a field the inventory lacks is an error before any data file is read', async () => {
    await withBucket(async (bucket, s3) => {
      // No data file exists: reading one would fail with NotFound instead.
      const inv = await uploadInventory(s3, bucket, {
        schema: ['Bucket', 'Key', 'Size'],
        files: [[{ Bucket: 'b', Key: 'k', Size: 1 }]],
        omitFiles: [0],
      });
      const err = await failure(
        build(s3, {
          inventory: `s3://${bucket}/${inv.manifestKey}`,
          output: `s3://${bucket}/out`,
          filter: { storageClasses: ['GLACIER'], minSize: 1 },
        }),
      );
      expect(err.type).toBe(FailureType.InvalidInput);
      expect(err.message).toMatch(/storageClasses needs the field StorageClass.*fileSchema is "Bucket, Key, Size"/);
      expect(await leftovers(s3, bucket, 'out/')).toEqual({ objects: [], uploads: [] });
    });
  });

  test('cancelling a build aborts its uploads: nothing appears under the output prefix', async () => {
    await withBucket(async (bucket, s3) => {
      const inv = await uploadInventory(s3, bucket, {
        schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
        files: bigFiles(4, 30_000),
      });
      const abort = new AbortController();
      let sawOpenUpload = false;
      const reason = new Error('cancelled by the test');
      const run = build(
        s3,
        { inventory: `s3://${bucket}/${inv.manifestKey}`, output: `s3://${bucket}/cancel`, concurrency: 1 },
        {
          signal: abort.signal,
          onProgress: (p) => {
            if (p.filesDone >= 2 && !abort.signal.aborted) {
              sawOpenUpload = p.resume.shards.some((s) => s.uploadId !== undefined);
              abort.abort(reason);
            }
          },
        },
      );
      await expect(run).rejects.toBe(reason);
      expect(sawOpenUpload).toBe(true);
      expect(await leftovers(s3, bucket, 'cancel/')).toEqual({ objects: [], uploads: [] });
    });
  });
});
