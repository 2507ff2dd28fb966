/**
 * The campaign workflow: manifest → job(s) → approval → polling → retry jobs → final report.
 *
 * Written as a state machine over `CampaignState` so that a run can continue-as-new at any poll and the next run
 * resumes exactly where the last one was. Every side effect is an activity; large data (manifests, reports) stays in
 * S3 and only keys, counts and ETags pass through history.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  type ActivityInterfaceFor,
  type ActivityOptions,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  allHandlersFinished,
  condition,
  ContinueAsNew,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  TemporalFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';

import type { Activities } from '../activities';
import type { BuildCampaignManifestsInput, JobSnapshot, UpdateBatchJobStatusResult } from '../shared/activity-types';
import {
  approveSignal,
  approveUpdate,
  CAMPAIGN_WORKFLOW_TYPE,
  campaignTotals,
  restoreAndCopyOutcome,
  restoreAndCopyProgress,
  newRestoreAndCopyState,
  rejectSignal,
  rejectUpdate,
  statusQuery,
  type ApproveInput,
  type CampaignInput,
  type CampaignJob,
  type CampaignOutcome,
  type CampaignResult,
  type CampaignState,
  type CampaignStatus,
  type ChildCampaignRun,
  type Decision,
  type DecisionResult,
} from '../shared/campaign';
import {
  AUTO_POLL_INTERVAL,
  campaignIdProblem,
  durationMs,
  formatDuration,
  incrementalStateKey,
  LEGACY_POLL_INTERVAL,
  parseCampaignSpec,
  sizeBytes,
  SpecError,
  trackingSchedule,
  type CampaignSpec,
  type CampaignSpecInput,
  type RestoreAndCopyOperation,
} from '../shared/campaign-spec';
import type { CopyLargeObjectInput } from '../shared/large-copy';
import { UNRESTORED_COPY_ERROR_CODES, type AdvanceRestoreTrackingResult } from '../shared/restore-tracking-types';
import { copyPartOf, restorePartOf, toJobOperation } from '../campaign/operation';
import { FailureType } from '../shared/errors';
import { MAX_JOBS_PER_ROUND } from '../shared/limits';
import { generatorFilter } from '../shared/bucket-source';
import { CAMPAIGN_SEARCH_ATTRIBUTES as SA } from '../shared/search-attributes';
import { cancelWaitMs, nextPollMs } from '../campaign/poll-interval';
import { heavyTaskQueue } from '../shared/task-queue';
import { buildManifestsSummary, campaignProgressDetails, oneLine, pollSummary, shortJobId } from '../campaign/summary';
import { campaignMetrics } from './campaign-metrics';

/** Building manifests streams whole inventories: long, heartbeating, resumable. Exported for the activity tests. */
export const manifestCalls: ActivityOptions = {
  startToCloseTimeout: '6h',
  heartbeatTimeout: '2m',
  // On cancellation, wait until the activity has aborted its multipart uploads: nothing half-written stays behind.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '5s', maximumInterval: '2m', nonRetryableErrorTypes: [FailureType.InvalidInput] },
};
/** One S3 Control call each; AWS throttling and 5xx retry with backoff. */
const jobCalls: ActivityOptions = {
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', maximumInterval: '1m', backoffCoefficient: 2 },
};
/**
 * Reading completion reports and writing retry manifests / the final report scales with the job. Exported for the
 * activity tests.
 */
export const reportCalls: ActivityOptions = {
  startToCloseTimeout: '2h',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '5s', maximumInterval: '2m' },
};

/** The patch from which heavy activities run on `<taskQueue>-heavy`; earlier histories scheduled them here. */
const HEAVY_QUEUE_PATCH = 'heavy-task-queue';

/**
 * Heavy activities (manifest builds, round analysis, reports, restore tracking, large copies): on the campaign's heavy
 * task queue, where they have worker slots of their own, so that hours of them never hold the slots another
 * campaign's job calls and polls need. The queue is chosen at each call, behind `patched()`: a run replayed from a
 * history of an earlier release schedules them on the campaign queue, as it did then.
 */
function heavyActivities(options: ActivityOptions): ActivityInterfaceFor<Activities> {
  const here = proxyActivities<Activities>(options);
  let apart: ActivityInterfaceFor<Activities> | undefined;
  type Call = ((...args: unknown[]) => Promise<unknown>) & {
    executeWithOptions(options: ActivityOptions, args: unknown[]): Promise<unknown>;
  };
  const pick = (name: string): Call => {
    const calls = patched(HEAVY_QUEUE_PATCH)
      ? (apart ??= proxyActivities<Activities>({ ...options, taskQueue: heavyTaskQueue(workflowInfo().taskQueue) }))
      : here;
    return (calls as unknown as Record<string, Call>)[name]!;
  };
  return new Proxy({} as ActivityInterfaceFor<Activities>, {
    get: (_, name) => {
      const call = (...args: unknown[]) => pick(name as string)(...args);
      call.executeWithOptions = (opts: ActivityOptions, args: unknown[]) =>
        pick(name as string).executeWithOptions(opts, args);
      return call;
    },
  });
}

const { buildCampaignManifests } = heavyActivities(manifestCalls);
const { claimCampaignFolder, createBatchJob, describeBatchJobs, updateBatchJobStatus, readWatermark, saveWatermark } =
  proxyActivities<Activities>(jobCalls);
const { analyzeRound, writeCampaignReport, writeRestoreAndCopyReport, writeLargeCopyFailures } =
  heavyActivities(reportCalls);
/** Reads the manifest S3 generated for a job (it scales with the bucket, like a report). */
const { summarizeGeneratedManifest } = heavyActivities(reportCalls);
/** Cleanup after cancellation or failure: a few attempts each, so it can never hang the campaign. */
const cleanupCalls = heavyActivities({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 5 },
});

/**
 * Restore tracking steps read and rewrite the whole tracking set (HEAD sweeps of a million objects take an hour at
 * the default rate): long, heartbeating, resumable from their checkpoints.
 */
const trackingCalls = heavyActivities({
  startToCloseTimeout: '12h',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '5s', maximumInterval: '2m', nonRetryableErrorTypes: [FailureType.InvalidInput] },
});
/** A multipart copy of up to 5 TB: heartbeats per part; a retry resumes the same upload. */
const largeCopyOptions: ActivityOptions = {
  startToCloseTimeout: '24h',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '5s', maximumInterval: '2m', maximumAttempts: 5 },
};
/** Builds before `large-copy-waits-for-cancel`: a cancel did not wait for the copy to abort its upload. */
const largeCopyCallsUnwaited = heavyActivities(largeCopyOptions);
/**
 * On cancellation, wait until the copy has aborted its multipart upload (it does so when the cancel reaches its next
 * heartbeat): the campaign ends with no upload left behind, and its report after the copy's end, not before.
 */
