/**
 * The campaign workflow's contract: its input, state, result and messages (updates, signals, queries), defined once
 * and shared by the workflow, the CLI and the tests. Workflow code imports this file: no Node or AWS imports here.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

import type { CostEstimate } from '../cost/estimate';
import type { GeneratorFilter } from './bucket-source';
import type { CampaignSpecInput } from './campaign-spec';
import type { RestoreDurationSummary, TrackingCounts } from './restore-tracking-types';

/** The workflow type name, as typed into the Temporal UI's "Start workflow" form. */
export const CAMPAIGN_WORKFLOW_TYPE = 'campaignWorkflow';

/** Where a campaign is. `Done` is the only terminal phase. */
export type CampaignPhase =
  | 'BuildingManifest'
  | 'CreatingJobs'
  | 'PreparingJobs'
  | 'AwaitingApproval'
  /** restore-and-copy: the objects are sorted into restore / ready / missing (one HEAD each). */
  | 'Sorting'
  /** restore-and-copy: restore children, tracking steps, copy waves and large-object copies. */
  | 'Tracking'
  | 'Running'
  | 'AnalyzingResults'
  | 'WaitingToRetry'
  | 'Reporting'
  | 'Done';

/** How a campaign ended. */
export type CampaignOutcome =
  'Succeeded' | 'CompletedWithFailures' | 'Failed' | 'Rejected' | 'ApprovalExpired' | 'Cancelled' | 'NothingToDo';

/** A manifest written to S3: where, its ETag and how many objects it lists. */
export interface ManifestRef {
  bucket: string;
  key: string;
  /** Unquoted. */
  etag: string;
  rows: number;
  /** Whether rows carry a third VersionId column (all rows or none). */
  versioned?: boolean;
  /**
   * A manifest S3 generates for the job (bucket source, `generator: "s3"`): the job is created with a
   * ManifestGenerator. Until the job has left Preparing, `key` is the output prefix, `etag` empty and `rows` 0; then
   * they name the generated `manifest.json` and its row count, and `format` is set.
   */
  generator?: GeneratedManifestRequest;
  /** `S3InventoryReport_CSV_20211130` for a generated manifest (a manifest.json); absent for a CSV manifest. */
  format?: 'S3InventoryReport_CSV_20211130';
}

/** What a job's ManifestGenerator is asked for (see `ManifestRef.generator`). */
export interface GeneratedManifestRequest {
  sourceBucket: string;
  filter?: GeneratorFilter;
  /** Under the campaign's folder, in the report bucket (`ManifestRef.bucket`). */
  outputPrefix: string;
}

/** Statistics of the objects a campaign selected; they feed the approval decision. */
export interface ManifestStats {
  /** Inventory rows read (0 for csv/keys sources). */
  rowsScanned: number;
  /** Objects selected: the tasks of the first round. */
  rowsSelected: number;
  /** Bytes by storage class (inventory sources with Size and StorageClass). */
  bytesByStorageClass: Record<string, number>;
  /** Objects by storage class (inventory sources with StorageClass). */
  rowsByStorageClass?: Record<string, number>;
  /** A few selected keys, for the approver to eyeball. */
  sampleKeys: string[];
  /** Inventory sources: when the report's scan started (epoch ms). */
  inventoryCreatedAt?: number;
  /** `bucket` sources listed by the worker: the list requests the listing sent (billed like PUTs). */
  listRequests?: number;
}

/** Where an incremental campaign's previous successful run left off. */
export interface Watermark {
  /** The inventory scan time (epoch ms) of the last successful run: later runs take objects modified since. */
  inventoryCreatedAt: number;
  /** The campaign that wrote it. */
  campaignId: string;
  writtenAt: string;
}

/** Who decided about an approval, when, and why. */
export interface Decision {
  decision: 'approved' | 'rejected' | 'expired' | 'auto-approved';
  by: string;
  at: string;
  note?: string;
  /** `update` or `signal` for people; `policy` for automatic approvals and expiry. */
  via: 'update' | 'signal' | 'policy';
}

/** Error codes and their counts, e.g. `{ "NoSuchKey": 3, "SlowDown": 120 }`. */
export type ErrorCounts = Record<string, number>;

