import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';

import { approveUpdate, CAMPAIGN_WORKFLOW_TYPE, statusQuery, type CampaignResult } from '../../src/shared/campaign';
import { uniqueName, withBucket } from '../helpers';
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

describe('campaign workflow: retry jobs from completion reports', () => {
  test('transient failures (SlowDown twice) converge through retry jobs that take exactly the failed keys', async () => {
    await withBucket(async (bucket, s3) => {
      const ok = range(7, 'ok/');
      const flaky = range(3, 'flaky/');
      await putObjects(s3, bucket, [...ok, ...flaky]);
      const fault = await addFault({
        match: { bucket, keyPrefix: 'flaky/' },
        errorCode: 'SlowDown',
        httpStatus: 503,
        times: 2,
      });
      try {
        await withCampaignWorker(async (h) => {
          const spec = testSpec(h, bucket, {
            source: { type: 'keys', bucket, keys: [...ok, ...flaky] },
            approval: { required: false },
          });
          const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
            taskQueue: h.taskQueue,
            workflowId: uniqueName('wf-transient'),
            args: [spec],
          });
          const result = (await handle.result()) as CampaignResult;
          expect(result).toMatchObject({ outcome: 'Succeeded', objects: 10, succeeded: 10, failed: 0, jobs: 3 });
          const status = await handle.query(statusQuery);
          expect(status.rounds.map((r) => [r.succeeded, r.retryable, r.permanent])).toEqual([
            [7, 3, 0],
            [0, 3, 0],
            [3, 0, 0],
          ]);
          // Each retry job's manifest holds exactly the flaky keys.
          for (const job of status.jobs.filter((j) => j.round > 0)) {
            expect((await manifestKeys(s3, job.manifest.bucket, job.manifest.key)).sort()).toEqual(flaky);
          }
          expect(status.rounds[0]!.errorsByCode).toEqual({ SlowDown: 3 });
          for (const key of flaky) {
            const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
            expect(tags.TagSet).toEqual([{ Key: 'done', Value: 'yes' }]);
          }
        });
      } finally {
        await removeFault(fault);
      }
    });
  });

  test('permanent failures (NoSuchKey) end in failed.csv and are never retried', async () => {
    await withBucket(async (bucket, s3) => {
      const present = range(4, 'here/');
      const missing = ['gone/one.txt', 'gone/two words.txt'];
      await putObjects(s3, bucket, present);
      await withCampaignWorker(async (h) => {
        const spec = testSpec(h, bucket, {
          source: { type: 'keys', bucket, keys: [...present, ...missing] },
          approval: { required: false },
        });
        const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
          taskQueue: h.taskQueue,
          workflowId: uniqueName('wf-permanent'),
          args: [spec],
        });
        const result = (await handle.result()) as CampaignResult;
        expect(result).toMatchObject({
          outcome: 'CompletedWithFailures',
          objects: 6,
          succeeded: 4,
          failed: 2,
          jobs: 1,
        });
        expect(await listJobs(h.accountId)).toHaveLength(1);
        const failed = (await getText(s3, bucket, result.failedObjects!.replace(`s3://${bucket}/`, '')))
          .trim()
          .split('\n');
        expect(failed[0]).toBe('bucket,key,versionId,errorCode,httpStatus,message,round');
        const rows = failed.slice(1).map((l) => l.split(','));
        expect(rows.map((r) => decodeURIComponent(r[1]!)).sort()).toEqual(missing.slice().sort());
        expect(rows.every((r) => r[3] === 'NoSuchKey' && r[4] === '404')).toBe(true);
      });
    });
  });

  test('a job failed by the 50%-after-1,000 rule: the retry manifest holds the tasks that never ran', async () => {
    await withBucket(async (bucket, s3) => {
      // 1,400 tasks fail by injection (no object needed), 600 real objects succeed.
      const bad = range(1400, 'bad/');
      const good = range(600, 'good/');
      await putObjects(s3, bucket, good);
      const fault = await addFault({
        match: { bucket, keyPrefix: 'bad/' },
        errorCode: 'AccessDenied',
        httpStatus: 403,
      });
      try {
        await withCampaignWorker(async (h) => {
          const spec = testSpec(h, bucket, {
            source: { type: 'keys', bucket, keys: [...bad, ...good] },
            approval: { required: false },
            retry: { maxRetryJobs: 1, delay: '100ms' },
          });
          const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
            taskQueue: h.taskQueue,
            workflowId: uniqueName('wf-fifty'),
            args: [spec],
          });
          const result = (await handle.result()) as CampaignResult;
          const status = await handle.query(statusQuery);
          const first = status.jobs[0]!;
          expect(first.status).toBe('Failed');
          const r0 = status.rounds[0]!;
          expect(r0.neverRan).toBeGreaterThan(0);
          expect(r0.succeeded + r0.permanent + r0.retryable + r0.neverRan).toBe(2000);
          // Round 1 retried exactly the never-run objects (AccessDenied is permanent, so nothing else).
          const retryJob = status.jobs.find((j) => j.round === 1)!;
          expect(retryJob.manifest.rows).toBe(r0.neverRan);
          const retried = new Set(await manifestKeys(s3, retryJob.manifest.bucket, retryJob.manifest.key));
          const permanentCsv = await getText(s3, bucket, r0.permanentFailuresKey!);
          for (const line of permanentCsv.trim().split('\n')) {
            expect(retried.has(decodeURIComponent(line.split(',')[1]!))).toBe(false);
          }
          expect(result.succeeded).toBe(600);
          expect(result.failed).toBe(1400);
        });
      } finally {
        await removeFault(fault);
      }
    });
  });

  test('failureTolerance cancels a job early and the campaign fails with the reason', async () => {
    await withBucket(async (bucket, s3) => {
      const keys = range(400, 'k/');
      // Half the objects are missing; every task is slowed so the job is still running when the tolerance trips.
      await putObjects(
        s3,
        bucket,
        keys.filter((_, i) => i % 2 === 0),
      );
      const slow = await addFault({ match: { bucket }, latencyMs: 40 });
      try {
        await withCampaignWorker(async (h) => {
          const spec = testSpec(h, bucket, {
            source: { type: 'keys', bucket, keys },
            approval: { required: false },
            failureTolerance: { maxFailedPercent: 20, minTasks: 20 },
          });
          const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
            taskQueue: h.taskQueue,
            workflowId: uniqueName('wf-tolerance'),
            args: [spec],
          });
          const result = (await handle.result()) as CampaignResult;
          expect(result.outcome).toBe('Failed');
          expect(result.reason).toMatch(/cancelled early: .*failureTolerance\.maxFailedPercent=20/);
          const [job] = await listJobs(h.accountId);
          expect(job?.Status).toBe('Cancelled');
          expect(
            (job?.ProgressSummary?.NumberOfTasksSucceeded ?? 0) + (job?.ProgressSummary?.NumberOfTasksFailed ?? 0),
          ).toBeLessThan(400);
        });
      } finally {
        await removeFault(slow);
      }
    });
  });

  test('retryJobsRequireApproval: the retry job waits for its own decision, shown as a retry, and runs once approved', async () => {
    await withBucket(async (bucket, s3) => {
      const keys = [...range(3, 'ok/'), ...range(2, 'flaky/')];
      await putObjects(s3, bucket, keys);
      const fault = await addFault({
        match: { bucket, keyPrefix: 'flaky/' },
        errorCode: 'SlowDown',
        httpStatus: 503,
        times: 1,
      });
      try {
        await withCampaignWorker(async (h) => {
          const spec = testSpec(h, bucket, {
            source: { type: 'keys', bucket, keys },
            approval: { required: true, retryJobsRequireApproval: true },
          });
          const handle = await startCampaign(h, uniqueName('wf-retry-approval'), spec);
          await waitForPhase(handle, 'AwaitingApproval');
          await handle.executeUpdate(approveUpdate, { args: [{ by: 'dana', note: 'first round' }] });
          // The retry round stops at approval again: its job is Suspended until someone decides.
          const waiting = await waitForStatus(
            handle,
            (s) => s.phase === 'AwaitingApproval' && s.round === 1,
            'the retry job awaiting approval',
          );
          expect(waiting.awaitingApproval).toMatchObject({ retry: true, objects: 2 });
          const retryJob = waiting.jobs.find((j) => j.round === 1)!;
          expect((await listJobs(h.accountId)).find((j) => j.JobId === retryJob.jobId)?.Status).toBe('Suspended');
          await handle.executeUpdate(approveUpdate, { args: [{ by: 'erin', note: 'retry' }] });
          expect(await handle.result()).toMatchObject({ outcome: 'Succeeded', succeeded: 5, jobs: 2 });
          const status = await handle.query(statusQuery);
          expect(status.jobs.map((j) => [j.round, j.approval?.by])).toEqual([
            [0, 'dana'],
            [1, 'erin'],
          ]);
        });
      } finally {
        await removeFault(fault);
      }
    });
  });
});