const largeCopyCallsWaited = heavyActivities({
  ...largeCopyOptions,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
/** Large objects copied per batch: the batch's refs pass through history, so it stays small. */
const LARGE_OBJECTS_PER_BATCH = 100;

const TERMINAL_JOB_STATUSES = new Set(['Complete', 'Failed', 'Cancelled']);
/** How many ignored signals the state keeps, newest last. */
const MAX_IGNORED_SIGNALS = 10;
/** Bounded wait for cancelled jobs to reach a terminal status before the final report, in polls. */
const CANCEL_WAIT_POLLS = 30;

function nowIso(): string {
  return new Date().toISOString();
}

function isTerminal(status: string | undefined): boolean {
  return status !== undefined && TERMINAL_JOB_STATUSES.has(status);
}

/** The campaign's folder: `<report.prefix>/<campaignId>`. */
function campaignLocation(spec: CampaignSpec, campaignId: string) {
  return { bucket: spec.report.bucket, prefix: `${spec.report.prefix}/${campaignId}` };
}

/** 32-bit FNV-1a as 8 hex digits: a deterministic, dependency-free digest of the workflow id for the token. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * A job's ClientRequestToken: derived from the workflow id, the campaign's first run id and the job ordinal — never
 * random, never the attempt number — so a retried activity or a restarted worker gets the same job back. The run id
 * keeps a later campaign that reuses a workflow id from adopting an old campaign's job. At most 64 characters.
 */
function jobToken(ordinal: number): string {
  const info = workflowInfo();
  return `s3c-${fnv1a(info.workflowId)}-${info.firstExecutionRunId}-${ordinal}`.slice(0, 64);
}

/**
 * What the first round's manifests are built from: the spec's source and filter (an incremental run's lower bound
 * `modifiedAfter` replaces an earlier one of the spec's), written to the campaign's folder. Exported so that the
 * activity tests give the activity exactly what a campaign gives it.
 */
export function manifestBuildInput(
  spec: CampaignSpec,
  campaignId: string,
  modifiedAfter?: string,
): BuildCampaignManifestsInput {
  const userAfter = spec.filter?.modifiedAfter;
  const filter = modifiedAfter
    ? {
        ...spec.filter,
        modifiedAfter: userAfter && Date.parse(userAfter) > Date.parse(modifiedAfter) ? userAfter : modifiedAfter,
      }
    : spec.filter;
  return {
    campaignId,
    source: spec.source,
    operation: spec.operation,
    filter,
    maxObjectsPerJob: spec.maxObjectsPerJob,
    output: campaignLocation(spec, campaignId),
  };
}

function sourceBucket(spec: CampaignSpec): string {
  const s = spec.source;
  if (s.type === 'keys' || s.type === 'bucket') return s.bucket;
  // The objects' bucket is in the other campaign's failed.csv, which the workflow does not read.
  if (s.type === 'campaign-failures') return '';
  const uri = s.type === 'inventory-latest' ? s.destination : s.manifest;
  return uri.slice('s3://'.length).split('/')[0] ?? '';
}

function roundJobs(st: CampaignState): CampaignJob[] {
  return st.jobs.filter((j) => j.round === st.round);
}

const totals = campaignTotals;

function buildStatus(spec: CampaignSpec, st: CampaignState): CampaignStatus {
  const waiting = st.phase === 'AwaitingApproval' ? roundJobs(st) : [];
  return {
    ...st,
    name: spec.name,
    operation: spec.operation.type,
    reportUri: st.reportKey ? `s3://${spec.report.bucket}/${st.reportKey}` : undefined,
    totals: totals(st),
    ...(st.restoreAndCopy ? { restoreAndCopyProgress: restoreAndCopyProgress(st) } : {}),
    awaitingApproval:
      st.phase === 'AwaitingApproval'
        ? {
            jobIds: waiting.map((j) => j.jobId ?? ''),
            manifestEtags: waiting.map((j) => j.manifest.etag),
            objects: waiting.reduce((n, j) => n + (j.totalTasks ?? j.manifest.rows), 0),
            deadline: st.approvalDeadline,
            retry: st.round > 0,
          }
        : undefined,
  };
}

/**
 * Why a permanent failure ended the campaign, for its reason, its report and the jobs' cancel reason: the failing
 * activity, then the type and message of each cause. An activity's own failure only says "Activity task failed"; what
 * went wrong is in its cause.
 */
function failureReason(err: TemporalFailure): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ActivityFailure) parts.push(`activity ${e.activityType} failed`);
    else if (e instanceof ApplicationFailure && e.type) parts.push(`${e.type}: ${e.message}`);
    else parts.push(e.message);
  }
  return parts.join(': ');
}

/**
 * The spec and the carried-over state of a run's input, or a non-retryable `InvalidInput` naming what is wrong. Any
 * input is possible here (the Web UI's Start form takes free JSON), and a plain error would retry the workflow task
 * forever: nothing in here may throw anything else.
 */
function readInput(input: unknown): { spec: CampaignSpec; continuation?: CampaignState } {
  const invalid = (problems: string[]) =>
    ApplicationFailure.nonRetryable(
      `invalid campaign spec: ${problems.join('; ')}`,
      FailureType.InvalidInput,
      problems,
    );
  try {
    // parseCampaignSpec refuses null, arrays and scalars before we take the object apart.
    if (typeof input !== 'object' || input === null || Array.isArray(input)) parseCampaignSpec(input);
    const { continuation, ...specInput } = input as CampaignInput;
    const spec = parseCampaignSpec(specInput);
    const info = workflowInfo();
    if (continuation !== undefined && info.continuedFromExecutionRunId === undefined) {
      throw invalid(['continuation is set by the workflow itself when it continues as new: remove it']);
    }
    return { spec, continuation };
  } catch (err) {
    if (err instanceof SpecError) throw invalid(err.problems);
    throw err;
  }
}

