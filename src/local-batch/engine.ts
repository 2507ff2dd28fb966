/**
 * The engine behind the S3 Control API: job records, the lifecycle of reference §3, the scheduler, and the task loop.
 *
 * ```
 * New → Preparing → Suspended ──(Ready)──┐
 *            │  └──────────→ Ready ←──────┘ → Active → Completing → Complete
 *            └──→ Failing → Failed   ←──────────┤ (job failure, or ≥1,000 tasks run and >50% failed)
 *  New/Preparing/Suspended/Ready ──(Cancelled)──→ Cancelled;  Active ──(Cancelled)──→ Cancelling → Cancelled
 * ```
 *
 * At most `maxActiveJobs` jobs are Active; Ready jobs start highest priority first, oldest first among equals. Each
 * Active job runs `taskConcurrency` tasks at a time; every attempt is `faults.beforeTask`, then the operation's runner.
 * The per-task path is O(1): an in-memory map update and a buffered outcome line (see store.ts).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';

import type { Logger } from '../logging';
import { ApiError, badRequest, createJobRequestHash, type JobView } from './codec';
import type { FaultContext, FaultInjector } from './faults';
import type { LambdaBridge } from './lambda';
import { generateManifest } from './manifest-generator';
import { readJobManifest } from './manifest-reader';
import { createTaskRunner, prepareOperation, type RunnerDeps } from './operations';
import { ReplicationStatusTable } from './replication';
import { writeCompletionReport } from './report';
import type { RestoreDeferral } from './restores';
import type { OutcomeLog } from './store';
import { JobStore } from './store';
import type {
  CreateJobSpec,
  FailureReason,
  JobRecord,
  JobStatus,
  ProgressSummary,
  S3Tag,
  TaskOutcome,
  TaskRef,
} from './types';
import { JobFailure, JOB_STATUSES, TERMINAL_STATUSES } from './types';

/** The failure rule of the service: it applies once this many tasks have run… */
export const FAILURE_THRESHOLD_MIN_TASKS = 1000;
/** …and fails the job when more than this share of them failed. */
export const FAILURE_THRESHOLD_RATIO = 0.5;
/** A job left Suspended this long fails, as on AWS (reference §3). */
const SUSPENDED_LIMIT_MS = 30 * 24 * 3600 * 1000;
/** How often an Active job's timer and counts are written to job.json (bounds what a crash loses of the timer). */
const CHECKPOINT_INTERVAL_MS = 1000;
/** How often terminal jobs past retention and stale Suspended jobs are swept. */
const SWEEP_INTERVAL_MS = 3600 * 1000;
/** The ListJobs page size when the request gives none (the model's maximum). */
const LIST_JOBS_MAX = 1000;

/** Failure codes this engine puts in `FailureReasons` (the data plane adds its own via {@link JobFailure}). */
export const ENGINE_FAILURE_CODES = {
  threshold: 'TaskFailureThresholdExceeded',
  reportBucket: 'ReportBucketNotAccessible',
  report: 'ReportWriteFailed',
  suspendedTooLong: 'SuspendedTooLong',
  stateLost: 'JobStateLost',
  internal: 'InternalError',
} as const;

/** What the engine needs; `startLocalBatchEngine` fills it from its options and their defaults. */
export interface EngineOptions {
  /** Client for the S3 endpoint that jobs act on. */
  s3: S3Client;
  /** Region in job ARNs. */
  region: string;
  /** Where jobs persist; undefined keeps them in memory only. */
  stateDir?: string;
  /** Tasks in flight per Active job. */
  taskConcurrency: number;
  /** Jobs Active at once. */
  maxActiveJobs: number;
  /** Local handlers for LambdaInvoke jobs; the tasks of a function with no handler fail as AWS's do (not found). */
  lambda: LambdaBridge;
  /** Consulted before every task attempt, in Preparing (delay, injected failure) and for the completion report. */
  faults: FaultInjector;
  /** Terminal jobs are dropped this many days after their TerminationDate. */
  retentionDays: number;
  /** Job status changes at info, failures at warn/error. */
  log: Logger;
  /** Pending restores for S3InitiateRestoreObject tasks; the caller owns (opens and closes) them. */
  restores?: RestoreDeferral;
}

