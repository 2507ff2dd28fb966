/**
 * Persistence of the local engine under `stateDir`, so that jobs survive a restart:
 *
 * ```
 * <stateDir>/jobs/<jobId>/job.json        the JobRecord, replaced atomically (tmp file + rename)
 * <stateDir>/jobs/<jobId>/tasks.json      the task list read from the manifest at Preparing, written once
 * <stateDir>/jobs/<jobId>/outcomes.jsonl  one line per finished task, appended in batches
 * <stateDir>/restores.jsonl                restores accepted but not yet completed (see {@link RestoreLog})
 * ```
 *
 * Task outcomes are keyed by task index, so a task that ran twice (its line was not yet flushed when the engine died)
 * is still counted once. Nothing is fsynced: the engine is a local stand-in, and a lost batch only means that a few
 * tasks run again after a crash. Without a `stateDir` the store keeps nothing and every call is a no-op.
 */
import { createReadStream, existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';

import type { Logger } from '../logging';
import type { JobRecord, PendingRestore, RestoreTier, TaskOutcome, TaskRef } from './types';
import type { RestoreView } from './restores';

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

/** The restore log compacts at runtime once it holds this many `done` lines… */
const RESTORE_LOG_COMPACT_MIN_DONE = 100_000;

/**
 * One `restores.jsonl` line. `add` carries the whole record (times as ISO-8601 so that the file reads as it is),
 * `tier` a tier upgrade, `done` the end of a restore. Replaying the lines in order gives the pending restores.
 */
type RestoreLine =
  | ({ op: 'add'; id: number } & RestoreView)
  | { op: 'tier'; id: number; tier: RestoreTier }
  | { op: 'done'; id: number };

function addLine(r: PendingRestore): string {
  const line: RestoreLine = {
    op: 'add',
    id: r.id,
    bucket: r.bucket,
    key: r.key,
    ...(r.versionId !== undefined ? { versionId: r.versionId } : {}),
    tier: r.tier,
    days: r.days,
    requestedAt: new Date(r.requestedAt).toISOString(),
    dueAt: new Date(r.dueAt).toISOString(),
  };
  return JSON.stringify(line) + '\n';
}

const TIERS: ReadonlySet<string> = new Set(['BULK', 'STANDARD']);

function decodeRestoreLine(text: string): RestoreLine | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || typeof v.id !== 'number') return undefined;
  if (v.op === 'done') return { op: 'done', id: v.id };
  if (v.op === 'tier') return typeof v.tier === 'string' && TIERS.has(v.tier) ? (v as RestoreLine) : undefined;
  if (v.op !== 'add') return undefined;
  const ok =
    typeof v.bucket === 'string' &&
    typeof v.key === 'string' &&
    (v.versionId === undefined || typeof v.versionId === 'string') &&
    typeof v.tier === 'string' &&
    TIERS.has(v.tier) &&
    typeof v.days === 'number' &&
    typeof v.requestedAt === 'string' &&
    !Number.isNaN(Date.parse(v.requestedAt)) &&
    typeof v.dueAt === 'string' &&
    !Number.isNaN(Date.parse(v.dueAt));
  return ok ? (v as RestoreLine) : undefined;
}

/**
 * The durable table of pending restores: `<stateDir>/restores.jsonl`, one JSON line per change (see
 * {@link RestoreLine}). The caller keeps the live records (and {@link attach}es them for compaction).
 *
 * Writes are group-committed: a change is appended at once when the file is idle, and changes that arrive while a
 * write is under way go out together in the next one, so a restore task waits for one small append and a million
 * of them cost a few thousand. {@link add} resolves once its line is on disk (not fsynced; see the module comment),
 * which is what lets a task report "Restore initiated" only for a restore that survives a restart. Loading drops
 * finished records and torn lines by rewriting the file; at runtime the file is rewritten the same way once it holds
 * more finished records than live ones (and at least {@link RESTORE_LOG_COMPACT_MIN_DONE}). Without a state
 * directory nothing is written.
 */
export class RestoreLog {
  private readonly file: string | undefined;
  private live: { readonly size: number; values(): Iterable<PendingRestore> } = new Map<number, PendingRestore>();
  private lines: string[] = [];
  private waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private running: Promise<void> | undefined;
  private doneLines = 0;
  private seq = 0;
  private lastId = 0;

  constructor(
    dir: string | undefined,
    private readonly log: Logger,
  ) {
    this.file = dir === undefined ? undefined : path.join(dir, 'restores.jsonl');
  }

