/**
 * CreateJob with a ManifestGenerator against the real engine and moto, driven by the JS SDK: every Filter field
 * selects the objects it names, the generated manifest (manifest.json + gzip CSV) is written where the job asked and
 * DescribeJob points at it, the job is held Suspended with its task count, bad requests name the field, and an engine
 * restarted mid-generation generates again and runs every task once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

import {
  DeleteObjectTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  PutBucketReplicationCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateJobCommand,
  type CreateJobCommandInput,
  DescribeJobCommand,
  type JobManifestGeneratorFilter,
  type S3ControlClient,
  UpdateJobStatusCommand,
} from '@aws-sdk/client-s3-control';

import { decodeManifestKey } from '../../src/local-batch/manifest-reader';
import { stackEndpoints, withBucket } from '../helpers';
import { HoldProxy } from '../support/hold-proxy';
import { uniqueAccountId, waitForJob, withEngine } from '../support/engine';

const ROLE = 'arn:aws:iam::123456789012:role/BatchOperations';

/** A CreateJob input that tags every generated object `done=yes`. */
function generatorJob(
  accountId: string,
  bucket: string,
  generator: Record<string, unknown>,
  extra: Partial<CreateJobCommandInput> = {},
): CreateJobCommandInput {
  return {
    AccountId: accountId,
    ConfirmationRequired: false,
    Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'done', Value: 'yes' }] } },
    Report: { Enabled: false },
    Priority: 10,
    RoleArn: ROLE,
    ManifestGenerator: {
      S3JobManifestGenerator: { SourceBucket: `arn:aws:s3:::${bucket}`, EnableManifestOutput: false, ...generator },
    } as CreateJobCommandInput['ManifestGenerator'],
    ...extra,
  };
}

async function body(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await obj.Body!.transformToByteArray());
}

/** The keys a Complete job tagged: the objects it generated tasks for. */
async function taggedKeys(s3: S3Client, bucket: string, keys: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const key of keys) {
    const { TagSet } = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    if ((TagSet ?? []).some((t) => t.Key === 'done')) out.push(key);
  }
  return out.sort();
}

async function clearTags(s3: S3Client, bucket: string, keys: readonly string[]): Promise<void> {
  for (const key of keys) {
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: key }));
  }
}

async function runJob(control: S3ControlClient, input: CreateJobCommandInput) {
  const { JobId } = await control.send(new CreateJobCommand(input));
  return waitForJob(control, input.AccountId!, JobId!);
}

