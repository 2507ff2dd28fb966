/**
 * What the engine used to refuse and AWS accepts, on the real local stack through the unmodified SDK:
 * S3ComputeObjectChecksum (values checked against node:crypto and against the checksum S3 itself stored at upload),
 * S3ReplicateObject (rules, priorities, filters and storage classes of the bucket's replication configuration),
 * LambdaInvoke with a function that has no local handler, and proxy-style requests.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { CreateJobCommand } from '@aws-sdk/client-s3-control';

import { encodeManifestKey } from '../../src/local-batch/manifest-reader';
import { startS3 } from '../../src/stack';
import { s3Client, withBucket } from '../helpers';
import {
  admin,
  jobInput,
  putManifest,
  readJobReport,
  uniqueAccountId,
  waitForJob,
  withEngine,
} from '../support/engine';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();

/** Runs `fn` against a moto started for it alone (in a temp dir, stopped afterwards). */
async function withOwnMoto<T>(fn: (endpoint: string, s3: S3Client) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'own-moto-'));
  const { proc, endpoint } = await startS3({ dir });
  const s3 = s3Client(endpoint);
  try {
    return await fn(endpoint, s3);
  } finally {
    s3.destroy();
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ChecksumMessage {
  checksum_base64: string;
  etag: string;
  checksumAlgorithm: string;
  checksumType: string;
  checksum_hex: string;
}

/** A two-part multipart object (5 MiB + 1 KiB); returns its bytes and part bodies. */
async function putMultipart(s3: S3Client, bucket: string, key: string): Promise<{ parts: Buffer[] }> {
  const parts = [Buffer.alloc(5 * 1024 * 1024, 7), Buffer.alloc(1024, 9)];
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const done = [];
  for (const [i, body] of parts.entries()) {
    const out = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: i + 1, Body: body }),
    );
    done.push({ PartNumber: i + 1, ETag: out.ETag });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: done } }),
  );
  return { parts };
}

describe('S3ComputeObjectChecksum', () => {
  test('reports each object checksum, full-object and composite, in the completion report', async () => {
    await withBucket(async (bucket, s3) => {
      const small = 'small file.txt';
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: small, Body: 'hello checksum', ChecksumAlgorithm: 'CRC32' }),
      );
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'empty', Body: Buffer.alloc(0) }));
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: 'cold', Body: 'archived', StorageClass: 'DEEP_ARCHIVE' }),
      );
      const { parts } = await putMultipart(s3, bucket, 'big.bin');
      const manifest = await putManifest(s3, bucket, [small, 'empty', 'big.bin', 'cold', 'missing']);
      const accountId = uniqueAccountId();
      await withEngine({}, async (_engine, control) => {
        const runJob = async (ChecksumAlgorithm: 'SHA256' | 'CRC32', ChecksumType: 'FULL_OBJECT' | 'COMPOSITE') => {
          const { JobId } = await control.send(
            new CreateJobCommand(
              jobInput({
                accountId,
                manifest,
                operation: { S3ComputeObjectChecksum: { ChecksumAlgorithm, ChecksumType } },
                reportBucket: bucket,
                reportPrefix: `${ChecksumAlgorithm}-${ChecksumType}`,
              }),
            ),
          );
          const job = await waitForJob(control, accountId, JobId!);
          expect(job.Status).toBe('Complete');
          const { rows } = await readJobReport(s3, bucket, `${ChecksumAlgorithm}-${ChecksumType}`, JobId!);
          return new Map(rows.map((r) => [r.decodedKey, r]));
        };
        const message = (r: { resultMessage?: string } | undefined) =>
          JSON.parse(r?.resultMessage ?? '{}') as ChecksumMessage;

        const full = await runJob('SHA256', 'FULL_OBJECT');
        const expected = sha256('hello checksum');
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: small }));
        expect(message(full.get(small))).toEqual({
          checksum_base64: expected.toString('base64'),
          etag: head.ETag!.replace(/"/g, ''),
          checksumAlgorithm: 'SHA256',
          checksumType: 'FULL_OBJECT',
          checksum_hex: expected.toString('hex'),
        });
        expect(message(full.get('empty')).checksum_hex).toBe(sha256('').toString('hex'));
        expect(message(full.get('big.bin')).checksum_hex).toBe(sha256(Buffer.concat(parts)).toString('hex'));
        // moto cannot serve an archived object's bytes (AWS computes it anyway): the task fails, saying so.
        expect(full.get('cold')).toMatchObject({
          taskStatus: 'failed',
          errorCode: 'InvalidObjectState',
          httpStatusCode: 403,
        });
        expect(full.get('missing')).toMatchObject({
          taskStatus: 'failed',
          errorCode: 'NoSuchKey',
          httpStatusCode: 404,
        });

        const composite = await runJob('SHA256', 'COMPOSITE');
        const overParts = sha256(Buffer.concat(parts.map((p) => sha256(p))));
        expect(message(composite.get('big.bin'))).toMatchObject({
          checksum_base64: `${overParts.toString('base64')}-2`,
          checksum_hex: overParts.toString('hex'),
          checksumType: 'COMPOSITE',
        });
        // An object uploaded in one PUT is one part: its composite checksum is its full-object checksum.
        expect(message(composite.get(small)).checksum_hex).toBe(expected.toString('hex'));

        // The CRC32 the SDK sent with the upload, as S3 stored it, is what the job computes.
        const crc = await runJob('CRC32', 'FULL_OBJECT');
        const stored = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: small, ChecksumMode: 'ENABLED' }));
        expect(stored.ChecksumCRC32).toBeDefined();
        expect(message(crc.get(small)).checksum_base64).toBe(stored.ChecksumCRC32);
      });
    });
  });
});

