import { spawn } from 'node:child_process';
import path from 'node:path';

import { DescribeJobCommand } from '@aws-sdk/client-s3-control';
import { WorkflowFailedError } from '@temporalio/client';

import { CAMPAIGN_WORKFLOW_TYPE, statusQuery, type CampaignResult } from '../../src/shared/campaign';
import { projectRoot } from '../../src/stack/tools';
import { controlClient, temporalClient, uniqueName, withBucket } from '../helpers';
import {
  addFault,
  getText,
  listJobs,
  putObjects,
  randomAccount,
  removeFault,
  testSpec,
  waitForPhase,
  waitForStatus,
  withCampaignWorker,
  workerEnv,
} from '../support/campaign';

const range = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}.txt`);

function startWorkerProcess(taskQueue: string) {
  const child = spawn(process.execPath, [path.join(projectRoot(), 'bin', 's3-campaigns.js'), 'worker'], {
    env: { ...process.env, ...workerEnv(taskQueue) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, stderr: () => stderr };
}

describe('campaign workflow: durability', () => {
  test('a worker killed (SIGKILL) while the campaign polls is replaced and the campaign finishes with one job', async () => {
    await withBucket(async (bucket, s3) => {
      const keys = range(60, 'slow/');
      await putObjects(s3, bucket, keys);
      const slow = await addFault({ match: { bucket }, latencyMs: 100 });
      const taskQueue = uniqueName('tq-kill');
      const accountId = randomAccount();
      const { client, connection } = await temporalClient();
      let worker = startWorkerProcess(taskQueue);
      try {
        const spec = testSpec({ accountId }, bucket, {
          source: { type: 'keys', bucket, keys },
          approval: { required: false },
        });
        const handle = await client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
          taskQueue,
          workflowId: uniqueName('wf-kill'),
          args: [spec],
        });
        await waitForPhase(handle, 'Running', 90_000);
        worker.child.kill('SIGKILL');
        await new Promise((r) => worker.child.once('exit', r));
        worker = startWorkerProcess(taskQueue);
        const result = (await handle.result()) as CampaignResult;
        expect(result).toMatchObject({ outcome: 'Succeeded', succeeded: 60, jobs: 1 });
        expect(await listJobs(accountId)).toHaveLength(1);
      } finally {
        worker.child.kill('SIGKILL');
        await removeFault(slow);
        await connection.close();
      }
    });
  });

  test('cancelling the workflow cancels the running job and still writes the final report', async () => {
    await withBucket(async (bucket, s3) => {
      const keys = range(200, 'c/');
      await putObjects(s3, bucket, keys);
      const slow = await addFault({ match: { bucket }, latencyMs: 100 });
      try {
        await withCampaignWorker(async (h) => {
          const spec = testSpec(h, bucket, { source: { type: 'keys', bucket, keys }, approval: { required: false } });
          const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
            taskQueue: h.taskQueue,
            workflowId: uniqueName('wf-cancel'),
            args: [spec],
          });
          const running = await waitForStatus(
            handle,
            (s) => s.phase === 'Running' && (s.jobs[0]?.succeededTasks ?? 0) > 0,
            'progress',
          );
          const jobId = running.jobs[0]!.jobId!;
          await handle.cancel();
          await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
          const job = await controlClient().send(new DescribeJobCommand({ AccountId: h.accountId, JobId: jobId }));
          expect(job.Job?.Status).toBe('Cancelled');
          const report = JSON.parse(await getText(s3, bucket, `campaigns/${handle.workflowId}/campaign.json`));
          expect(report.outcome).toBe('Cancelled');
          expect(report.jobs[0].jobId).toBe(jobId);
          // Every object is accounted for: what ran before the cancel succeeded, the rest is in failed.csv as NotRun.
          expect(report.totals.succeeded).toBeGreaterThan(0);
          expect(report.totals.succeeded + report.failedObjects.count).toBe(200);
          const failed = (await getText(s3, bucket, report.failedObjects.key)).trim().split('\n').slice(1);
          expect(failed).toHaveLength(report.failedObjects.count);
          expect(failed.every((l) => l.split(',')[3] === 'NotRun')).toBe(true);
          expect((await handle.describe()).status.name).toBe('CANCELLED');
        });
      } finally {
        await removeFault(slow);
      }
    });
  });

  test('a long-polled campaign continues as new and every run keeps a bounded history', async () => {
    await withBucket(async (bucket, s3) => {
      const keys = range(40, 'h/');
      await putObjects(s3, bucket, keys);
      const slow = await addFault({ match: { bucket }, latencyMs: 1000 });
      try {
        await withCampaignWorker(async (h) => {
          const limit = 60;
          const spec = testSpec(h, bucket, {
            source: { type: 'keys', bucket, keys },
            approval: { required: false },
            pollInterval: '1s',
            historyEventLimit: limit,
          });
          const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
            taskQueue: h.taskQueue,
            workflowId: uniqueName('wf-history'),
            args: [spec],
          });
          const first = await handle.describe();
          const result = (await handle.result()) as CampaignResult;
          expect(result).toMatchObject({ outcome: 'Succeeded', succeeded: 40, jobs: 1 });
          const status = await handle.query(statusQuery);
          expect(status.runs).toBeGreaterThan(1);
          // Every run of the chain stays under the limit plus one poll's worth of events.
          let runId: string | undefined = first.runId;
          let runs = 0;
          while (runId) {
            const d = await h.client.workflow.getHandle(handle.workflowId, runId).describe();
            expect(d.historyLength).toBeLessThanOrEqual(limit + 15);
            runs += 1;
            const history: Awaited<ReturnType<ReturnType<typeof h.client.workflow.getHandle>['fetchHistory']>> =
              await h.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
            const events = history.events ?? [];
            const last = events[events.length - 1];
            runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
          }
          expect(runs).toBe(status.runs);
        });
      } finally {
        await removeFault(slow);
      }
    });
  });
});