describe('the manifest generator selects objects by every Filter field', () => {
  // Objects written in two waves, `between` separating them for CreatedAfter/CreatedBefore.
  const OLD = ['old/one.txt', 'old/two.log'];
  const NEW: Array<{ key: string; size: number; storageClass?: 'STANDARD_IA' | 'ONEZONE_IA'; sse?: boolean }> = [
    { key: 'logs/a.txt', size: 10 },
    { key: 'logs/b.csv', size: 100 },
    { key: 'logs/big file.csv', size: 2000, storageClass: 'STANDARD_IA' },
    { key: 'data/cold.bin', size: 50, storageClass: 'ONEZONE_IA' },
    { key: 'data/sealed.txt', size: 30, sse: true },
  ];
  const ALL = [...OLD, ...NEW.map((o) => o.key)].sort();

  const cases: Array<[string, JobManifestGeneratorFilter | undefined, (k: string) => boolean]> = [
    ['no filter', undefined, () => true],
    ['MatchAnyPrefix', { KeyNameConstraint: { MatchAnyPrefix: ['logs/'] } }, (k) => k.startsWith('logs/')],
    ['MatchAnySuffix', { KeyNameConstraint: { MatchAnySuffix: ['.csv'] } }, (k) => k.endsWith('.csv')],
    ['MatchAnySubstring', { KeyNameConstraint: { MatchAnySubstring: ['o'] } }, (k) => k.includes('o')],
    [
      'ObjectSizeGreaterThanBytes (strict)',
      { ObjectSizeGreaterThanBytes: 50 },
      (k) => ['logs/b.csv', 'logs/big file.csv'].includes(k),
    ],
    ['ObjectSizeLessThanBytes (strict)', { ObjectSizeLessThanBytes: 30 }, (k) => k === 'logs/a.txt' || OLD.includes(k)],
    [
      'MatchAnyStorageClass',
      { MatchAnyStorageClass: ['ONEZONE_IA', 'STANDARD_IA'] },
      (k) => ['data/cold.bin', 'logs/big file.csv'].includes(k),
    ],
    ['MatchAnyObjectEncryption SSE-S3', { MatchAnyObjectEncryption: [{ SSES3: {} }] }, (k) => k === 'data/sealed.txt'],
    [
      'MatchAnyObjectEncryption NOT-SSE',
      { MatchAnyObjectEncryption: [{ NOTSSE: {} }] },
      (k) => k !== 'data/sealed.txt',
    ],
    ['ObjectReplicationStatuses NONE', { ObjectReplicationStatuses: ['NONE'] }, () => true],
    ['ObjectReplicationStatuses COMPLETED', { ObjectReplicationStatuses: ['COMPLETED'] }, () => false],
    // moto keeps an enabled rule but drops its Filter (Prefix, Tag, And): every object is eligible here. A bucket
    // without a replication configuration has none (see the manifest output test).
    ['EligibleForReplication (an enabled rule)', { EligibleForReplication: true }, () => true],
    [
      'every listing field at once',
      { KeyNameConstraint: { MatchAnyPrefix: ['logs/'], MatchAnySuffix: ['.csv'] }, ObjectSizeLessThanBytes: 1000 },
      (k) => k === 'logs/b.csv',
    ],
  ];

  test('each filter, then CreatedAfter / CreatedBefore around the moment between two waves of objects', () =>
    withBucket(
      async (bucket, s3) => {
        for (const key of OLD) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
        // LastModified has second precision in S3 listings: keep a clear second on each side of `between`.
        await new Promise((r) => setTimeout(r, 1500));
        const between = new Date();
        await new Promise((r) => setTimeout(r, 1500));
        for (const o of NEW) {
          await s3.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: o.key,
              Body: Buffer.alloc(o.size, 'a'),
              StorageClass: o.storageClass,
              ServerSideEncryption: o.sse ? 'AES256' : undefined,
            }),
          );
        }
        await s3.send(
          new PutBucketReplicationCommand({
            Bucket: bucket,
            ReplicationConfiguration: {
              Role: 'arn:aws:iam::123456789012:role/replication',
              Rules: [
                {
                  ID: 'logs',
                  Priority: 1,
                  Status: 'Enabled',
                  Filter: { Prefix: 'logs/' },
                  DeleteMarkerReplication: { Status: 'Disabled' },
                  Destination: { Bucket: 'arn:aws:s3:::elsewhere' },
                },
              ],
            },
          }),
        );
        const accountId = uniqueAccountId();
        await withEngine({}, async (_engine, control) => {
          const all: typeof cases = [
            ...cases,
            ['CreatedBefore', { CreatedBefore: between }, (k) => OLD.includes(k)],
            ['CreatedAfter', { CreatedAfter: between }, (k) => !OLD.includes(k)],
          ];
          for (const [name, filter, keep] of all) {
            const job = await runJob(control, generatorJob(accountId, bucket, filter ? { Filter: filter } : {}));
            const expected = ALL.filter(keep);
            expect({ name, status: job.Status, total: job.ProgressSummary?.TotalNumberOfTasks }).toEqual({
              name,
              status: 'Complete',
              total: expected.length,
            });
            expect({ name, tagged: await taggedKeys(s3, bucket, ALL) }).toEqual({ name, tagged: expected });
            await clearTags(s3, bucket, ALL);
          }
        });
      },
      { versioning: true },
    ));
});

