/**
 * Each S3 operation's task runner against real S3 (moto), checked on the objects themselves.
 */
import {
  GetObjectAclCommand,
  GetObjectLegalHoldCommand,
  HeadObjectCommand,
  PutObjectLegalHoldCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

import { createTaskRunner, prepareOperation } from '../../src/local-batch/operations';
import { JobFailure, type JobOperation } from '../../src/local-batch/types';
import { withBucket } from '../helpers';
import { deps, putObjects, runAll, tagsOf, taskFor } from '../support/data-plane';

const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';

async function grantsOf(s3: S3Client, bucket: string, key: string): Promise<string[]> {
  const acl = await s3.send(new GetObjectAclCommand({ Bucket: bucket, Key: key }));
  return (acl.Grants ?? []).map((g) => `${g.Grantee?.URI ?? g.Grantee?.ID}:${g.Permission}`).sort();
}

async function prepareFailure(op: JobOperation, s3: S3Client, tasks = [taskFor('x', 'k')]): Promise<JobFailure> {
  try {
    await prepareOperation(op, tasks, deps(s3));
  } catch (err) {
    if (err instanceof JobFailure) return err;
    throw err;
  }
  throw new Error('expected a JobFailure');
}

describe('tagging', () => {
  test('S3PutObjectTagging replaces the whole tag set; a missing key fails with NoSuchKey 404', () =>
    withBucket(async (bucket, s3) => {
      const tasks = await putObjects(s3, bucket, ['a b.txt', 'c+d/e.txt'], { Tagging: 'old=1&keep=no' });
      const run = createTaskRunner(
        { type: 'S3PutObjectTagging', TagSet: [{ Key: 'campaign', Value: 'spring 2026' }] },
        deps(s3),
      );
      const results = await runAll(run, [...tasks, taskFor(bucket, 'missing.txt', 2)]);
      expect(results.map((r) => r.outcome.status)).toEqual(['succeeded', 'succeeded', 'failed']);
      expect(results[0]!.outcome.httpStatus).toBe(200);
      for (const t of tasks) expect(await tagsOf(s3, bucket, t.key)).toEqual({ campaign: 'spring 2026' });
      expect(results[2]!.outcome).toMatchObject({ errorCode: 'NoSuchKey', httpStatus: 404 });
    }));

  test('S3DeleteObjectTagging removes every tag; a missing key still reports NoSuchKey 404', () =>
    withBucket(async (bucket, s3) => {
      const [t] = await putObjects(s3, bucket, ['k'], { Tagging: 'a=1&b=2' });
      const run = createTaskRunner({ type: 'S3DeleteObjectTagging' }, deps(s3));
      expect(await run(t!)).toMatchObject({ status: 'succeeded', httpStatus: 200 });
      expect(await tagsOf(s3, bucket, 'k')).toEqual({});
      expect(await run(taskFor(bucket, 'gone'))).toMatchObject({
        status: 'failed',
        errorCode: 'NoSuchKey',
        httpStatus: 404,
      });
    }));

  test('a key S3 answers with an HTML 404 (a line break in the key) fails permanently as NoSuchKey 404', () =>
    withBucket(async (bucket, s3) => {
      const run = createTaskRunner({ type: 'S3PutObjectTagging', TagSet: [{ Key: 'a', Value: 'b' }] }, deps(s3));
      const outcome = await run(taskFor(bucket, 'nl/line1\nline2.txt'));
      // Not InternalError, which every retry round would run again.
      expect(outcome).toMatchObject({ status: 'failed', errorCode: 'NoSuchKey', httpStatus: 404 });
    }));

  test('a task with a version id acts on that version only; an empty version id fails the task', () =>
    withBucket(
      async (bucket, s3) => {
        const [v1] = await putObjects(s3, bucket, ['k']);
        const [v2] = await putObjects(s3, bucket, ['k']);
        const run = createTaskRunner({ type: 'S3PutObjectTagging', TagSet: [{ Key: 'v', Value: 'one' }] }, deps(s3));
        expect((await run(v1!)).status).toBe('succeeded');
        expect(await tagsOf(s3, bucket, 'k', v1!.versionId)).toEqual({ v: 'one' });
        expect(await tagsOf(s3, bucket, 'k', v2!.versionId)).toEqual({});
        expect(await run({ ...v1!, versionId: 'no-such-version' })).toMatchObject({
          errorCode: 'NoSuchVersion',
          httpStatus: 404,
        });
        expect(await run({ ...v1!, versionId: '' })).toMatchObject({
          status: 'failed',
          errorCode: 'InvalidRequest',
          httpStatus: 400,
        });
      },
      { versioning: true },
    ));
});

describe('S3PutObjectCopy', () => {
  test('copies under the prefix with storage class, replaced metadata and new tags', () =>
    withBucket((src, s3) =>
      withBucket(async (dst) => {
        const tasks = await putObjects(s3, src, ['photos/a b.jpg', 'photos/c+d.jpg'], {
          Metadata: { origin: 'camera' },
          ContentType: 'image/jpeg',
          Tagging: 'src=yes',
        });
        const op: JobOperation = {
          type: 'S3PutObjectCopy',
          TargetResource: `arn:aws:s3:::${dst}`,
          TargetKeyPrefix: 'archive',
          StorageClass: 'STANDARD_IA',
          MetadataDirective: 'REPLACE',
          NewObjectMetadata: {
            ContentType: 'image/x-archived',
            CacheControl: 'max-age=60',
            UserMetadata: { campaign: 'c1' },
          },
          NewObjectTagging: [{ Key: 'copied', Value: 'by batch' }],
        };
        await prepareOperation(op, tasks, deps(s3));
        const results = await runAll(createTaskRunner(op, deps(s3)), tasks);
        expect(results.map((r) => r.outcome.status)).toEqual(['succeeded', 'succeeded']);
        expect(JSON.parse(results[0]!.outcome.resultMessage!)).toMatchObject({ TargetKey: 'archive/photos/a b.jpg' });
        for (const t of tasks) {
          const head = await s3.send(new HeadObjectCommand({ Bucket: dst, Key: `archive/${t.key}` }));
          expect(head.StorageClass).toBe('STANDARD_IA');
          expect(head.ContentType).toBe('image/x-archived');
          expect(head.CacheControl).toBe('max-age=60');
          expect(head.Metadata).toEqual({ campaign: 'c1' });
          expect(await tagsOf(s3, dst, `archive/${t.key}`)).toEqual({ copied: 'by batch' });
        }
      }),
    ));

  test('without NewObjectTagging the source tags and metadata are copied; empty NewObjectTagging clears tags', () =>
    withBucket((src, s3) =>
      withBucket(async (dst) => {
        const [t] = await putObjects(s3, src, ['k'], { Metadata: { origin: 'camera' }, Tagging: 'src=yes' });
        const base = { type: 'S3PutObjectCopy', TargetResource: `arn:aws:s3:::${dst}` } as const;
        expect((await createTaskRunner(base, deps(s3))(t!)).status).toBe('succeeded');
        expect(await tagsOf(s3, dst, 'k')).toEqual({ src: 'yes' });
        expect((await s3.send(new HeadObjectCommand({ Bucket: dst, Key: 'k' }))).Metadata).toEqual({
          origin: 'camera',
        });
        const cleared = createTaskRunner({ ...base, TargetKeyPrefix: 'none/', NewObjectTagging: [] }, deps(s3));
        expect((await cleared(t!)).status).toBe('succeeded');
        expect(await tagsOf(s3, dst, 'none/k')).toEqual({});
      }),
    ));

  test('canned ACL and grants are applied to the copy', () =>
    withBucket((src, s3) =>
      withBucket(async (dst) => {
        const [t] = await putObjects(s3, src, ['k']);
        const canned = createTaskRunner(
          {
            type: 'S3PutObjectCopy',
            TargetResource: `arn:aws:s3:::${dst}`,
            TargetKeyPrefix: 'canned',
            CannedAccessControlList: 'public-read',
          },
          deps(s3),
        );
        expect((await canned(t!)).status).toBe('succeeded');
        expect(await grantsOf(s3, dst, 'canned/k')).toContain(`${ALL_USERS}:READ`);
        const granted = createTaskRunner(
          {
            type: 'S3PutObjectCopy',
            TargetResource: `arn:aws:s3:::${dst}`,
            TargetKeyPrefix: 'granted',
            AccessControlGrants: [
              { Grantee: { TypeIdentifier: 'uri', Identifier: ALL_USERS }, Permission: 'READ' },
              { Grantee: { TypeIdentifier: 'id', Identifier: 'partner-canonical-id' }, Permission: 'FULL_CONTROL' },
            ],
          },
          deps(s3),
        );
        expect((await granted(t!)).status).toBe('succeeded');
        expect(await grantsOf(s3, dst, 'granted/k')).toEqual([
          `${ALL_USERS}:READ`,
          'partner-canonical-id:FULL_CONTROL',
        ]);
      }),
    ));

  test('an archived source fails with InvalidObjectState 403 until it is restored', () =>
    withBucket((src, s3) =>
      withBucket(async (dst) => {
        const [t] = await putObjects(s3, src, ['cold'], { StorageClass: 'GLACIER' });
        const run = createTaskRunner({ type: 'S3PutObjectCopy', TargetResource: `arn:aws:s3:::${dst}` }, deps(s3));
        expect(await run(t!)).toMatchObject({ status: 'failed', errorCode: 'InvalidObjectState', httpStatus: 403 });
        const restore = createTaskRunner(
          { type: 'S3InitiateRestoreObject', ExpirationInDays: 1, GlacierJobTier: 'BULK' },
          deps(s3),
        );
        expect((await restore(t!)).status).toBe('succeeded');
        expect((await run(t!)).status).toBe('succeeded');
        expect((await s3.send(new HeadObjectCommand({ Bucket: dst, Key: 'cold' }))).ContentLength).toBeGreaterThan(0);
      }),
    ));

  test('object lock fields land on the copy in an Object Lock bucket', () =>
    withBucket((src, s3) =>
      withBucket(
        async (dst) => {
          const [t] = await putObjects(s3, src, ['k']);
          const until = new Date(Date.now() + 86_400_000);
          const run = createTaskRunner(
            {
              type: 'S3PutObjectCopy',
              TargetResource: `arn:aws:s3:::${dst}`,
              ObjectLockLegalHoldStatus: 'ON',
              ObjectLockMode: 'GOVERNANCE',
              ObjectLockRetainUntilDate: until.toISOString(),
            },
            deps(s3),
          );
          expect(await run(t!)).toMatchObject({ status: 'succeeded' });
          const head = await s3.send(new HeadObjectCommand({ Bucket: dst, Key: 'k' }));
          expect(head.ObjectLockMode).toBe('GOVERNANCE');
          expect(head.ObjectLockLegalHoldStatus).toBe('ON');
          expect(Math.abs(head.ObjectLockRetainUntilDate!.getTime() - until.getTime())).toBeLessThan(1000);
          // Lift the hold so that the bucket can be cleaned up.
          await s3.send(
            new PutObjectLegalHoldCommand({
              Bucket: dst,
              Key: 'k',
              VersionId: head.VersionId,
              LegalHold: { Status: 'OFF' },
            }),
          );
        },
        { objectLock: true },
      ),
    ));

  test('job-level checks: a missing target bucket, several source buckets, a WRITE grant', () =>
    withBucket(async (bucket, s3) => {
      const op = { type: 'S3PutObjectCopy', TargetResource: `arn:aws:s3:::${bucket}-missing` } as const;
      const f1 = await prepareFailure(op, s3, [taskFor(bucket, 'k')]);
      expect(f1.failureCode).toBe('BucketNotAccessible');
      expect(f1.failureReason).toBe(`Copy target bucket ${bucket}-missing does not exist`);
      const ok = { ...op, TargetResource: `arn:aws:s3:::${bucket}` };
      const f2 = await prepareFailure(ok, s3, [taskFor('a', 'k'), taskFor('b', 'k')]);
      expect(f2.failureReason).toMatch(/one bucket; the manifest names 2 \(a, b\)/);
      const f3 = await prepareFailure(
        { ...ok, AccessControlGrants: [{ Grantee: { Identifier: 'x' }, Permission: 'WRITE' }] },
        s3,
      );
      expect(f3.failureReason).toMatch(/WRITE is not valid on objects/);
    }));
});

describe('S3PutObjectAcl', () => {
  test('a canned ACL and an AccessControlList both replace the object ACL', () =>
    withBucket(async (bucket, s3) => {
      const [a, b] = await putObjects(s3, bucket, ['a', 'b']);
      const canned = createTaskRunner(
        { type: 'S3PutObjectAcl', AccessControlPolicy: { CannedAccessControlList: 'public-read' } },
        deps(s3),
      );
      expect((await canned(a!)).status).toBe('succeeded');
      expect(await grantsOf(s3, bucket, 'a')).toContain(`${ALL_USERS}:READ`);
      const list = createTaskRunner(
        {
          type: 'S3PutObjectAcl',
          AccessControlPolicy: {
            AccessControlList: {
              Owner: { ID: 'owner' },
              Grants: [
                { Grantee: { TypeIdentifier: 'id', Identifier: 'auditor-id' }, Permission: 'READ' },
                { Grantee: { TypeIdentifier: 'id', Identifier: 'auditor-id' }, Permission: 'READ_ACP' },
              ],
            },
          },
        },
        deps(s3),
      );
      expect((await list(b!)).status).toBe('succeeded');
      expect(await grantsOf(s3, bucket, 'b')).toEqual(['auditor-id:READ', 'auditor-id:READ_ACP']);
      expect(await canned(taskFor(bucket, 'missing'))).toMatchObject({
        status: 'failed',
        errorCode: 'NoSuchKey',
        httpStatus: 404,
      });
    }));
});

describe('S3InitiateRestoreObject', () => {
  test('a GLACIER object gets a restore (x-amz-restore with an expiry); a second job extends it', () =>
    withBucket(async (bucket, s3) => {
      const [g] = await putObjects(s3, bucket, ['g'], { StorageClass: 'GLACIER' });
      const [d] = await putObjects(s3, bucket, ['d'], { StorageClass: 'DEEP_ARCHIVE' });
      const run = createTaskRunner(
        { type: 'S3InitiateRestoreObject', ExpirationInDays: 3, GlacierJobTier: 'BULK' },
        deps(s3),
      );
      const first = await run(g!);
      expect(first).toMatchObject({ status: 'succeeded', httpStatus: 200 });
      expect((await run(d!)).status).toBe('succeeded');
      for (const key of ['g', 'd']) {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        expect(head.Restore).toMatch(/ongoing-request="(true|false)"/);
      }
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'g' }));
      const expiry = new Date(/expiry-date="([^"]+)"/.exec(head.Restore!)![1]!);
      expect(expiry.getTime()).toBeGreaterThan(Date.now() + 2 * 86_400_000);
      const again = createTaskRunner(
        { type: 'S3InitiateRestoreObject', ExpirationInDays: 10, GlacierJobTier: 'STANDARD' },
        deps(s3),
      );
      expect(await again(g!)).toMatchObject({
        status: 'succeeded',
        resultMessage: expect.stringContaining('already restored'),
      });
      const later = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'g' }));
      expect(new Date(/expiry-date="([^"]+)"/.exec(later.Restore!)![1]!).getTime()).toBeGreaterThan(
        Date.now() + 9 * 86_400_000,
      );
    }));

  test.each([
    ['a STANDARD object', 'STANDARD', 3, 'InvalidObjectState', 403],
    ['a GLACIER object without ExpirationInDays', 'GLACIER', undefined, 'InvalidArgument', 400],
  ] as const)('%s fails the task', (_n, storageClass, days, code, status) =>
    withBucket(async (bucket, s3) => {
      const [t] = await putObjects(s3, bucket, ['k'], { StorageClass: storageClass });
      const run = createTaskRunner({ type: 'S3InitiateRestoreObject', ExpirationInDays: days }, deps(s3));
      expect(await run(t!)).toMatchObject({ status: 'failed', errorCode: code, httpStatus: status });
      expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }))).Restore).toBeUndefined();
    }),
  );
});

