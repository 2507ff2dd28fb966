/**
 * The campaign's failure paths (issue 14): whatever fails it once jobs exist, the campaign cancels the jobs it
 * created, creates no more, says which failure ended it, and still writes campaign.json and failed.csv. Each test
 * first proves that the sibling jobs were really alive when the failure happened.
 */
import { GetObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { DescribeJobCommand, UpdateJobStatusCommand, type JobDescriptor } from '@aws-sdk/client-s3-control';
import {
  ActivityFailure,
  ApplicationFailure,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';

import { approveUpdate, statusQuery, type CampaignResult } from '../../src/shared/campaign';
import { FailureType } from '../../src/shared/errors';
import { controlClient, uniqueName, withBucket } from '../helpers';
import {
  addFault,
  getText,
  listJobs,
  manifestKeys,
  putObjects,
  removeFault,
  startCampaign,
  testSpec,
  waitForPhase,
  waitForStatus,
  withCampaignWorker,
} from '../support/campaign';

const range = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}.txt`);

const control = controlClient();
afterAll(() => control.destroy());

async function describeJob(accountId: string, jobId: string): Promise<JobDescriptor> {
  const out = await control.send(new DescribeJobCommand({ AccountId: accountId, JobId: jobId }));
  return out.Job!;
}

/** Polls the engine until the account's jobs have these statuses (by job id), or fails naming what it saw. */
async function waitForEngine(accountId: string, want: Record<string, string>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: Record<string, string | undefined> = {};
  while (Date.now() < deadline) {
    seen = Object.fromEntries((await listJobs(accountId)).map((j) => [j.JobId!, j.Status]));
    if (Object.keys(want).every((id) => seen[id] === want[id])) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`engine jobs never reached ${JSON.stringify(want)}; last seen ${JSON.stringify(seen)}`);
}

/** The workflow's failure chain (it must fail within `ms`). */
async function failureOf(handle: WorkflowHandle, ms = 90_000): Promise<WorkflowFailedError> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`workflow ${handle.workflowId} did not end within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([handle.result(), hang]);
  } catch (err) {
    if (err instanceof WorkflowFailedError) return err;
    throw err;
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`workflow ${handle.workflowId} did not fail`);
}

/** failed.csv as rows: decoded key, error code, round (the last field: a quoted message may hold commas). */
async function failedRows(s3: S3Client, bucket: string, campaignId: string) {
  const lines = (await getText(s3, bucket, `campaigns/${campaignId}/failed.csv`)).trim().split('\n');
  expect(lines[0]).toBe('bucket,key,versionId,errorCode,httpStatus,message,round');
  return lines.slice(1).map((l) => {
    const f = l.split(',');
    return { key: decodeURIComponent(f[1]!), code: f[3], round: f[f.length - 1] };
  });
}