export interface CampaignJob {
  /** 0-based, in creation order across the campaign; part of the job's idempotency token. */
  ordinal: number;
  /** 0 for the first round, 1.. for retry rounds. */
  round: number;
  /** Shard index within the round. */
  shard: number;
  manifest: ManifestRef;
  jobId?: string;
  status?: string;
  totalTasks?: number;
  succeededTasks?: number;
  failedTasks?: number;
  elapsedActiveSeconds?: number;
  failureReasons?: Array<{ code: string; reason: string }>;
  statusUpdateReason?: string;
  createdAt?: string;
  endedAt?: string;
  /** Completion report `manifest.json` key, once the job ended and had one. */
  reportKey?: string;
  approval?: Decision;
  /** Set when this campaign cancelled the job, with why. */
  cancelledBecause?: string;
}

/** What the completion reports of one round said, classified. */
export interface RoundAnalysis {
  round: number;
  succeeded: number;
  /** Failed with a retryable error code. */
  retryable: number;
  /** Failed with a permanent error code, or with an unknown outcome: never retried. */
  permanent: number;
  /**
   * Of `permanent`: objects of a job that ended without a completion report, so nobody can say whether the operation
   * ran on them (code `OutcomeUnknown` in failed.csv). Absent in analyses recorded before it existed.
   */
  unknown?: number;
  /** In the manifest but in no report: the job ended before running them. */
  neverRan: number;
  errorsByCode: ErrorCounts;
  /** Objects worth another job (retryable + never ran), sharded. */
  retryManifests: ManifestRef[];
  /** CSV of the objects that failed permanently in this round, with their error. */
  permanentFailuresKey?: string;
  /** CSV of the retryable failures of this round (become final failures if no retry follows). */
  retryableFailuresKey?: string;
}

/** The whole state of a campaign; carried across continue-as-new. JSON only. */
export interface CampaignState {
  campaignId: string;
  phase: CampaignPhase;
  outcome?: CampaignOutcome;
  /** Why the campaign ended as it did, in a sentence. */
  outcomeReason?: string;
  startedAt: string;
  updatedAt: string;
  stats?: ManifestStats;
  jobs: CampaignJob[];
  rounds: RoundAnalysis[];
  /** The round in progress (0 = first). */
  round: number;
  /** The approval the current round is waiting for. */
  approvalDeadline?: string;
  /** Decisions received but not yet acted on. */
  pendingDecision?: Decision;
  /** When the retry wait ends. */
  retryAt?: string;
  /** Signals that arrived when they could not apply, newest last (at most 10 kept). */
  ignoredSignals: Array<{ name: string; at: string; reason: string }>;
  /** What the first round is estimated to cost (list prices), shown at the approval step. */
  estimate?: CostEstimate;
  /** Incremental campaigns: the watermark found at start and the modifiedAfter bound it gave. */
  incremental?: { stateKey: string; previous?: Watermark; modifiedAfter?: string; saved?: Watermark };
  /** Set when failureTolerance cancelled a job: why. */
  toleranceBreach?: string;
  /** How many runs (continue-as-new) this campaign has used. */
  runs: number;
  /** Where the campaign's final report is, once written. */
  reportKey?: string;
  failedObjectsKey?: string;
  /** restore-and-copy campaigns only. */
  restoreAndCopy?: RestoreAndCopyState;
}

/** A child campaign of a restore-and-copy campaign: a restore job's campaign or a copy wave's. */
export interface ChildCampaignRun {
  /** `<campaignId>--restore-<n>` or `<campaignId>--wave-<n>`. */
  workflowId: string;
  manifest: ManifestRef;
  startedAt: string;
  /** Copy waves: the tracking set's wave id. */
  waveId?: number;
  /** Set when the child ended. */
  result?: CampaignResult;
  /** Set when the child ended without a result (failed, terminated): why. */
  error?: string;
  /**
   * Copy waves: of the wave's failed objects, those that failed because their source read as not restored and went
   * back to waiting (a later wave copies them); not failures of the campaign. 0 while that is pending.
   */
  requeued?: number;
}