export async function campaignWorkflow(input: CampaignInput): Promise<CampaignResult> {
  const { spec, continuation } = readInput(input);
  const info = workflowInfo();
  const st: CampaignState = continuation
    ? { ...continuation, runs: continuation.runs + 1 }
    : {
        campaignId: info.workflowId,
        phase: 'BuildingManifest',
        startedAt: nowIso(),
        updatedAt: nowIso(),
        jobs: [],
        rounds: [],
        round: 0,
        ignoredSignals: [],
        runs: 1,
      };
  const location = campaignLocation(spec, st.campaignId);
  const observeMetrics = campaignMetrics(spec.operation.type, !continuation);
  const reportSummary = () => oneLine(`write the report to s3://${location.bucket}/${location.prefix}/`);
  /** Set when the pending decision has been carried out (jobs Ready or Cancelled). */
  let decisionApplied: DecisionResult | undefined;

  /** The search-attribute values last upserted in this run, as JSON. */
  let lastUpserted: string | undefined;
  const publish = () => {
    st.updatedAt = nowIso();
    const t = totals(st);
    const progress = restoreAndCopyProgress(st);
    // The restore-and-copy progress attributes came after that path's first builds: their campaigns replay as they ran.
    const racAttributes =
      progress && patched('restore-and-copy-progress-attributes')
        ? [
            { key: SA.restored, value: progress.restored },
            { key: SA.copied, value: progress.copied },
            { key: SA.expiringSoon, value: progress.expiringSoon },
          ]
        : [];
    const attributes = [
      { key: SA.name, value: spec.name },
      { key: SA.operation, value: spec.operation.type },
      { key: SA.phase, value: st.phase === 'Done' ? (st.outcome ?? 'Done') : st.phase },
      { key: SA.bucket, value: sourceBucket(spec) },
      { key: SA.objects, value: t.objects },
      { key: SA.failedTasks, value: t.failed },
      ...racAttributes,
    ];
    // Each upsert is a command, a history event and a billed Temporal Cloud action: send one only when a value
    // changed (a poll that moved nothing used to upsert the same values again). Earlier releases upserted every
    // time; their histories replay as they ran.
    const values = JSON.stringify(attributes.map((a) => a.value));
    if (values !== lastUpserted || !patched('search-attributes-on-change')) {
      upsertSearchAttributes(attributes);
      lastUpserted = values;
    }
    setCurrentDetails(campaignProgressDetails(spec, st));
    observeMetrics(st);
  };
  const setPhase = (phase: CampaignState['phase']) => {
    st.phase = phase;
    publish();
  };

  // ---- messages --------------------------------------------------------------------------------------------------
  /** Why a decision payload is malformed, or undefined: an object with a non-empty `by`, typed fields, guards. */
  const payloadProblem = (p: unknown): string | undefined => {
    const example = '{"by": "you", "note": "why"}';
    if (typeof p !== 'object' || p === null || Array.isArray(p)) {
      return `the payload must be an object such as ${example}, not ${p === null ? 'null' : Array.isArray(p) ? 'an array' : typeof p}`;
    }
    const by = (p as ApproveInput).by;
    if (typeof by !== 'string' || by.trim() === '')
      return `the payload needs "by", who decides (a non-empty string): ${example}`;
    return undefined;
  };
  /** A refused decision: permanent (sending it again cannot help), typed, and with the reason as its message. */
  const refused = (reason: string, type: string = FailureType.InvalidInput) =>
    ApplicationFailure.nonRetryable(reason, type);
  /** Throws why a decision cannot apply now; `checkPayload` false only for histories of earlier releases. */
  const checkDecision = (payload: ApproveInput | undefined, checkPayload = true): void => {
    const problem = checkPayload ? payloadProblem(payload) : undefined;
    if (problem) throw refused(problem);
    if (st.phase !== 'AwaitingApproval')
      throw refused(
        `campaign ${st.campaignId} is not awaiting approval (phase ${st.phase})`,
        FailureType.InvalidJobState,
      );
    if (st.pendingDecision) {
      throw refused(`a decision was already made by ${st.pendingDecision.by}`, FailureType.InvalidJobState);
    }
    const jobs = roundJobs(st);
    const p = payload ?? {};
    if (p.by !== undefined && (typeof p.by !== 'string' || p.by.length > 256))
      throw refused('by must be a string of at most 256 characters');
    if (p.note !== undefined && (typeof p.note !== 'string' || p.note.length > 1024))
      throw refused('note must be a string of at most 1024 characters');
    if (p.jobId !== undefined && !jobs.some((j) => j.jobId === p.jobId)) {
      throw refused(
        `job ${p.jobId} is not the job awaiting approval (awaiting: ${jobs.map((j) => j.jobId).join(', ')})`,
      );
    }
    const etag = p.manifestEtag?.replace(/"/g, '');
    if (etag !== undefined && !jobs.some((j) => j.manifest.etag === etag)) {
      throw refused(
        `manifest ETag ${p.manifestEtag} is not the one awaiting approval (awaiting: ${jobs.map((j) => j.manifest.etag).join(', ')})`,
      );
    }
  };
  const decide = (decision: 'approved' | 'rejected', via: 'update' | 'signal', p: ApproveInput | undefined) => {
    st.pendingDecision = { decision, by: p?.by || 'unknown', at: nowIso(), note: p?.note, via };
    decisionApplied = undefined;
  };
  const updateHandler = (decision: 'approved' | 'rejected') => async (p: ApproveInput) => {
    decide(decision, 'update', p);
    await condition(() => decisionApplied !== undefined);
    return decisionApplied!;
  };
  setHandler(approveUpdate, updateHandler('approved'), { validator: (p) => checkDecision(p) });
  setHandler(rejectUpdate, updateHandler('rejected'), { validator: (p) => checkDecision(p) });
  const signalHandler = (name: 'approve' | 'reject') => (p: ApproveInput) => {
    try {
      // Campaigns of earlier releases took any payload as a decision "by unknown": their histories replay as they ran.
      checkDecision(p, payloadProblem(p) === undefined || patched('decision-payload-checked'));
    } catch (err) {
      const reason = (err as Error).message;
      log.warn('ignored signal', { signal: name, reason });
      st.ignoredSignals = [...st.ignoredSignals, { name, at: nowIso(), reason }].slice(-MAX_IGNORED_SIGNALS);
      // Shown in the Web UI at once (current details are no command: nothing changes for replay).
      setCurrentDetails(campaignProgressDetails(spec, st));
      return;
    }
    decide(name === 'approve' ? 'approved' : 'rejected', 'signal', p);
  };
  setHandler(approveSignal, signalHandler('approve'));
  setHandler(rejectSignal, signalHandler('reject'));
  setHandler(statusQuery, () => buildStatus(spec, st));

  // ---- helpers ---------------------------------------------------------------------------------------------------
  const shouldContinueAsNew = () => {
    const i = workflowInfo();
    return i.continueAsNewSuggested || (spec.historyEventLimit > 0 && i.historyLength >= spec.historyEventLimit);
  };
  const continueNow = async (): Promise<never> => {
    await condition(allHandlersFinished);
    log.info('continuing as new', { historyLength: workflowInfo().historyLength, phase: st.phase });
    return await continueAsNew<typeof campaignWorkflow>({ ...spec, continuation: st });
  };
  const applySnapshot = (job: CampaignJob, s: JobSnapshot) => {
    job.status = s.status;
    job.totalTasks = s.totalTasks;
    job.succeededTasks = s.succeededTasks;
    job.failedTasks = s.failedTasks;
    job.elapsedActiveSeconds = s.elapsedActiveSeconds;
    job.failureReasons = s.failureReasons;
    job.statusUpdateReason = s.statusUpdateReason;
    if (s.terminationDate) job.endedAt = s.terminationDate;
  };
  /** Job calls with normal retries, or `cleanupCalls` (bounded) once the campaign is ending early. */
  type JobCalls = Pick<ActivityInterfaceFor<Activities>, 'describeBatchJobs' | 'updateBatchJobStatus'>;
  const jobActivities: JobCalls = { describeBatchJobs, updateBatchJobStatus };
  /** Describes the jobs still running (with `all`, every created job: its counts may be older than its status). */
  const refresh = async (jobs: CampaignJob[], calls: JobCalls = jobActivities, all = false) => {
    const live = jobs.filter((j) => j.jobId && (all || !isTerminal(j.status)));
    if (live.length === 0) return;
    const snaps = await calls.describeBatchJobs.executeWithOptions({ summary: pollSummary(live) }, [
      { accountId: spec.accountId, jobIds: live.map((j) => j.jobId!) },
    ]);
    for (const s of snaps) {
      const job = live.find((j) => j.jobId === s.jobId);
      if (job) applySnapshot(job, s);
    }
    publish();
  };
  /**
   * Records a job's status after UpdateJobStatus. A retried call that finds the job already ended on its own (the
   * worker died after the change took effect, and the job ran to its end meanwhile) answers with that end but not
   * the job's counts, and a terminal job is never described again: describe it once more instead. Earlier releases
   * kept the bare status; their histories replay as they ran.
   */
  const takeStatus = async (j: CampaignJob, res: UpdateBatchJobStatusResult, calls: JobCalls = jobActivities) => {
    if (!res.changed && isTerminal(res.status) && patched('describe-after-moot-status-change')) {
      await refresh([j], calls, true);
    } else {
      j.status = res.status;
    }
  };
  /** Cancels the jobs still running; with `bestEffort`, a job that cannot be cancelled is logged, not thrown. */
  const cancelJobs = async (
    jobs: CampaignJob[],
    reason: string,
    calls: JobCalls = jobActivities,
    bestEffort = false,
  ) => {
    for (const j of jobs) {
      if (!j.jobId || isTerminal(j.status)) continue;
      try {
        const res = await calls.updateBatchJobStatus.executeWithOptions(
          { summary: oneLine(`cancel job ${shortJobId(j.jobId)}: ${reason}`) },
          [{ accountId: spec.accountId, jobId: j.jobId, status: 'Cancelled', reason: reason.slice(0, 256) }],
        );
        await takeStatus(j, res, calls);
        if (res.changed) j.cancelledBecause = reason;
      } catch (err) {
        if (!bestEffort) throw err;
        log.warn('could not cancel job', { jobId: j.jobId, error: String(err) });
      }
    }
  };
  const finish = (outcome: CampaignOutcome, reason?: string) => {
    st.outcome = outcome;
    st.outcomeReason = reason;
    setPhase('Reporting');
  };
  /**
   * `pollInterval: "auto"` adapts the wait to the jobs (src/campaign/poll-interval.ts). Earlier releases read the
   * default as a fixed 60 s: their histories carry no `adaptive-poll-interval` marker and replay with that wait.
   */
  const adaptivePolls = () => spec.pollInterval === AUTO_POLL_INTERVAL && patched('adaptive-poll-interval');
  /** The fixed interval of a spec that names one, or what `"auto"` meant before it adapted. */
  const fixedPoll = spec.pollInterval === AUTO_POLL_INTERVAL ? LEGACY_POLL_INTERVAL : spec.pollInterval;
  const pollUntil = async (jobs: CampaignJob[], done: () => boolean, onPoll?: () => Promise<boolean>) => {
    for (;;) {
      await refresh(jobs);
      if (done()) return;
      if (onPoll && (await onPoll())) return;
      if (shouldContinueAsNew()) await continueNow();
      if (adaptivePolls()) {
        const ms = nextPollMs(jobs, Date.now());
        await sleep(ms, { summary: `next poll in ${formatDuration(Math.round(ms / 1000) * 1000)} (auto)` });
      } else {
        await sleep(durationMs(fixedPoll), { summary: `next poll in ${fixedPoll}` });
      }
    }
  };

  const watermarkLocation = (stateKey: string) => ({
    bucket: spec.report.bucket,
    key: `${spec.report.prefix}/incremental/${stateKey}.json`,
  });
  /** Incremental campaigns that ended well move the watermark to the inventory they processed. */
  const advanceWatermark = async () => {
    const inc = st.incremental;
    const createdAt = st.stats?.inventoryCreatedAt;
    const good = st.outcome === 'Succeeded' || st.outcome === 'CompletedWithFailures' || st.outcome === 'NothingToDo';
    if (!inc || inc.saved || !good || createdAt === undefined) return;
    if (inc.previous && createdAt <= inc.previous.inventoryCreatedAt) return;
    const watermark = { inventoryCreatedAt: createdAt, campaignId: st.campaignId, writtenAt: nowIso() };
    const at = watermarkLocation(inc.stateKey);
    await saveWatermark.executeWithOptions({ summary: oneLine(`save watermark s3://${at.bucket}/${at.key}`) }, [
      { ...at, watermark },
    ]);
    inc.saved = watermark;
  };

  const analyze = async (calls: typeof analyzeRound) => {
    const jobs = roundJobs(st);
    const analysis = await calls.executeWithOptions({ summary: `analyze round ${st.round} (${jobs.length} job(s))` }, [
      {
        campaignId: st.campaignId,
        round: st.round,
        operationType: spec.operation.type,
        retryableErrorCodes: spec.retry.retryableErrorCodes,
        maxObjectsPerJob: spec.maxObjectsPerJob,
        jobs: jobs.map((j) => ({
          jobId: j.jobId,
          manifest: j.manifest,
          status: j.status,
          ordinal: j.ordinal,
          tasksRun: (j.succeededTasks ?? 0) + (j.failedTasks ?? 0),
          failureCodes: j.failureReasons?.map((f) => f.code),
          endedAt: j.endedAt,
        })),
        reports: { bucket: location.bucket, prefix: `${location.prefix}/reports` },
        output: location,
      },
    ]);
    st.rounds = [...st.rounds.filter((r) => r.round !== st.round), analysis];
    return analysis;
  };
  /**
   * A campaign that ends before its round was analyzed (rejected, expired, failed, cancelled) still accounts for
   * every object of that round: what ran, what failed, what never ran goes to failed.csv.
   */
  const analyzeUnfinishedRound = async (calls: typeof analyzeRound = analyzeRound) => {
    if (st.rounds.some((r) => r.round === st.round) || roundJobs(st).length === 0) return;
    await analyze(calls);
  };
  /**
   * Whatever ended the campaign early (cancellation or a permanent error): cancel what still runs, wait a bounded
   * while for it to settle, account for the round and write the report. Each step is best effort with bounded
   * retries, so cleanup never hangs and a failing step does not hide the report.
   */
  const cleanUpAndReport = async (outcome: CampaignOutcome, reason: string) => {
    // A restore-and-copy campaign's work runs in its child campaigns; its report names every object not copied.
    // Earlier builds wrote the ordinary report; their histories replay as they ran.
    if (st.restoreAndCopy && patched('restore-and-copy-cancel-report')) return endRestoreAndCopyEarly(outcome, reason);
    await CancellationScope.nonCancellable(async () => {
      const live = st.jobs.filter((j) => j.jobId && !isTerminal(j.status));
      await cancelJobs(live, reason, cleanupCalls, true);
      const refreshLive = (all: boolean) =>
        refresh(live, cleanupCalls, all).catch((e: unknown) =>
          log.warn('could not refresh jobs', { error: String(e) }),
        );
      // A job may have finished on its own just before the cancel: its status then comes from the cancel call, but
      // its counts only from describing it once more, so every count in the report matches the job's final state.
      if (live.length > 0 && patched('describe-after-cancel')) await refreshLive(true);
      for (let i = 0; i < CANCEL_WAIT_POLLS && live.some((j) => !isTerminal(j.status)); i++) {
        const wait = adaptivePolls() ? formatDuration(cancelWaitMs(i)) : fixedPoll;
        await sleep(durationMs(wait), {
          summary: `wait ${wait} for cancelled jobs to end (${i + 1}/${CANCEL_WAIT_POLLS})`,
        });
        await refreshLive(false);
      }
      st.outcome = outcome;
      st.outcomeReason = reason;
      st.phase = 'Reporting';
      await analyzeUnfinishedRound(cleanupCalls.analyzeRound).catch((e: unknown) =>
        log.warn('could not analyze the round', { error: String(e) }),
      );
      if (outcome === 'Cancelled') st.outcomeReason = cancelledReason(reason, live);
      keepReport(
        await cleanupCalls.writeCampaignReport
          .executeWithOptions({ summary: reportSummary() }, [{ spec, state: st, output: location }])
          .catch(reportNotWritten),
      );
      setPhase('Done');
    });
  };

  /** A report written on the way out: its keys go into the state (and so into the result). */
  const keepReport = <R extends { reportKey: string; failedObjectsKey?: string }>(res: R | undefined) => {
    if (res) {
      st.reportKey = res.reportKey;
      st.failedObjectsKey = res.failedObjectsKey;
    }
    return res;
  };
  /** Best effort on the way out: a report that could not be written is logged, and the campaign still ends. */
  const reportNotWritten = (e: unknown): undefined => {
    log.error('could not write the campaign report', { error: String(e) });
    return undefined;
  };

  /**
   * Why the campaign says Cancelled: a cancel that arrived after every job had finished by itself, with nothing left
   * to retry, says so — the work was done, only the campaign's bookkeeping was interrupted.
   */
  const cancelledReason = (reason: string, cancelled: CampaignJob[]): string => {
    const current = st.rounds.find((r) => r.round === st.round);
    const t = totals(st);
    const jobsCancelled = cancelled.some((j) => j.cancelledBecause !== undefined);
    if (jobsCancelled || !current || current.retryable > 0 || t.notRun > 0) return reason;
    return (
      `${reason} after its work had finished: no job was cancelled, ${t.succeeded} object(s) succeeded` +
      (t.failed ? ` and ${t.failed} failed` : '')
    );
  };

  // ---- restore-and-copy --------------------------------------------------------------------------------------------
  /**
   * A restore-and-copy campaign cancelled or failed: cancel its running child campaigns (each cancels its job and
   * writes its own report), wait a bounded while for them to end, then write the restore-and-copy report, which names
   * each object not copied (`NotCopied:<outcome>`). Best effort with bounded retries, like `cleanUpAndReport`.
   */
  const endRestoreAndCopyEarly = async (outcome: CampaignOutcome, reason: string) => {
    await CancellationScope.nonCancellable(async () => {
      const rac = st.restoreAndCopy!;
      const live = running([...rac.restores, ...rac.waves]);
      // A cancelled campaign's children were asked already (Temporal passes the cancel on); a failing one's were not.
      for (const run of live) {
        await getExternalWorkflowHandle(run.workflowId)
          .cancel()
          .catch((e: unknown) =>
            log.warn('could not cancel a child campaign', { child: run.workflowId, error: String(e) }),
          );
      }
      await condition(() => running(live).length === 0, CANCEL_WAIT_POLLS * durationMs(fixedPoll));
      st.outcome = outcome;
      st.outcomeReason =
        live.length > 0 ? `${reason}; child campaigns cancelled: ${live.map((r) => r.workflowId).join(', ')}` : reason;
      st.phase = 'Reporting';
      const res = keepReport(
        await cleanupCalls
          .writeRestoreAndCopyReport({ spec, state: st, output: location, endedEarly: true })
          .catch(reportNotWritten),
      );
      if (res) {
        if (res.restoreFailuresAlsoTracked) rac.restoreFailuresAlsoTracked = res.restoreFailuresAlsoTracked;
        if (res.restoreFailuresWentOn) rac.restoreFailuresWentOn = res.restoreFailuresWentOn;
        // A child that ended cancelled has no result, only its report: its counts come from there.
        for (const { workflowId, result } of res.childResults ?? []) {
          const run = [...rac.restores, ...rac.waves].find((r) => r.workflowId === workflowId);
          if (run && !run.result) run.result = result;
        }
      }
      setPhase('Done');
    });
  };
  const racOperation = (): RestoreAndCopyOperation => {
    if (spec.operation.type !== 'restore-and-copy') throw new Error('not a restore-and-copy campaign');
    return spec.operation;
  };
  /** Bumped when a child campaign ends: the tracking loop wakes up for it. */
  let childrenEnded = 0;
  /** A child campaign's spec: this campaign's account, role, report folder, retries and pacing; no approval. */
  const childSpec = (
    operation: CampaignSpecInput['operation'],
    manifest: { bucket: string; key: string },
    what: string,
  ): CampaignSpecInput => ({
    name: `${spec.name} — ${what}`.slice(0, 100),
    accountId: spec.accountId,
    region: spec.region,
    roleArn: spec.roleArn,
    source: { type: 'csv', manifest: `s3://${manifest.bucket}/${manifest.key}` },
    operation,
    approval: { required: false, timeout: spec.approval.timeout, retryJobsRequireApproval: false },
    retry: spec.retry,
    ...(spec.failureTolerance ? { failureTolerance: spec.failureTolerance } : {}),
    report: spec.report,
    priority: spec.priority,
    maxObjectsPerJob: spec.maxObjectsPerJob,
    pollInterval: spec.pollInterval,
    historyEventLimit: spec.historyEventLimit,
  });
  /** Starts a child campaign and records its end in `run` (found again by id: the state may be replaced). */
  const startChildRun = async (run: ChildCampaignRun, input: CampaignSpecInput) => {
    const handle = await startChild(CAMPAIGN_WORKFLOW_TYPE, {
      workflowId: run.workflowId,
      args: [input],
      staticSummary: oneLine(
        `${input.operation.type} · ${input.name} · ${input.source.type === 'csv' ? input.source.manifest : ''}`,
      ),
    });
    void handle.result().then(
      (result: CampaignResult) => {
        run.result = result;
        childrenEnded += 1;
        publish();
      },
      (err: unknown) => {
        run.error = err instanceof Error ? failureReasonOf(err) : String(err);
        childrenEnded += 1;
        publish();
      },
    );
  };
  const failureReasonOf = (err: Error) => (err instanceof TemporalFailure ? failureReason(err) : err.message);
  const running = (runs: ChildCampaignRun[]) => runs.filter((r) => !r.result && r.error === undefined);
  const absorbStep = (res: AdvanceRestoreTrackingResult) => {
    const rac = st.restoreAndCopy!;
    rac.counts = res.counts;
    rac.durations = res.durations;
    rac.nextEarliestExpiry = res.nextEarliestExpiry;
    rac.extensions += res.extensionsIssued;
    rac.headRequests += res.headRequests;
    rac.eventsApplied += res.eventsApplied;
    if (res.expiringSoon !== undefined) rac.expiringSoon = res.expiringSoon;
  };
  type StepInput = Parameters<typeof trackingCalls.advanceRestoreTracking>[0];
  const trackingStep = (extra: { sweep?: boolean; wave?: StepInput['wave']; requeue?: StepInput['requeue'] }) => {
    const rac = st.restoreAndCopy!;
    const op = racOperation();
    rac.steps += 1;
    return trackingCalls.advanceRestoreTracking({
      tracking: location,
      stepId: `${st.campaignId}-step-${rac.steps}`,
      sweep: extra.sweep ?? false,
      expiryMarginMs: durationMs(op.expiryMargin),
      expirationDays: op.expirationDays,
      tier: op.tier,
      headConcurrency: op.tracking.headConcurrency,
      headRatePerSecond: op.tracking.headRatePerSecond,
      // The waves still copying: the guard keeps their objects restored until their copies have read them.
      activeWaves: running(rac.waves).flatMap((w) => (w.waveId === undefined ? [] : [w.waveId])),
      ...(extra.wave ? { wave: extra.wave } : {}),
      ...(extra.requeue ? { requeue: extra.requeue } : {}),
    });
  };
  /**
   * A copy that fails because its source reads as not restored is a tracking bug (or a restore that expired under
   * it): its object goes back to waiting instead of failing. Histories of earlier releases, whose copies failed for
   * good, replay as they ran.
   */
  const requeueUnrestored = () => patched('requeue-unrestored-copies');
  /** Copies a batch of large restored objects with the worker's multipart copy, a few at a time. */
  const copyLargeBatch = async () => {
    const rac = st.restoreAndCopy!;
    const op = racOperation();
    const res = await trackingStep({
      wave: {
        maxObjects: LARGE_OBJECTS_PER_BATCH,
        manifestKey: `${location.prefix}/waves/large-${rac.steps + 1}.csv`,
        minObjectSize: sizeBytes(op.largeObjectThreshold),
      },
    });
    absorbStep(res);
    if (!res.wave) return;
    rac.large.batches += 1;
    const batch = { bucket: res.wave.bucket, key: res.wave.key, maxRows: LARGE_OBJECTS_PER_BATCH };
    let objects: Awaited<ReturnType<typeof trackingCalls.listWaveObjects>>['objects'];
    try {
      ({ objects } = await trackingCalls.listWaveObjects(batch));
    } catch (err) {
      // Cancelled after the step queued the batch, before its copies started: the objects are no longer waiting in
      // the tracking set, and no copy names them. Name them here, so that the report says each was not copied.
      if (isCancellation(err) && patched('large-batch-cancelled-before-copies')) {
        await CancellationScope.nonCancellable(async () => {
          const queued = await trackingCalls.listWaveObjects(batch);
          const key = `${location.prefix}/failures/large-${rac.large.batches}-cancelled.csv`;
          const rows = queued.objects.map((o) => ({
            ...o,
            errorCode: 'NotCopied:Cancelled',
            message: 'the campaign was cancelled before its copy started',
          }));
          await writeLargeCopyFailures({ bucket: location.bucket, key, rows });
          rac.large.failureKeys.push(key);
        });
      }
      throw err;
    }
    // The copy job's own parameters, so that both paths copy with the same semantics.
    const operation = {
      ...toJobOperation(copyPartOf(op)).S3PutObjectCopy!,
      TargetResource: `arn:aws:s3:::${op.targetBucket}`,
      // The mapping sets no HttpExpiresDate, the one field whose SDK type (Date) differs from the wire's (string).
    } as CopyLargeObjectInput['operation'];
    type FailureRow = { bucket: string; key: string; versionId?: string; errorCode: string; message: string };
    const failures: FailureRow[] = [];
    const unrestored: FailureRow[] = [];
    /** Copies a cancel stopped (or kept from starting): named in the report, counted as not run. */
    const stopped: FailureRow[] = [];
    const largeCopyCalls = patched('large-copy-waits-for-cancel') ? largeCopyCallsWaited : largeCopyCallsUnwaited;
    for (let i = 0; i < objects.length; i += op.largeObjects.concurrency) {
      const slice = objects.slice(i, i + op.largeObjects.concurrency);
      const results = await Promise.allSettled(
        slice.map((o) =>
          largeCopyCalls.copyLargeObject({
            source: o,
            operation,
            ...(op.largeObjects.partSize ? { partSizeBytes: sizeBytes(op.largeObjects.partSize) } : {}),
            // No tracking step runs during the batch: each copy guards its own source's expiry.
            extendRestore: { marginMs: durationMs(op.expiryMargin), days: op.expirationDays, tier: op.tier },
          }),
        ),
      );
      results.forEach((r, j) => {
        const o = slice[j]!;
        if (r.status === 'fulfilled') {
          rac.large.objects += 1;
          rac.large.copied += 1;
          rac.large.bytes += r.value.bytes;
          if (r.value.restoreExtended) rac.extensions += 1;
          return;
        }
        if (isCancellation(r.reason) && CancellationScope.current().consideredCancelled) {
          stopped.push({
            ...o,
            errorCode: 'NotCopied:Cancelled',
            message: 'the campaign was cancelled during the copy',
          });
          return;
        }
        const cause = r.reason instanceof ActivityFailure ? r.reason.cause : r.reason;
        const type = cause instanceof ApplicationFailure && cause.type ? cause.type : 'Error';
        const message = (cause as Error).message ?? String(cause);
        if (UNRESTORED_COPY_ERROR_CODES.includes(type) && requeueUnrestored()) {
          unrestored.push({ ...o, errorCode: type, message });
          return;
        }
        rac.large.objects += 1;
        rac.large.failed += 1;
        failures.push({ ...o, errorCode: `CopyFailed:${type}`, message });
      });
      publish();
    }
    if (stopped.length > 0 && patched('restore-and-copy-cancel-report')) {
      await CancellationScope.nonCancellable(async () => {
        const key = `${location.prefix}/failures/large-${rac.large.batches}-cancelled.csv`;
        // The copies that found their source not restored will not go back to waiting now: not copied either.
        const notRestored = unrestored.map((r) => ({
          ...r,
          errorCode: 'NotCopied:Cancelled',
          message: `${r.errorCode}: ${r.message}`,
        }));
        await writeLargeCopyFailures({ bucket: location.bucket, key, rows: [...failures, ...notRestored, ...stopped] });
        rac.large.failureKeys.push(key);
      });
      throw new CancelledFailure('the campaign workflow was cancelled during its large-object copies');
    }
    if (unrestored.length > 0) {
      const key = `${location.prefix}/failures/large-${rac.large.batches}-unrestored.csv`;
      await writeLargeCopyFailures({ bucket: location.bucket, key, rows: unrestored });
      (rac.requeuePending ??= []).push({ waveId: res.wave.waveId, bucket: location.bucket, key });
    }
    if (failures.length > 0) {
      const key = `${location.prefix}/failures/large-${rac.large.batches}.csv`;
      await writeLargeCopyFailures({ bucket: location.bucket, key, rows: failures });
      rac.large.failureKeys.push(key);
    }
  };
  /**
   * One pass of the tracking loop: start the restore children, then, when something is due, consume events, advance
   * the tracking set (sweep, expiry guard, wave), start the wave's copy child and copy large objects; end the campaign
   * once nothing waits any more; else sleep until the next sweep, the next wave or a child's end.
   */
  const trackingIteration = async () => {
    const rac = st.restoreAndCopy!;
    const op = racOperation();
    for (const [n, m] of (rac.sorted?.restoreManifests ?? []).entries()) {
      if (rac.restores[n]) continue;
      const run: ChildCampaignRun = {
        workflowId: `${st.campaignId}--restore-${n + 1}`,
        manifest: m,
        startedAt: nowIso(),
      };
      rac.restores.push(run);
      await startChildRun(run, childSpec(restorePartOf(op), m, `restore ${n + 1}`));
    }
    /** A wave that ended with failures and whose copies that found their source not restored are not yet queued. */
    const unscanned = (w: ChildCampaignRun) =>
      w.requeued === undefined && !!w.result?.failedObjects && w.result.failed > 0 && w.waveId !== undefined;
    const scanWavesForRequeue = () => {
      for (const w of rac.waves) {
        if (!unscanned(w) || !requeueUnrestored()) continue;
        w.requeued = 0;
        const at = /^s3:\/\/([^/]+)\/(.+)$/.exec(w.result!.failedObjects!);
        if (at) (rac.requeuePending ??= []).push({ waveId: w.waveId!, bucket: at[1]!, key: at[2]! });
      }
    };
    scanWavesForRequeue();
    const { sweepIntervalMs, firstSweepAfterMs, eventIntervalMs } = trackingSchedule(op);
    rac.nextSweepAt ??= new Date(Date.parse(rac.restoresStartedAt ?? nowIso()) + firstSweepAfterMs).toISOString();
    if (op.tracking.queueUrl) rac.nextEventsAt ??= rac.restoresStartedAt ?? nowIso();
    const c = () => rac.counts ?? rac.sorted!.counts;
    const smallWaiting = () => Math.max(0, c().restored + c()['skipped-restored'] - rac.largeWaiting);
    const waveDueAt = () =>
      smallWaiting() > 0 && rac.waitingSince ? Date.parse(rac.waitingSince) + durationMs(op.waves.maxWait) : Infinity;
    const now = Date.now();
    const sweepDue = now >= Date.parse(rac.nextSweepAt);
    const waveSlot = running(rac.waves).length < op.waves.maxConcurrent;
    const waveDue = waveSlot && smallWaiting() > 0 && (smallWaiting() >= op.waves.minObjects || now >= waveDueAt());
    const requeue = rac.requeuePending?.[0];
    const eventsDue = rac.nextEventsAt !== undefined && now >= Date.parse(rac.nextEventsAt);
    // The guard extends a waiting copy once its expiry is within the margin: a step is due then, unless one ran since
    // (it ran the guard; a copy it could not extend waits for the next sweep, not for a step every second).
    const guardAt = () => {
      const at = rac.nextEarliestExpiry ? Date.parse(rac.nextEarliestExpiry) - durationMs(op.expiryMargin) : Infinity;
      return rac.lastStepAt !== undefined && at <= Date.parse(rac.lastStepAt) ? Infinity : at;
    };
    const guardDue = now >= guardAt();
    // Earlier releases stepped only for a sweep, a wave or a requeue; they replay as they ran.
    if (
      sweepDue ||
      waveDue ||
      requeue ||
      (eventsDue && patched('read-events-between-sweeps')) ||
      (guardDue && patched('expiry-guard-wakes-the-loop'))
    ) {
      if (op.tracking.queueUrl) {
        rac.nextEventsAt = new Date(now + eventIntervalMs).toISOString();
        rac.consumers += 1;
        await trackingCalls.consumeRestoreEvents({
          tracking: location,
          queue: { queueUrl: op.tracking.queueUrl },
          consumerId: `${st.campaignId}-events-${rac.consumers}`,
          stopWhenEmpty: true,
          maxDurationMs: 5 * 60_000,
          waitTimeSeconds: 1,
        });
      }
      const threshold = sizeBytes(op.largeObjectThreshold);
      const res = await trackingStep({
        sweep: sweepDue,
        ...(requeue
          ? {
              requeue: {
                waveId: requeue.waveId,
                failures: { bucket: requeue.bucket, key: requeue.key },
                errorCodes: UNRESTORED_COPY_ERROR_CODES,
              },
            }
          : {}),
        ...(waveDue
          ? {
              wave: {
                maxObjects: spec.maxObjectsPerJob,
                manifestKey: `${location.prefix}/waves/wave-${rac.steps + 1}.csv`,
                maxObjectSize: threshold,
              },
            }
          : {}),
      });
      absorbStep(res);
      rac.lastStepAt = new Date(now).toISOString();
      if (requeue) {
        rac.requeuePending!.shift();
        const n = res.requeued ?? 0;
        rac.requeued = (rac.requeued ?? 0) + n;
        const wave = rac.waves.find((w) => w.waveId === requeue.waveId);
        if (wave) wave.requeued = (wave.requeued ?? 0) + n;
        else rac.large.requeued = (rac.large.requeued ?? 0) + n;
        if (res.requeueUnmatched) {
          log.warn('copy failures that named no object queued in their wave', {
            wave: requeue.waveId,
            unmatched: res.requeueUnmatched,
          });
        }
      }
      rac.largeWaiting = res.tooLargeForWave;
      if (sweepDue) rac.nextSweepAt = new Date(now + sweepIntervalMs).toISOString();
      if (res.wave) {
        const run: ChildCampaignRun = {
          workflowId: `${st.campaignId}--wave-${res.wave.waveId}`,
          manifest: { bucket: res.wave.bucket, key: res.wave.key, etag: res.wave.etag, rows: res.wave.rows },
          startedAt: nowIso(),
          waveId: res.wave.waveId,
        };
        rac.waves.push(run);
        await startChildRun(run, childSpec(copyPartOf(op), res.wave, `wave ${res.wave.waveId}`));
        rac.waitingSince = undefined;
      }
      if (smallWaiting() > 0) rac.waitingSince ??= nowIso();
      else rac.waitingSince = undefined;
      while (rac.largeWaiting > 0) {
        await copyLargeBatch();
        rac.largeWaiting = Math.max(0, rac.largeWaiting - LARGE_OBJECTS_PER_BATCH);
      }
      publish();
    }
    const restoreFailed = rac.restores.reduce(
      (n, r) => n + (r.result ? r.result.failed + (r.result.notRun ?? 0) : 0),
      0,
    );
    const restoresEnded = running(rac.restores).length === 0;
    const waiting = c().restored + c()['skipped-restored'];
    // A wave that ended during this iteration's awaits (its result lands between them) is looked at before the
    // campaign may end: before, its copies that found their source not restored were counted failed and never copied
    // again. Campaigns of earlier releases replay as they ran.
    if (rac.waves.some(unscanned) && patched('requeue-waves-ended-mid-iteration')) scanWavesForRequeue();
    const requeuePending = (rac.requeuePending?.length ?? 0) > 0;
    if (
      restoresEnded &&
      running(rac.waves).length === 0 &&
      waiting === 0 &&
      !requeuePending &&
      c().requested <= restoreFailed
    ) {
      const failedChild = [...rac.restores, ...rac.waves].find((r) => r.error !== undefined);
      const { outcome, reason } = restoreAndCopyOutcome(totals(st), failedChild);
      finish(outcome, reason);
      return;
    }
    // No child runs across a continue-as-new: the next run could not wait for it.
    if (shouldContinueAsNew() && running([...rac.restores, ...rac.waves]).length === 0) await continueNow();
    const after = Date.now();
    const wakeAt = requeuePending
      ? after
      : Math.min(
          Date.parse(rac.nextSweepAt),
          waveSlot ? waveDueAt() : Infinity,
          rac.nextEventsAt !== undefined ? Date.parse(rac.nextEventsAt) : Infinity,
          guardAt(),
        );
    const seen = childrenEnded;
    await condition(() => childrenEnded !== seen, Math.max(1000, wakeAt - after));
  };

  // ---- the state machine -----------------------------------------------------------------------------------------
  publish();
  // The workflow id names the campaign's folder. Campaigns of earlier releases took any id: they replay as they ran.
  const idProblem = continuation ? undefined : campaignIdProblem(info.workflowId, spec.report);
  if (idProblem && patched('campaign-id-checked')) {
    throw ApplicationFailure.nonRetryable(
      `invalid campaign id: the workflow id ${idProblem.startsWith('"') ? '' : `${JSON.stringify(info.workflowId)} `}${idProblem}`,
      FailureType.InvalidInput,
    );
  }
  // The first run claims the campaign's folder before writing anything there: a campaign that reuses an earlier
  // campaign's id fails here (AlreadyExists) instead of overwriting its files. Runs of earlier releases did not.
  if (!continuation && patched('claim-campaign-folder')) {
    try {
      await claimCampaignFolder.executeWithOptions(
        { summary: oneLine(`claim the campaign folder s3://${location.bucket}/${location.prefix}/`) },
        [
          {
            ...location,
            campaignId: st.campaignId,
            runId: info.firstExecutionRunId,
            name: spec.name,
            startedAt: st.startedAt,
          },
        ],
      );
    } catch (err) {
      // The campaign's own failure, not "an activity failed": the reused id is what the person must change.
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === FailureType.AlreadyExists) {
        throw ApplicationFailure.nonRetryable(cause.message, FailureType.AlreadyExists);
      }
      throw err;
    }
  }
  try {
    while (st.phase !== 'Done') {
      switch (st.phase) {
        case 'BuildingManifest': {
          // generator "s3": S3 lists the bucket for the one job the campaign creates; its manifest is known (and the
          // approval's count and estimate with it) once the job has left Preparing.
          const src = spec.source;
          if (src.type === 'bucket' && src.generator === 's3' && patched('s3-manifest-generator')) {
            const outputPrefix = `${location.prefix}/generated-manifest`;
            const generator = { sourceBucket: src.bucket, filter: generatorFilter(src, spec.filter), outputPrefix };
            st.jobs.push({
              ordinal: st.jobs.length,
              round: 0,
              shard: 0,
              manifest: { bucket: location.bucket, key: `${outputPrefix}/`, etag: '', rows: 0, generator },
            });
            setPhase('CreatingJobs');
            break;
          }
          if (spec.incremental && !st.incremental) {
            const stateKey = incrementalStateKey(spec);
            const at = watermarkLocation(stateKey);
            const previous = await readWatermark.executeWithOptions(
              { summary: oneLine(`read watermark s3://${at.bucket}/${at.key}`) },
              [at],
            );
            const since = previous ? new Date(previous.inventoryCreatedAt).toISOString() : spec.incremental.since;
            st.incremental = { stateKey, previous, modifiedAfter: since };
          }
          const res = await buildCampaignManifests.executeWithOptions({ summary: buildManifestsSummary(spec) }, [
            manifestBuildInput(spec, st.campaignId, st.incremental?.modifiedAfter),
          ]);
          // A cancel can reach the build too late to stop it (it was publishing its manifests, which it finishes):
          // the campaign then ends here, as when the cancel interrupts the build, instead of creating jobs only to
          // cancel them. Earlier releases went on; their histories replay as they ran.
          if (CancellationScope.current().consideredCancelled && patched('no-jobs-after-cancelled-build')) {
            throw new CancelledFailure('the campaign workflow was cancelled while it built its manifests');
          }
          st.stats = res.stats;
          st.estimate = res.estimate;
          const prev = st.incremental?.previous;
          if (
            prev &&
            res.stats.inventoryCreatedAt !== undefined &&
            res.stats.inventoryCreatedAt <= prev.inventoryCreatedAt
          ) {
            finish(
              'NothingToDo',
              `the newest inventory (${new Date(res.stats.inventoryCreatedAt).toISOString()}) was already processed by ${prev.campaignId}`,
            );
            break;
          }
          if (res.manifests.length > MAX_JOBS_PER_ROUND) {
            throw ApplicationFailure.nonRetryable(
              `the manifest needs ${res.manifests.length} jobs at maxObjectsPerJob=${spec.maxObjectsPerJob}; at most ${MAX_JOBS_PER_ROUND} per round: raise maxObjectsPerJob`,
              FailureType.InvalidInput,
            );
          }
          if (res.stats.rowsSelected === 0 || res.manifests.length === 0) {
            finish('NothingToDo', 'no object matched the source and filter');
            break;
          }
          if (spec.operation.type === 'restore-and-copy') {
            st.restoreAndCopy = newRestoreAndCopyState(res.manifests);
            setPhase('Sorting');
            break;
          }
          res.manifests.forEach((manifest, shard) =>
            st.jobs.push({ ordinal: st.jobs.length, round: 0, shard, manifest }),
          );
          setPhase('CreatingJobs');
          break;
        }
        case 'CreatingJobs': {
          for (const job of roundJobs(st)) {
            if (job.jobId) continue;
            // Not cancellable mid-call: a job created while we stop listening would be an orphan nobody cancels.
            const { jobId } = await CancellationScope.nonCancellable(() =>
              createBatchJob.executeWithOptions(
                {
                  summary: job.manifest.generator
                    ? `create job round ${job.round} (S3 lists s3://${job.manifest.generator.sourceBucket})`
                    : `create job round ${job.round} shard ${job.shard} (${job.manifest.rows} objects)`,
                },
                [
                  {
                    accountId: spec.accountId,
                    roleArn: spec.roleArn,
                    priority: spec.priority,
                    operation: spec.operation,
                    manifest: job.manifest,
                    report: { bucket: location.bucket, prefix: `${location.prefix}/reports` },
                    clientRequestToken: jobToken(job.ordinal),
                    description: `${spec.name} — round ${job.round} shard ${job.shard}`.slice(0, 256),
                    tags: {
                      's3-campaigns:campaign': st.campaignId.slice(0, 256),
                      's3-campaigns:round': String(job.round),
                    },
                  },
                ],
              ),
            );
            job.jobId = jobId;
            job.createdAt = nowIso();
            job.status = 'New';
            publish();
          }
          setPhase('PreparingJobs');
          break;
        }
        case 'PreparingJobs': {
          const jobs = roundJobs(st);
          await pollUntil(jobs, () => jobs.every((j) => j.status === 'Suspended' || isTerminal(j.status)));
          const failed = jobs.filter((j) => isTerminal(j.status));
          if (failed.length > 0) {
            // A job that ends before approval failed as a whole (manifest, permissions, report bucket …).
            await cancelJobs(jobs, 'another job of this campaign failed before approval');
            const why = failed
              .map(
                (j) =>
                  `job ${j.jobId} ${j.status}: ${(j.failureReasons ?? []).map((f) => `${f.code}: ${f.reason}`).join('; ') || 'no reason given'}`,
              )
              .join(' | ');
            finish('Failed', why);
            break;
          }
          const generated = jobs.find((j) => j.manifest.generator && !j.manifest.format);
          if (generated) {
            const res = await summarizeGeneratedManifest.executeWithOptions(
              { summary: oneLine(`read the manifest S3 generated for job ${shortJobId(generated.jobId)}`) },
              [{ accountId: spec.accountId, jobId: generated.jobId!, operation: spec.operation }],
            );
            st.stats = res.stats;
            st.estimate = res.estimate;
            generated.manifest = { ...generated.manifest, ...res.manifest, rows: res.stats.rowsSelected };
            if (res.totalTasks === 0) {
              await cancelJobs(jobs, 'no object matched the source and filter');
              finish('NothingToDo', 'no object matched the source and filter');
              break;
            }
          }
          setPhase('AwaitingApproval');
          break;
        }
        case 'AwaitingApproval': {
          const jobs = roundJobs(st);
          const needsApproval = spec.approval.required && (st.round === 0 || spec.approval.retryJobsRequireApproval);
          if (!needsApproval && !st.pendingDecision) {
            st.pendingDecision = {
              decision: 'auto-approved',
              by: 'policy',
              at: nowIso(),
              via: 'policy',
              note: 'approval.required is false for this job',
            };
          }
          if (!st.pendingDecision) {
            st.approvalDeadline ??= new Date(Date.now() + durationMs(spec.approval.timeout)).toISOString();
            publish();
            const remaining = Math.max(0, Date.parse(st.approvalDeadline) - Date.now());
            const decided = await condition(() => st.pendingDecision !== undefined, remaining, {
              summary: `wait for approval until ${st.approvalDeadline}`,
            });
            if (!decided && !st.pendingDecision) {
              st.pendingDecision = {
                decision: 'expired',
                by: 'policy',
                at: nowIso(),
                via: 'policy',
                note: `no decision within ${spec.approval.timeout}`,
              };
            }
          }
          const d: Decision = st.pendingDecision!;
          for (const j of jobs) j.approval = d;
          if (d.decision === 'approved' || d.decision === 'auto-approved') {
            for (const j of jobs) {
              const res = await updateBatchJobStatus.executeWithOptions(
                { summary: oneLine(`start job ${shortJobId(j.jobId)} (${d.decision} by ${d.by})`) },
                [
                  {
                    accountId: spec.accountId,
                    jobId: j.jobId!,
                    status: 'Ready',
                    reason: `approved by ${d.by}${d.note ? `: ${d.note}` : ''}`.slice(0, 256),
                  },
                ],
              );
              await takeStatus(j, res);
            }
            decisionApplied = { decision: d.decision, jobIds: jobs.map((j) => j.jobId!) };
            st.pendingDecision = undefined;
            st.approvalDeadline = undefined;
            if (st.restoreAndCopy) {
              st.restoreAndCopy.restoresStartedAt = nowIso();
              setPhase('Tracking');
              break;
            }
            setPhase('Running');
          } else {
            const reason =
              d.decision === 'rejected'
                ? `rejected by ${d.by}${d.note ? `: ${d.note}` : ''}`
                : `approval expired after ${spec.approval.timeout}`;
            await cancelJobs(jobs, reason.slice(0, 256));
            decisionApplied = { decision: d.decision, jobIds: jobs.map((j) => j.jobId!) };
            st.pendingDecision = undefined;
            st.approvalDeadline = undefined;
            finish(d.decision === 'rejected' ? 'Rejected' : 'ApprovalExpired', reason);
          }
          break;
        }
        case 'Running': {
          const jobs = roundJobs(st);
          await pollUntil(
            jobs,
            () => jobs.every((j) => isTerminal(j.status)),
            async () => {
              const tol = spec.failureTolerance;
              // Kept in the state, not a local: a continue-as-new right after the cancel must not forget why.
              if (!tol || st.toleranceBreach) return false;
              for (const j of jobs) {
                const ran = (j.succeededTasks ?? 0) + (j.failedTasks ?? 0);
                if (isTerminal(j.status) || ran < tol.minTasks) continue;
                const pct = ((j.failedTasks ?? 0) / ran) * 100;
                if (pct > tol.maxFailedPercent) {
                  st.toleranceBreach = `job ${j.jobId}: ${pct.toFixed(1)}% of ${ran} finished tasks failed, above failureTolerance.maxFailedPercent=${tol.maxFailedPercent}`;
                  await cancelJobs(jobs, `failure tolerance exceeded: ${pct.toFixed(1)}% failed`);
                  break;
                }
              }
              return false;
            },
          );
          setPhase('AnalyzingResults');
          break;
        }
        case 'AnalyzingResults': {
          const jobs = roundJobs(st);
          const analysis = await analyze(analyzeRound);
          const jobLevel = jobs.filter(
            (j) => j.status === 'Failed' && (j.succeededTasks ?? 0) + (j.failedTasks ?? 0) === 0,
          );
          if (st.toleranceBreach) {
            finish('Failed', `cancelled early: ${st.toleranceBreach}`);
          } else if (jobLevel.length > 0) {
            finish(
              'Failed',
              jobLevel
                .map((j) => `job ${j.jobId} failed: ${(j.failureReasons ?? []).map((f) => f.reason).join('; ')}`)
                .join(' | '),
            );
          } else if (analysis.retryManifests.length > 0 && st.round < spec.retry.maxRetryJobs) {
            st.round += 1;
            analysis.retryManifests.forEach((manifest, shard) =>
              st.jobs.push({ ordinal: st.jobs.length, round: st.round, shard, manifest }),
            );
            st.retryAt = new Date(Date.now() + durationMs(spec.retry.delay)).toISOString();
            setPhase('WaitingToRetry');
          } else {
            const t = totals(st);
            const clean = t.failed === 0 && t.notRun === 0;
            const outcome: CampaignOutcome = clean ? 'Succeeded' : t.succeeded > 0 ? 'CompletedWithFailures' : 'Failed';
            const parts = [
              t.failed ? `${t.failed} object(s) failed` : '',
              t.unknown
                ? `${t.unknown} of them with an unknown outcome (a job ended without its completion report)`
                : '',
              t.notRun ? `${t.notRun} object(s) were never run` : '',
            ].filter(Boolean);
            const reason = clean
              ? undefined
              : parts.join(', ') +
                (analysis.retryManifests.length > 0 ? ` after ${spec.retry.maxRetryJobs} retry round(s)` : '');
            finish(outcome, reason);
          }
          break;
        }
        case 'WaitingToRetry': {
          const wait = Math.max(0, Date.parse(st.retryAt ?? nowIso()) - Date.now());
          // Whole seconds: a wait of 59,987 ms reads "1m".
          const inText = formatDuration(Math.ceil(wait / 1000) * 1000);
          if (wait > 0) await sleep(wait, { summary: `retry round ${st.round} in ${inText}` });
          st.retryAt = undefined;
          setPhase('CreatingJobs');
          break;
        }
        case 'Sorting': {
          const rac = st.restoreAndCopy!;
          const op = racOperation();
          const res = await trackingCalls.createRestoreTracking({
            tracking: location,
            manifests: rac.sourceManifests.map((m) => ({ bucket: m.bucket, key: m.key })),
            tier: op.tier,
            precheck: {
              minLifetimeMs: durationMs(op.expiryMargin),
              restoreManifestPrefix: `${location.prefix}/restore-manifests/restore`,
              maxObjectsPerManifest: spec.maxObjectsPerJob,
              headConcurrency: op.tracking.headConcurrency,
              headRatePerSecond: op.tracking.headRatePerSecond,
            },
          });
          rac.sorted = {
            objects: res.objects,
            counts: res.counts,
            restoreManifests: res.restoreManifests ?? [],
            headRequests: res.headRequests,
          };
          rac.counts = res.counts;
          rac.headRequests += res.headRequests;
          if (res.counts['skipped-restored'] > 0) rac.waitingSince = nowIso();
          setPhase('AwaitingApproval');
          break;
        }
        case 'Tracking': {
          await trackingIteration();
          break;
        }
        case 'Reporting': {
          if (st.restoreAndCopy) {
            // Rejected or expired at the approval: nothing was copied, and failed.csv names each object and why.
            const endedEarly = st.outcome === 'Rejected' || st.outcome === 'ApprovalExpired';
            const res = await writeRestoreAndCopyReport({
              spec,
              state: st,
              output: location,
              ...(endedEarly ? { endedEarly } : {}),
            });
            st.reportKey = res.reportKey;
            st.failedObjectsKey = res.failedObjectsKey;
            if (res.restoreFailuresAlsoTracked) {
              st.restoreAndCopy.restoreFailuresAlsoTracked = res.restoreFailuresAlsoTracked;
            }
            // Restore failures of objects that went on anyway no longer count failed: the outcome may change with them.
            if (res.restoreFailuresWentOn) st.restoreAndCopy.restoreFailuresWentOn = res.restoreFailuresWentOn;
            if (res.outcome) {
              st.outcome = res.outcome;
              st.outcomeReason = res.outcomeReason;
            }
            // Incremental restore-and-copy on a Schedule: the next run takes only what changed since this one's
            // inventory. Campaigns of earlier releases never saved a watermark here.
            if (st.incremental && patched('restore-and-copy-watermark')) await advanceWatermark();
            setPhase('Done');
            break;
          }
          await analyzeUnfinishedRound();
          const res = await writeCampaignReport.executeWithOptions({ summary: reportSummary() }, [
            { spec, state: st, output: location },
          ]);
          st.reportKey = res.reportKey;
          st.failedObjectsKey = res.failedObjectsKey;
          await advanceWatermark();
          setPhase('Done');
          break;
        }
      }
    }
  } catch (err) {
    // Continue-as-new ends this run by throwing: the campaign goes on in the next run, untouched.
    if (err instanceof ContinueAsNew) throw err;
    if (isCancellation(err) || CancellationScope.current().consideredCancelled) {
      await cleanUpAndReport('Cancelled', 'the campaign workflow was cancelled');
    } else if (!(err instanceof TemporalFailure)) {
      // A bug in workflow code, not a campaign failure: the workflow task retries, and a fixed worker carries on
      // from here. Cancelling the jobs first would turn a deploy-and-continue into a lost campaign.
      throw err;
    } else {
      // A permanent failure: the campaign fails, but its jobs are not left running and its report is written.
      await cleanUpAndReport('Failed', failureReason(err));
    }
    throw err;
  }

  const t = totals(st);
  return {
    campaignId: st.campaignId,
    outcome: st.outcome ?? 'Failed',
    reason: st.outcomeReason,
    objects: t.objects,
    succeeded: t.succeeded,
    failed: t.failed,
    notRun: t.notRun,
    jobs: t.jobs,
    report: st.reportKey ? `s3://${location.bucket}/${st.reportKey}` : undefined,
    failedObjects: st.failedObjectsKey ? `s3://${location.bucket}/${st.failedObjectsKey}` : undefined,
    watermark: st.incremental?.saved,
  };
}
