/**
 * Continue-as-new carries the whole campaign: real campaigns (Temporal dev server, moto, the run's engine) forced to
 * continue as new by a low `historyEventLimit`, in the middle of what each piece of carried state is for — retry
 * rounds, a failure-tolerance cancel, an incremental watermark, jobs still preparing. Each test first proves from
 * the run chain's own histories that the campaign did continue as new where it matters: otherwise it proves nothing.
 */
import { ListObjectVersionsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';

import { createCampaignSchedule, overlapPolicy } from '../../src/schedules';
import {
  approveUpdate,
  CAMPAIGN_WORKFLOW_TYPE,
  statusQuery,
  type CampaignInput,
  type CampaignResult,
  type CampaignState,
  type CampaignStatus,
  type Watermark,
} from '../../src/shared/campaign';
import { parseCampaignSpec, type CampaignSpecInput } from '../../src/shared/campaign-spec';
import { uniqueName, withBucket } from '../helpers';
import {
  addFault,
  getText,
  listJobs,
  manifestKeys,
  putObjects,
  randomAccount,
  removeFault,
  testSpec,
  waitForPhase,
  waitForStatus,
  withCampaignWorker,
  writeDailyInventory,
  type CampaignHarness,
} from '../support/campaign';
import type { History } from '../support/histories';

/** The schedule's policy, as `schedule trigger` passes it (the SDK's trigger would default to ALLOW_ALL). */
const SKIP = overlapPolicy('skip');
/** The lowest limit the spec takes: a run continues as new after a handful of polls. */
const LOW_LIMIT = 50;

const range = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}.txt`);

/** One run of a campaign's chain, read from its own history. */
interface RunRecord {
  runId: string;
  /** The state this run handed to the next one (its continue-as-new input); undefined for the last run. */
  handedOver?: CampaignState;
  /** The activities this run scheduled, in order, with their input. */
  activities: Array<{ name: string; input: Record<string, unknown> }>;
}

/** Every run of a campaign from its first to its last, following each run's ContinuedAsNew event. */
async function runChain(client: Client, workflowId: string, firstRunId: string): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const history: History = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    const next = events[events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes;
    const carried = next?.input?.payloads?.[0];
    runs.push({
      runId,
      handedOver: carried ? defaultPayloadConverter.fromPayload<CampaignInput>(carried).continuation : undefined,
      activities: events.flatMap((e) => {
        const a = e.activityTaskScheduledEventAttributes;
        if (!a) return [];
        const input = a.input?.payloads?.[0];
        return [
          {
            name: a.activityType?.name ?? '',
            input: input ? defaultPayloadConverter.fromPayload<Record<string, unknown>>(input) : {},
          },
        ];
      }),
    });
    runId = next?.newExecutionRunId ?? undefined;
  }
  return runs;
}

/**
 * The campaign's run chain, after checking that it really continued as new: its first run closed as
 * CONTINUED_AS_NEW, its last one COMPLETED, and the campaign counts as many runs as the chain has.
 */
async function continuedChain(client: Client, workflowId: string, firstRunId: string): Promise<RunRecord[]> {
  const runs = await runChain(client, workflowId, firstRunId);
  expect(runs.length).toBeGreaterThan(1);
  expect((await client.workflow.getHandle(workflowId, firstRunId).describe()).status.name).toBe('CONTINUED_AS_NEW');
  expect((await client.workflow.getHandle(workflowId, runs[runs.length - 1]!.runId).describe()).status.name).toBe(
    'COMPLETED',
  );
  const status = await client.workflow.getHandle(workflowId).query(statusQuery);
  expect(status.runs).toBe(runs.length);
  return runs;
}

const calls = (runs: RunRecord[], name: string) => runs.flatMap((r) => r.activities.filter((a) => a.name === name));

function startCampaign(h: CampaignHarness, prefix: string, spec: CampaignSpecInput) {
  return h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
    taskQueue: h.taskQueue,
    workflowId: uniqueName(prefix),
    args: [spec],
  });
}

/** What two campaigns of the same objects must agree on, whatever their ids and folders. */
function outcomeOf(result: CampaignResult, status: CampaignStatus) {
  return {
    result: {
      outcome: result.outcome,
      reason: result.reason,
      objects: result.objects,
      succeeded: result.succeeded,
      failed: result.failed,
      notRun: result.notRun,
      jobs: result.jobs,
    },
    totals: status.totals,
    rounds: status.rounds.map((r) => ({
      round: r.round,
      succeeded: r.succeeded,
      retryable: r.retryable,
      permanent: r.permanent,
      neverRan: r.neverRan,
      errorsByCode: r.errorsByCode,
      retryObjects: r.retryManifests.reduce((n, m) => n + m.rows, 0),
    })),
    jobs: status.jobs.map((j) => [j.ordinal, j.round, j.shard, j.manifest.rows, j.status]),
  };
}

async function reportOf(s3: S3Client, bucket: string, result: CampaignResult) {
  return JSON.parse(await getText(s3, bucket, result.report!.replace(`s3://${bucket}/`, ''))) as {
    outcome: string;
    reason?: string;
    totals: CampaignStatus['totals'];
    errorsByCode: Record<string, number>;
    jobs: CampaignState['jobs'];
    rounds: CampaignState['rounds'];
    failedObjects: { key: string; count: number };
  };
}