/** What a restore-and-copy campaign carries besides the common state: counts, keys, child ids; nothing per object. */
export interface RestoreAndCopyState {
  /** The first-round manifests of every selected object (BuildingManifest). */
  sourceManifests: ManifestRef[];
  /** The sort: how many objects need a restore, are ready, are missing. */
  sorted?: { objects: number; counts: TrackingCounts; restoreManifests: ManifestRef[]; headRequests: number };
  /** When the restores were asked for (approval): the first sweep is `firstSweepAfter` later. */
  restoresStartedAt?: string;
  restores: ChildCampaignRun[];
  waves: ChildCampaignRun[];
  /**
   * The worker's multipart copies of objects above largeObjectThreshold. `requeued`: copies that found their source
   * not restored and went back to waiting (not in `objects` or `failed`).
   */
  large: {
    batches: number;
    objects: number;
    copied: number;
    failed: number;
    bytes: number;
    failureKeys: string[];
    requeued?: number;
  };
  /**
   * Copy failures waiting to go back to the tracking set (`advanceRestoreTracking`'s `requeue`), oldest first: the
   * wave and the failed.csv-shaped file listing them.
   */
  requeuePending?: Array<{ waveId: number; bucket: string; key: string }>;
  /** Objects sent back to waiting after a copy found them not restored, so far. */
  requeued?: number;
  /**
   * Objects whose restore failed (a restore child counts them failed) that the tracking set then found missing or
   * expired (and counts failed too): failed once, named once in failed.csv by the restore failure. Known from the
   * report; absent before it (and in campaigns of earlier releases).
   */
  restoreFailuresAlsoTracked?: number;
  /**
   * Restore failures (a restore child counts them failed) of objects that went on anyway: the tracking set found them
   * readable (overwritten as STANDARD after the sort, or restored all the same), and a wave copied them or its copy
   * failed (counted by the wave), or they expired before their copy (counted by the tracking set), or an early end
   * found them waiting for a wave. Not failed by their restore, nor named by it in failed.csv. Known from the report;
   * absent before it (and in campaigns of earlier releases).
   */
  restoreFailuresWentOn?: number;
  /** Tracking steps and event consumers so far (their ids' ordinals). */
  steps: number;
  consumers: number;
  /** The tracking set's counts after the last step. */
  counts?: TrackingCounts;
  durations?: RestoreDurationSummary[];
  /** Since when restored objects wait for a wave (the oldest of them, as far as the steps tell). */
  waitingSince?: string;
  nextSweepAt?: string;
  /** With a queue: when restore events are next read (between sweeps). */
  nextEventsAt?: string;
  /** When the last tracking step ran (each runs the expiry guard): the guard's wake-up is due only after it. */
  lastStepAt?: string;
  nextEarliestExpiry?: string;
  /**
   * Waiting copies (restored, or queued in a running wave) whose restored copy expires within twice `expiryMargin`,
   * after the last step's guard (`AdvanceRestoreTrackingResult.expiringSoon`). Absent before the first step.
   */
  expiringSoon?: number;
  /** Restored objects left out of waves because they are large, after the last step. */
  largeWaiting: number;
  extensions: number;
  headRequests: number;
  eventsApplied: number;
}

/** A restore-and-copy campaign's state when its sort begins: its source manifests, nothing counted yet. */
export function newRestoreAndCopyState(sourceManifests: ManifestRef[]): RestoreAndCopyState {
  return {
    sourceManifests,
    restores: [],
    waves: [],
    large: { batches: 0, objects: 0, copied: 0, failed: 0, bytes: 0, failureKeys: [] },
    steps: 0,
    consumers: 0,
    largeWaiting: 0,
    extensions: 0,
    headRequests: 0,
    eventsApplied: 0,
  };
}

/** A campaign's counts: every selected object is exactly one of succeeded, failed or not run. */
export interface CampaignTotals {
  /** Objects selected by the first round. */
  objects: number;
  succeeded: number;
  /** Failed for good: a permanent error, an unknown outcome, or a retryable error no later round took. */
  failed: number;
  /** Of `failed`: objects of a job that ended without a completion report (`OutcomeUnknown`). */
  unknown: number;
  /** Never attempted by the last round: the campaign was rejected, expired or cancelled, or its job stopped early. */
  notRun: number;
  /** Jobs created. */
  jobs: number;
}

/** The totals of a campaign's state, from its round analyses: one definition for the workflow and the report. */
export function campaignTotals(
  st: Pick<CampaignState, 'stats' | 'rounds' | 'round' | 'jobs' | 'restoreAndCopy' | 'phase'>,
): CampaignTotals {
  if (st.restoreAndCopy) return restoreAndCopyTotals(st.stats?.rowsSelected ?? 0, st.restoreAndCopy, st.phase);
  const sum = (f: (r: RoundAnalysis) => number) => st.rounds.reduce((n, r) => n + f(r), 0);
  const last = st.rounds[st.rounds.length - 1];
  // The last round's objects are final unless a later round took them: its retryable failures failed, and what it
  // never ran was not run.
  const current = last && last.round === st.round ? last : undefined;
  return {
    objects: st.stats?.rowsSelected ?? 0,
    succeeded: sum((r) => r.succeeded),
    failed: sum((r) => r.permanent) + (current?.retryable ?? 0),
    unknown: sum((r) => r.unknown ?? 0),
    notRun: current?.neverRan ?? 0,
    jobs: st.jobs.filter((j) => j.jobId).length,
  };
}

