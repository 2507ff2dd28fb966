/**
 * Scans data files on worker threads (one file per worker at a time) and hands their manifest rows to the caller
 * strictly in file order, whatever order the workers finish in. Files in S3 are downloaded to a private temporary
 * directory just ahead of the workers; rows a worker produces ahead of the caller go through a spill file there.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fsp, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';

import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type * as TypeScript from 'typescript';

import { invalidInventory, inventoryNotFound, s3Failure } from './errors';
import type { ScanPlan } from './plan';
import type { DataFileRef } from './report';
import { rowChunks, type RowsFile } from './rows-file';
import { acknowledge, scanFile, type FileJob, type FromWorker, type ScanPort, type ToWorker } from './scan-file';
import type { ManifestTotals } from './types';

/**
 * What the caller receives, in file order: rows of a file (any number of chunks), then that file's totals. A chunk is
 * the caller's only until it asks for the next event: its memory then goes back to the worker that filled it.
 */
export type ScanEvent =
  | { type: 'rows'; index: number; chunk: Buffer; rows: number }
  | { type: 'done'; index: number; totals: ManifestTotals };

/**
 * Rows a worker may have in flight to the main thread before it spills to disk: a few output chunks keep both threads
 * busy; more only raised peak RSS (16 MiB per worker measured ~25 MB higher on the 5M-row benchmark, no faster).
 */
export const DEFAULT_SPILL_AFTER_BYTES = 4 << 20;

interface FileState {
  ref: DataFileRef;
  queue: { chunk: Buffer; rows: number; buffer?: ArrayBuffer }[];
  done?: { totals: ManifestTotals; spill?: RowsFile };
  error?: Error;
  /** Who scans it: a worker thread, or the main thread. */
  worker?: PoolWorker;
  localPath?: string;
  downloaded?: boolean;
}

interface PoolWorker {
  /** The thread; none for the main thread's own scans. */
  worker?: Worker;
  post(msg: ToWorker, transfer?: ArrayBuffer[]): void;
  /** Files handed to the worker and not yet done or failed: the one it scans, and the next one, queued. */
  jobs: number;
  /** The thread is running: until then it is handed no file the main thread could scan itself. */
  online: boolean;
}

/**
 * Largest data file (compressed, as the inventory's manifest gives its size) that the main thread scans itself
 * instead of waiting for a worker: 2 MiB is 10-20 ms of scanning (20k-40k rows of a typical inventory), so the rows
 * of the file being written never wait long for it. The main thread scans such files while no worker runs yet (a
 * worker takes 20-50 ms to start), and, when every file is this small, throughout the build, in place of one worker.
 */
export const MAIN_THREAD_SCAN_BYTES = 2 << 20;

/**
 * Files a worker holds at once: the one it scans and the next, so it starts that one without waiting for the main
 * thread to answer its "done" (a round trip per file that left workers idle: with 32 data files of 10k rows,
 * `bench:manifest --shapes small-files`, it was a third of the build).
 */
const JOBS_PER_WORKER = 2;

let transpiledSources: Record<string, string> | undefined;

/**
 * Under ts-jest there is no compiled worker: transpile this folder's TypeScript once per process (loading the
 * compiler in every worker would cost about a second per build) and hand it to workers with a require hook.
 */
function sourcesForTsWorkers(): Record<string, string> {
  if (transpiledSources) return transpiledSources;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require(require.resolve('typescript', { paths: [__dirname] })) as typeof TypeScript;
  const out: Record<string, string> = {};
  for (const name of readdirSync(__dirname).filter((n) => n.endsWith('.ts'))) {
    const file = path.join(__dirname, name);
    out[file] = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
  }
  transpiledSources = out;
  return out;
}

/**
 * Heap cap of a worker that reads Parquet. hyparquet decodes a row group's columns into JavaScript values and V8
 * lets an uncapped heap grow far beyond what is live (5M-row benchmark: ~460 MB peak RSS uncapped, ~330 MB at 64-96
 * MB, no slower). A row group too large for it fails the build with a clear, non-retryable error.
 */
export const PARQUET_WORKER_HEAP_MB = 96;