describe('Object Lock operations', () => {
  test('S3PutObjectLegalHold sets the hold on the given version', () =>
    withBucket(
      async (bucket, s3) => {
        const [t] = await putObjects(s3, bucket, ['k']);
        const op: JobOperation = { type: 'S3PutObjectLegalHold', LegalHold: { Status: 'ON' } };
        await prepareOperation(op, [t!], deps(s3));
        expect(await createTaskRunner(op, deps(s3))(t!)).toMatchObject({ status: 'succeeded', httpStatus: 200 });
        const hold = await s3.send(
          new GetObjectLegalHoldCommand({ Bucket: bucket, Key: 'k', VersionId: t!.versionId }),
        );
        expect(hold.LegalHold?.Status).toBe('ON');
        const off = createTaskRunner({ type: 'S3PutObjectLegalHold', LegalHold: { Status: 'OFF' } }, deps(s3));
        expect((await off(t!)).status).toBe('succeeded');
        expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }))).ObjectLockLegalHoldStatus).toBe(
          'OFF',
        );
      },
      { objectLock: true },
    ));

  test('S3PutObjectRetention sets GOVERNANCE retention, then removes it with BypassGovernanceRetention', () =>
    withBucket(
      async (bucket, s3) => {
        const [t] = await putObjects(s3, bucket, ['k']);
        const until = new Date(Date.now() + 2 * 86_400_000);
        const op: JobOperation = {
          type: 'S3PutObjectRetention',
          Retention: { Mode: 'GOVERNANCE', RetainUntilDate: until.toISOString() },
        };
        await prepareOperation(op, [t!], deps(s3));
        expect((await createTaskRunner(op, deps(s3))(t!)).status).toBe('succeeded');
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k', VersionId: t!.versionId }));
        expect(head.ObjectLockMode).toBe('GOVERNANCE');
        expect(Math.abs(head.ObjectLockRetainUntilDate!.getTime() - until.getTime())).toBeLessThan(1000);
        const remove = createTaskRunner(
          { type: 'S3PutObjectRetention', Retention: {}, BypassGovernanceRetention: true },
          deps(s3),
        );
        expect((await remove(t!)).status).toBe('succeeded');
        expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }))).ObjectLockMode).toBeUndefined();
      },
      { objectLock: true },
    ));

  test.each(['S3PutObjectLegalHold', 'S3PutObjectRetention'] as const)(
    '%s fails the job before any task when a bucket has no Object Lock',
    (type) =>
      withBucket(async (bucket, s3) => {
        const [t] = await putObjects(s3, bucket, ['k']);
        const op: JobOperation =
          type === 'S3PutObjectLegalHold'
            ? { type, LegalHold: { Status: 'ON' } }
            : {
                type,
                Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 86_400_000).toISOString() },
              };
        const f = await prepareFailure(op, s3, [t!]);
        expect(f.failureCode).toBe('ObjectLockNotEnabled');
        expect(f.failureReason).toContain(`Bucket ${bucket} does not have Object Lock enabled`);
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }));
        expect(head.ObjectLockLegalHoldStatus).toBeUndefined();
        expect(head.ObjectLockMode).toBeUndefined();
      }),
  );
});