describe('S3ReplicateObject', () => {
  test('copies each object to the destination of the highest-priority matching rule, with its storage class', async () => {
    // A moto of its own: the rules' filters are read from moto's model dump, which another test's leftovers can
    // break (see replication.ts); this test is about replication, not about that moto bug.
    await withOwnMoto(async (s3Endpoint, s3) => {
      const [source, d1, d2] = ['repl-source', 'repl-d1', 'repl-d2'];
      for (const Bucket of [source, d1, d2]) {
        await s3.send(new CreateBucketCommand({ Bucket }));
        await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
      }
      await s3.send(
        new PutBucketReplicationCommand({
          Bucket: source,
          ReplicationConfiguration: {
            Role: 'arn:aws:iam::123456789012:role/replication',
            Rules: [
              {
                ID: 'logs',
                Priority: 1,
                Status: 'Enabled',
                Filter: { Prefix: 'logs/' },
                Destination: { Bucket: `arn:aws:s3:::${d1}`, StorageClass: 'STANDARD_IA' },
                DeleteMarkerReplication: { Status: 'Enabled' },
              },
              {
                ID: 'team-logs',
                Priority: 5,
                Status: 'Enabled',
                Filter: { And: { Prefix: 'logs/', Tags: [{ Key: 'team', Value: 'x' }] } },
                Destination: { Bucket: `arn:aws:s3:::${d1}`, StorageClass: 'GLACIER_IR' },
                DeleteMarkerReplication: { Status: 'Disabled' },
              },
              {
                ID: 'keep',
                Priority: 2,
                Status: 'Enabled',
                Filter: { Tag: { Key: 'keep', Value: 'yes' } },
                Destination: { Bucket: `arn:aws:s3:::${d2}` },
                DeleteMarkerReplication: { Status: 'Disabled' },
              },
              {
                ID: 'gone-without-markers',
                Priority: 3,
                Status: 'Enabled',
                Filter: { Prefix: 'other/gone' },
                Destination: { Bucket: `arn:aws:s3:::${d2}` },
                DeleteMarkerReplication: { Status: 'Disabled' },
              },
              {
                ID: 'off',
                Priority: 9,
                Status: 'Disabled',
                Filter: { Prefix: '' },
                Destination: { Bucket: `arn:aws:s3:::${d2}` },
                DeleteMarkerReplication: { Status: 'Disabled' },
              },
            ],
          },
        }),
      );
      const put = (Key: string, Tagging?: string) =>
        s3.send(
          new PutObjectCommand({
            Bucket: source,
            Key,
            Body: `body of ${Key}`,
            Tagging,
            ContentType: 'text/plain',
            Metadata: { origin: 'test' },
          }),
        );
      const versions: Array<[string, string]> = [];
      for (const [key, tagging] of [['logs/a', 'team=x'], ['logs/b'], ['other/c', 'keep=yes'], ['other/d']]) {
        versions.push([key!, (await put(key!, tagging)).VersionId!]);
      }
      // Delete markers, named by their version: only a rule with DeleteMarkerReplication Enabled replicates one.
      // logs/gone was replicated before (its replica is in d1), so the replicated marker hides it there.
      await s3.send(new PutObjectCommand({ Bucket: d1, Key: 'logs/gone', Body: 'body of logs/gone' }));
      for (const key of ['logs/gone', 'other/gone']) {
        await put(key);
        versions.push([key, (await s3.send(new DeleteObjectCommand({ Bucket: source, Key: key }))).VersionId!]);
      }
      const manifestKey = 'manifests/versions.csv';
      const csv = versions.map(([k, v]) => `${source},${encodeManifestKey(k)},${v}\n`).join('');
      const written = await s3.send(new PutObjectCommand({ Bucket: source, Key: manifestKey, Body: csv }));
      const manifest = {
        Spec: {
          Format: 'S3BatchOperations_CSV_20180820' as const,
          Fields: ['Bucket' as const, 'Key' as const, 'VersionId' as const],
        },
        Location: { ObjectArn: `arn:aws:s3:::${source}/${manifestKey}`, ETag: written.ETag!.replace(/"/g, '') },
      };
      const accountId = uniqueAccountId();
      await withEngine({ s3Endpoint }, async (engine, control) => {
        const { JobId } = await control.send(
          new CreateJobCommand(
            jobInput({ accountId, manifest, operation: { S3ReplicateObject: {} }, reportBucket: source }),
          ),
        );
        const job = await waitForJob(control, accountId, JobId!);
        expect(job.Status).toBe('Complete');
        expect(job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 4, NumberOfTasksFailed: 2 });

        const replica = async (Bucket: string, Key: string) => {
          const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
          const body = await (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString();
          const tags = (await s3.send(new GetObjectTaggingCommand({ Bucket, Key }))).TagSet;
          return {
            body,
            storageClass: head.StorageClass ?? 'STANDARD',
            metadata: head.Metadata,
            contentType: head.ContentType,
            tags,
          };
        };
        expect(await replica(d1, 'logs/a')).toEqual({
          body: 'body of logs/a',
          storageClass: 'GLACIER_IR',
          metadata: { origin: 'test' },
          contentType: 'text/plain',
          tags: [{ Key: 'team', Value: 'x' }],
        });
        expect(await replica(d1, 'logs/b')).toMatchObject({ storageClass: 'STANDARD_IA', tags: [] });
        expect(await replica(d2, 'other/c')).toMatchObject({
          storageClass: 'STANDARD',
          tags: [{ Key: 'keep', Value: 'yes' }],
        });
        await expect(s3.send(new HeadObjectCommand({ Bucket: d2, Key: 'other/d' }))).rejects.toThrow();
        await expect(s3.send(new HeadObjectCommand({ Bucket: d2, Key: 'logs/a' }))).rejects.toThrow();

        const { rows } = await readJobReport(s3, source, 'reports', JobId!);
        const byKey = new Map(rows.map((r) => [r.decodedKey, r]));
        expect(byKey.get('logs/a')?.resultMessage).toMatch(
          new RegExp(`^Replicated to ${d1} \\(rule team-logs, GLACIER_IR\\)$`),
        );
        expect(byKey.get('other/d')).toMatchObject({
          taskStatus: 'failed',
          errorCode: 'InvalidRequest',
          httpStatusCode: 400,
        });
        expect(byKey.get('logs/gone')).toMatchObject({ taskStatus: 'succeeded' });
        expect(byKey.get('other/gone')).toMatchObject({
          taskStatus: 'failed',
          errorCode: 'InvalidRequest',
          resultMessage: expect.stringContaining('DeleteMarkerReplication Enabled') as unknown,
        });
        const d1Versions = await s3.send(new ListObjectVersionsCommand({ Bucket: d1 }));
        expect((d1Versions.DeleteMarkers ?? []).map((m) => m.Key)).toEqual(['logs/gone']);
        await expect(s3.send(new HeadObjectCommand({ Bucket: d1, Key: 'logs/gone' }))).rejects.toThrow();

        const statuses = async (bucket: string) => {
          const res = await admin(engine.url, 'GET', `/_local/replication-status?bucket=${bucket}`);
          const list = (res.json as { statuses: Array<{ key: string; status: string }> }).statuses;
          return Object.fromEntries(list.map((s) => [s.key, s.status]));
        };
        expect(await statuses(source)).toEqual({
          'logs/a': 'COMPLETED',
          'logs/b': 'COMPLETED',
          'other/c': 'COMPLETED',
        });
        expect(await statuses(d1)).toEqual({ 'logs/a': 'REPLICA', 'logs/b': 'REPLICA' });
      });
    });
  });

  test('a bucket without a replication configuration fails the job before any task runs', async () => {
    await withBucket(async (bucket, s3) => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
      const manifest = await putManifest(s3, bucket, ['k']);
      const accountId = uniqueAccountId();
      await withEngine({}, async (_engine, control) => {
        const { JobId } = await control.send(
          new CreateJobCommand(jobInput({ accountId, manifest, operation: { S3ReplicateObject: {} } })),
        );
        const job = await waitForJob(control, accountId, JobId!);
        expect(job.Status).toBe('Failed');
        expect(job.FailureReasons).toEqual([
          {
            FailureCode: 'ReplicationConfigurationNotFound',
            FailureReason: expect.stringContaining(`bucket ${bucket} has no replication configuration`) as unknown,
          },
        ]);
        expect(job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 0, NumberOfTasksFailed: 0 });
      });
    });
  });
});