/**
 * A restore-and-copy campaign's totals: succeeded = copied (waves and large copies); failed = the restore children's
 * failures, the waves' and large copies' failures, and the objects tracking found missing or saw expire; once the
 * campaign is done, what is neither was not run (rejected, cancelled).
 */
function restoreAndCopyTotals(objects: number, r: RestoreAndCopyState, phase: CampaignPhase): CampaignTotals {
  const sum = (runs: ChildCampaignRun[], f: (x: CampaignResult) => number) =>
    runs.reduce((n, c) => n + (c.result ? f(c.result) : 0), 0);
  const succeeded = sum(r.waves, (x) => x.succeeded) + r.large.copied;
  // A child's objects it never ran failed the campaign, unless the child was cancelled: then they were not run.
  const notRunFailed = (x: CampaignResult) => (x.outcome === 'Cancelled' ? 0 : (x.notRun ?? 0));
  const failed =
    sum(r.restores, (x) => x.failed + notRunFailed(x)) +
    sum(r.waves, (x) => x.failed + notRunFailed(x)) -
    r.waves.reduce((n, w) => n + (w.requeued ?? 0), 0) +
    r.large.failed +
    (r.counts?.failed ?? r.sorted?.counts.failed ?? 0) +
    (r.counts?.expired ?? 0) -
    (r.restoreFailuresAlsoTracked ?? 0) -
    (r.restoreFailuresWentOn ?? 0);
  return {
    objects,
    succeeded,
    failed,
    unknown: 0,
    notRun: phase === 'Done' || phase === 'Reporting' ? Math.max(0, objects - succeeded - failed) : 0,
    jobs: sum([...r.restores, ...r.waves], (x) => x.jobs),
  };
}

/**
 * How a restore-and-copy campaign that ran to its end came out, from its totals and its first child that failed. The
 * workflow decides it when the work ends; the report decides it again when it finds restore failures of objects that
 * went on anyway (`restoreFailuresWentOn`: counted failed until then).
 */
