/**
 * Campaigns whose bucket source asks S3 to generate the manifest (`generator: "s3"`), against the local engine: one
 * job with a ManifestGenerator, held Suspended until the approval, which shows the count S3 found and its estimate;
 * retries read the generated manifest back; a rejection cancels the job and changes nothing.
 */
import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { DescribeJobCommand } from '@aws-sdk/client-s3-control';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';

import { approveUpdate, CAMPAIGN_WORKFLOW_TYPE, rejectUpdate, type CampaignResult } from '../../src/shared/campaign';
import { controlClient, uniqueName, withBucket, workflowBundle } from '../helpers';
import {
  addFault,
  getText,
  listJobs,
  putObjects,
  removeFault,
  testSpec,
  waitForPhase,
  withCampaignWorker,
} from '../support/campaign';

/** Selected: under logs/, ending .txt. The others are listed by S3 and left out by the filter. */
const SELECTED = ['logs/a.txt', 'logs/b b.txt', 'logs/flaky/c+1.txt'];
const OTHERS = ['logs/skip.gz', 'other/x.txt'];

async function taggedKeys(s3: Parameters<Parameters<typeof withBucket>[0]>[1], bucket: string) {
  const out: string[] = [];
  for (const key of [...SELECTED, ...OTHERS]) {
    const { TagSet } = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    if ((TagSet ?? []).some((t) => t.Key === 'done')) out.push(key);
  }
  return out.sort();
}

