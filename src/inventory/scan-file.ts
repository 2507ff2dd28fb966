/**
 * Scanning one data file: read, verify its MD5, inflate, and filter its rows. Runs on a scan worker thread (see
 * scan-worker.ts), and on the main thread for small files instead of waiting for a worker (see `MAIN_THREAD_SCAN_BYTES`
 * in scan-pool.ts). Manifest rows go to the consumer in chunks; when the consumer falls behind (it writes files
 * strictly in order), further rows of the file go to a spill file on local disk instead, so neither side holds more
 * than a few chunks.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, promises as fsp, writeSync } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

import { CsvScanner, InventoryDataError } from './csv-scanner';
import { NativeGunzip } from './native-scan';
import type { ScanPlan } from './plan';
import type { RowsFile } from './rows-file';
import { mergeSample, returnOutputBuffer, sampleCeiling, type ScanStats } from './scan-output';
import type { ManifestTotals } from './types';

/** One data file to scan. */
export interface FileJob {
  index: number;
  /** The manifest's key for the file, for messages. */
  name: string;
  /** Local path of the file's bytes. */
  path: string;
  /** Expected MD5, lower-case hex. */
  md5: string;
  plan: ScanPlan;
  /** Where to put rows the main thread is not ready for. */
  spillPath: string;
  /** Unconsumed bytes in flight to the main thread before rows go to the spill file instead. */
  spillAfterBytes: number;
}

/**
 * Main thread → worker: scan a file (after the ones handed over before it), or the main thread is done with `bytes`
 * of rows (and hands back their buffer, when it was sent whole).
 */
export type ToWorker = { type: 'scan'; job: FileJob } | { type: 'ack'; bytes: number; buffer?: ArrayBuffer };

/** What went wrong with a data file: malformed, corrupt (MD5), missing, or a read error (retryable). */
export type ScanErrorCode = 'data' | 'md5' | 'missing' | 'io';

/** Worker → main thread: rows of a file (in order), its totals when done, or its error. */
export type FromWorker =
  | { type: 'rows'; index: number; data: Uint8Array; rows: number }
  | { type: 'done'; index: number; totals: ManifestTotals; spill?: RowsFile }
  | { type: 'error'; index: number; code: ScanErrorCode; message: string };

/** Read size for data files: big reads keep syscall and stream overhead negligible. */
const READ_BYTES = 1 << 20;
/**
 * node:zlib's gunzip output chunk (used without the native addon). zlib allocates a fresh buffer per chunk, garbage
 * until the worker's next GC: at 1 MiB that garbage was ~30 MB of peak RSS on `bench:manifest --shapes files-32`
 * (224 → 194 MB); 256 KiB costs ~5% more CPU (more thread-pool round trips; baseline shape, 2.05–2.16 against
 * 1.95–2.01 CPU-seconds), 64 KiB was clearly slower.
 */
const GUNZIP_CHUNK_BYTES = 256 << 10;

/**
 * Where the scans of one scanner (a worker thread, or one pool's scans on the main thread: one file at a time either
 * way) send their messages, with the bytes of rows they sent that are not yet acknowledged.
 */
export interface ScanPort {
  post(msg: FromWorker, transfer?: ArrayBuffer[]): void;
  inFlight: number;
  /**
   * The native inflater's input and output, reused file after file: no fresh pages per file. Per port, not per
   * thread: two builds in one process each scan on the main thread.
   */
  buffers?: { input: Buffer; out: Buffer };
  /**
   * The sample of the files this scanner finished in this build, merged: it bounds which keys of its next file can
   * still enter the build's sample (see `sampleCeiling`).
   */
  sample?: [number, string][];
}

/** Sends rows to the main thread, or to the spill file once the main thread is far enough behind. */
class RowSender {
  private fd: number | undefined;
  spilledRows = 0;
  spilledBytes = 0;

  constructor(
    private readonly job: FileJob,
    readonly port: ScanPort,
  ) {}

  emit = (chunk: Buffer, rows: number): void => {
    if (this.fd === undefined && this.port.inFlight + chunk.length <= this.job.spillAfterBytes) {
      this.port.inFlight += chunk.length;
      // The chunk owns its whole ArrayBuffer (allocUnsafeSlow), so it can be transferred without a copy.
      const view = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
      this.port.post({ type: 'rows', index: this.job.index, data: view, rows }, [chunk.buffer as ArrayBuffer]);
      return;
    }
    this.fd ??= openSync(this.job.spillPath, 'w');
    writeSync(this.fd, chunk);
    this.spilledRows += rows;
    this.spilledBytes += chunk.length;
  };