/** The worker entry: compiled JS next to this file, or, under ts-jest, the TypeScript source transpiled above. */
function startWorker(format: ScanPlan['format']): Worker {
  const resourceLimits = format === 'Parquet' ? { maxOldGenerationSizeMb: PARQUET_WORKER_HEAP_MB } : undefined;
  // The environment of the code that starts the pool (Node's default is the process's own, which a test runner's
  // sandboxed process.env, e.g. Jest's, does not reach): workers then honour S3C_NATIVE as their caller sees it.
  const env = process.env;
  const js = path.join(__dirname, 'scan-worker.js');
  if (!__filename.endsWith('.ts')) return new Worker(js, { resourceLimits, env });
  const bootstrap = `
    const { workerData } = require('worker_threads');
    require.extensions['.ts'] = (m, filename) => {
      const code = workerData.sources[filename];
      if (code === undefined) throw new Error('no transpiled source for ' + filename);
      m._compile(code, filename);
    };
    require(workerData.entry);
  `;
  return new Worker(bootstrap, {
    eval: true,
    resourceLimits,
    env,
    workerData: { sources: sourcesForTsWorkers(), entry: path.join(__dirname, 'scan-worker.ts') },
  });
}

/**
 * A CSV scan worker started before a build knows what it will scan: as the build begins, before the inventory's
 * manifest is read and checked (~8 ms in a fresh process, a third of a worker's start). A CSV build's pool adopts it
 * as its first worker; otherwise `release` ends it.
 */
export class EarlyScanWorker {
  readonly worker: Worker;
  online = false;
  /** What happened to it before a pool listened. */
  failed: Error | undefined;
  private taken = false;

  constructor() {
    this.worker = startWorker('CSV');
    this.worker.once('online', () => {
      this.online = true;
    });
    this.worker.on('error', (err) => {
      this.failed ??= err;
    });
    this.worker.once('exit', (code) => {
      this.failed ??= new Error(`an inventory scan worker exited unexpectedly (code ${code})`);
    });
  }

  /** The worker, for the first pool that asks; its owner ends it from then on. */
  take(): EarlyScanWorker | undefined {
    if (this.taken) return undefined;
    this.taken = true;
    return this;
  }

  /** Ends the worker unless a pool took it. */
  async release(): Promise<void> {
    if (this.taken) return;
    this.taken = true;
    await this.worker.terminate();
  }
}

export interface ScanPoolOptions {
  /** Downloads data files that are in S3. */
  s3: S3Client;
  plan: ScanPlan;
  /** Files to scan, in order (a resumed build passes the files from its resume point on). */
  files: DataFileRef[];
  /** Worker threads (at most one per file). */
  concurrency: number;
  /** Stops the workers; `events()` rejects with its reason. */
  signal?: AbortSignal;
  /** @default DEFAULT_SPILL_AFTER_BYTES */
  spillAfterBytes?: number;
  /** Largest data file the main thread scans itself (0: workers scan every file). @default MAIN_THREAD_SCAN_BYTES */
  mainThreadScanBytes?: number;
  /** A worker started ahead, adopted as the first worker of a CSV scan. */
  early?: EarlyScanWorker;
}

/** Runs the scan; iterate `events()` once, and always `close()`. */
export class ScanPool {
  private readonly files: FileState[];
  private readonly workers: PoolWorker[] = [];
  private head = 0;
  private nextToStart = 0;
  private nextToDownload = 0;
  private downloading = false;
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private tmpDir: string | undefined;
  private closed = false;
  /** Position of the first file that failed (download or scan), if any. */
  private firstFailed = Infinity;
  /** The main thread as a scanner: its scans report straight to `onMessage`, and take their acks back. */
  private readonly here: PoolWorker;
  private readonly herePort: ScanPort;
  /**
   * Every file is small enough for the main thread: it scans whenever it would wait, and one worker fewer starts.
   * Small files make a build short, so a worker's start (20-25 ms of CPU, and its code run cold) is a large part of
   * it: `bench:manifest --shapes small-files` (32 files of 10k rows) took 0.27-0.28 CPU-seconds so, 0.31 with one
   * worker more and the main thread waiting.
   */
  private readonly mainThreadScans: boolean;

  constructor(private readonly opts: ScanPoolOptions) {
    this.files = opts.files.map((ref) => ({ ref, queue: [] }));
    this.mainThreadScans = opts.plan.format === 'CSV' && opts.files.every((f) => this.smallEnoughHere(f));
    this.herePort = { post: (msg) => this.onMessage(this.here, msg), inFlight: 0 };
    this.here = {
      post: (msg) => {
        if (msg.type === 'ack') acknowledge(this.herePort, msg);
      },
      jobs: 0,
      online: true,
    };
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.notify();
  }

