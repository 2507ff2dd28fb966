/**
 * Persistence of the local engine under `stateDir`, so that jobs survive a restart:
 *
 * ```
 * <stateDir>/jobs/<jobId>/job.json        the JobRecord, replaced atomically (tmp file + rename)
 * <stateDir>/jobs/<jobId>/tasks.json      the task list read from the manifest at Preparing, written once
 * <stateDir>/jobs/<jobId>/outcomes.jsonl  one line per finished task, appended in batches
 * ```
 *
 * Task outcomes are keyed by task index, so a task that ran twice (its line was not yet flushed when the engine died)
 * is still counted once. Nothing is fsynced: the engine is a local stand-in, and a lost batch only means that a few
 * tasks run again after a crash. Without a `stateDir` the store keeps nothing and every call is a no-op.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { Logger } from '../logging';
import type { JobRecord, TaskOutcome, TaskRef } from './types';

/** Buffered outcome lines are appended at least this often (ms): bounds what a crash can lose. */
const OUTCOME_FLUSH_INTERVAL_MS = 100;
/** …or as soon as this many lines are buffered, so memory stays bounded on fast jobs. */
const OUTCOME_FLUSH_LINES = 1000;

/** A job as found on disk. */
export interface LoadedJob {
  record: JobRecord;
  tasks?: TaskRef[];
  outcomes: Map<number, TaskOutcome>;
}

/** One `outcomes.jsonl` line: short keys because there is one line per object. */
interface OutcomeLine {
  i: number;
  s: 's' | 'f';
  h: number;
  c?: string;
  m?: string;
}

function encodeOutcome(index: number, o: TaskOutcome): string {
  const line: OutcomeLine = { i: index, s: o.status === 'succeeded' ? 's' : 'f', h: o.httpStatus };
  if (o.errorCode !== undefined) line.c = o.errorCode;
  if (o.resultMessage !== undefined) line.m = o.resultMessage;
  return JSON.stringify(line) + '\n';
}

function decodeOutcome(text: string): [number, TaskOutcome] | undefined {
  let line: Partial<OutcomeLine>;
  try {
    line = JSON.parse(text) as Partial<OutcomeLine>;
  } catch {
    return undefined;
  }
  if (typeof line.i !== 'number' || (line.s !== 's' && line.s !== 'f') || typeof line.h !== 'number') return undefined;
  const outcome: TaskOutcome = { status: line.s === 's' ? 'succeeded' : 'failed', httpStatus: line.h };
  if (typeof line.c === 'string') outcome.errorCode = line.c;
  if (typeof line.m === 'string') outcome.resultMessage = line.m;
  return [line.i, outcome];
}

/** Appends one job's task outcomes in batches; `append` is synchronous and cheap (the engine's hot path). */
export class OutcomeLog {
  private lines: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string | undefined,
    private readonly log: Logger,
  ) {}

  append(index: number, outcome: TaskOutcome): void {
    if (this.file === undefined) return;
    this.lines.push(encodeOutcome(index, outcome));
    if (this.lines.length >= OUTCOME_FLUSH_LINES) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), OUTCOME_FLUSH_INTERVAL_MS);
  }

  /** Writes everything appended so far; resolves once it is on disk (or failed and was logged). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.file === undefined) return this.writing;
    const file = this.file;
    const batch = this.lines;
    this.lines = [];
    this.writing = this.writing.then(async () => {
      if (batch.length === 0) return;
      try {
        await appendFile(file, batch.join(''));
      } catch (err) {
        // Keep the lines for the next flush: a full disk should not silently lose progress.
        this.lines = batch.concat(this.lines);
        this.log.error('could not append task outcomes', { file, err });
      }
    });
    return this.writing;
  }
}

/** Reads and writes the state directory (layout in the module comment). */
export class JobStore {
  private readonly writes = new Map<string, { queued?: Promise<void>; chain: Promise<void> }>();
  private seq = 0;

  /**
   * @param dir the state directory, created if missing; undefined keeps state in memory only.
   */
  constructor(
    readonly dir: string | undefined,
    private readonly log: Logger,
  ) {}

  private jobDir(jobId: string): string {
    if (this.dir === undefined) throw new Error('no state directory');
    return path.join(this.dir, 'jobs', jobId);
  }