  close(): RowsFile | undefined {
    if (this.fd === undefined) return undefined;
    closeSync(this.fd);
    return { path: this.job.spillPath, rows: this.spilledRows, bytes: this.spilledBytes };
  }
}

/** A CSV scanner for `job` that offers to its sample only keys that may still enter the build's (`sampleCeiling`). */
function csvScanner(job: FileJob, sender: RowSender): CsvScanner {
  return new CsvScanner(job.plan, sender.emit, {
    sampleCeiling: sampleCeiling(sender.port.sample ?? [], job.plan.sampleSize),
  });
}

/** MD5 of a whole file, read into one reused buffer (a read stream's fresh buffer per chunk is garbage to collect). */
async function md5OfFile(path: string): Promise<string> {
  const hash = createHash('md5');
  const buf = Buffer.allocUnsafeSlow(READ_BYTES);
  const fh = await fsp.open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

/** Inflated bytes per call of the native inflater, into one buffer reused for the whole file. */
const NATIVE_GUNZIP_CHUNK_BYTES = 1 << 20;

/**
 * Reads, hashes, inflates and scans a CSV data file on this thread alone, with the native inflater: each 1 MiB read
 * is hashed, then inflated 1 MiB at a time into one reused buffer, which the scanner parses before the next.
 */
async function scanCsvNative(
  job: FileJob,
  sender: RowSender,
  gunzip: NativeGunzip,
): Promise<{ stats: ScanStats; md5: string }> {
  const hash = createHash('md5');
  const scanner = csvScanner(job, sender);
  sender.port.buffers ??= {
    input: Buffer.allocUnsafeSlow(READ_BYTES),
    out: Buffer.allocUnsafeSlow(NATIVE_GUNZIP_CHUNK_BYTES),
  };
  const { input, out } = sender.port.buffers;
  const fh = await fsp.open(job.path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await fh.read(input, 0, input.length, null);
      if (bytesRead === 0) break;
      hash.update(input.subarray(0, bytesRead));
      let pos = 0;
      while (pos < bytesRead) {
        const [next, written] = gunzip.inflate(input, pos, bytesRead, out);
        pos = next;
        // The scanner copies what it keeps of a chunk (a row cut at its end), so `out` can be refilled.
        if (written > 0) scanner.push(out.subarray(0, written));
      }
    }
    gunzip.finish();
  } finally {
    await fh.close();
  }
  scanner.end();
  return { stats: scanner.stats, md5: hash.digest('hex') };
}

async function scanCsv(job: FileJob, sender: RowSender): Promise<{ stats: ScanStats; md5: string }> {
  const gunzip = NativeGunzip.create();
  if (gunzip) return scanCsvNative(job, sender, gunzip);
  const hash = createHash('md5');
  const scanner = csvScanner(job, sender);
  // Hash the compressed bytes as they pass, in a byte-mode step (an async generator step is object mode and would
  // buffer up to 16 whole chunks).
  const md5 = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  let parseError: unknown;
  let inflated = false;
  try {
    await pipeline(
      createReadStream(job.path, { highWaterMark: READ_BYTES }),
      md5,
      createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES }),
      async (source: AsyncIterable<Buffer>) => {
        try {
          for await (const chunk of source) scanner.push(chunk);
          inflated = true;
        } catch (err) {
          parseError = err;
          throw err;
        }
      },
    );
  } catch (err) {
    // When the last step throws, pipeline may reject with the AbortError it used to stop the other steps.
    if (parseError) throw parseError;
    // Zero bytes after the last member end the inflate early, as in gunzipSync (and the native inflater): the rest
    // of the file, still being read, is stopped with an AbortError. The rows are all in; hash the whole file.
    if (!inflated || (err as Error).name !== 'AbortError') throw err;
    scanner.end();
    return { stats: scanner.stats, md5: await md5OfFile(job.path) };
  }
  scanner.end();
  return { stats: scanner.stats, md5: hash.digest('hex') };
}

