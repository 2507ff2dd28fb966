/**
 * Every operation the local engine runs, end to end through the campaign workflow (real Temporal dev server, moto and
 * a local Batch Operations engine): lambda, acl, legal-hold, retention, delete-tags and copy with REPLACE metadata.
 * put-tags, restore and plain copy are in campaign-basic.test.ts. Each test checks the effect on the objects (read
 * back from S3, with an object the campaign must leave alone where that can tell), the campaign's result and the
 * jobs the engine holds.
 */
import {
  GetObjectAclCommand,
  GetObjectLegalHoldCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type Grant,
  type S3Client,
} from '@aws-sdk/client-s3';

import { decodeManifestKey, encodeManifestKey } from '../../src/inventory/key-encoding';
import type { CampaignResult } from '../../src/shared/campaign';
import type { CampaignSpecInput } from '../../src/shared/campaign-spec';
import { uniqueName, withBucket } from '../helpers';
import {
  getText,
  listJobs,
  putObjects,
  startCampaign,
  testSpec,
  withCampaignWorker,
  type CampaignHarness,
} from '../support/campaign';
import { startHttpHandler } from '../support/data-plane';
import { readJobReport, withEngine } from '../support/engine';

const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
const FAILED_CSV_HEADER = 'bucket,key,versionId,errorCode,httpStatus,message,round\n';

/** Runs a campaign (no approval) to its end; its workflow id names its folder under `campaigns/`. */
async function runCampaign(
  h: CampaignHarness,
  reportBucket: string,
  over: Partial<CampaignSpecInput>,
): Promise<{ result: CampaignResult; workflowId: string }> {
  const workflowId = uniqueName('wf-op');
  const handle = await startCampaign(
    h,
    workflowId,
    testSpec(h, reportBucket, { approval: { required: false }, ...over }),
  );
  return { result: (await handle.result()) as CampaignResult, workflowId };
}

/** The clean result of a campaign over `objects` objects in one job. */
const succeededResult = (objects: number) => ({
  outcome: 'Succeeded',
  objects,
  succeeded: objects,
  failed: 0,
  notRun: 0,
  jobs: 1,
});

/** The account's jobs on the engine, oldest first, as [operation, status, tasks, succeeded, failed]. */
async function jobsOf(accountId: string, engineUrl?: string) {
  const jobs = await listJobs(accountId, engineUrl);
  return jobs
    .sort((a, b) => a.CreationTime!.getTime() - b.CreationTime!.getTime())
    .map((j) => [
      j.Operation,
      j.Status,
      j.ProgressSummary?.TotalNumberOfTasks,
      j.ProgressSummary?.NumberOfTasksSucceeded,
      j.ProgressSummary?.NumberOfTasksFailed,
    ]);
}

async function failedCsv(s3: S3Client, bucket: string, result: CampaignResult): Promise<string> {
  return getText(s3, bucket, result.failedObjects!.replace(`s3://${bucket}/`, ''));
}

async function tagsOf(s3: S3Client, bucket: string, key: string): Promise<Record<string, string>> {
  const out = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  return Object.fromEntries((out.TagSet ?? []).map((t) => [t.Key!, t.Value!]));
}

/** An object's ACL grants as `grantee permission` strings, sorted. */
async function grantsOf(s3: S3Client, bucket: string, key: string): Promise<string[]> {
  const out = await s3.send(new GetObjectAclCommand({ Bucket: bucket, Key: key }));
  const who = (g: Grant) => g.Grantee?.URI ?? `id:${g.Grantee?.ID === out.Owner?.ID ? 'owner' : g.Grantee?.ID}`;
  return (out.Grants ?? []).map((g) => `${who(g)} ${g.Permission}`).sort();
}