  private async writeAtomic(file: string, data: string): Promise<void> {
    const tmp = `${file}.${process.pid}.${++this.seq}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, file);
  }

  /**
   * Persists the job's record as it is when the write starts. Writes of one job never overlap, and calls that arrive
   * while a write is queued share it, so the file always ends with the latest state.
   */
  saveJob(record: JobRecord): Promise<void> {
    if (this.dir === undefined) return Promise.resolve();
    const id = record.JobId;
    const w = this.writes.get(id) ?? { chain: Promise.resolve() };
    this.writes.set(id, w);
    if (w.queued) return w.queued;
    const queued = w.chain.then(async () => {
      w.queued = undefined;
      const dir = this.jobDir(id);
      await mkdir(dir, { recursive: true });
      await this.writeAtomic(path.join(dir, 'job.json'), JSON.stringify(record));
    });
    w.queued = queued;
    w.chain = queued.catch(() => undefined);
    return queued;
  }

  /** Persists a job's task list (once, at the end of Preparing). */
  async saveTasks(jobId: string, tasks: readonly TaskRef[]): Promise<void> {
    if (this.dir === undefined) return;
    const dir = this.jobDir(jobId);
    await mkdir(dir, { recursive: true });
    await this.writeAtomic(path.join(dir, 'tasks.json'), JSON.stringify(tasks));
  }

  /** The outcome log of a job (in memory only: a log that drops everything). */
  outcomeLog(jobId: string): OutcomeLog {
    return new OutcomeLog(
      this.dir === undefined ? undefined : path.join(this.jobDir(jobId), 'outcomes.jsonl'),
      this.log,
    );
  }

  /** Deletes a job's files (retention). */
  async removeJob(jobId: string): Promise<void> {
    this.writes.delete(jobId);
    if (this.dir === undefined) return;
    await rm(this.jobDir(jobId), { recursive: true, force: true });
  }

  /**
   * Reads every job under the state directory. Unreadable jobs are logged and skipped, torn lines ignored. Jobs for
   * which `recordOnly` holds (ended ones: their counts are in the record) load without their tasks and outcomes.
   */
  async load(recordOnly: (record: JobRecord) => boolean = () => false): Promise<LoadedJob[]> {
    if (this.dir === undefined) return [];
    const root = path.join(this.dir, 'jobs');
    await mkdir(root, { recursive: true });
    const out: LoadedJob[] = [];
    for (const entry of await readdir(root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = path.join(root, entry.name);
      try {
        out.push(await this.loadJob(dir, recordOnly));
      } catch (err) {
        this.log.warn('skipping unreadable job state', { dir, err });
      }
    }
    return out;
  }

  private async loadJob(dir: string, recordOnly: (record: JobRecord) => boolean): Promise<LoadedJob> {
    const record = JSON.parse(await readFile(path.join(dir, 'job.json'), 'utf8')) as JobRecord;
    if (typeof record.JobId !== 'string' || typeof record.Status !== 'string' || !record.spec) {
      throw new Error('job.json is not a job record');
    }
    for (const name of await readdir(dir)) {
      if (name.endsWith('.tmp')) await rm(path.join(dir, name), { force: true });
    }
    if (recordOnly(record)) return { record, outcomes: new Map() };
    const tasksFile = path.join(dir, 'tasks.json');
    const tasks = existsSync(tasksFile) ? (JSON.parse(await readFile(tasksFile, 'utf8')) as TaskRef[]) : undefined;
    const outcomes = new Map<number, TaskOutcome>();
    const outcomesFile = path.join(dir, 'outcomes.jsonl');
    if (existsSync(outcomesFile)) {
      const content = await readFile(outcomesFile, 'utf8');
      // A crash can leave half a line; end it so that the next batch starts on a line of its own.
      if (content !== '' && !content.endsWith('\n')) await appendFile(outcomesFile, '\n');
      let bad = 0;
      for (const text of content.split('\n')) {
        if (text === '') continue;
        const decoded = decodeOutcome(text);
        if (!decoded) {
          bad++;
          continue;
        }
        if (!outcomes.has(decoded[0])) outcomes.set(decoded[0], decoded[1]);
      }
      if (bad > 0) this.log.warn('ignored unreadable task outcome lines', { jobId: record.JobId, lines: bad });
    }
    return { record, tasks, outcomes };
  }
}