describe('campaign with source.generator "s3"', () => {
  test('approve: the count S3 found is shown, the job runs, a retry reads the generated manifest, report written', () =>
    withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, [...SELECTED, ...OTHERS]);
      // The first attempt at the flaky object fails retryably: round 1 is built from the generated manifest.
      const fault = await addFault({
        match: { bucket, keyPrefix: 'logs/flaky/' },
        errorCode: 'SlowDown',
        httpStatus: 503,
        times: 1,
      });
      try {
        await withCampaignWorker(async (h) => {
          const spec = testSpec(h, bucket, {
            source: { type: 'bucket', bucket, prefix: 'logs/', generator: 's3' },
            filter: { keySuffixes: ['.txt'] },
            retry: { maxRetryJobs: 1, delay: '100ms' },
          });
          const workflowId = uniqueName('wf-s3gen');
          const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
            taskQueue: h.taskQueue,
            workflowId,
            args: [spec],
          });
          const waiting = await waitForPhase(handle, 'AwaitingApproval');
          expect(waiting.awaitingApproval?.objects).toBe(SELECTED.length);
          expect(waiting.stats?.rowsSelected).toBe(SELECTED.length);
          expect(waiting.stats?.sampleKeys.sort()).toEqual([...SELECTED].sort());
          expect(waiting.estimate).toMatchObject({ objects: SELECTED.length, jobs: 1, bytes: expect.any(Number) });
          const [jobId] = waiting.awaitingApproval!.jobIds;
          const held = (await controlClient().send(new DescribeJobCommand({ AccountId: h.accountId, JobId: jobId })))
            .Job!;
          expect(held.Status).toBe('Suspended');
          expect(held.Manifest).toBeUndefined();
          expect(held.ManifestGenerator?.S3JobManifestGenerator).toMatchObject({
            SourceBucket: `arn:aws:s3:::${bucket}`,
            EnableManifestOutput: true,
            ManifestOutputLocation: {
              Bucket: `arn:aws:s3:::${bucket}`,
              ManifestPrefix: `campaigns/${workflowId}/generated-manifest`,
              ManifestFormat: 'S3InventoryReport_CSV_20211130',
            },
            Filter: { KeyNameConstraint: { MatchAnyPrefix: ['logs/'], MatchAnySuffix: ['.txt'] } },
          });
          expect(held.GeneratedManifestDescriptor?.Location?.ETag).toBe(waiting.awaitingApproval!.manifestEtags[0]);

          // The approval names the generated manifest's ETag, as for any other manifest.
          const decision = await handle.executeUpdate(approveUpdate, {
            args: [{ by: 'alice', manifestEtag: waiting.awaitingApproval!.manifestEtags[0] }],
          });
          expect(decision).toEqual({ decision: 'approved', jobIds: [jobId] });
          const result = (await handle.result()) as CampaignResult;
          expect(result).toMatchObject({
            outcome: 'Succeeded',
            objects: SELECTED.length,
            succeeded: SELECTED.length,
            failed: 0,
            jobs: 2,
          });
          expect(await taggedKeys(s3, bucket)).toEqual([...SELECTED].sort());
          // One generator job, then one retry job with a CSV manifest of the one object that failed.
          const jobs = await listJobs(h.accountId);
          expect(jobs).toHaveLength(2);
          const report = JSON.parse(await getText(s3, bucket, result.report!.replace(`s3://${bucket}/`, '')));
          expect(report.outcome).toBe('Succeeded');
          expect(report.jobs.map((j: { round: number }) => j.round).sort()).toEqual([0, 1]);
          await Worker.runReplayHistory(
            { workflowBundle: await workflowBundle() },
            await handle.fetchHistory(),
            handle.workflowId,
          );
        });
      } finally {
        await removeFault(fault);
      }
    }));

  test('reject: the generator job is cancelled, nothing is tagged', () =>
    withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, [...SELECTED, ...OTHERS]);
      await withCampaignWorker(async (h) => {
        const spec = testSpec(h, bucket, { source: { type: 'bucket', bucket, prefix: 'logs/', generator: 's3' } });
        const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
          taskQueue: h.taskQueue,
          workflowId: uniqueName('wf-s3gen-reject'),
          args: [spec],
        });
        const waiting = await waitForPhase(handle, 'AwaitingApproval');
        expect(waiting.awaitingApproval?.objects).toBe(4);
        const [jobId] = waiting.awaitingApproval!.jobIds;
        await handle.executeUpdate(rejectUpdate, { args: [{ by: 'bob', note: 'not today' }] });
        const result = (await handle.result()) as CampaignResult;
        expect(result.outcome).toBe('Rejected');
        const job = (await controlClient().send(new DescribeJobCommand({ AccountId: h.accountId, JobId: jobId }))).Job!;
        expect(job.Status).toBe('Cancelled');
        expect(await taggedKeys(s3, bucket)).toEqual([]);
      });
    }));

  test('cancel while S3 still generates: the job is cancelled, the report is written, nothing is tagged', () =>
    withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, [...SELECTED, ...OTHERS]);
      // Job-level faults match the job's bucket; a generator job's is its source bucket. It stays Preparing.
      const fault = await addFault({ match: { bucket }, preparingDelayMs: 120_000 });
      try {
        await withCampaignWorker(async (h) => {
          const spec = testSpec(h, bucket, { source: { type: 'bucket', bucket, prefix: 'logs/', generator: 's3' } });
          const workflowId = uniqueName('wf-s3gen-cancel');
          const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
            taskQueue: h.taskQueue,
            workflowId,
            args: [spec],
          });
          const preparing = await waitForPhase(handle, 'PreparingJobs');
          const jobId = preparing.jobs[0]!.jobId!;
          await handle.cancel();
          await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
          const job = (await controlClient().send(new DescribeJobCommand({ AccountId: h.accountId, JobId: jobId })))
            .Job!;
          expect(job.Status).toBe('Cancelled');
          const report = JSON.parse(await getText(s3, bucket, `campaigns/${workflowId}/campaign.json`));
          expect(report.outcome).toBe('Cancelled');
          expect(report.jobs.map((j: { jobId: string }) => j.jobId)).toEqual([jobId]);
          expect(await taggedKeys(s3, bucket)).toEqual([]);
        });
      } finally {
        await removeFault(fault);
      }
    }));

  test('no object matches: the job is cancelled and the campaign ends NothingToDo without asking', () =>
    withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, OTHERS);
      await withCampaignWorker(async (h) => {
        const spec = testSpec(h, bucket, {
          source: { type: 'bucket', bucket, prefix: 'logs/', generator: 's3' },
          filter: { keySuffixes: ['.txt'] },
        });
        const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
          taskQueue: h.taskQueue,
          workflowId: uniqueName('wf-s3gen-none'),
          args: [spec],
        });
        const result = (await handle.result()) as CampaignResult;
        expect(result.outcome).toBe('NothingToDo');
        const jobs = await listJobs(h.accountId);
        expect(jobs.map((j) => j.Status)).toEqual(['Cancelled']);
      });
    }));
});
