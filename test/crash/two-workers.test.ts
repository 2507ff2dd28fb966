/**
 * Horizontal (issue 13): worker processes on one task queue share the campaigns, and a worker killed mid-campaign
 * (SIGKILL) leaves its work to the others with no duplicate job. Three workers: the first is killed while it waits
 * for the answer to a campaign's CreateJob (the engine created the job, its answer is held), the second while it
 * waits for the answer to an approval (UpdateJobStatus took effect, its answer is held), and the last one finishes
 * every campaign: every object once, one job per campaign, nothing left running.
 *
 * Shown to fail: a ClientRequestToken that changes between attempts gives the first victim's campaign two jobs; an
 * approval retry that does not accept a job already past approval fails the second victim's campaign.
 */
import { randomBytes } from 'node:crypto';

import { CreateBucketCommand, GetObjectTaggingCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetJobTaggingCommand, ListJobsCommand, type JobListDescriptor } from '@aws-sdk/client-s3-control';
import type { WorkflowHandle } from '@temporalio/client';

import { approveSignal, CAMPAIGN_WORKFLOW_TYPE, statusQuery, type CampaignResult } from '../../src/shared/campaign';
import type { CampaignSpecInput } from '../../src/shared/campaign-spec';
import { LOCAL_ACCOUNT_ID } from '../../src/stack';
import { waitFor } from '../helpers';
import { startCrashStack, type WorkerProcess } from '../support/crash-stack';

/** Stack start, the campaigns, two killed calls' timeouts (1 minute each) and their retries; a green run takes 3–4 minutes. */
const TIMEOUT_MS = 480_000;
const CAMPAIGNS = 8;
const OBJECTS = 3;
const TAG = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

async function putAll(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  for (const k of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: `body of ${k}` }));
}

/** Kills the worker whose call of `activity` is pending in the campaign `handle`. */
async function killHolder(handle: WorkflowHandle, workers: WorkerProcess[], activity: string): Promise<WorkerProcess> {
  const identity = await waitFor(
    `${handle.workflowId}'s ${activity} call in flight`,
    async () => {
      const { raw } = await handle.describe();
      return raw.pendingActivities?.find((p) => p.activityType?.name === activity)?.lastWorkerIdentity ?? undefined;
    },
    Boolean,
    60_000,
  );
  const victim = workers.find((w) => identity!.startsWith(identityOf(w.proc.pid)));
  if (!victim) throw new Error(`no live worker has the identity ${identity}`);
  await victim.proc.kill();
  return victim;
}

/** A worker's identity in histories is `pid@host`. */
const identityOf = (pid: number | undefined) => `${pid}@`;

test(
  'workers share the campaigns; two are killed mid-call (CreateJob, approval) and the last finishes every campaign, with no duplicate job',
  async () => {
    const s = await startCrashStack({ faults: [] });
    let kept = true;
    try {
      const bucket = `two-workers-${TAG}`;
      await s.s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const keysOf = (i: number) => Array.from({ length: OBJECTS }, (_, k) => `c${i}/object-${k}`);
      await putAll(s.s3, bucket, Array.from({ length: CAMPAIGNS }, (_, i) => keysOf(i)).flat());

      const taskQueue = `two-workers-${TAG}`;
      const workers = [await s.startWorker(taskQueue), await s.startWorker(taskQueue), await s.startWorker(taskQueue)];
      // The first CreateJob reaches the engine (the job exists), but its answer never reaches the worker that sent it.
      s.engineProxy.hold({
        name: 'create',
        match: (r) => r.method === 'POST' && /^\/v20180820\/jobs\/?(\?|$)/.test(r.url),
      });
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
      // The held request names its campaign in the job's tags.
      const created = await s.engineProxy.waitForHold('create');
      const firstHandle = handles.find((h) => created.body.includes(`<Value>${h.workflowId}</Value>`));
      if (!firstHandle) throw new Error(`the held CreateJob names none of the campaigns: ${created.body}`);
      const first = { handle: firstHandle, victim: await killHolder(firstHandle, workers, 'createBatchJob') };
      s.engineProxy.dropHeld();
      const live = workers.filter((w) => w !== first.victim);

      // The killed call is retried by another worker after its 1-minute timeout, with the same token: the same job.
      for (const h of handles) {
        await waitFor(
          'every campaign awaiting approval',
          () => h.query(statusQuery),
          (st) => st.phase === 'AwaitingApproval',
          120_000,
        );
      }

      // Every worker took part: their identities (pid@host) are in the campaigns' histories.
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

      // One campaign's approval (UpdateJobStatus) reaches the engine, but its answer never reaches the worker that
      // sent it: that worker is killed with the call in flight. The other campaigns are approved after that.
      s.engineProxy.hold({
        name: 'approval',
        match: (r) => r.method === 'POST' && /\/jobs\/[^/]+\/status/.test(r.url),
      });
      const secondHandle = handles.find((h) => h !== first.handle)!;
      await secondHandle.signal(approveSignal, { by: 'test' });
      await s.engineProxy.waitForHold('approval');
      const second = { handle: secondHandle, victim: await killHolder(secondHandle, live, 'updateBatchJobStatus') };
      s.engineProxy.dropHeld();
      for (const h of handles) if (h !== secondHandle) await h.signal(approveSignal, { by: 'test' });
      const survivor = live.find((w) => w !== second.victim)!;

      // The survivor finishes every campaign, the killed calls included (after their 1-minute timeouts).
      const results = (await Promise.all(handles.map((h) => h.result()))) as CampaignResult[];
      expect(results.map((r) => r.outcome)).toEqual(handles.map(() => 'Succeeded'));
      expect(results.map((r) => [r.objects, r.succeeded, r.jobs])).toEqual(handles.map(() => [OBJECTS, OBJECTS, 1]));
      // Each killed call ran again, on a worker that was still alive.
      for (const [killed, activity, alive] of [
        [first, 'createBatchJob', live],
        [second, 'updateBatchJobStatus', [survivor]],
      ] as const) {
        const events = (await killed.handle.fetchHistory()).events ?? [];
        const typeOf = new Map(
          events.map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name]),
        );
        const started = events
          .map((e) => e.activityTaskStartedEventAttributes)
          .filter((a) => a && (a.attempt ?? 0) > 1 && typeOf.get(String(a.scheduledEventId)) === activity)
          .map((a) => a!.identity ?? '');
        expect(started.length).toBeGreaterThan(0);
        expect(started.filter((id) => !alive.some((w) => id.startsWith(identityOf(w.proc.pid))))).toEqual([]);
      }

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