  private async init(): Promise<void> {
    this.tmpDir = await fsp.mkdtemp(path.join(os.tmpdir(), `s3c-inventory-${randomBytes(3).toString('hex')}-`));
    const n = Math.max(1, Math.min(this.opts.concurrency - (this.mainThreadScans ? 1 : 0), this.files.length));
    for (let i = 0; i < n; i++) {
      const early = i === 0 && this.opts.plan.format === 'CSV' ? this.opts.early?.take() : undefined;
      const worker = early?.worker ?? startWorker(this.opts.plan.format);
      const pw: PoolWorker = {
        worker,
        post: (msg, transfer) => worker.postMessage(msg, transfer),
        jobs: 0,
        online: early?.online ?? false,
      };
      worker.on('online', () => {
        pw.online = true;
        this.schedule();
      });
      worker.on('message', (msg: FromWorker) => this.onMessage(pw, msg));
      worker.on('error', (err) => {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') {
          const file = this.files.find((f) => f.worker === pw && !f.done && !f.error);
          this.fail(
            invalidInventory(
              `inventory data file ${file?.ref.key ?? '(unknown)'} needs more than ${PARQUET_WORKER_HEAP_MB} MB of ` +
                'memory to decode one Parquet row group; write the inventory as CSV, or raise PARQUET_WORKER_HEAP_MB',
            ),
          );
          return;
        }
        this.fail(err);
      });
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`an inventory scan worker exited unexpectedly (code ${code})`));
      });
      this.workers.push(pw);
      if (early?.failed) this.fail(early.failed);
    }
  }

  private onMessage(pw: PoolWorker, msg: FromWorker): void {
    const file = this.files[msg.index - this.opts.files[0]!.index];
    if (!file) return;
    if (msg.type === 'rows') {
      const { buffer, byteOffset, length } = msg.data;
      file.queue.push({
        chunk: Buffer.from(buffer, byteOffset, length),
        rows: msg.rows,
        buffer: buffer as ArrayBuffer,
      });
    } else if (msg.type === 'done') {
      file.done = { totals: msg.totals, spill: msg.spill };
      pw.jobs--;
      this.schedule();
    } else {
      pw.jobs--;
      // Reported when the caller reaches this file, so the files before it still finish (and are checkpointed).
      this.firstFailed = Math.min(this.firstFailed, msg.index - this.opts.files[0]!.index);
      file.error =
        msg.code === 'missing'
          ? inventoryNotFound(msg.message)
          : msg.code === 'io'
            ? new Error(msg.message)
            : invalidInventory(msg.message);
    }
    this.notify();
  }

  /**
   * Files past the one being consumed that may be handed over: what the workers' queues hold (and as much for the main
   * thread when it scans throughout, so it can run ahead while a worker has the file being written), and one more.
   */
  private get window(): number {
    return (this.workers.length + (this.mainThreadScans ? 1 : 0)) * JOBS_PER_WORKER + 1;
  }

  /**
   * Hands files to workers with room in their queue (the least loaded first), never more than `window` files ahead
   * of the one being consumed.
   */
  private schedule(): void {
    if (this.failure || this.closed) return;
    this.prefetch();
    for (;;) {
      const file = this.startable();
      if (!file) return;
      // A worker that is still starting gets no file the main thread may scan meanwhile (see scanHere).
      const ready = this.mainThreadMayScan(file) ? this.workers.filter((w) => w.online) : this.workers;
      const pw = ready.reduce<PoolWorker | undefined>((a, w) => (!a || w.jobs < a.jobs ? w : a), undefined);
      if (!pw || pw.jobs >= JOBS_PER_WORKER) return;
      this.start(file, pw);
    }
  }

  /**
   * The next file to hand over, if it is within the window and its bytes are here. After a file fails (its download,
   * its scan), only the files before it are started: they finish, and the error is thrown when the caller reaches it.
   */
  private startable(): FileState | undefined {
    const pos = this.nextToStart;
    const file = this.files[pos];
    if (!file || pos - this.head >= this.window) return undefined;
    if (pos >= this.firstFailed) return undefined;
    if (file.ref.location.kind === 's3' && !file.downloaded) return undefined;
    return file;
  }

  private start(file: FileState, pw: PoolWorker): FileJob {
    this.nextToStart++;
    pw.jobs++;
    file.worker = pw;
    file.localPath = file.ref.location.kind === 'local' ? file.ref.location.path : file.localPath;
    const job: FileJob = {
      index: file.ref.index,
      name: file.ref.key,
      path: file.localPath!,
      md5: file.ref.md5,
      plan: this.opts.plan,
      spillPath: path.join(this.tmpDir!, `rows-${file.ref.index}.csv`),
      spillAfterBytes: this.opts.spillAfterBytes ?? DEFAULT_SPILL_AFTER_BYTES,
    };
    if (pw !== this.here) pw.post({ type: 'scan', job });
    return job;
  }

  /**
   * Whether the main thread may scan `file` itself: a small CSV file (Parquet goes to the workers, whose heap is capped
   * for it), while no worker thread runs yet or throughout when every file is small.
   */
  private mainThreadMayScan(file: FileState): boolean {
    return (
      this.opts.plan.format === 'CSV' &&
      this.smallEnoughHere(file.ref) &&
      (this.mainThreadScans || !this.workers.some((w) => w.online))
    );
  }

  private smallEnoughHere(ref: DataFileRef): boolean {
    const limit = this.opts.mainThreadScanBytes ?? MAIN_THREAD_SCAN_BYTES;
    return limit > 0 && (ref.size ?? Infinity) <= limit;
  }

  /**
   * Instead of waiting for a worker, the main thread scans the next small file itself (see `MAIN_THREAD_SCAN_BYTES`).
   * @returns whether it scanned one
   */
  private async scanHere(): Promise<boolean> {
    if (this.failure || this.closed) return false;
    const file = this.startable();
    if (!file || !this.mainThreadMayScan(file)) return false;
    await scanFile(this.start(file, this.here), this.herePort);
    return true;
  }

  /** Downloads S3 data files one at a time, at most one ahead of the files the workers may be handed. */
  private prefetch(): void {
    if (this.downloading || this.failure) return;
    const pos = this.nextToDownload;
    const file = this.files[pos];
    if (!file || pos - this.head >= this.window + 1) return;
    if (file.ref.location.kind !== 's3') {
      this.nextToDownload++;
      this.prefetch();
      return;
    }
    const loc = file.ref.location;
    this.downloading = true;
    this.nextToDownload++;
    const dest = path.join(this.tmpDir!, `data-${file.ref.index}`);
    const url = `s3://${loc.bucket}/${loc.key}`;
    void (async () => {
      try {
        const out = await this.opts.s3
          .send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: this.opts.signal })
          .catch((err: unknown) => {
            const e = err as { name?: string };
            if (e.name === 'NoSuchKey') {
              throw inventoryNotFound(`inventory data file ${url} does not exist (listed in the manifest)`);
            }
            throw s3Failure(err, `reading inventory data file ${url}`);
          });
        await pipeline(out.Body as Readable, createWriteStream(dest));
        file.localPath = dest;
        file.downloaded = true;
        this.downloading = false;
        this.schedule();
      } catch (err) {
        this.downloading = false;
        this.firstFailed = Math.min(this.firstFailed, pos);
        file.error = err instanceof Error ? err : new Error(String(err));
        this.notify();
      }
    })();
  }

  private async waitFor(): Promise<void> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    if (this.failure) throw this.failure;
  }

  /** The rows and totals of every file, in file order. */
  async *events(): AsyncGenerator<ScanEvent> {
    const { signal } = this.opts;
    const onAbort = () => this.fail(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal?.addEventListener('abort', onAbort);
    try {
      if (signal?.aborted) onAbort();
      if (this.failure) throw this.failure;
      await this.init();
      this.schedule();
      while (this.head < this.files.length) {
        const file = this.files[this.head]!;
        const item = file.queue.shift();
        if (item) {
          yield { type: 'rows', index: file.ref.index, chunk: item.chunk, rows: item.rows };
          // The caller is done with the chunk: its buffer goes back to the worker for the next one.
          const ack: ToWorker = { type: 'ack', bytes: item.chunk.length, buffer: item.buffer };
          file.worker?.post(ack, item.buffer ? [item.buffer] : []);
          if (this.failure) throw this.failure;
          continue;
        }
        if (file.error) throw file.error;
        if (!file.done) {
          if (!(await this.scanHere())) await this.waitFor();
          continue;
        }
        if (file.done.spill) yield* this.readSpill(file.ref.index, file.done.spill.path);
        if (file.ref.location.kind === 's3' && file.localPath) await fsp.rm(file.localPath, { force: true });
        yield { type: 'done', index: file.ref.index, totals: file.done.totals };
        this.head++;
        this.schedule();
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Hands on a file of rows (spilled, or written by DuckDB), then removes it. */
  private async *readSpill(index: number, spillPath: string): AsyncGenerator<ScanEvent> {
    try {
      for await (const chunk of rowChunks(spillPath)) {
        yield { type: 'rows', index, chunk, rows: countLines(chunk) };
        if (this.failure) throw this.failure;
      }
    } finally {
      await fsp.rm(spillPath, { force: true });
    }
  }

  /** Stops the workers and removes temporary files. */
  async close(): Promise<void> {
    this.closed = true;
    this.notify();
    await Promise.all(this.workers.map((w) => w.worker?.terminate()));
    if (this.tmpDir) await fsp.rm(this.tmpDir, { recursive: true, force: true });
  }
}

function countLines(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(0x0a); i !== -1; i = b.indexOf(0x0a, i + 1)) n++;
  return n;
}