async function tagCount(s3: S3Client, bucket: string, key: string): Promise<number> {
  return ((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet ?? []).length;
}

describe('campaign failure paths', () => {
  test.each([
    ['await approval (Suspended)', 'Suspended'],
    ['are still Preparing', 'Preparing'],
  ] as const)(
    'a job that fails in Preparing while its siblings %s: they are cancelled, no job runs or is added, the report lists every object as not run',
    async (_when, siblingsThen) => {
      await withBucket(async (bucket, s3) => {
        const keys = range(6, 'obj/');
        await putObjects(s3, bucket, keys);
        await withCampaignWorker(async (h) => {
          const name = uniqueName('fail-preparing');
          const shard = (n: number) => ({ description: `${name} — round 0 shard ${n}` });
          // Shard 1 fails in Preparing; whichever side must wait is held there long enough to be seen.
          const failure = { failureCode: 'InvalidManifest', failureReason: 'injected: shard 1 cannot be prepared' };
          const rules =
            siblingsThen === 'Suspended'
              ? [{ match: shard(1), preparingDelayMs: 5000, preparingFails: failure }]
              : [
                  { match: shard(1), preparingFails: failure },
                  { match: shard(0), preparingDelayMs: 5000 },
                  { match: shard(2), preparingDelayMs: 5000 },
                ];
          const faults: string[] = [];
          try {
            for (const rule of rules) faults.push(await addFault(rule));
            const spec = testSpec(h, bucket, { name, source: { type: 'keys', bucket, keys }, maxObjectsPerJob: 2 });
            const handle = await startCampaign(h, uniqueName('wf-fail-preparing'), spec);

            // The moment: the siblings alive (Suspended, or still Preparing) next to shard 1, three jobs only.
            const created = await waitForStatus(handle, (st) => st.jobs.filter((j) => j.jobId).length === 3, '3 jobs');
            const [s0, s1, s2] = [0, 1, 2].map((n) => created.jobs.find((j) => j.shard === n)!.jobId!);
            const shard1Then = siblingsThen === 'Suspended' ? 'Preparing' : 'Failed';
            await waitForEngine(h.accountId, { [s0!]: siblingsThen, [s1!]: shard1Then, [s2!]: siblingsThen });
            expect(await listJobs(h.accountId)).toHaveLength(3);
            // …and the campaign still waits for shard 1: nobody is asked to approve an incomplete round.
            expect((await handle.query(statusQuery)).phase).toBe('PreparingJobs');

            const result = (await handle.result()) as CampaignResult;
            expect(result).toMatchObject({
              outcome: 'Failed',
              objects: 6,
              succeeded: 0,
              failed: 0,
              notRun: 6,
              jobs: 3,
            });
            expect(result.reason).toBe(`job ${s1} Failed: ${failure.failureCode}: ${failure.failureReason}`);

            // In the engine: no further job, the failed one as injected, its siblings cancelled after it failed.
            expect((await listJobs(h.accountId)).map((j) => j.JobId).sort()).toEqual([s0, s1, s2].sort());
            const failed = await describeJob(h.accountId, s1!);
            expect(failed.Status).toBe('Failed');
            expect(failed.FailureReasons).toEqual([
              { FailureCode: failure.failureCode, FailureReason: failure.failureReason },
            ]);
            expect(failed.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 0, NumberOfTasksFailed: 0 });
            const failedAt = failed.TerminationDate!.getTime();
            for (const id of [s0!, s2!]) {
              const sibling = await describeJob(h.accountId, id);
              expect(sibling.Status).toBe('Cancelled');
              expect(sibling.StatusUpdateReason).toBe('another job of this campaign failed before approval');
              expect(sibling.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 0, NumberOfTasksFailed: 0 });
              // Alive when shard 1 failed: ended after it, and Suspended before it (or only after it, if Preparing).
              expect(sibling.TerminationDate!.getTime()).toBeGreaterThanOrEqual(failedAt);
              if (siblingsThen === 'Suspended') expect(sibling.SuspendedDate!.getTime()).toBeLessThan(failedAt);
              else expect(sibling.SuspendedDate?.getTime() ?? Infinity).toBeGreaterThan(failedAt);
            }
            for (const key of keys) expect(await tagCount(s3, bucket, key)).toBe(0);

            const report = JSON.parse(await getText(s3, bucket, `campaigns/${handle.workflowId}/campaign.json`));
            expect(report).toMatchObject({ outcome: 'Failed', reason: result.reason });
            expect(report.totals).toMatchObject({ objects: 6, succeeded: 0, failed: 0, notRun: 6, jobs: 3 });
            expect(report.jobs.map((j: { status: string }) => j.status)).toEqual(['Cancelled', 'Failed', 'Cancelled']);
            // Nobody decided anything: the campaign never reached AwaitingApproval.
            expect(report.jobs.every((j: { approval?: unknown }) => j.approval === undefined)).toBe(true);
            const rows = await failedRows(s3, bucket, handle.workflowId);
            expect(rows.map((r) => r.key).sort()).toEqual(keys);
            expect(rows.every((r) => r.code === 'NotRun' && r.round === '0')).toBe(true);
          } finally {
            for (const id of faults) await removeFault(id);
          }
        });
      });
    },
  );

  test('a permanent activity error while a job runs: the job is cancelled, the campaign fails with the error, and the report is written', async () => {
    await withBucket(async (bucket, s3) => {
      const keys = range(60, 'obj/');
      await putObjects(s3, bucket, keys);
      // Slow tasks: shard 0 (40 objects, 16 at a time in the engine) is still running when the error comes.
      const slow = await addFault({ match: { bucket }, latencyMs: 3000 });
      try {
        await withCampaignWorker(async (h) => {
          const spec = testSpec(h, bucket, { source: { type: 'keys', bucket, keys }, maxObjectsPerJob: 40 });
          const handle = await startCampaign(h, uniqueName('wf-permanent-error'), spec);
          const waiting = await waitForPhase(handle, 'AwaitingApproval');
          const [s0, s1] = [0, 1].map((shard) => waiting.jobs.find((j) => j.shard === shard)!.jobId!);
          const shard0Keys = await manifestKeys(s3, waiting.jobs[0]!.manifest.bucket, waiting.jobs[0]!.manifest.key);
          expect(shard0Keys).toHaveLength(40);

          await waitForEngine(h.accountId, { [s0!]: 'Suspended', [s1!]: 'Suspended' });
          // Someone cancels shard 1 by hand (the S3 console) while the campaign awaits approval; then it is
          // approved. Setting shard 1 Ready is refused for good (it has ended): InvalidJobState, non-retryable.
          await control.send(
            new UpdateJobStatusCommand({
              AccountId: h.accountId,
              JobId: s1,
              RequestedJobStatus: 'Cancelled',
              StatusUpdateReason: 'cancelled by hand in the console',
            }),
          );
          const approval = handle.executeUpdate(approveUpdate, { args: [{ by: 'dana' }] }).catch((e: unknown) => e);

          const err = await failureOf(handle);
          expect(err.cause).toBeInstanceOf(ActivityFailure);
          const cause = err.cause!.cause as ApplicationFailure;
          expect(cause).toBeInstanceOf(ApplicationFailure);
          expect(cause.type).toBe(FailureType.InvalidJobState);
          expect(cause.nonRetryable).toBe(true);
          expect(cause.message).toContain(`setting Batch Operations job ${s1} to Ready`);
          expect(cause.message).toContain(`Job ${s1} is Cancelled`);
          // The approver is not told that the decision took effect.
          expect(await approval).toBeInstanceOf(WorkflowUpdateFailedError);

          // Shard 0, approved first, was running and was cancelled by the campaign part-way: some tasks ran, not all.
          const job0 = await describeJob(h.accountId, s0!);
          expect(job0.Status).toBe('Cancelled');
          const ran = job0.ProgressSummary!.NumberOfTasksSucceeded! + job0.ProgressSummary!.NumberOfTasksFailed!;
          expect(job0.ProgressSummary!.NumberOfTasksSucceeded).toBeGreaterThan(0);
          expect(ran).toBeLessThan(40);
          expect(job0.StatusUpdateReason).toMatch(/^activity updateBatchJobStatus failed: InvalidJobState: /);
          const job1 = await describeJob(h.accountId, s1!);
          expect(job1).toMatchObject({ Status: 'Cancelled', StatusUpdateReason: 'cancelled by hand in the console' });
          expect(await listJobs(h.accountId)).toHaveLength(2);

          const report = JSON.parse(await getText(s3, bucket, `campaigns/${handle.workflowId}/campaign.json`));
          expect(report.outcome).toBe('Failed');
          expect(report.reason).toBe(`activity updateBatchJobStatus failed: ${cause.type}: ${cause.message}`);
          expect((await handle.query(statusQuery)).outcomeReason).toBe(report.reason);
          const succeeded = job0.ProgressSummary!.NumberOfTasksSucceeded!;
          expect(report.totals).toMatchObject({ objects: 60, succeeded, failed: 0, notRun: 60 - succeeded, jobs: 2 });
          // failed.csv: every object that did not run (the rest of shard 0, all of shard 1), none that did.
          const rows = await failedRows(s3, bucket, handle.workflowId);
          expect(rows).toHaveLength(60 - succeeded);
          expect(rows.every((r) => r.code === 'NotRun')).toBe(true);
          for (const r of rows) expect(await tagCount(s3, bucket, r.key)).toBe(0);
          const tagged = keys.filter((k) => !rows.some((r) => r.key === k));
          expect(tagged).toHaveLength(succeeded);
          expect(tagged.every((k) => shard0Keys.includes(k))).toBe(true);
          for (const k of tagged) expect(await tagCount(s3, bucket, k)).toBe(1);
        });
      } finally {
        await removeFault(slow);
      }
    });
  });
});