describe('campaign workflow: every engine operation end to end', () => {
  test('lambda: the function is invoked once per key with the right event; its result strings are in the completion report', async () => {
    const FN = 'arn:aws:lambda:us-east-1:123456789012:function:thumbnailer';
    const keys = ['photos/a.jpg', 'photos/b c.jpg', 'photos/d+e.jpg', 'photos/ü.jpg'];
    const handler = await startHttpHandler((event) => {
      const e = event as {
        invocationSchemaVersion: string;
        invocationId: string;
        job: { userArguments: Record<string, string> };
        tasks: Array<{ taskId: string; s3Key: string; s3Bucket: string }>;
      };
      return {
        body: JSON.stringify({
          invocationSchemaVersion: e.invocationSchemaVersion,
          invocationId: e.invocationId,
          treatMissingKeysAs: 'PermanentFailure',
          results: e.tasks.map((t) => ({
            taskId: t.taskId,
            resultCode: 'Succeeded',
            resultString: `thumbnail of ${t.s3Bucket}/${t.s3Key} at ${e.job.userArguments.size}px`,
          })),
        }),
      };
    });
    try {
      await withBucket(async (bucket, s3) => {
        await putObjects(s3, bucket, keys);
        // The run's engine has no Lambda handlers: this campaign's jobs go to an engine that knows the function.
        await withEngine({ lambdaHandlers: { [FN]: handler.url } }, async (engine) => {
          await withCampaignWorker(
            async (h) => {
              const { result, workflowId } = await runCampaign(h, bucket, {
                source: { type: 'keys', bucket, keys },
                operation: { type: 'lambda', functionArn: FN, userArguments: { size: '128' } },
              });
              expect(result).toMatchObject(succeededResult(keys.length));
              expect(await jobsOf(h.accountId, engine.url)).toEqual([['LambdaInvoke', 'Complete', 4, 4, 0]]);
              const [job] = await listJobs(h.accountId, engine.url);

              // Once per key (no retries, no key twice), with the schema 2.0 event of this job.
              expect(handler.events).toHaveLength(keys.length);
              const seen = handler.events.map((event) => {
                expect(event).toMatchObject({
                  invocationSchemaVersion: '2.0',
                  job: { id: job!.JobId, userArguments: { size: '128' } },
                  tasks: [{ s3Bucket: bucket, s3VersionId: null }],
                });
                return decodeManifestKey((event as { tasks: Array<{ s3Key: string }> }).tasks[0]!.s3Key);
              });
              expect(seen.sort()).toEqual([...keys].sort());

              // campaign.json names the job's completion report, where S3 wrote it.
              const campaign = JSON.parse(await getText(s3, bucket, `campaigns/${workflowId}/campaign.json`)) as {
                jobs: Array<{ jobId: string; reportKey?: string }>;
              };
              expect(campaign.jobs.map((j) => [j.jobId, j.reportKey])).toEqual([
                [job!.JobId, `campaigns/${workflowId}/reports/job-${job!.JobId}/manifest.json`],
              ]);
              // Each task's resultString is its ResultMessage in the job's completion report.
              const report = await readJobReport(s3, bucket, `campaigns/${workflowId}/reports`, job!.JobId!);
              expect(
                report.rows
                  .map((r) => [r.decodedKey, r.taskStatus, r.resultMessage])
                  .sort((a, b) => a[0]!.localeCompare(b[0]!)),
              ).toEqual(
                [...keys]
                  .sort()
                  .map((k) => [k, 'succeeded', `thumbnail of ${bucket}/${encodeManifestKey(k)} at 128px`]),
              );
              expect(await failedCsv(s3, bucket, result)).toBe(FAILED_CSV_HEADER);
            },
            { engineUrl: engine.url },
          );
        });
      });
    } finally {
      await handler.close();
    }
  });

  test('acl: every listed object gets the canned ACL; an object outside the campaign keeps its own', async () => {
    await withBucket(async (bucket, s3) => {
      const keys = ['acl/a.txt', 'acl/b c.txt', 'acl/d.txt'];
      await putObjects(s3, bucket, [...keys, 'acl/untouched.txt']);
      const privateAcl = ['id:owner FULL_CONTROL'];
      for (const key of [...keys, 'acl/untouched.txt']) expect(await grantsOf(s3, bucket, key)).toEqual(privateAcl);
      await withCampaignWorker(async (h) => {
        const { result } = await runCampaign(h, bucket, {
          source: { type: 'keys', bucket, keys },
          operation: { type: 'acl', cannedAcl: 'public-read' },
        });
        expect(result).toMatchObject(succeededResult(keys.length));
        expect(await jobsOf(h.accountId)).toEqual([['S3PutObjectAcl', 'Complete', 3, 3, 0]]);
        for (const key of keys) {
          expect(await grantsOf(s3, bucket, key)).toEqual([`${ALL_USERS} READ`, 'id:owner FULL_CONTROL']);
        }
        expect(await grantsOf(s3, bucket, 'acl/untouched.txt')).toEqual(privateAcl);
        expect(await failedCsv(s3, bucket, result)).toBe(FAILED_CSV_HEADER);
      });
    });
  });

  test('legal-hold: ON puts a hold on every listed object, OFF releases it; others are never held', async () => {
    await withBucket(async (reportBucket) => {
      await withBucket(
        async (bucket, s3) => {
          const keys = ['held/a.txt', 'held/b c.txt', 'held/d.txt'];
          await putObjects(s3, bucket, [...keys, 'held/untouched.txt']);
          const holdOf = async (key: string) =>
            (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ObjectLockLegalHoldStatus;
          for (const key of keys) expect(await holdOf(key)).toBeUndefined();
          await withCampaignWorker(async (h) => {
            const source = { type: 'keys' as const, bucket, keys };
            const on = await runCampaign(h, reportBucket, { source, operation: { type: 'legal-hold', status: 'ON' } });
            expect(on.result).toMatchObject(succeededResult(keys.length));
            for (const key of keys) {
              const out = await s3.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: key }));
              expect(out.LegalHold?.Status).toBe('ON');
            }
            expect(await holdOf('held/untouched.txt')).toBeUndefined();

            const off = await runCampaign(h, reportBucket, {
              source,
              operation: { type: 'legal-hold', status: 'OFF' },
            });
            expect(off.result).toMatchObject(succeededResult(keys.length));
            for (const key of keys) {
              const out = await s3.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: key }));
              expect(out.LegalHold?.Status).toBe('OFF');
            }
            expect(await jobsOf(h.accountId)).toEqual([
              ['S3PutObjectLegalHold', 'Complete', 3, 3, 0],
              ['S3PutObjectLegalHold', 'Complete', 3, 3, 0],
            ]);
          });
        },
        { objectLock: true },
      );
    });
  });

  test('retention: GOVERNANCE until a date on every listed object, then removed with bypassGovernance', async () => {
    await withBucket(async (reportBucket) => {
      await withBucket(
        async (bucket, s3) => {
          const keys = ['kept/a.txt', 'kept/b c.txt', 'kept/d.txt'];
          await putObjects(s3, bucket, [...keys, 'kept/untouched.txt']);
          const modeOf = async (key: string) =>
            (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ObjectLockMode;
          for (const key of keys) expect(await modeOf(key)).toBeUndefined();
          // Whole seconds: S3 keeps retain-until dates to the second.
          const until = new Date(Math.floor(Date.now() / 1000) * 1000 + 2 * 86_400_000);
          await withCampaignWorker(async (h) => {
            const source = { type: 'keys' as const, bucket, keys };
            const set = await runCampaign(h, reportBucket, {
              source,
              operation: { type: 'retention', mode: 'GOVERNANCE', retainUntil: until.toISOString() },
            });
            expect(set.result).toMatchObject(succeededResult(keys.length));
            for (const key of keys) {
              // HeadObject, not GetObjectRetention: moto answers ?retention with the object's body.
              const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
              expect(head.ObjectLockMode).toBe('GOVERNANCE');
              expect(head.ObjectLockRetainUntilDate?.toISOString()).toBe(until.toISOString());
            }
            expect(await modeOf('kept/untouched.txt')).toBeUndefined();

            // Neither mode nor date removes the retention; GOVERNANCE retention needs the bypass to be removed.
            const remove = await runCampaign(h, reportBucket, {
              source,
              operation: { type: 'retention', bypassGovernance: true },
            });
            expect(remove.result).toMatchObject(succeededResult(keys.length));
            for (const key of keys) expect(await modeOf(key)).toBeUndefined();
            expect(await jobsOf(h.accountId)).toEqual([
              ['S3PutObjectRetention', 'Complete', 3, 3, 0],
              ['S3PutObjectRetention', 'Complete', 3, 3, 0],
            ]);
          });
        },
        { objectLock: true },
      );
    });
  });

  test('delete-tags: every listed object loses all its tags; an object outside the campaign keeps them', async () => {
    await withBucket(async (bucket, s3) => {
      const keys = ['tagged/a.txt', 'tagged/b c.txt', 'tagged/d+e.txt', 'tagged/f.txt'];
      const all = [...keys, 'tagged/untouched.txt'];
      await putObjects(s3, bucket, all);
      const tags = { project: 'atlas', stage: 'raw' };
      for (const key of all) {
        await s3.send(
          new PutObjectTaggingCommand({
            Bucket: bucket,
            Key: key,
            Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
          }),
        );
        expect(await tagsOf(s3, bucket, key)).toEqual(tags);
      }
      await withCampaignWorker(async (h) => {
        const { result } = await runCampaign(h, bucket, {
          source: { type: 'keys', bucket, keys },
          operation: { type: 'delete-tags' },
        });
        expect(result).toMatchObject(succeededResult(keys.length));
        expect(await jobsOf(h.accountId)).toEqual([['S3DeleteObjectTagging', 'Complete', 4, 4, 0]]);
        for (const key of keys) expect(await tagsOf(s3, bucket, key)).toEqual({});
        expect(await tagsOf(s3, bucket, 'tagged/untouched.txt')).toEqual(tags);
        expect(await failedCsv(s3, bucket, result)).toBe(FAILED_CSV_HEADER);
      });
    });
  });

  test('copy with metadataDirective REPLACE: the copies carry the new metadata only; the sources keep theirs', async () => {
    await withBucket(async (target) => {
      await withBucket(async (bucket, s3) => {
        const keys = ['src/a.json', 'src/b c.json', 'src/d.json'];
        const sourceMetadata = { origin: 'camera', batch: '7' };
        for (const key of keys) {
          await s3.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: `body of ${key}`,
              ContentType: 'text/plain',
              Metadata: sourceMetadata,
            }),
          );
        }
        await withCampaignWorker(async (h) => {
          const { result } = await runCampaign(h, bucket, {
            source: { type: 'keys', bucket, keys },
            operation: {
              type: 'copy',
              targetBucket: target,
              targetKeyPrefix: 'replaced/',
              metadataDirective: 'REPLACE',
              metadata: {
                contentType: 'application/json',
                cacheControl: 'max-age=60',
                contentLanguage: 'de',
                userMetadata: { owner: 'team-a' },
              },
            },
          });
          expect(result).toMatchObject(succeededResult(keys.length));
          expect(await jobsOf(h.accountId)).toEqual([['S3PutObjectCopy', 'Complete', 3, 3, 0]]);
          for (const key of keys) {
            const copy = await s3.send(new HeadObjectCommand({ Bucket: target, Key: `replaced/${key}` }));
            expect(copy).toMatchObject({
              ContentType: 'application/json',
              CacheControl: 'max-age=60',
              ContentLanguage: 'de',
            });
            // Replaced, not merged: none of the source's user metadata survives.
            expect(copy.Metadata).toEqual({ owner: 'team-a' });
            expect(await getText(s3, target, `replaced/${key}`)).toBe(`body of ${key}`);

            const source = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
            expect(source.ContentType).toBe('text/plain');
            expect(source.CacheControl).toBeUndefined();
            expect(source.ContentLanguage).toBeUndefined();
            expect(source.Metadata).toEqual(sourceMetadata);
          }
          expect(await failedCsv(s3, bucket, result)).toBe(FAILED_CSV_HEADER);
        });
      });
    });
  });
});
