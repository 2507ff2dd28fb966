/**
 * Horizontal (issue 13): two worker processes on one task queue share the campaigns; one is killed (SIGKILL) while it
 * waits for the answer to a campaign's approval (UpdateJobStatus reached the engine, its answer is held), and the
 * other finishes every campaign: every object once, one job per campaign, nothing left running.
 */
import { randomBytes } from 'node:crypto';

import { CreateBucketCommand, GetObjectTaggingCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetJobTaggingCommand, ListJobsCommand, type JobListDescriptor } from '@aws-sdk/client-s3-control';
import type { WorkflowHandle } from '@temporalio/client';

import { approveSignal, CAMPAIGN_WORKFLOW_TYPE, statusQuery, type CampaignResult } from '../../src/shared/campaign';
import type { CampaignSpecInput } from '../../src/shared/campaign-spec';
import { LOCAL_ACCOUNT_ID } from '../../src/stack';
import { waitFor } from '../helpers';
import { startCrashStack } from '../support/crash-stack';

/** Stack start, the campaigns, the killed call's timeout (1 minute) and its retry; a green run takes 2–3 minutes. */
const TIMEOUT_MS = 420_000;
const CAMPAIGNS = 8;
const OBJECTS = 3;
const TAG = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

async function putAll(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  for (const k of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: `body of ${k}` }));
}

test(
  'two workers share the campaigns; one is killed mid-campaign and the other finishes every one, with no duplicate job',
  async () => {
    const s = await startCrashStack({ faults: [] });
    let kept = true;
    try {
      const bucket = `two-workers-${TAG}`;
      await s.s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const keysOf = (i: number) => Array.from({ length: OBJECTS }, (_, k) => `c${i}/object-${k}`);
      await putAll(s.s3, bucket, Array.from({ length: CAMPAIGNS }, (_, i) => keysOf(i)).flat());

      const taskQueue = `two-workers-${TAG}`;
      const workers = [await s.startWorker(taskQueue), await s.startWorker(taskQueue)];
      const identityOf = (pid: number | undefined) => `${pid}@`;
      const handles: WorkflowHandle[] = [];
      for (let i = 0; i < CAMPAIGNS; i++) {
        handles.push(
          await s.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
            taskQueue,
            workflowId: `two-workers-${TAG}-${i}`,
            args: [
              {
                name: `two workers ${i}`,
                accountId: LOCAL_ACCOUNT_ID,
                region: 'us-east-1',
                roleArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/BatchOperations`,
                source: { type: 'keys', bucket, keys: keysOf(i) },
                operation: { type: 'put-tags', tags: { horizontal: 'yes' } },
                report: { bucket, prefix: 'campaigns' },
                approval: { required: true, timeout: '1h' },
                pollInterval: '1s',
              } satisfies CampaignSpecInput,
            ],
          }),
        );
      }
      for (const h of handles) {
        await waitFor(
          'every campaign awaiting approval',
          () => h.query(statusQuery),
          (st) => st.phase === 'AwaitingApproval',
          120_000,
        );
      }

      // Both workers took part: their identities (pid@host) are in the campaigns' histories.
      const identities = new Set<string>();
      for (const h of handles) {
        for (const e of (await h.fetchHistory()).events ?? []) {
          const id = e.workflowTaskStartedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity;
          if (id) identities.add(id);
        }
      }
      for (const w of workers) {
        expect([...identities].some((id) => id.startsWith(identityOf(w.proc.pid)))).toBe(true);
      }

      // One approval's UpdateJobStatus reaches the engine, but its answer never reaches the worker that sent it:
      // that worker is killed with the call in flight.
      s.engineProxy.hold({
        name: 'approval',
        match: (r) => r.method === 'POST' && /\/jobs\/[^/]+\/status/.test(r.url),
      });
      for (const h of handles) await h.signal(approveSignal, { by: 'test' });
      await waitFor('a held approval', async () => s.engineProxy.isHeld('approval'), Boolean, 60_000);
      const inFlight = await waitFor(
        'the campaign whose approval is held',
        async () => {
          for (const h of handles) {
            const { raw } = await h.describe();
            const a = raw.pendingActivities?.find((p) => p.activityType?.name === 'updateBatchJobStatus');
            if (a?.lastWorkerIdentity) return { handle: h, identity: a.lastWorkerIdentity };
          }
          return undefined;
        },
        Boolean,
        60_000,
      );
      const victim = workers.find((w) => inFlight!.identity.startsWith(identityOf(w.proc.pid)))!;
      const survivor = workers.find((w) => w !== victim)!;
      expect(victim).toBeDefined();
      await victim.proc.kill();
      s.engineProxy.dropHeld();

      // The survivor finishes every campaign, the killed one's call included (after its 1-minute timeout).
      const results = (await Promise.all(handles.map((h) => h.result()))) as CampaignResult[];
      expect(results.map((r) => r.outcome)).toEqual(handles.map(() => 'Succeeded'));
      expect(results.map((r) => [r.objects, r.succeeded, r.jobs])).toEqual(handles.map(() => [OBJECTS, OBJECTS, 1]));
      const retried = ((await inFlight!.handle.fetchHistory()).events ?? [])
        .map((e) => e.activityTaskStartedEventAttributes)
        .filter((a) => a && a.attempt && a.attempt > 1);
      expect(retried.map((a) => a!.identity!.startsWith(identityOf(survivor.proc.pid)))).toContain(true);

      // One job per campaign in the account, each Complete: nothing created twice, nothing lost.
      const jobs: JobListDescriptor[] = [];
      let NextToken: string | undefined;
      do {
        const page = await s.control.send(new ListJobsCommand({ AccountId: LOCAL_ACCOUNT_ID, NextToken }));
        jobs.push(...(page.Jobs ?? []));
        NextToken = page.NextToken;
      } while (NextToken);
      const campaignOf = async (j: JobListDescriptor) =>
        (await s.control.send(new GetJobTaggingCommand({ AccountId: LOCAL_ACCOUNT_ID, JobId: j.JobId }))).Tags?.find(
          (t) => t.Key === 's3-campaigns:campaign',
        )?.Value;
      const owners = await Promise.all(jobs.map(campaignOf));
      expect(owners.sort()).toEqual(handles.map((h) => h.workflowId).sort());
      expect(jobs.map((j) => j.Status)).toEqual(jobs.map(() => 'Complete'));
      const untagged: string[] = [];
      for (let i = 0; i < CAMPAIGNS; i++) {
        for (const k of keysOf(i)) {
          const { TagSet } = await s.s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: k }));
          if (TagSet?.find((t) => t.Key === 'horizontal')?.Value !== 'yes') untagged.push(k);
        }
      }
      expect(untagged).toEqual([]);
      kept = !!process.env.S3C_KEEP_TEST_DIR;
    } finally {
      if (kept) process.stderr.write(`logs kept in ${s.dir}/logs\n`);
      await s.stop(kept);
    }
  },
  TIMEOUT_MS,
);
