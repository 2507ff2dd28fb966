/**
 * Regression tests for the campaign workflow's hardening (issue 9): a reused campaign id never overwrites the earlier
 * campaign's files, malformed approval payloads never approve, malformed input fails at once, a cancel that races the
 * jobs' end reports their final counts, and a rejected campaign counts its objects as not run.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DescribeJobCommand } from '@aws-sdk/client-s3-control';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';

import {
  approveSignal,
  approveUpdate,
  rejectUpdate,
  statusQuery,
  type CampaignResult,
} from '../../src/shared/campaign';
import { CAMPAIGN_SEARCH_ATTRIBUTES as SA } from '../../src/shared/search-attributes';
import { controlClient, uniqueName, withBucket } from '../helpers';
import {
  addFault,
  getText,
  listJobs,
  removeFault,
  putObjects,
  startCampaign,
  testSpec,
  waitForPhase,
  waitForStatus,
  withCampaignWorker,
} from '../support/campaign';

/** The workflow's failure (type and message), or a test failure if it does not fail within `ms`. */
async function failureOf(handle: WorkflowHandle, ms = 60_000): Promise<{ type?: string; message: string }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`workflow ${handle.workflowId} did not fail within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([handle.result(), hang]);
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = err.cause as { type?: string; message: string };
    return { type: cause.type, message: cause.message };
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`workflow ${handle.workflowId} succeeded`);
}

describe('campaign hardening', () => {
  test('a reused campaign id fails AlreadyExists and leaves the earlier campaign and its files as they were', async () => {
    await withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, ['a', 'b']);
      await withCampaignWorker(async (h) => {
        const workflowId = uniqueName('wf-reuse');
        const spec = testSpec(h, bucket, {
          source: { type: 'keys', bucket, keys: ['a', 'b'] },
          approval: { required: false },
        });
        const first = await startCampaign(h, workflowId, spec);
        expect(await first.result()).toMatchObject({ outcome: 'Succeeded', succeeded: 2 });
        const folder = `campaigns/${workflowId}`;
        const before = await getText(s3, bucket, `${folder}/campaign.json`);

        // Temporal allows the id again once the first closed (the Web UI's Start form does not ask).
        const second = await startCampaign(h, workflowId, { ...spec, source: { type: 'keys', bucket, keys: ['b'] } });
        const failure = await failureOf(second);
        expect(failure.type).toBe('AlreadyExists');
        expect(failure.message).toContain(`campaign id ${workflowId} is already taken`);
        expect(failure.message).toContain('which ended Succeeded');
        expect(await getText(s3, bucket, `${folder}/campaign.json`)).toBe(before);
        // Every job the service created is accounted in a report: the second campaign created none.
        const jobs = await listJobs(h.accountId);
        expect(jobs).toHaveLength(1);
        expect(JSON.parse(before).jobs.map((j: { jobId: string }) => j.jobId)).toEqual([jobs[0]!.JobId]);
      });
    });
  });

  test('malformed approval payloads never approve: the Update refuses them, the Signal is recorded as ignored', async () => {
    await withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, ['k1']);
      await withCampaignWorker(async (h) => {
        const spec = testSpec(h, bucket, { source: { type: 'keys', bucket, keys: ['k1'] } });
        const handle = await startCampaign(h, uniqueName('wf-payload'), spec);
        const waiting = await waitForPhase(handle, 'AwaitingApproval');
        const jobId = waiting.awaitingApproval!.jobIds[0]!;
        const update = (payload: unknown) =>
          handle.executeUpdate(approveUpdate, { args: [payload as never] }).then(
            () => 'accepted',
            (e: unknown) => (e instanceof WorkflowUpdateFailedError ? String(e.cause?.message) : String(e)),
          );
        expect(await update('just a string')).toMatch(/payload must be an object .*not string/);
        // Refused for good, with a type from the shared list: a client must not retry it as it is.
        const refusal = await handle.executeUpdate(approveUpdate, { args: [{} as never] }).catch((e: unknown) => e);
        expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
        expect((refusal as WorkflowUpdateFailedError).cause).toMatchObject({
          type: 'InvalidInput',
          nonRetryable: true,
        });
        expect(await update([1, 2])).toMatch(/payload must be an object .*not an array/);
        expect(await update(null)).toMatch(/payload must be an object .*not null/);
        expect(await update({})).toMatch(/needs "by"/);
        expect(await update({ by: '  ', note: 'blank' })).toMatch(/needs "by"/);
        // The guards still speak once the payload is well-formed.
        expect(await update({ by: 'eve', jobId: 'not-the-job' })).toMatch(/is not the job awaiting approval/);

        await handle.signal(approveSignal, [1, 2] as never);
        await handle.signal('approve', { note: 'no by' });
        const status = await waitForStatus(handle, (s) => s.ignoredSignals.length === 2, 'two ignored signals');
        expect(status.ignoredSignals.map((s) => [s.name, s.reason])).toEqual([
          ['approve', expect.stringMatching(/payload must be an object/)],
          ['approve', expect.stringMatching(/needs "by"/)],
        ]);
        expect(status.phase).toBe('AwaitingApproval');
        expect(status.pendingDecision).toBeUndefined();
        const job = await controlClient().send(new DescribeJobCommand({ AccountId: h.accountId, JobId: jobId }));
        expect(job.Job?.Status).toBe('Suspended');

        await handle.executeUpdate(approveUpdate, { args: [{ by: 'dana' }] });
        expect(await handle.result()).toMatchObject({ outcome: 'Succeeded', succeeded: 1 });
      });
    });
  });

  test.each([
    ['null', null, /invalid campaign spec: expected an object \(the campaign spec\), received null/],
    ['a number', 42, /received number/],
    ['the spec inside a list (the Web UI form)', 'wrapped', /received array \(give the spec object itself/],
    ['a spec with a continuation nobody continued', 'continuation', /continuation is set by the workflow itself/],
  ])('input that is %s fails at once with InvalidInput', async (_what, input, message) => {
    await withBucket(async (bucket) => {
      await withCampaignWorker(async (h) => {
        const spec = testSpec(h, bucket, {});
        const arg =
          input === 'wrapped'
            ? [spec]
            : input === 'continuation'
              ? { ...spec, continuation: { phase: 'Done' } }
              : input;
        const handle = await startCampaign(h, uniqueName('wf-badinput'), arg);
        const failure = await failureOf(handle);
        expect(failure.type).toBe('InvalidInput');
        expect(failure.message).toMatch(message);
        expect(await listJobs(h.accountId)).toEqual([]);
      });
    });
  });

  test.each([
    ["a slash, which would nest it in another campaign's folder", (id: string) => `${id}/manifests`, /contains "\/"/],
    ['a control character', (id: string) => `${id}\u0007`, /contains control characters/],
  ])('a workflow id with %s fails at once with InvalidInput and writes nothing', async (_what, makeId, message) => {
    await withBucket(async (bucket, s3) => {
      await withCampaignWorker(async (h) => {
        const handle = await startCampaign(h, makeId(uniqueName('wf-id')), testSpec(h, bucket, {}));
        const failure = await failureOf(handle);
        expect(failure.type).toBe('InvalidInput');
        expect(failure.message).toMatch(/^invalid campaign id: the workflow id /);
        expect(failure.message).toMatch(message);
        const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'campaigns/' }));
        expect(listed.Contents ?? []).toEqual([]);
      });
    });
  });

  test('a cancel that arrives after the jobs finished reports their final counts and says the work was done', async () => {
    await withBucket(async (bucket, s3) => {
      const keys = ['c1', 'c2', 'c3'];
      await putObjects(s3, bucket, keys);
      const workflowId = uniqueName('wf-cancel-race');
      // Slow tasks: the workflow's first look at the running job surely finds it Active.
      const fault = await addFault({ match: { bucket }, latencyMs: 1500 });
      try {
        const { taskQueue, accountId, jobId } = await withCampaignWorker(async (h) => {
          const spec = testSpec(h, bucket, { source: { type: 'keys', bucket, keys } });
          const handle = await startCampaign(h, workflowId, spec);
          const waiting = await waitForPhase(handle, 'AwaitingApproval');
          await handle.executeUpdate(approveUpdate, { args: [{ by: 'dana' }] });
          await waitForStatus(handle, (s) => s.jobs[0]?.status === 'Active', 'the job Active');
          return { taskQueue: h.taskQueue, accountId: h.accountId, jobId: waiting.awaitingApproval!.jobIds[0]! };
        });
        // No worker: the job ends on its own, then the cancel arrives, before the workflow has seen the end.
        for (let status = ''; status !== 'Complete'; await new Promise((r) => setTimeout(r, 100))) {
          const job = await controlClient().send(new DescribeJobCommand({ AccountId: accountId, JobId: jobId }));
          status = job.Job?.Status ?? '';
        }
        await withCampaignWorker(
          async (h) => {
            const handle = h.client.workflow.getHandle(workflowId);
            await handle.cancel();
            await expect(handle.result()).rejects.toThrow(WorkflowFailedError);

            const report = JSON.parse(await getText(s3, bucket, `campaigns/${workflowId}/campaign.json`));
            expect(report.outcome).toBe('Cancelled');
            expect(report.reason).toMatch(/after its work had finished: no job was cancelled, 3 object\(s\) succeeded/);
            expect(report.totals).toMatchObject({ objects: 3, succeeded: 3, failed: 0, notRun: 0, jobs: 1 });
            expect(report.jobs[0]).toMatchObject({
              status: 'Complete',
              totalTasks: 3,
              succeededTasks: 3,
              failedTasks: 0,
            });
            const status = await handle.query(statusQuery);
            expect(status.totals).toMatchObject({ succeeded: 3, failed: 0, notRun: 0 });
            expect(status.jobs[0]).toMatchObject({ succeededTasks: 3 });
            const sa = (await handle.describe()).typedSearchAttributes;
            expect(sa.get(SA.failedTasks)).toBe(0);
          },
          { taskQueue, accountId },
        );
      } finally {
        await removeFault(fault);
      }
    });
  });

  test('a rejected campaign counts its objects as not run, not failed, everywhere', async () => {
    await withBucket(async (bucket, s3) => {
      const keys = ['r1', 'r2', 'r3'];
      await putObjects(s3, bucket, keys);
      await withCampaignWorker(async (h) => {
        const spec = testSpec(h, bucket, { source: { type: 'keys', bucket, keys } });
        const handle = await startCampaign(h, uniqueName('wf-reject-count'), spec);
        await waitForPhase(handle, 'AwaitingApproval');
        await handle.executeUpdate(rejectUpdate, { args: [{ by: 'bob', note: 'not now' }] });
        const result = (await handle.result()) as CampaignResult;
        expect(result).toMatchObject({ outcome: 'Rejected', objects: 3, succeeded: 0, failed: 0, notRun: 3 });
        const report = JSON.parse(await getText(s3, bucket, `campaigns/${handle.workflowId}/campaign.json`));
        expect(report.totals).toMatchObject({ objects: 3, succeeded: 0, failed: 0, notRun: 3 });
        const failedCsv = (await getText(s3, bucket, `campaigns/${handle.workflowId}/failed.csv`)).trim().split('\n');
        expect(failedCsv.slice(1).map((l) => l.split(',')[3])).toEqual(['NotRun', 'NotRun', 'NotRun']);
        const sa = (await handle.describe()).typedSearchAttributes;
        expect(sa.get(SA.failedTasks)).toBe(0);
      });
    });
  });

  test('a job that ends without its completion report: the campaign ends, and its objects are unknown, never succeeded', async () => {
    await withBucket(async (bucket, s3) => {
      const keys = ['u1', 'u2', 'u3'];
      await putObjects(s3, bucket, keys);
      const fault = await addFault({ match: { bucket }, reportWriteFails: true });
      try {
        await withCampaignWorker(async (h) => {
          const spec = testSpec(h, bucket, { source: { type: 'keys', bucket, keys }, approval: { required: false } });
          const handle = await startCampaign(h, uniqueName('wf-no-report'), spec);
          const result = (await failureFree(handle)) as CampaignResult;
          // The tags did land, but nothing says so: unknown, counted as failed, not retried (one job only).
          expect(result).toMatchObject({ outcome: 'Failed', objects: 3, succeeded: 0, failed: 3, notRun: 0, jobs: 1 });
          expect(result.reason).toMatch(/3 object\(s\) failed, 3 of them with an unknown outcome/);
          const [job] = await listJobs(h.accountId);
          expect(job?.Status).toBe('Failed');
          const report = JSON.parse(await getText(s3, bucket, `campaigns/${handle.workflowId}/campaign.json`));
          expect(report.totals).toMatchObject({ succeeded: 0, failed: 3, unknown: 3 });
          expect(report.errorsByCode).toEqual({ OutcomeUnknown: 3 });
          const failedCsv = (await getText(s3, bucket, `campaigns/${handle.workflowId}/failed.csv`)).trim().split('\n');
          expect(failedCsv.slice(1).map((l) => l.split(',')[3])).toEqual([
            'OutcomeUnknown',
            'OutcomeUnknown',
            'OutcomeUnknown',
          ]);
          expect(failedCsv[1]).toContain('without a completion report (ReportWriteFailed)');
        });
      } finally {
        await removeFault(fault);
      }
    });
  });
});

/** The workflow's result, or a test failure naming the stuck phase if it does not end within `ms`. */
async function failureFree(handle: WorkflowHandle, ms = 90_000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(async () => {
      const s = await handle.query(statusQuery).catch(() => undefined);
      reject(new Error(`workflow ${handle.workflowId} did not end within ${ms} ms (phase ${s?.phase})`));
    }, ms);
  });
  try {
    return await Promise.race([handle.result(), hang]);
  } finally {
    clearTimeout(timer);
  }
}