test('EnableManifestOutput writes manifest.json and gzip CSV data; DescribeJob shows the generator and descriptor', () =>
  withBucket(async (bucket, s3) => {
    const keys = ['in/a b.txt', 'in/ü+1.txt', 'in/c,d.txt', 'out/skip.txt'];
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    const accountId = uniqueAccountId();
    await withEngine({}, async (_engine, control) => {
      const { JobId } = await control.send(
        new CreateJobCommand(
          generatorJob(
            accountId,
            bucket,
            {
              EnableManifestOutput: true,
              ManifestOutputLocation: {
                Bucket: `arn:aws:s3:::${bucket}`,
                ManifestFormat: 'S3InventoryReport_CSV_20211130',
                ManifestPrefix: 'generated',
                ManifestEncryption: { SSES3: {} },
              },
              Filter: {
                KeyNameConstraint: { MatchAnyPrefix: ['in/'] },
                MatchAnyObjectEncryption: [{ SSEKMS: { KmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/k' } }],
              },
            },
            { ConfirmationRequired: true },
          ),
        ),
      );
      // Nothing is SSE-KMS here: a filter that selects nothing is still a valid job, with zero tasks.
      const none = await waitForJob(control, accountId, JobId!, ['Suspended', 'Failed']);
      expect(none.Status).toBe('Suspended');
      expect(none.ProgressSummary?.TotalNumberOfTasks).toBe(0);
      await control.send(new UpdateJobStatusCommand({ AccountId: accountId, JobId, RequestedJobStatus: 'Cancelled' }));
      // No replication configuration: no object is eligible for replication.
      const ineligible = await control.send(
        new CreateJobCommand(generatorJob(accountId, bucket, { Filter: { EligibleForReplication: true } })),
      );
      const nothing = await waitForJob(control, accountId, ineligible.JobId!);
      expect(nothing.Status).toBe('Complete');
      expect(nothing.ProgressSummary?.TotalNumberOfTasks).toBe(0);

      const input = generatorJob(
        accountId,
        bucket,
        {
          EnableManifestOutput: true,
          ManifestOutputLocation: {
            Bucket: `arn:aws:s3:::${bucket}`,
            ManifestFormat: 'S3InventoryReport_CSV_20211130',
            ManifestPrefix: 'generated',
          },
          Filter: { KeyNameConstraint: { MatchAnyPrefix: ['in/'] } },
        },
        { ConfirmationRequired: true },
      );
      const created = await control.send(new CreateJobCommand(input));
      const job = await waitForJob(control, accountId, created.JobId!, ['Suspended', 'Failed']);
      expect(job.Status).toBe('Suspended');
      expect(job.ProgressSummary?.TotalNumberOfTasks).toBe(3);
      expect(job.Manifest).toBeUndefined();
      expect(job.ManifestGenerator).toEqual(input.ManifestGenerator);

      const manifestKey = `generated/job-${created.JobId}/manifest.json`;
      const d = job.GeneratedManifestDescriptor!;
      expect(d.Format).toBe('S3InventoryReport_CSV_20211130');
      expect(d.Location?.ObjectArn).toBe(`arn:aws:s3:::${bucket}/${manifestKey}`);
      const head = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: manifestKey }));
      expect(d.Location?.ETag).toBe(head.ETag!.replace(/"/g, ''));
      const manifest = JSON.parse(await head.Body!.transformToString()) as {
        sourceBucket: string;
        destinationBucket: string;
        fileFormat: string;
        fileSchema: string;
        files: Array<{ key: string; size: number; MD5checksum: string }>;
      };
      expect(manifest).toMatchObject({
        sourceBucket: bucket,
        destinationBucket: `arn:aws:s3:::${bucket}`,
        fileFormat: 'CSV',
        fileSchema: 'Bucket, Key, Size, LastModifiedDate, ETag, StorageClass',
      });
      expect(manifest.files).toHaveLength(1);
      const data = await body(s3, bucket, manifest.files[0]!.key);
      expect(manifest.files[0]!.size).toBe(data.length);
      const rows = gunzipSync(data)
        .toString('utf8')
        .trim()
        .split('\n')
        .map((line) => line.split('","').map((f) => f.replace(/^"|"$/g, '')));
      expect(rows.map((r) => r[0])).toEqual([bucket, bucket, bucket]);
      expect(rows.map((r) => decodeManifestKey(r[1]!)).sort()).toEqual(keys.filter((k) => k.startsWith('in/')).sort());

      // Approved, it runs the generated tasks like any job.
      await control.send(
        new UpdateJobStatusCommand({ AccountId: accountId, JobId: created.JobId, RequestedJobStatus: 'Ready' }),
      );
      const done = await waitForJob(control, accountId, created.JobId!);
      expect(done.Status).toBe('Complete');
      expect(await taggedKeys(s3, bucket, keys)).toEqual(keys.filter((k) => k.startsWith('in/')).sort());
      // DescribeJob still shows where the manifest is once the job ended.
      const again = await control.send(new DescribeJobCommand({ AccountId: accountId, JobId: created.JobId }));
      expect(again.Job?.GeneratedManifestDescriptor).toEqual(d);
    });
  }));

test('a source bucket that does not exist fails the job, naming it', () =>
  withBucket(async (bucket) => {
    const accountId = uniqueAccountId();
    await withEngine({}, async (_engine, control) => {
      const job = await runJob(control, generatorJob(accountId, `${bucket}-gone`, {}));
      expect(job.Status).toBe('Failed');
      expect(job.FailureReasons?.[0]?.FailureCode).toBe('BucketNotAccessible');
      expect(job.FailureReasons?.[0]?.FailureReason).toContain(`s3://${bucket}-gone`);
    });
  }));

describe('bad ManifestGenerator requests are refused with InvalidRequest naming the field', () => {
  const base = (bucket: string) => ({ SourceBucket: `arn:aws:s3:::${bucket}`, EnableManifestOutput: false });
  const output = (bucket: string) => ({
    Bucket: `arn:aws:s3:::${bucket}`,
    ManifestFormat: 'S3InventoryReport_CSV_20211130',
  });
  const bad: Array<[string, (bucket: string) => Partial<CreateJobCommandInput>, string]> = [
    [
      'both Manifest and ManifestGenerator',
      (b) => ({
        Manifest: {
          Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
          Location: { ObjectArn: `arn:aws:s3:::${b}/m.csv`, ETag: 'e' },
        },
      }),
      'Manifest and ManifestGenerator cannot both be given',
    ],
    ['neither', () => ({ ManifestGenerator: undefined }), 'Manifest or ManifestGenerator is required'],
    [
      'two prefixes',
      (b) => ({
        ManifestGenerator: {
          S3JobManifestGenerator: { ...base(b), Filter: { KeyNameConstraint: { MatchAnyPrefix: ['a', 'b'] } } },
        },
      }),
      'ManifestGenerator.S3JobManifestGenerator.Filter.KeyNameConstraint.MatchAnyPrefix must hold exactly one string',
    ],
    [
      'two encryptions',
      (b) => ({
        ManifestGenerator: {
          S3JobManifestGenerator: { ...base(b), Filter: { MatchAnyObjectEncryption: [{ SSES3: {} }, { NOTSSE: {} }] } },
        },
      }),
      'MatchAnyObjectEncryption must hold exactly one ObjectEncryption',
    ],
    [
      'an unknown storage class',
      (b) => ({
        ManifestGenerator: {
          S3JobManifestGenerator: {
            ...base(b),
            Filter: { MatchAnyStorageClass: ['REDUCED_REDUNDANCY' as 'STANDARD'] },
          },
        },
      }),
      'Filter.MatchAnyStorageClass[0] must be one of STANDARD',
    ],
    [
      'output enabled without a location',
      (b) => ({ ManifestGenerator: { S3JobManifestGenerator: { ...base(b), EnableManifestOutput: true } } }),
      'ManifestOutputLocation is required when EnableManifestOutput is true',
    ],
    [
      'another output format',
      (b) => ({
        ManifestGenerator: {
          S3JobManifestGenerator: {
            ...base(b),
            EnableManifestOutput: true,
            ManifestOutputLocation: { ...output(b), ManifestFormat: 'S3BatchOperations_CSV_20180820' as never },
          },
        },
      }),
      'ManifestOutputLocation.ManifestFormat must be S3InventoryReport_CSV_20211130',
    ],
    [
      'a source that is not a bucket ARN',
      (b) => ({ ManifestGenerator: { S3JobManifestGenerator: { ...base(b), SourceBucket: b } } }),
      'ManifestGenerator.S3JobManifestGenerator.SourceBucket must be a bucket ARN',
    ],
    [
      'sizes that select nothing',
      (b) => ({
        ManifestGenerator: {
          S3JobManifestGenerator: {
            ...base(b),
            Filter: { ObjectSizeGreaterThanBytes: 10, ObjectSizeLessThanBytes: 10 },
          },
        },
      }),
      'Filter.ObjectSizeLessThanBytes must be greater than ObjectSizeGreaterThanBytes',
    ],
  ];

  test.each(bad)('%s', (_name, change, message) =>
    withBucket(async (bucket) => {
      const accountId = uniqueAccountId();
      await withEngine({}, async (_engine, control) => {
        const input = { ...generatorJob(accountId, bucket, {}), ...change(bucket) };
        const err = await control.send(new CreateJobCommand(input)).then(
          () => undefined,
          (e: unknown) => e as { name: string; message: string },
        );
        expect(err?.name).toBe('InvalidRequest');
        expect(err?.message).toContain(message);
      });
    }),
  );
});

test('an engine closed mid-generation generates again after restart and runs every task once', () =>
  withBucket(async (bucket, s3) => {
    const keys = Array.from({ length: 40 }, (_, i) => `k/${String(i).padStart(2, '0')}`);
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    const accountId = uniqueAccountId();
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'lb-generator-'));
    // The first engine reaches S3 through a proxy that holds the first generated data file's upload: the listing is
    // done, the manifest is half written, and the engine is closed right then.
    const proxy = await HoldProxy.start(stackEndpoints().s3Endpoint);
    proxy.hold({ name: 'data', match: (r) => r.method === 'PUT' && r.url.includes('/data/0.csv.gz') });
    const input = generatorJob(
      accountId,
      bucket,
      {
        EnableManifestOutput: true,
        ManifestOutputLocation: { Bucket: `arn:aws:s3:::${bucket}`, ManifestFormat: 'S3InventoryReport_CSV_20211130' },
        Filter: { KeyNameConstraint: { MatchAnyPrefix: ['k/'] } },
      },
      { ClientRequestToken: 'generator-restart' },
    );
    try {
      const jobId = await withEngine({ stateDir, s3Endpoint: proxy.url }, async (engine, control) => {
        const { JobId } = await control.send(new CreateJobCommand(input));
        await proxy.waitForHold('data');
        const mid = await control.send(new DescribeJobCommand({ AccountId: accountId, JobId }));
        expect(mid.Job?.Status).toBe('Preparing');
        const closing = engine.close();
        proxy.dropHeld();
        await closing;
        return JobId!;
      });
      await withEngine({ stateDir }, async (_engine, control) => {
        const job = await waitForJob(control, accountId, jobId);
        expect(job.Status).toBe('Complete');
        expect(job.ProgressSummary).toMatchObject({ TotalNumberOfTasks: 40, NumberOfTasksSucceeded: 40 });
        expect(job.GeneratedManifestDescriptor?.Location?.ObjectArn).toBe(
          `arn:aws:s3:::${bucket}/job-${jobId}/manifest.json`,
        );
        // The same request again is the same job (the token survived the restart too).
        const again = await control.send(new CreateJobCommand(input));
        expect(again.JobId).toBe(jobId);
      });
      expect(await taggedKeys(s3, bucket, keys)).toEqual(keys);
    } finally {
      await proxy.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  }));