test('LambdaInvoke with no local handler: the job is created and runs; every task fails as Lambda reports it', async () => {
  await withBucket(async (bucket, s3) => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
    const manifest = await putManifest(s3, bucket, ['k']);
    const accountId = uniqueAccountId();
    const fn = 'arn:aws:lambda:us-east-1:123456789012:function:nowhere';
    await withEngine({}, async (_engine, control) => {
      const { JobId } = await control.send(
        new CreateJobCommand(
          jobInput({ accountId, manifest, operation: { LambdaInvoke: { FunctionArn: fn } }, reportBucket: bucket }),
        ),
      );
      const job = await waitForJob(control, accountId, JobId!);
      expect(job.Status).toBe('Complete');
      expect(job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 0, NumberOfTasksFailed: 1 });
      const { rows } = await readJobReport(s3, bucket, 'reports', JobId!);
      expect(rows).toEqual([
        expect.objectContaining({
          taskStatus: 'failed',
          httpStatusCode: 404,
          errorCode: 'ResourceNotFoundException',
          resultMessage: expect.stringMatching(new RegExp(`^Function not found: ${fn}`)) as unknown,
        }),
      ]);
    });
  });
});

describe('proxy-style requests (HTTP_PROXY pointed at the engine)', () => {
  /** Sends `method target` to the engine as a proxy would receive it (absolute-form request target). */
  const raw = (engineUrl: string, method: string, target: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const { hostname, port } = new URL(engineUrl);
      const req = http.request({ host: hostname, port, method, path: target, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  test('an S3 Control request for the engine is answered; any other target is refused and nothing is forwarded', async () => {
    await withEngine({}, async (engine) => {
      const account = { 'x-amz-account-id': uniqueAccountId() };
      const listed = await raw(engine.url, 'GET', 'http://123456789012.127.0.0.1:1/v20180820/jobs', account);
      expect(listed.status).toBe(200);
      expect(listed.body).toContain('<ListJobsResult');

      const elsewhere = await raw(engine.url, 'GET', 'http://example.com/index.html');
      expect(elsewhere.status).toBe(403);
      expect(elsewhere.body).toContain('<Code>AccessDenied</Code>');
      expect(elsewhere.body).toContain('example.com is not served here');

      // The admin API is not reachable through the proxy form either.
      const adminViaProxy = await raw(engine.url, 'GET', `${engine.url}/_local/health`);
      expect(adminViaProxy.status).toBe(403);

      // CONNECT (an HTTPS tunnel) is never established.
      const tunnel = await new Promise<string>((resolve) => {
        const { hostname, port } = new URL(engine.url);
        const req = http.request({ host: hostname, port, method: 'CONNECT', path: 'example.com:443' });
        req.on('connect', (res) => resolve(`connected ${res.statusCode}`));
        req.on('error', () => resolve('refused'));
        req.on('close', () => resolve('closed'));
        req.end();
      });
      expect(tunnel).not.toMatch(/^connected 200/);
    });
  });
});