  /** Reads the file (once, before any other call) and returns the pending records; rewrites it without the rest. */
  async load(): Promise<PendingRestore[]> {
    if (this.file === undefined) return [];
    const dir = path.dirname(this.file);
    await mkdir(dir, { recursive: true });
    const base = path.basename(this.file);
    for (const name of await readdir(dir)) {
      if (name.startsWith(`${base}.`) && name.endsWith('.tmp')) await rm(path.join(dir, name), { force: true });
    }
    if (!existsSync(this.file)) return [];
    const input = createReadStream(this.file, { encoding: 'utf8' });
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    const live = new Map<number, PendingRestore>();
    let bad = 0;
    let stale = 0;
    for await (const text of lines) {
      if (text === '') continue;
      const line = decodeRestoreLine(text);
      if (!line) {
        bad++;
        continue;
      }
      this.lastId = Math.max(this.lastId, line.id);
      if (line.op === 'add') {
        live.set(line.id, {
          id: line.id,
          bucket: line.bucket,
          key: line.key,
          ...(line.versionId !== undefined ? { versionId: line.versionId } : {}),
          tier: line.tier,
          days: line.days,
          requestedAt: Date.parse(line.requestedAt),
          dueAt: Date.parse(line.dueAt),
        });
        continue;
      }
      stale++;
      const r = live.get(line.id);
      if (line.op === 'done') live.delete(line.id);
      else if (r) r.tier = line.tier;
    }
    if (bad > 0) this.log.warn('ignored unreadable restore log lines', { file: this.file, lines: bad });
    this.live = live;
    if (bad > 0 || stale > 0) await this.rewrite();
    return [...live.values()];
  }

  /** The caller's table of live records, which a runtime compaction writes out. */
  attach(live: { readonly size: number; values(): Iterable<PendingRestore> }): void {
    this.live = live;
  }

  /** Whether changes are written (there is a state directory). */
  get durable(): boolean {
    return this.file !== undefined;
  }

  /** The next record id (above every id ever loaded, so a `done` line can never name a newer record). */
  nextId(): number {
    return ++this.lastId;
  }

  /** Records `r` as pending; resolves once the line is written. */
  add(r: PendingRestore): Promise<void> {
    return this.file === undefined ? Promise.resolve() : this.write(addLine(r));
  }

  /** Persists a tier upgrade already made on the record. */
  setTier(r: PendingRestore): Promise<void> {
    if (this.file === undefined) return Promise.resolve();
    return this.write(JSON.stringify({ op: 'tier', id: r.id, tier: r.tier } satisfies RestoreLine) + '\n');
  }

  /** Ends a record (finished, or its `add` could not be written). */
  done(id: number): Promise<void> {
    if (this.file === undefined) return Promise.resolve();
    this.doneLines++;
    return this.write(JSON.stringify({ op: 'done', id } satisfies RestoreLine) + '\n');
  }

  /** Resolves when every change made so far is written (or failed and was reported to its caller). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private write(line: string): Promise<void> {
    if (this.file === undefined) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.lines.push(line);
      this.waiters.push({ resolve, reject });
      this.running ??= this.drain();
    });
  }

  /**
   * Writes until nothing is buffered. `running` is cleared in the same tick as the buffer is found empty, before any
   * waiter resumes, so a change made by a resumed waiter always starts a new drain.
   */
  private async drain(): Promise<void> {
    const file = this.file!;
    try {
      while (this.lines.length > 0) {
        const batch = this.lines;
        const waiters = this.waiters;
        this.lines = [];
        this.waiters = [];
        try {
          // The in-memory table already holds every change of the batch, so a rewrite replaces the batch too.
          if (this.doneLines >= RESTORE_LOG_COMPACT_MIN_DONE && this.doneLines > this.live.size) await this.rewrite();
          else await appendFile(file, batch.join(''));
          for (const w of waiters) w.resolve();
        } catch (err) {
          this.log.error('could not write the restore log', { file, err });
          for (const w of waiters) w.reject(err);
        }
      }
    } finally {
      this.running = undefined;
    }
  }

  /** Replaces the file with one `add` line per live record (tmp file + rename). */
  private async rewrite(): Promise<void> {
    const file = this.file!;
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${++this.seq}.tmp`;
    const chunk: string[] = [];
    await writeFile(tmp, '');
    for (const r of this.live.values()) {
      chunk.push(addLine(r));
      if (chunk.length >= 10_000) await appendFile(tmp, chunk.splice(0).join(''));
    }
    await appendFile(tmp, chunk.join(''));
    await rename(tmp, file);
    this.doneLines = 0;
  }
}