describe('campaign workflow: state carried across continue-as-new', () => {
  test('retry rounds: a campaign that continues as new in every round ends exactly as one that never did', async () => {
    const ok = range(7, 'ok/');
    const flaky = range(3, 'flaky/');
    /** Two SlowDowns per flaky object; every task is slow, so each round's job spans more polls than one run has. */
    const seed = async (bucket: string, s3: S3Client) => {
      await putObjects(s3, bucket, [...ok, ...flaky]);
      return [
        await addFault({ match: { bucket, keyPrefix: 'flaky/' }, errorCode: 'SlowDown', httpStatus: 503, times: 2 }),
        await addFault({ match: { bucket }, latencyMs: 10_000 }),
      ];
    };
    await withBucket(async (chainedBucket, s3) => {
      await withBucket(async (wholeBucket) => {
        const faults = [...(await seed(chainedBucket, s3)), ...(await seed(wholeBucket, s3))];
        try {
          await withCampaignWorker(async (h) => {
            const over = (bucket: string): Partial<CampaignSpecInput> => ({
              source: { type: 'keys', bucket, keys: [...ok, ...flaky] },
              approval: { required: false },
            });
            const chained = await startCampaign(
              h,
              'wf-can-rounds',
              testSpec(h, chainedBucket, { ...over(chainedBucket), historyEventLimit: LOW_LIMIT }),
            );
            // The same campaign, run side by side in an account of its own, with the default limit: one run.
            const wholeAccount = randomAccount();
            const whole = await startCampaign(
              h,
              'wf-can-rounds-whole',
              testSpec({ accountId: wholeAccount }, wholeBucket, { ...over(wholeBucket), historyEventLimit: 0 }),
            );
            const [result, wholeResult] = (await Promise.all([chained.result(), whole.result()])) as CampaignResult[];
            const runs = await continuedChain(h.client, chained.workflowId, chained.firstExecutionRunId);
            // It continued as new inside every round (0, and both retry rounds), each time carrying what came before.
            expect([...new Set(runs.flatMap((r) => (r.handedOver ? [r.handedOver.round] : [])))].sort()).toEqual([
              0, 1, 2,
            ]);
            expect((await runChain(h.client, whole.workflowId, whole.firstExecutionRunId)).length).toBe(1);

            const status = await chained.query(statusQuery);
            const wholeStatus = await whole.query(statusQuery);
            expect(outcomeOf(result!, status)).toEqual(outcomeOf(wholeResult!, wholeStatus));
            expect(result).toMatchObject({ outcome: 'Succeeded', objects: 10, succeeded: 10, failed: 0, jobs: 3 });
            expect(outcomeOf(result!, status).rounds).toEqual([
              {
                round: 0,
                succeeded: 7,
                retryable: 3,
                permanent: 0,
                neverRan: 0,
                errorsByCode: { SlowDown: 3 },
                retryObjects: 3,
              },
              {
                round: 1,
                succeeded: 0,
                retryable: 3,
                permanent: 0,
                neverRan: 0,
                errorsByCode: { SlowDown: 3 },
                retryObjects: 3,
              },
              { round: 2, succeeded: 3, retryable: 0, permanent: 0, neverRan: 0, errorsByCode: {}, retryObjects: 0 },
            ]);
            for (const job of status.jobs.filter((j) => j.round > 0)) {
              expect((await manifestKeys(s3, job.manifest.bucket, job.manifest.key)).sort()).toEqual(flaky);
            }
            // No job was created twice: the engine holds exactly the campaign's jobs, each asked for once.
            const listed = await listJobs(h.accountId);
            expect(listed).toHaveLength(result!.jobs);
            expect(listed.map((j) => j.JobId).sort()).toEqual(status.jobs.map((j) => j.jobId).sort());
            expect(calls(runs, 'createBatchJob')).toHaveLength(3);
            expect(await listJobs(wholeAccount)).toHaveLength(wholeResult!.jobs);

            const report = await reportOf(s3, chainedBucket, result!);
            const wholeReport = await reportOf(s3, wholeBucket, wholeResult!);
            expect(report.totals).toEqual(wholeReport.totals);
            expect(report.errorsByCode).toEqual({ SlowDown: 6 });
            expect(report.errorsByCode).toEqual(wholeReport.errorsByCode);
          });
        } finally {
          for (const f of faults) await removeFault(f);
        }
      });
    });
  });

  test('failure tolerance breached after a continue-as-new: every job of the round is cancelled, the campaign fails with why, and the report is written', async () => {
    await withBucket(async (bucket, s3) => {
      // Two jobs of 100: shard 0 healthy, every object of shard 1 fails. Tasks take 10 s each, 16 at a time: the
      // tolerance (20 tasks) cannot judge before the second wave ends, long after the first run continued as new,
      // and a cancelled job stays Cancelling for up to 10 s while its tasks in flight end, which is more polls than a
      // run holds: the campaign continues as new again between its cancel and its end.
      const healthy = range(100, 'a/');
      const doomed = range(100, 'b/');
      await putObjects(s3, bucket, healthy);
      const faults = [
        await addFault({ match: { bucket }, latencyMs: 10_000 }),
        await addFault({ match: { bucket, keyPrefix: 'b/' }, errorCode: 'AccessDenied', httpStatus: 403 }),
      ];
      try {
        await withCampaignWorker(async (h) => {
          const handle = await startCampaign(
            h,
            'wf-can-tolerance',
            testSpec(h, bucket, {
              source: { type: 'keys', bucket, keys: [...healthy, ...doomed] },
              approval: { required: false },
              maxObjectsPerJob: 100,
              failureTolerance: { maxFailedPercent: 20, minTasks: 20 },
              historyEventLimit: LOW_LIMIT,
            }),
          );
          const result = (await handle.result()) as CampaignResult;
          const runs = await continuedChain(h.client, handle.workflowId, handle.firstExecutionRunId);
          const status = await handle.query(statusQuery);
          const [healthyJob, doomedJob] = status.jobs;
          expect(await manifestKeys(s3, doomedJob!.manifest.bucket, doomedJob!.manifest.key)).toEqual(doomed);

          expect(result.outcome).toBe('Failed');
          expect(result.reason).toMatch(
            new RegExp(`^cancelled early: job ${doomedJob!.jobId}: .*failureTolerance\\.maxFailedPercent=20$`),
          );
          // The breach and the cancels came after the first continue-as-new, not in the first run …
          expect(runs[0]!.handedOver!.toleranceBreach).toBeUndefined();
          const cancels = (rs: RunRecord[]) =>
            calls(rs, 'updateBatchJobStatus').filter((a) => a.input.status === 'Cancelled');
          expect(cancels(runs.slice(0, 1))).toEqual([]);
          expect(cancels(runs).map((a) => a.input.jobId)).toEqual([healthyJob!.jobId, doomedJob!.jobId]);
          // … and a later run handed the breach on while the cancelled jobs were still winding down.
          expect(runs.some((r) => r.handedOver?.toleranceBreach === status.toleranceBreach)).toBe(true);
          // Both jobs stopped part-way, the healthy one too, and each says why.
          const listed = await listJobs(h.accountId);
          expect(listed).toHaveLength(2);
          for (const job of listed) {
            expect(job.Status).toBe('Cancelled');
            const p = job.ProgressSummary;
            expect((p?.NumberOfTasksSucceeded ?? 0) + (p?.NumberOfTasksFailed ?? 0)).toBeLessThan(100);
          }
          expect(healthyJob!.failedTasks).toBe(0);
          for (const job of status.jobs) expect(job.cancelledBecause).toMatch(/^failure tolerance exceeded: /);
          expect(calls(runs, 'createBatchJob')).toHaveLength(2);

          const report = await reportOf(s3, bucket, result);
          expect(report.outcome).toBe('Failed');
          expect(report.reason).toBe(result.reason);
          expect(report.jobs.map((j) => [j.jobId, j.status])).toEqual([
            [healthyJob!.jobId, 'Cancelled'],
            [doomedJob!.jobId, 'Cancelled'],
          ]);
          // Every object is accounted for: succeeded, failed (AccessDenied) or never run.
          expect(report.totals.succeeded).toBeGreaterThan(0);
          expect(report.totals.succeeded + report.failedObjects.count).toBe(200);
          const codes = (await getText(s3, bucket, report.failedObjects.key))
            .trim()
            .split('\n')
            .slice(1)
            .map((l) => l.split(',')[3]);
          expect(codes).toHaveLength(report.failedObjects.count);
          expect(new Set(codes)).toEqual(new Set(['AccessDenied', 'NotRun']));
        });
      } finally {
        for (const f of faults) await removeFault(f);
      }
    });
  });

  test('incremental, on a Schedule: a run that continues as new before finishing saves the watermark once, from its inventory', async () => {
    await withBucket(
      async (bucket, s3) => {
        await putObjects(s3, bucket, ['old/a.txt', 'old/b.txt', 'new/c.txt', 'new/d.txt']);
        await writeDailyInventory(s3, bucket, '2026-01-02T00:00:00Z', [
          ['old/a.txt', '2025-12-30T10:00:00Z'],
          ['old/b.txt', '2025-12-31T10:00:00Z'],
          ['new/c.txt', '2026-01-01T12:00:00Z'],
          ['new/d.txt', '2026-01-01T13:00:00Z'],
        ]);
        const scheduleId = uniqueName('sched-can');
        const watermarkKey = `campaigns/incremental/${scheduleId}.json`;
        // What an earlier run of this schedule left: it processed the inventory of January 1st.
        const earlier: Watermark = {
          inventoryCreatedAt: Date.parse('2026-01-01T00:00:00Z'),
          campaignId: `${scheduleId}-earlier`,
          writtenAt: '2026-01-01T06:00:00.000Z',
        };
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: watermarkKey, Body: JSON.stringify(earlier) }));
        const slow = await addFault({ match: { bucket }, latencyMs: 8000 });
        try {
          await withCampaignWorker(async (h) => {
            const spec = testSpec(h, bucket, {
              source: { type: 'inventory-latest', destination: `s3://${bucket}/inv/${bucket}/daily/` },
              approval: { required: false },
              incremental: {},
              historyEventLimit: LOW_LIMIT,
            });
            await createCampaignSchedule(h.client, {
              scheduleId,
              spec: parseCampaignSpec(spec),
              taskQueue: h.taskQueue,
              every: '24h',
              paused: true,
            });
            const schedule = h.client.schedule.getHandle(scheduleId);
            try {
              const nth = async (n: number) => {
                for (let i = 0; i < 300; i++) {
                  const action = (await schedule.describe()).info.recentActions[n - 1]?.action.workflow;
                  if (action) return action;
                  await new Promise((r) => setTimeout(r, 200));
                }
                throw new Error(`schedule ${scheduleId} took no action #${n}`);
              };
              await schedule.trigger(SKIP);
              const { workflowId, firstExecutionRunId } = await nth(1);
              const handle = h.client.workflow.getHandle(workflowId);
              await waitForStatus(handle, (s) => s.runs > 1 && s.phase === 'Running', 'a continued run', 60_000);
              // The schedule still sees its campaign running in the continued run: a trigger now starts no second
              // campaign beside it (overlap SKIP), which would take the same objects and move the same watermark.
              await schedule.trigger(SKIP);
              let info = (await schedule.describe()).info;
              for (let i = 0; i < 50 && info.numActionsSkippedOverlap === 0; i++) {
                await new Promise((r) => setTimeout(r, 200));
                info = (await schedule.describe()).info;
              }
              expect(info.numActionsSkippedOverlap).toBe(1);
              expect(info.runningActions.map((a) => a.workflow.workflowId)).toEqual([workflowId]);
              const result = (await handle.result()) as CampaignResult;
              const runs = await continuedChain(h.client, workflowId, firstExecutionRunId);
              // It continued as new with the job running, carrying the watermark it started from and nothing saved.
              expect(runs[0]!.handedOver!.incremental).toEqual({
                stateKey: scheduleId,
                previous: earlier,
                modifiedAfter: '2026-01-01T00:00:00.000Z',
              });

              expect(result).toMatchObject({ outcome: 'Succeeded', objects: 2, succeeded: 2 });
              const status = await handle.query(statusQuery);
              const m = status.jobs[0]!.manifest;
              expect((await manifestKeys(s3, m.bucket, m.key)).sort()).toEqual(['new/c.txt', 'new/d.txt']);
              expect(result.watermark).toMatchObject({
                inventoryCreatedAt: Date.parse('2026-01-02T00:00:00Z'),
                campaignId: workflowId,
              });
              // Read once at the start, saved once at the end, whatever the number of runs in between.
              expect(calls(runs, 'readWatermark')).toHaveLength(1);
              expect(calls(runs, 'saveWatermark')).toHaveLength(1);
              expect(calls(runs.slice(0, 1), 'readWatermark')).toHaveLength(1);
              expect(JSON.parse(await getText(s3, bucket, watermarkKey))).toEqual(result.watermark);
              const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: watermarkKey }));
              expect(versions.Versions?.filter((v) => v.Key === watermarkKey)).toHaveLength(2);

              // The next run of the schedule finds the watermark it saved: that inventory is done.
              await schedule.trigger(SKIP);
              const next = await nth(2);
              const nextResult = (await h.client.workflow.getHandle(next.workflowId).result()) as CampaignResult;
              expect(nextResult.outcome).toBe('NothingToDo');
              expect(nextResult.reason).toContain(`already processed by ${workflowId}`);
            } finally {
              await schedule.delete();
            }
          });
        } finally {
          await removeFault(slow);
        }
      },
      { versioning: true },
    );
  });

  test('jobs still preparing when the campaign continues as new: none is created twice, and the campaign completes', async () => {
    await withBucket(async (bucket, s3) => {
      const keys = range(6, 'p/');
      await putObjects(s3, bucket, keys);
      // Every job of this bucket's manifests stays in Preparing for a while: several continue-as-new meanwhile.
      const preparing = await addFault({ match: { bucket }, preparingDelayMs: 12_000 });
      try {
        await withCampaignWorker(async (h) => {
          const handle = await startCampaign(
            h,
            'wf-can-preparing',
            testSpec(h, bucket, {
              source: { type: 'keys', bucket, keys },
              maxObjectsPerJob: 2,
              approval: { required: true },
              historyEventLimit: LOW_LIMIT,
            }),
          );
          const waiting = await waitForPhase(handle, 'AwaitingApproval', 90_000);
          expect(waiting.runs).toBeGreaterThan(1);
          // The jobs awaiting approval in the continued run are the three the first run created, all Suspended.
          const listed = await listJobs(h.accountId);
          expect(listed.map((j) => j.Status)).toEqual(['Suspended', 'Suspended', 'Suspended']);
          expect([...waiting.awaitingApproval!.jobIds].sort()).toEqual(listed.map((j) => j.JobId).sort());
          await handle.executeUpdate(approveUpdate, { args: [{ by: 'dana' }] });

          const result = (await handle.result()) as CampaignResult;
          expect(result).toMatchObject({ outcome: 'Succeeded', objects: 6, succeeded: 6, jobs: 3 });
          const runs = await continuedChain(h.client, handle.workflowId, handle.firstExecutionRunId);
          const preparingHandOvers = runs.flatMap((r) =>
            r.handedOver?.phase === 'PreparingJobs' ? [r.handedOver] : [],
          );
          expect(preparingHandOvers.length).toBeGreaterThan(0);
          for (const st of preparingHandOvers) {
            expect(st.jobs.map((j) => j.jobId)).toEqual(waiting.jobs.map((j) => j.jobId));
          }
          // Each job was asked for once, by the first run; the engine holds those three and no other.
          expect(calls(runs, 'createBatchJob')).toHaveLength(3);
          expect(calls(runs.slice(0, 1), 'createBatchJob')).toHaveLength(3);
          const after = await listJobs(h.accountId);
          expect(after.map((j) => j.JobId).sort()).toEqual(listed.map((j) => j.JobId).sort());
          expect(after.map((j) => j.Status)).toEqual(['Complete', 'Complete', 'Complete']);
        });
      } finally {
        await removeFault(preparing);
      }
    });
  });
});