type StopReason = 'cancel' | 'threshold' | 'shutdown';

/** Live state of one job; `record` is what is persisted. */
interface JobState {
  record: JobRecord;
  /** Creation order, for "oldest first" among jobs created in the same millisecond. */
  seq: number;
  tasks?: TaskRef[];
  outcomes: Map<number, TaskOutcome>;
  succeeded: number;
  failed: number;
  /** Set when the task loop must stop dispatching. */
  stop?: StopReason;
  /** Aborts the waits of Preparing (fault-injected delays) on cancel and shutdown. */
  abort?: AbortController;
  /** True while a driver (prepare, run or finish) owns the job. */
  busy: boolean;
}

const JOB_ID = /^[a-zA-Z0-9\-_]{5,36}$/;

function truncate(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function failureFrom(err: unknown): FailureReason {
  if (err instanceof JobFailure) {
    return { FailureCode: truncate(err.failureCode, 64), FailureReason: truncate(err.failureReason, 256) };
  }
  return { FailureCode: ENGINE_FAILURE_CODES.internal, FailureReason: truncate(errorMessage(err), 256) };
}

function bucketFromArn(arn: string): string {
  const rest = arn.slice(arn.indexOf(':::') + 3);
  const slash = rest.indexOf('/');
  return slash < 0 ? rest : rest.slice(0, slash);
}

/** Jobs, their lifecycle and the scheduler; the HTTP layer (server.ts) calls its API methods. */
export class BatchEngine {
  private readonly jobs = new Map<string, JobState>();
  /** `${account}\n${ClientRequestToken}` → JobId */
  private readonly tokens = new Map<string, string>();
  private readonly drivers = new Set<Promise<void>>();
  private readonly store: JobStore;
  private readonly log: Logger;
  private activeCount = 0;
  private seq = 0;
  private closing = false;
  private sweepTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly opts: EngineOptions,
    /** Replication statuses of the objects S3ReplicateObject jobs replicated (S3 keeps them; moto does not). */
    readonly replication: ReplicationStatusTable,
  ) {
    this.log = opts.log;
    this.store = new JobStore(opts.stateDir, opts.log);
  }

  /** Loads the state directory, drops expired jobs, and resumes every job that had not ended. */
  static async open(opts: EngineOptions): Promise<BatchEngine> {
    const engine = new BatchEngine(opts, await ReplicationStatusTable.open(opts.stateDir, opts.log));
    await engine.restore();
    engine.sweepTimer = setInterval(() => void engine.sweep(), SWEEP_INTERVAL_MS);
    engine.sweepTimer.unref();
    return engine;
  }

  // ---------------------------------------------------------------- API

  /**
   * CreateJob. The same ClientRequestToken with the same request returns the first job; with a different request it
   * is an IdempotencyException.
   */
  async createJob(spec: CreateJobSpec): Promise<string> {
    this.assertOpen();
    const op = spec.Operation;
    const requestHash = createJobRequestHash(spec);
    const tokenKey = `${spec.AccountId}\n${spec.ClientRequestToken}`;
    const existingId = this.tokens.get(tokenKey);
    const existing = existingId === undefined ? undefined : this.jobs.get(existingId);
    if (existing) {
      if (existing.record.requestHash === requestHash) return existing.record.JobId;
      throw new ApiError(
        'IdempotencyException',
        `ClientRequestToken ${spec.ClientRequestToken} was already used for job ${existing.record.JobId} with different parameters`,
      );
    }
    const jobId = randomUUID();
    const record: JobRecord = {
      JobId: jobId,
      JobArn: `arn:aws:s3:${this.opts.region}:${spec.AccountId}:job/${jobId}`,
      requestHash,
      spec,
      Status: 'New',
      Priority: spec.Priority,
      Tags: spec.Tags ?? [],
      CreationTime: new Date().toISOString(),
      FailureReasons: [],
      activeMsBefore: 0,
    };
    const job = this.addJob(record);
    this.tokens.set(tokenKey, jobId);
    try {
      await this.store.saveJob(record);
    } catch (err) {
      this.jobs.delete(jobId);
      this.tokens.delete(tokenKey);
      throw err;
    }
    this.log.info('job created', { jobId, operation: op.type, priority: spec.Priority });
    this.drive(job, () => this.prepare(job));
    return jobId;
  }

  /** DescribeJob. */
  describeJob(accountId: string, jobId: string): JobView {
    return this.view(this.get(accountId, jobId));
  }

  /** ListJobs: newest first; `nextToken` continues after the last job of the previous page. */
  listJobs(
    accountId: string,
    query: { statuses?: string[]; nextToken?: string; maxResults?: number },
  ): { jobs: JobView[]; nextToken?: string } {
    const statuses = query.statuses?.length ? new Set(query.statuses) : undefined;
    for (const s of statuses ?? []) {
      if (!(JOB_STATUSES as readonly string[]).includes(s)) {
        throw new ApiError(
          'InvalidRequestException',
          `jobStatuses value ${s} is not one of ${JOB_STATUSES.join(', ')}`,
        );
      }
    }
    let after: { c: string; id: string } | undefined;
    if (query.nextToken !== undefined) {
      try {
        after = JSON.parse(Buffer.from(query.nextToken, 'base64url').toString('utf8')) as { c: string; id: string };
        if (typeof after.c !== 'string' || typeof after.id !== 'string') throw new Error('bad token');
      } catch {
        throw new ApiError('InvalidNextTokenException', 'nextToken is not a token this engine issued');
      }
    }
    const limit = query.maxResults || LIST_JOBS_MAX;
    const order = (a: JobRecord, b: JobRecord) =>
      a.CreationTime !== b.CreationTime ? (a.CreationTime < b.CreationTime ? 1 : -1) : a.JobId < b.JobId ? 1 : -1;
    const matching = [...this.jobs.values()]
      .map((j) => j.record)
      .filter((r) => r.spec.AccountId === accountId && (!statuses || statuses.has(r.Status)))
      .filter((r) => !after || r.CreationTime < after.c || (r.CreationTime === after.c && r.JobId < after.id))
      .sort(order);
    const page = matching.slice(0, limit);
    const last = page[page.length - 1];
    const nextToken =
      matching.length > limit && last
        ? Buffer.from(JSON.stringify({ c: last.CreationTime, id: last.JobId })).toString('base64url')
        : undefined;
    return { jobs: page.map((r) => this.view(this.jobs.get(r.JobId)!)), nextToken };
  }

  /** UpdateJobStatus: `Ready` confirms a Suspended job, `Cancelled` cancels a job that has not ended. */
  async updateJobStatus(
    accountId: string,
    jobId: string,
    requested: string,
    reason?: string,
  ): Promise<{ status: JobStatus; reason?: string }> {
    this.assertOpen();
    const job = this.get(accountId, jobId);
    const r = job.record;
    if (requested !== 'Ready' && requested !== 'Cancelled') {
      throw badRequest(`requestedJobStatus must be Ready or Cancelled, not ${requested || '(empty)'}`);
    }
    if (reason !== undefined && (reason.length < 1 || reason.length > 256)) {
      throw badRequest('statusUpdateReason must be 1–256 characters long');
    }
    if (TERMINAL_STATUSES.has(r.Status)) {
      throw new ApiError(
        'JobStatusException',
        `Job ${jobId} is ${r.Status}; a job that has ended cannot change status`,
      );
    }
    if (requested === 'Ready') {
      if (r.Status !== 'Suspended') {
        throw new ApiError(
          'JobStatusException',
          `Job ${jobId} is ${r.Status}; only a Suspended job can be set to Ready`,
        );
      }
      if (reason !== undefined) r.StatusUpdateReason = reason;
      await this.setStatus(job, 'Ready');
      this.pump();
      // The answer is the status this request set, even if the scheduler has already started the job.
      return { status: 'Ready', reason: r.StatusUpdateReason };
    }
    switch (r.Status) {
      case 'New':
      case 'Preparing':
      case 'Suspended':
      case 'Ready':
      case 'Paused':
        if (reason !== undefined) r.StatusUpdateReason = reason;
        job.abort?.abort();
        await this.setStatus(job, 'Cancelled');
        break;
      case 'Active':
      case 'Pausing':
        if (reason !== undefined) r.StatusUpdateReason = reason;
        job.stop ??= 'cancel';
        await this.setStatus(job, 'Cancelling');
        break;
      case 'Cancelling':
        break;
      default:
        throw new ApiError('JobStatusException', `Job ${jobId} is ${r.Status}; it can no longer be cancelled`);
    }
    return { status: r.Status, reason: r.StatusUpdateReason };
  }

  /** UpdateJobPriority: takes effect the next time a job is picked to start. */
  async updateJobPriority(accountId: string, jobId: string, priority: number): Promise<number> {
    this.assertOpen();
    const job = this.get(accountId, jobId);
    job.record.Priority = priority;
    await this.store.saveJob(job.record);
    return priority;
  }

  getJobTagging(accountId: string, jobId: string): S3Tag[] {
    return this.get(accountId, jobId).record.Tags;
  }

  /** PutJobTagging replaces the whole tag set (an empty set removes every tag). */
  async putJobTagging(accountId: string, jobId: string, tags: S3Tag[]): Promise<void> {
    this.assertOpen();
    const job = this.get(accountId, jobId);
    job.record.Tags = tags;
    await this.store.saveJob(job.record);
  }

  async deleteJobTagging(accountId: string, jobId: string): Promise<void> {
    await this.putJobTagging(accountId, jobId, []);
  }

  /** Counts for `/_local/health`. */
  health(): { jobs: number; activeJobs: number; byStatus: Partial<Record<JobStatus, number>> } {
    const byStatus: Partial<Record<JobStatus, number>> = {};
    for (const j of this.jobs.values()) byStatus[j.record.Status] = (byStatus[j.record.Status] ?? 0) + 1;
    return { jobs: this.jobs.size, activeJobs: this.activeCount, byStatus };
  }

  /**
   * Stops starting work, lets in-flight tasks finish, writes every outcome and record, and resolves when nothing
   * runs. Active jobs stay Active on disk and resume on the next start; Preparing jobs prepare again.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const job of this.jobs.values()) {
      job.stop ??= 'shutdown';
      job.abort?.abort();
    }
    while (this.drivers.size > 0) await Promise.allSettled([...this.drivers]);
    await Promise.allSettled([...this.jobs.values()].map((j) => this.store.saveJob(j.record)));
    this.log.info('engine closed', { jobs: this.jobs.size });
  }

  // ---------------------------------------------------------------- lifecycle

  private assertOpen(): void {
    if (this.closing) throw new ApiError('TooManyRequestsException', 'the engine is shutting down');
  }

  private get(accountId: string, jobId: string): JobState {
    const job = JOB_ID.test(jobId) ? this.jobs.get(jobId) : undefined;
    if (!job || job.record.spec.AccountId !== accountId) {
      throw new ApiError('NotFoundException', `The specified job ${jobId} does not exist`);
    }
    return job;
  }

  private addJob(record: JobRecord): JobState {
    const job: JobState = { record, seq: ++this.seq, outcomes: new Map(), succeeded: 0, failed: 0, busy: false };
    this.jobs.set(record.JobId, job);
    return job;
  }

  private activeMs(r: JobRecord, now = Date.now()): number {
    return r.activeMsBefore + (r.activeSince ? Math.max(0, now - Date.parse(r.activeSince)) : 0);
  }

  private progress(job: JobState): ProgressSummary {
    return {
      TotalNumberOfTasks: job.tasks?.length ?? job.record.ProgressSummary?.TotalNumberOfTasks ?? 0,
      NumberOfTasksSucceeded: job.succeeded,
      NumberOfTasksFailed: job.failed,
      Timers: { ElapsedTimeInActiveSeconds: Math.floor(this.activeMs(job.record) / 1000) },
    };
  }

  private view(job: JobState): JobView {
    return { record: job.record, progress: this.progress(job) };
  }

  /** Moves the job to `status`, keeps the Active timer and progress in the record, and persists it. */
  private setStatus(job: JobState, status: JobStatus): Promise<void> {
    const r = job.record;
    const now = Date.now();
    if (r.activeSince && status !== 'Active') {
      r.activeMsBefore = this.activeMs(r, now);
      r.activeSince = undefined;
    } else if (status === 'Active' && !r.activeSince) {
      r.activeSince = new Date(now).toISOString();
    }
    if (status === 'Suspended') {
      r.SuspendedDate = new Date(now).toISOString();
      r.SuspendedCause =
        'The job requires confirmation (ConfirmationRequired was true or left out). ' +
        'Send UpdateJobStatus with requestedJobStatus=Ready to run it.';
    }
    if (TERMINAL_STATUSES.has(status)) r.TerminationDate = new Date(now).toISOString();
    r.Status = status;
    r.ProgressSummary = this.progress(job);
    if (TERMINAL_STATUSES.has(status)) {
      // The record now holds the counts; an ended job does not need its task list in memory.
      job.tasks = undefined;
      job.outcomes = new Map();
    }
    this.log.info('job status', {
      jobId: r.JobId,
      status,
      ...(r.ProgressSummary ? { progress: r.ProgressSummary } : {}),
    });
    return this.store.saveJob(r).catch((err: unknown) => {
      this.log.error('could not persist job', { jobId: r.JobId, err });
      throw err;
    });
  }

  /** Runs `fn` as the job's driver; the engine waits for drivers on close, and a driver's crash fails its job. */
  private drive(job: JobState, fn: () => Promise<void>): void {
    job.busy = true;
    const p = (async () => {
      try {
        await fn();
      } catch (err) {
        this.log.error('job driver crashed', { jobId: job.record.JobId, err });
        if (!TERMINAL_STATUSES.has(job.record.Status) && !this.closing) {
          await this.finish(job, 'Failed', failureFrom(err)).catch(() => undefined);
        }
      } finally {
        job.busy = false;
        // A job that a driver left Ready (end of Preparing) can only start once the driver has let go of it.
        this.pump();
      }
    })();
    this.drivers.add(p);
    void p.finally(() => this.drivers.delete(p));
  }

  private faultContext(r: JobRecord): FaultContext {
    return {
      jobId: r.JobId,
      ...(r.spec.Description !== undefined ? { description: r.spec.Description } : {}),
      operation: r.spec.Operation.type,
      manifestBucket: bucketFromArn(
        r.spec.Manifest?.Location.ObjectArn ?? r.spec.ManifestGenerator?.SourceBucket ?? '',
      ),
    };
  }

  private deps(r: JobRecord): RunnerDeps {
    return {
      s3: this.opts.s3,
      lambda: this.opts.lambda,
      jobId: r.JobId,
      log: this.log,
      restores: this.opts.restores,
      replication: this.replication,
    };
  }

  /** Report bucket missing or unreachable is a job failure, found before any task runs. */
  private async checkReportBucket(r: JobRecord): Promise<void> {
    const report = r.spec.Report;
    if (!report.Enabled || !report.Bucket) return;
    const bucket = bucketFromArn(report.Bucket);
    try {
      await this.opts.s3.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const what = status === 404 ? 'does not exist' : `cannot be reached (${status ?? errorMessage(err)})`;
      throw new JobFailure(ENGINE_FAILURE_CODES.reportBucket, `The report bucket ${bucket} ${what}`);
    }
  }

  /** New → Preparing → Suspended | Ready, or → Failed. Stops quietly when the job is cancelled meanwhile. */
  private async prepare(job: JobState): Promise<void> {
    const r = job.record;
    const stillPreparing = () => r.Status === 'Preparing' && !this.closing;
    job.abort = new AbortController();
    job.tasks = undefined;
    job.outcomes = new Map();
    job.succeeded = job.failed = 0;
    await this.setStatus(job, 'Preparing');
    try {
      const tasks = await this.readTasks(job, job.abort.signal);
      if (!stillPreparing()) return;
      job.tasks = tasks;
      r.ProgressSummary = this.progress(job);
      const delay = this.opts.faults.preparingDelayMs(this.faultContext(r));
      if (delay > 0) await sleep(delay, undefined, { signal: job.abort.signal });
      if (!stillPreparing()) return;
      const injected = this.opts.faults.preparingFailure(this.faultContext(r));
      if (injected) throw new JobFailure(injected.FailureCode, injected.FailureReason);
      await prepareOperation(r.spec.Operation, tasks, this.deps(r));
      await this.checkReportBucket(r);
      if (!stillPreparing()) return;
      await this.store.saveTasks(r.JobId, tasks);
    } catch (err) {
      if (!stillPreparing()) return;
      this.log.warn('job preparation failed', { jobId: r.JobId, err });
      await this.finish(job, 'Failed', failureFrom(err));
      return;
    } finally {
      job.abort = undefined;
    }
    await this.setStatus(job, r.spec.ConfirmationRequired ? 'Suspended' : 'Ready');
  }

  /**
   * The job's tasks: read from its manifest, or generated by listing its ManifestGenerator's source bucket (which
   * also records where the generated manifest was written).
   */
  private async readTasks(job: JobState, signal: AbortSignal): Promise<TaskRef[]> {
    const r = job.record;
    if (r.spec.Manifest) return readJobManifest(this.opts.s3, r.spec.Manifest);
    if (!r.spec.ManifestGenerator) throw new Error('the job has neither a Manifest nor a ManifestGenerator');
    const generated = await generateManifest(this.opts.s3, r.spec.ManifestGenerator, { jobId: r.JobId, signal });
    if (generated.descriptor) r.GeneratedManifestDescriptor = generated.descriptor;
    return generated.tasks;
  }

  /** Starts Ready jobs while there is room: highest priority first, then oldest. */
  private pump(): void {
    if (this.closing) return;
    while (this.activeCount < this.opts.maxActiveJobs) {
      let best: JobState | undefined;
      for (const j of this.jobs.values()) {
        if (j.record.Status !== 'Ready' || j.busy) continue;
        if (
          !best ||
          j.record.Priority > best.record.Priority ||
          (j.record.Priority === best.record.Priority && j.seq < best.seq)
        ) {
          best = j;
        }
      }
      if (!best) return;
      const job = best;
      this.activeCount++;
      job.record.Status = 'Active';
      this.drive(job, async () => {
        try {
          await this.run(job);
        } finally {
          this.activeCount--;
        }
      });
    }
  }

  private recordOutcome(job: JobState, log: OutcomeLog, task: TaskRef, outcome: TaskOutcome): void {
    if (job.outcomes.has(task.index)) return;
    job.outcomes.set(task.index, outcome);
    if (outcome.status === 'succeeded') job.succeeded++;
    else job.failed++;
    log.append(task.index, outcome);
    const ran = job.succeeded + job.failed;
    if (!job.stop && ran >= FAILURE_THRESHOLD_MIN_TASKS && job.failed > ran * FAILURE_THRESHOLD_RATIO) {
      job.stop = 'threshold';
      job.record.FailureReasons.push({
        FailureCode: ENGINE_FAILURE_CODES.threshold,
        FailureReason: `${job.failed} of the ${ran} tasks run so far failed: more than 50% after at least 1,000 tasks`,
      });
      void this.setStatus(job, 'Failing').catch(() => undefined);
    }
  }

  /** Active: runs the tasks that have no outcome yet, then ends the job as its stop reason says. */
  private async run(job: JobState): Promise<void> {
    const r = job.record;
    const tasks = job.tasks;
    if (!tasks) {
      await this.finish(job, 'Failed', {
        FailureCode: ENGINE_FAILURE_CODES.stateLost,
        FailureReason: 'The task list of this job was lost; create the job again',
      });
      return;
    }
    job.stop = undefined;
    await this.setStatus(job, 'Active');
    try {
      await this.checkReportBucket(r);
    } catch (err) {
      await this.finish(job, 'Failed', failureFrom(err));
      return;
    }
    const log = this.store.outcomeLog(r.JobId);
    const runner = createTaskRunner(r.spec.Operation, this.deps(r));
    const faults = this.opts.faults;
    const ctx = this.faultContext(r);
    const pending = tasks.filter((t) => !job.outcomes.has(t.index));
    let next = 0;
    const worker = async () => {
      while (job.stop === undefined && next < pending.length) {
        const task = pending[next++]!;
        let outcome: TaskOutcome;
        try {
          outcome = (await faults.beforeTask(ctx, task)) ?? (await runner(task));
        } catch (err) {
          outcome = { status: 'failed', httpStatus: 500, errorCode: 'InternalError', resultMessage: errorMessage(err) };
        }
        this.recordOutcome(job, log, task, outcome);
      }
    };
    const checkpoint = setInterval(() => {
      if (r.Status !== 'Active') return;
      r.activeMsBefore = this.activeMs(r);
      r.activeSince = new Date().toISOString();
      r.ProgressSummary = this.progress(job);
      void this.store.saveJob(r).catch((err: unknown) => this.log.warn('checkpoint failed', { jobId: r.JobId, err }));
    }, CHECKPOINT_INTERVAL_MS);
    try {
      const width = Math.min(this.opts.taskConcurrency, pending.length);
      await Promise.all(Array.from({ length: width }, worker));
    } finally {
      clearInterval(checkpoint);
      await log.flush();
    }
    if (job.stop === 'shutdown') {
      // Stays Active on disk; close the timer now so the restart does not count the downtime.
      r.activeMsBefore = this.activeMs(r);
      r.activeSince = new Date().toISOString();
      return;
    }
    if (job.stop === 'cancel') await this.finish(job, 'Cancelled');
    else if (job.stop === 'threshold') await this.finish(job, 'Failed');
    else await this.finish(job, 'Complete');
  }

  /**
   * Ends a job: through Completing / Failing / Cancelling, writes the completion report when at least one task ran,
   * then the terminal status. A report that cannot be written fails a job that would have completed.
   */
  private async finish(job: JobState, end: 'Complete' | 'Failed' | 'Cancelled', reason?: FailureReason): Promise<void> {
    const r = job.record;
    if (reason) r.FailureReasons.push(reason);
    const via = end === 'Complete' ? 'Completing' : end === 'Failed' ? 'Failing' : 'Cancelling';
    if (r.Status !== via) await this.setStatus(job, via);
    let final: JobStatus = end;
    const tasks = job.tasks;
    if (tasks && job.succeeded + job.failed > 0) {
      const outcomes = job.outcomes;
      const results = function* () {
        for (const task of tasks) {
          const outcome = outcomes.get(task.index);
          if (outcome) yield { task, outcome };
        }
      };
      try {
        const fault = this.opts.faults.reportWriteFault(this.faultContext(r));
        if (fault !== undefined) throw new Error(`Injected fault (rule ${fault})`);
        const written = await writeCompletionReport(this.opts.s3, { JobId: r.JobId, Report: r.spec.Report }, results());
        if (written) this.log.info('completion report written', { jobId: r.JobId, manifestKey: written.manifestKey });
      } catch (err) {
        if (this.closing) throw err;
        this.log.warn('completion report failed', { jobId: r.JobId, err });
        r.FailureReasons.push({
          FailureCode: ENGINE_FAILURE_CODES.report,
          FailureReason: truncate(`The completion report could not be written: ${errorMessage(err)}`, 256),
        });
        if (end === 'Complete') final = 'Failed';
      }
    }
    await this.setStatus(job, final);
  }

  // ---------------------------------------------------------------- restart and retention

  private isExpired(r: JobRecord, now: number): boolean {
    const limit = this.opts.retentionDays * 24 * 3600 * 1000;
    return (
      TERMINAL_STATUSES.has(r.Status) && r.TerminationDate !== undefined && now - Date.parse(r.TerminationDate) > limit
    );
  }

  private async restore(): Promise<void> {
    const loaded = await this.store.load((r) => TERMINAL_STATUSES.has(r.Status));
    loaded.sort((a, b) => (a.record.CreationTime < b.record.CreationTime ? -1 : 1));
    const now = Date.now();
    const resume: JobState[] = [];
    for (const { record, tasks, outcomes } of loaded) {
      if (this.isExpired(record, now)) {
        await this.store.removeJob(record.JobId);
        continue;
      }
      const job = this.addJob(record);
      this.tokens.set(`${record.spec.AccountId}\n${record.spec.ClientRequestToken}`, record.JobId);
      job.tasks = tasks;
      job.outcomes = outcomes;
      if (TERMINAL_STATUSES.has(record.Status)) {
        job.succeeded = record.ProgressSummary?.NumberOfTasksSucceeded ?? 0;
        job.failed = record.ProgressSummary?.NumberOfTasksFailed ?? 0;
      }
      for (const o of outcomes.values()) {
        if (o.status === 'succeeded') job.succeeded++;
        else job.failed++;
      }
      // The timer of a crashed Active period resumes from its last checkpoint, not from the crash.
      if (record.activeSince) {
        record.activeMsBefore = this.activeMs(record, Date.parse(record.activeSince));
        record.activeSince = undefined;
      }
      if (!TERMINAL_STATUSES.has(record.Status)) resume.push(job);
    }
    this.log.info('engine state loaded', { jobs: this.jobs.size, resuming: resume.length });
    for (const job of resume) {
      const r = job.record;
      switch (r.Status) {
        case 'New':
        case 'Preparing':
          this.drive(job, () => this.prepare(job));
          break;
        case 'Active':
        case 'Pausing':
        case 'Paused':
          // Jobs that were running take their slots back before any Ready job starts.
          this.activeCount++;
          r.Status = 'Active';
          this.drive(job, async () => {
            try {
              await this.run(job);
            } finally {
              this.activeCount--;
            }
          });
          break;
        case 'Completing':
          this.drive(job, () => this.finish(job, 'Complete'));
          break;
        case 'Failing':
          this.drive(job, () => this.finish(job, 'Failed'));
          break;
        case 'Cancelling':
          this.drive(job, () => this.finish(job, 'Cancelled'));
          break;
        case 'Suspended':
        case 'Ready':
          if (!job.tasks) {
            this.drive(job, () =>
              this.finish(job, 'Failed', {
                FailureCode: ENGINE_FAILURE_CODES.stateLost,
                FailureReason: 'The task list of this job was lost; create the job again',
              }),
            );
          }
          break;
        default:
          break;
      }
    }
    await this.sweep();
    this.pump();
  }

  /** Drops terminal jobs past retention and fails jobs Suspended for more than 30 days. */
  private async sweep(): Promise<void> {
    if (this.closing) return;
    const now = Date.now();
    for (const job of [...this.jobs.values()]) {
      const r = job.record;
      if (this.isExpired(r, now)) {
        this.jobs.delete(r.JobId);
        this.tokens.delete(`${r.spec.AccountId}\n${r.spec.ClientRequestToken}`);
        await this.store.removeJob(r.JobId).catch((err: unknown) => this.log.warn('could not remove job', { err }));
      } else if (
        r.Status === 'Suspended' &&
        !job.busy &&
        r.SuspendedDate &&
        now - Date.parse(r.SuspendedDate) > SUSPENDED_LIMIT_MS
      ) {
        this.drive(job, () =>
          this.finish(job, 'Failed', {
            FailureCode: ENGINE_FAILURE_CODES.suspendedTooLong,
            FailureReason: 'The job stayed Suspended for more than 30 days without confirmation',
          }),
        );
      }
    }
  }
}