async function scanParquetFile(
  job: FileJob,
  sender: RowSender,
): Promise<{ stats: ScanStats; md5: string; rowsFile?: RowsFile }> {
  // Parquet needs random access (the footer first), so the file is verified as a whole before it is parsed.
  if (job.plan.keyRegex === undefined) {
    // DuckDB reads the file while it is hashed; its rows are handed on only once the hash matches.
    const { scanParquetWithDuckDB } = await import('./parquet-duckdb');
    const hashing = md5OfFile(job.path);
    hashing.catch(() => undefined);
    let mismatch: string | undefined;
    const verify = async () => {
      const md5 = await hashing;
      if (md5 !== job.md5) {
        mismatch = md5;
        throw new Error('corrupt');
      }
    };
    const path = `${job.spillPath}.duckdb`;
    try {
      const { stats, bytes } = await scanParquetWithDuckDB(job.path, job.plan, path, verify);
      return { stats, md5: await hashing, rowsFile: { path, rows: stats.rowsSelected, bytes } };
    } catch (err) {
      const md5 = mismatch ?? (await hashing.catch(() => undefined));
      if (md5 !== undefined && md5 !== job.md5) return { stats: undefined as never, md5 };
      throw err;
    }
  }
  const md5 = await md5OfFile(job.path);
  if (md5 !== job.md5) return { stats: undefined as never, md5 };
  const { scanParquet } = await import('./parquet-scanner');
  const fh = await fsp.open(job.path, 'r');
  try {
    const { size } = await fh.stat();
    const file = {
      byteLength: size,
      async slice(start: number, end?: number): Promise<ArrayBuffer> {
        const stop = Math.min(end ?? size, size);
        const buf = new ArrayBuffer(Math.max(0, stop - start));
        const view = new Uint8Array(buf);
        let off = 0;
        while (off < view.length) {
          const { bytesRead } = await fh.read(view, off, view.length - off, start + off);
          if (bytesRead === 0) break;
          off += bytesRead;
        }
        return buf;
      },
    };
    return { stats: await scanParquet(file, job.plan, sender.emit), md5 };
  } finally {
    await fh.close();
  }
}

function corruptMessage(job: FileJob, md5: string): string {
  return `inventory data file ${job.name} is corrupt: its MD5 is ${md5}, the manifest says ${job.md5}`;
}

/** Scans a file and reports it through `port`: its rows, then its totals or its error (never throws). */
export async function scanFile(job: FileJob, port: ScanPort): Promise<void> {
  const send = (msg: FromWorker) => port.post(msg);
  const sender = new RowSender(job, port);
  try {
    const { stats, md5, rowsFile }: { stats: ScanStats; md5: string; rowsFile?: RowsFile } =
      job.plan.format === 'Parquet' ? await scanParquetFile(job, sender) : await scanCsv(job, sender);
    if (md5 !== job.md5) {
      send({
        type: 'error',
        index: job.index,
        code: 'md5',
        message: corruptMessage(job, md5),
      });
      return;
    }
    port.sample = mergeSample(port.sample ?? [], stats.sample, job.plan.sampleSize);
    send({ type: 'done', index: job.index, totals: stats.toTotals(), spill: rowsFile ?? sender.close() });
  } catch (err) {
    sender.close();
    const e = err as NodeJS.ErrnoException;
    // A corrupt file usually fails to decompress or parse before its MD5 is known: say it is corrupt, which is why.
    const md5 = e.code === 'ENOENT' ? undefined : await md5OfFile(job.path).catch(() => undefined);
    if (md5 !== undefined && md5 !== job.md5) {
      send({ type: 'error', index: job.index, code: 'md5', message: corruptMessage(job, md5) });
      return;
    }
    const code: ScanErrorCode =
      e.code === 'ENOENT' ? 'missing' : err instanceof InventoryDataError || e.code?.startsWith('Z_') ? 'data' : 'io';
    const what = code === 'missing' ? 'does not exist' : code === 'data' ? 'is malformed' : 'could not be read';
    send({
      type: 'error',
      index: job.index,
      code,
      message: `inventory data file ${job.name} ${what}: ${e.message}`,
    });
  }
}

/** Takes an acknowledgement: the consumer is done with `bytes` of rows (and hands back their buffer when whole). */
export function acknowledge(port: ScanPort, msg: Extract<ToWorker, { type: 'ack' }>): void {
  port.inFlight -= msg.bytes;
  if (msg.buffer) returnOutputBuffer(msg.buffer);
}
