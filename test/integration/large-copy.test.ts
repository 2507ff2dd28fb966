/**
 * The large-object copy activity on moto, 12 MiB objects in 5 MiB parts (three parts, the last one 2 MiB): the copy
 * has the source's bytes and the metadata, tags and class the Batch Operations copy would give it; an attempt that
 * died resumes its upload and copies only the parts that are missing; a cancelled copy leaves no upload; an archived
 * source that is not restored fails NotRestored before any upload exists (moto itself would copy its parts).
 *
 * moto lists every upload as initiated in 2010; `withRealUploadTimes` puts the real times back where a test depends
 * on them. moto's CRC32C and CRC64NVME are CRC32 values under another name (it lacks the libraries), so sources are
 * written with the SDK's default CRC32, the one checksum moto combines faithfully.
 */
import {
  CreateMultipartUploadCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  RestoreObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';

import { createLargeCopyActivities, type LargeCopyProgress } from '../../src/activities/large-copy';
import type { CopyOperation } from '../../src/local-batch/types';
import { FailureType } from '../../src/shared/errors';
import type { CopyLargeObjectInput, CopyLargeObjectResult } from '../../src/shared/large-copy';
import { LOCAL_CREDENTIALS } from '../../src/stack';
import { crashingS3, s3Client, stackEndpoints, withBucket } from '../helpers';
import {
  countRequests,
  corruptPart,
  crashAfterComplete,
  openUploads,
  putRandomObject,
  sha256Of,
  slowPartCopies,
  withRealUploadTimes,
} from '../support/multipart';

const MiB = 1024 ** 2;
const SIZE = 12 * MiB;
const PART = 5 * MiB;

/** Clients a test made beyond withBucket's; destroyed after each test. */
const clients: S3Client[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

/** `s3` (a fresh moto client by default) with real upload times, destroyed after the test. */
function client(s3: S3Client = s3Client()): S3Client {
  clients.push(s3);
  return withRealUploadTimes(s3);
}

/** One attempt of the activity, as the worker would run it; its heartbeats are collected into `beats`. */
async function attempt(
  s3: S3Client,
  input: CopyLargeObjectInput,
  opts: { heartbeatDetails?: LargeCopyProgress; scheduledTimestampMs?: number; beats?: LargeCopyProgress[] } = {},
  onEnv?: (env: MockActivityEnvironment) => void,
): Promise<CopyLargeObjectResult> {
  const env = new MockActivityEnvironment(
    {
      attempt: opts.heartbeatDetails ? 2 : 1,
      heartbeatDetails: opts.heartbeatDetails,
      scheduledTimestampMs: opts.scheduledTimestampMs ?? Date.now(),
      heartbeatTimeoutMs: 30_000,
    },
    { logger: new DefaultLogger('ERROR') },
  );
  env.on('heartbeat', (d: LargeCopyProgress) => opts.beats?.push(d));
  onEnv?.(env);
  return env.run(createLargeCopyActivities({ s3 }).copyLargeObject, input);
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

const copyInput = (bucket: string, key: string, op: Partial<CopyOperation> = {}): CopyLargeObjectInput => ({
  source: { bucket, key },
  operation: { TargetResource: `arn:aws:s3:::${bucket}`, TargetKeyPrefix: 'copies', ...op },
  partSizeBytes: PART,
});

const tagsOf = async (s3: S3Client, bucket: string, key: string) =>
  Object.fromEntries(
    ((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet ?? []).map((t) => [
      t.Key,
      t.Value,
    ]),
  );

/** A 12 MiB source with metadata and tags of its own. */
async function putSource(s3: S3Client, bucket: string, key = 'big/object.bin') {
  const src = await putRandomObject(
    s3,
    {
      Bucket: bucket,
      Key: key,
      ContentType: 'application/x-large',
      CacheControl: 'max-age=60',
      Metadata: { origin: 'source' },
      Tagging: 'team=alpha&tier=gold',
    },
    SIZE,
  );
  return { key, ...src };
}

describe('copyLargeObject', () => {
  test.each<[string, Partial<CopyOperation>, Record<string, unknown>, Record<string, string>]>([
    [
      'no directive and no tags given: the source’s metadata and tags, the operation’s class',
      { StorageClass: 'STANDARD_IA' },
      {
        ContentType: 'application/x-large',
        CacheControl: 'max-age=60',
        Metadata: { origin: 'source' },
        StorageClass: 'STANDARD_IA',
      },
      { team: 'alpha', tier: 'gold' },
    ],
    [
      'COPY with an empty NewObjectTagging: the source’s metadata, no tags',
      { MetadataDirective: 'COPY', NewObjectMetadata: { ContentType: 'text/ignored' }, NewObjectTagging: [] },
      { ContentType: 'application/x-large', Metadata: { origin: 'source' }, StorageClass: undefined },
      {},
    ],
    [
      'REPLACE with new metadata and tags: exactly those',
      {
        MetadataDirective: 'REPLACE',
        NewObjectMetadata: { ContentType: 'text/plain', UserMetadata: { copied: 'yes' } },
        NewObjectTagging: [{ Key: 'state', Value: 'copied' }],
        StorageClass: 'GLACIER_IR',
      },
      { ContentType: 'text/plain', CacheControl: undefined, Metadata: { copied: 'yes' }, StorageClass: 'GLACIER_IR' },
      { state: 'copied' },
    ],
    [
      'metadata without a directive replaces; the source’s tags stay',
      { NewObjectMetadata: { CacheControl: 'no-store' } },
      { ContentType: 'binary/octet-stream', CacheControl: 'no-store', Metadata: {} },
      { team: 'alpha', tier: 'gold' },
    ],
  ])('%s', (_name, op, expectedHead, expectedTags) =>
    withBucket(async (bucket, setup) => {
      const src = await putSource(setup, bucket);
      const result = await attempt(client(), copyInput(bucket, src.key, op));
      const target = 'copies/big/object.bin';
      expect(await sha256Of(setup, bucket, target)).toBe(src.sha256);
      const head = await setup.send(new HeadObjectCommand({ Bucket: bucket, Key: target }));
      expect(head.ContentLength).toBe(SIZE);
      expect(Object.fromEntries(Object.keys(expectedHead).map((k) => [k, head[k as keyof typeof head]]))).toEqual(
        expectedHead,
      );
      expect(await tagsOf(setup, bucket, target)).toEqual(expectedTags);
      expect(result).toEqual({
        bytes: SIZE,
        parts: 3,
        partSizeBytes: PART,
        targetETag: head.ETag,
        resumedParts: 0,
        completedEarlier: false,
        verification: { size: true, checksum: 'CRC32', partETags: true },
      });
      expect(result.targetETag).toMatch(/-3"$/);
      expect(await openUploads(setup, bucket)).toEqual([]);
    }),
  );

  test('a pinned version is copied though the key was overwritten since; a source without checksum is compared by size and parts', () =>
    withBucket(
      async (bucket, setup) => {
        // The SDK adds a CRC32 to every PUT unless told to send checksums only where the API requires them.
        const e = stackEndpoints();
        const plain = client(
          new S3Client({
            endpoint: e.s3Endpoint,
            region: e.region,
            credentials: LOCAL_CREDENTIALS,
            forcePathStyle: true,
            requestChecksumCalculation: 'WHEN_REQUIRED',
          }),
        );
        const old = await putRandomObject(plain, { Bucket: bucket, Key: 'v.bin' }, SIZE);
        const sourceHead = await setup.send(
          new HeadObjectCommand({ Bucket: bucket, Key: 'v.bin', ChecksumMode: 'ENABLED' }),
        );
        expect(sourceHead.ChecksumCRC32).toBeUndefined();
        await setup.send(new PutObjectCommand({ Bucket: bucket, Key: 'v.bin', Body: 'newer' }));
        const input = copyInput(bucket, 'v.bin');
        const result = await attempt(client(), { ...input, source: { ...input.source, versionId: old.versionId } });
        expect(await sha256Of(setup, bucket, 'copies/v.bin')).toBe(old.sha256);
        expect(result.verification).toEqual({ size: true, checksum: undefined, partETags: true });
      },
      { versioning: true },
    ));

  test('Object Lock fields of the operation lock the copy', () =>
    withBucket(
      async (bucket, setup) => {
        const src = await putSource(setup, bucket);
        const until = new Date(Date.now() + 86400_000);
        until.setUTCMilliseconds(0);
        const result = await attempt(
          client(),
          copyInput(bucket, src.key, { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until.toISOString() }),
        );
        const head = await setup.send(
          new HeadObjectCommand({ Bucket: bucket, Key: 'copies/big/object.bin', VersionId: result.targetVersionId }),
        );
        expect(head).toMatchObject({ ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until });
        expect(result.targetVersionId).toBeTruthy();
      },
      { objectLock: true },
    ));

  test('an attempt that died after two parts is resumed: ListParts, not the heartbeat, says what is left', () =>
    withBucket(async (bucket, setup) => {
      const src = await putSource(setup, bucket);
      const input = { ...copyInput(bucket, src.key), concurrency: 1 };
      const beats: LargeCopyProgress[] = [];
      // The third UploadPartCopy "kills" the worker: the attempt fails retryably and keeps its upload.
      const dying = client(crashingS3(3, { commands: ['UploadPartCopyCommand'], noCleanup: true }));
      const first = await failureOf(attempt(dying, input, { beats }));
      expect(first.nonRetryable).toBe(false);
      expect(beats.at(-1)).toMatchObject({ completedParts: 2, sourceETag: src.etag });
      expect(await openUploads(setup, bucket)).toEqual([{ key: 'copies/big/object.bin', id: beats[0]!.uploadId }]);

      // The heartbeat that reached Temporal may be an early one (throttled): it says 0 parts, ListParts finds 2.
      const s3 = client();
      const counts = countRequests(s3);
      const result = await attempt(s3, input, { heartbeatDetails: beats[0]! });
      expect(beats[0]!.completedParts).toBe(0);
      expect(counts).toMatchObject({ UploadPartCopy: 1, CompleteMultipartUpload: 1 });
      expect(counts.CreateMultipartUpload).toBeUndefined();
      expect(result).toMatchObject({ parts: 3, resumedParts: 2, completedEarlier: false });
      expect(await sha256Of(setup, bucket, 'copies/big/object.bin')).toBe(src.sha256);
      expect(await openUploads(setup, bucket)).toEqual([]);
    }));

  test('an attempt that died after completing the upload: the retry verifies the target and copies nothing', () =>
    withBucket(async (bucket, setup) => {
      const src = await putSource(setup, bucket);
      const input = copyInput(bucket, src.key);
      const beats: LargeCopyProgress[] = [];
      await failureOf(attempt(client(crashAfterComplete(s3Client())), input, { beats }));
      const s3 = client();
      const counts = countRequests(s3);
      const result = await attempt(s3, input, { heartbeatDetails: beats.at(-1)! });
      expect(counts.UploadPartCopy ?? 0).toBe(0);
      expect(counts.CreateMultipartUpload ?? 0).toBe(0);
      expect(counts.CompleteMultipartUpload ?? 0).toBe(0);
      expect(result).toMatchObject({ resumedParts: 3, completedEarlier: true });
      expect(result.verification).toEqual({ size: true, checksum: 'CRC32', partETags: false });
      expect(await sha256Of(setup, bucket, 'copies/big/object.bin')).toBe(src.sha256);
    }));

  test('an upload left before any heartbeat landed is adopted, not duplicated; an older upload on the key is not ours', () =>
    withBucket(async (bucket, setup) => {
      const src = await putSource(setup, bucket);
      const input = copyInput(bucket, src.key);
      // Someone else's upload of the same key, from before this activity (moto's 2010 time, never rewritten).
      const foreign = await setup.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'copies/big/object.bin' }),
      );
      const scheduled = Date.now();
      const dying = client(crashingS3(1, { commands: ['UploadPartCopyCommand'], noCleanup: true }));
      const lost: LargeCopyProgress[] = [];
      await failureOf(attempt(dying, input, { scheduledTimestampMs: scheduled, beats: lost }));
      const orphan = lost[0]!.uploadId;

      const s3 = client();
      const counts = countRequests(s3);
      const beats: LargeCopyProgress[] = [];
      // No heartbeat details: the first attempt's never reached the server.
      const result = await attempt(s3, input, { scheduledTimestampMs: scheduled, beats });
      expect(counts.CreateMultipartUpload ?? 0).toBe(0);
      expect(beats[0]!.uploadId).toBe(orphan);
      // Nothing recorded which source version the orphan's parts came from: all are copied again.
      expect(counts.UploadPartCopy).toBe(3);
      expect(result.resumedParts).toBe(0);
      expect(await sha256Of(setup, bucket, 'copies/big/object.bin')).toBe(src.sha256);
      expect(await openUploads(setup, bucket)).toEqual([{ key: 'copies/big/object.bin', id: foreign.UploadId }]);
    }));

  test('a source that changed between attempts: the old upload is aborted and the new bytes are copied', () =>
    withBucket(async (bucket, setup) => {
      const src = await putSource(setup, bucket);
      const input = { ...copyInput(bucket, src.key), concurrency: 1 };
      const beats: LargeCopyProgress[] = [];
      const dying = client(crashingS3(3, { commands: ['UploadPartCopyCommand'], noCleanup: true }));
      await failureOf(attempt(dying, input, { beats }));
      const newer = await putSource(setup, bucket);
      const s3 = client();
      const counts = countRequests(s3);
      const result = await attempt(s3, input, { heartbeatDetails: beats.at(-1)! });
      expect(counts).toMatchObject({ CreateMultipartUpload: 1, UploadPartCopy: 3, AbortMultipartUpload: 1 });
      expect(result.resumedParts).toBe(0);
      expect(await sha256Of(setup, bucket, 'copies/big/object.bin')).toBe(newer.sha256);
      expect(await openUploads(setup, bucket)).toEqual([]);
    }));

  test('a target that does not verify fails CopyVerificationFailed (retryable); the retry copies it again', () =>
    withBucket(async (bucket, setup) => {
      const src = await putSource(setup, bucket);
      const input = copyInput(bucket, src.key);
      const beats: LargeCopyProgress[] = [];
      // Part 2 gets part 1's bytes: the right size, the wrong content.
      const corrupt = client(corruptPart(s3Client(), 2, `bytes=0-${PART - 1}`));
      const failure = await failureOf(attempt(corrupt, input, { beats }));
      expect(failure).toMatchObject({ type: FailureType.CopyVerificationFailed, nonRetryable: false });
      expect(failure.message).toMatch(/the target's CRC32 is .*, the source's /);

      const s3 = client();
      const counts = countRequests(s3);
      const result = await attempt(s3, input, { heartbeatDetails: beats.at(-1)! });
      // The upload is gone and the target it left does not verify: start over.
      expect(counts).toMatchObject({ CreateMultipartUpload: 1, UploadPartCopy: 3 });
      expect(result).toMatchObject({ completedEarlier: false, verification: { checksum: 'CRC32' } });
      expect(await sha256Of(setup, bucket, 'copies/big/object.bin')).toBe(src.sha256);
    }));

  test('cancellation aborts the upload: none is left and no target exists', () =>
    withBucket(async (bucket, setup) => {
      const src = await putSource(setup, bucket);
      const input = { ...copyInput(bucket, src.key), concurrency: 1 };
      const s3 = client(slowPartCopies(s3Client(), 300));
      const beats: LargeCopyProgress[] = [];
      const run = attempt(s3, input, { beats }, (env) =>
        env.on('heartbeat', (d: LargeCopyProgress) => {
          if (d.completedParts === 1) env.cancel();
        }),
      );
      await expect(run).rejects.toBeInstanceOf(CancelledFailure);
      expect(beats[0]!.uploadId).toBeTruthy();
      expect(await openUploads(setup, bucket)).toEqual([]);
      await expect(
        setup.send(new HeadObjectCommand({ Bucket: bucket, Key: 'copies/big/object.bin' })),
      ).rejects.toMatchObject({
        $metadata: { httpStatusCode: 404 },
      });
    }));

  test('an unrestored GLACIER source fails NotRestored before any upload; once restored it is copied', () =>
    withBucket(async (bucket, setup) => {
      const src = await putRandomObject(setup, { Bucket: bucket, Key: 'cold.bin', StorageClass: 'GLACIER' }, SIZE);
      const input = copyInput(bucket, 'cold.bin');
      const s3 = client();
      const counts = countRequests(s3);
      const failure = await failureOf(attempt(s3, input));
      expect(failure).toMatchObject({ type: FailureType.NotRestored, nonRetryable: true });
      expect(counts).toEqual({ HeadObject: 1 });
      expect(await openUploads(setup, bucket)).toEqual([]);

      // moto completes a restore at once.
      await setup.send(new RestoreObjectCommand({ Bucket: bucket, Key: 'cold.bin', RestoreRequest: { Days: 1 } }));
      const result = await attempt(s3, input);
      expect(result.parts).toBe(3);
      expect(await sha256Of(setup, bucket, 'copies/cold.bin')).toBe(src.sha256);
    }));

  test('extendRestore: a source restore expiring within the margin is extended before the copy, one outside it is not', () =>
    withBucket(async (bucket, setup) => {
      await putRandomObject(setup, { Bucket: bucket, Key: 'cold.bin', StorageClass: 'GLACIER' }, SIZE);
      await setup.send(new RestoreObjectCommand({ Bucket: bucket, Key: 'cold.bin', RestoreRequest: { Days: 1 } }));
      const expiry = async () =>
        Date.parse(
          /expiry-date="([^"]+)"/.exec(
            (await setup.send(new HeadObjectCommand({ Bucket: bucket, Key: 'cold.bin' }))).Restore ?? '',
          )?.[1] ?? '',
        );
      const before = await expiry();
      const s3 = client();
      const counts = countRequests(s3);
      // A one-hour margin: a day left is enough, nothing is asked.
      const calm = await attempt(s3, {
        ...copyInput(bucket, 'cold.bin'),
        extendRestore: { marginMs: 3600_000, days: 5 },
      });
      expect(calm.restoreExtended).toBeUndefined();
      expect(counts.RestoreObject).toBeUndefined();
      expect(await expiry()).toBe(before);
      // A two-day margin: the day left is not enough, the restore is extended to five days before the copy.
      const started = Date.now();
      const urgent = await attempt(s3, {
        ...copyInput(bucket, 'cold.bin'),
        extendRestore: { marginMs: 2 * 86_400_000, days: 5, tier: 'STANDARD' },
      });
      expect(urgent).toMatchObject({ restoreExtended: true, parts: 3 });
      expect(counts.RestoreObject).toBe(1);
      expect(Math.abs((await expiry()) - (started + 5 * 86_400_000))).toBeLessThan(60_000);
    }));
});

describe('abortAbandonedUploads', () => {
  test('aborts only the uploads under the prefix initiated before olderThan', () =>
    withBucket(async (bucket, setup) => {
      const s3 = client();
      const create = (c: S3Client, Key: string) => c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
      // `setup` keeps moto's 2010 time (old); `s3` records the real one (new).
      await create(setup, 'copies/old.bin');
      const recent = await create(s3, 'copies/recent.bin');
      const outside = await create(setup, 'other/old.bin');
      const env = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
      const result = await env.run(createLargeCopyActivities({ s3 }).abortAbandonedUploads, {
        bucket,
        prefix: 'copies/',
        olderThan: new Date(Date.now() - 3600_000).toISOString(),
      });
      expect(result).toEqual({ aborted: 1, kept: 1 });
      const left = await openUploads(s3, bucket);
      expect(left.map((u) => u.id).sort()).toEqual([recent.UploadId, outside.UploadId].sort());
    }));
});