export function restoreAndCopyOutcome(
  t: Pick<CampaignTotals, 'succeeded' | 'failed'>,
  failedChild?: Pick<ChildCampaignRun, 'workflowId' | 'error'>,
): { outcome: CampaignOutcome; reason?: string } {
  const clean = t.failed === 0 && !failedChild;
  const outcome: CampaignOutcome = clean ? 'Succeeded' : t.succeeded > 0 ? 'CompletedWithFailures' : 'Failed';
  if (clean) return { outcome };
  const reason = [
    t.failed ? `${t.failed} object(s) did not make it (see failed.csv)` : '',
    failedChild ? `child campaign ${failedChild.workflowId} failed: ${failedChild.error}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return { outcome, reason };
}

/**
 * Where a restore-and-copy campaign stands, for `status`, `status --watch`, the Web UI's details and the search
 * attributes: one definition for all of them.
 */
export interface RestoreAndCopyProgress {
  /** Objects selected. */
  objects: number;
  /** Objects the sort found archived (a restore is needed). */
  needRestore: number;
  /** Of those, restores S3 accepted so far (the restore jobs that ended; RestoreAlreadyInProgress included). */
  requested: number;
  /** Objects known readable so far: restored, or readable without a restore (already restored, not archived). */
  restored: number;
  /** Restored objects waiting for a wave or a large-object copy. */
  waiting: number;
  /** Objects in the waves that are running. */
  copying: number;
  /** Copied and verified (a wave's copy task succeeded, or the worker's multipart copy verified its target). */
  copied: number;
  /** Objects that did not make it so far (restore or copy failed, missing, expired before copy). */
  failed: number;
  /** Copy waves started so far, and the newest still running (its wave id and objects). */
  waves: number;
  currentWave?: { waveId: number; objects: number; workflowId: string };
  /** When the next HEAD sweep is due (ISO), while tracking. */
  nextSweepAt?: string;
  /** @see RestoreAndCopyState.expiringSoon */
  expiringSoon: number;
  /** The earliest expiry of a waiting copy (ISO), if known. */
  nextEarliestExpiry?: string;
}

/** A restore-and-copy campaign's progress, from its state alone (pure: the workflow calls it too). */
export function restoreAndCopyProgress(
  st: Pick<CampaignState, 'stats' | 'rounds' | 'round' | 'jobs' | 'restoreAndCopy' | 'phase'>,
): RestoreAndCopyProgress | undefined {
  const r = st.restoreAndCopy;
  if (!r) return undefined;
  const t = campaignTotals(st);
  const c = r.counts ?? r.sorted?.counts;
  const running = r.waves.filter((w) => !w.result && w.error === undefined);
  const newest = running[running.length - 1];
  const tracking = st.phase === 'Tracking';
  return {
    objects: t.objects,
    needRestore: r.sorted?.counts.requested ?? 0,
    requested: r.restores.reduce((n, x) => n + (x.result?.succeeded ?? 0), 0),
    restored: c ? c.restored + c['skipped-restored'] + c.queued : 0,
    waiting: c ? c.restored + c['skipped-restored'] : 0,
    copying: running.reduce((n, w) => n + w.manifest.rows, 0),
    copied: t.succeeded,
    failed: t.failed,
    waves: r.waves.length,
    ...(newest?.waveId !== undefined
      ? { currentWave: { waveId: newest.waveId, objects: newest.manifest.rows, workflowId: newest.workflowId } }
      : {}),
    ...(tracking && r.nextSweepAt ? { nextSweepAt: r.nextSweepAt } : {}),
    // Once tracking is over nothing waits for a copy: the last step's count, taken while waves ran, is history.
    expiringSoon: tracking ? (r.expiringSoon ?? 0) : 0,
    ...(r.nextEarliestExpiry ? { nextEarliestExpiry: r.nextEarliestExpiry } : {}),
  };
}

/** The campaign workflow's input: the spec, plus the state carried over when a run continues as new. */
export type CampaignInput = CampaignSpecInput & {
  /** Set by the workflow itself on continue-as-new; never by people. */
  continuation?: CampaignState;
};

/** The workflow's result: a compact summary that points at the full report in S3. */
export interface CampaignResult {
  campaignId: string;
  outcome: CampaignOutcome;
  reason?: string;
  objects: number;
  succeeded: number;
  failed: number;
  /** Objects never attempted (rejected, expired, cancelled, or a job that stopped early). Absent in older results. */
  notRun?: number;
  jobs: number;
  /** `s3://bucket/…/campaign.json` */
  report?: string;
  /** `s3://bucket/…/failed.csv` */
  failedObjects?: string;
  /** Incremental campaigns: the watermark this run saved (the next run takes objects modified since). */
  watermark?: Watermark;
}

/** Live progress, as the `status` query returns it. */
export interface CampaignStatus extends CampaignState {
  name: string;
  operation: string;
  /** `s3://…/campaign.json`, once written. */
  reportUri?: string;
  /** Totals over all jobs. */
  totals: CampaignTotals;
  /** restore-and-copy campaigns: where it stands (requested / restored / copied out of N, waves, sweeps, expiry). */
  restoreAndCopyProgress?: RestoreAndCopyProgress;
  /** While awaiting approval: what the approver is deciding. */
  awaitingApproval?: {
    jobIds: string[];
    manifestEtags: string[];
    objects: number;
    deadline?: string;
    retry: boolean;
  };
}

/** Payload of the `approve` update and signal. */
export interface ApproveInput {
  /** Who decides (a name or e-mail): required, non-empty. The CLI fills it from the user name. */
  by?: string;
  note?: string;
  /** Optional guard: approve only if this job is the one awaiting approval. */
  jobId?: string;
  /** Optional guard: approve only if this manifest ETag is the one awaiting approval. */
  manifestEtag?: string;
}

/** Payload of the `reject` update and signal. */
export type RejectInput = ApproveInput;

/** What the `approve`/`reject` updates return. */
export interface DecisionResult {
  decision: Decision['decision'];
  jobIds: string[];
}

export const approveUpdate = defineUpdate<DecisionResult, [ApproveInput]>('approve');
export const rejectUpdate = defineUpdate<DecisionResult, [RejectInput]>('reject');
/** The same decisions as signals, for the Temporal UI's "Send a signal" form. */
export const approveSignal = defineSignal<[ApproveInput]>('approve');
export const rejectSignal = defineSignal<[RejectInput]>('reject');
export const statusQuery = defineQuery<CampaignStatus>('status');
