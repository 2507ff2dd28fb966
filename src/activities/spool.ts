/**
 * Local temporary files of lines, for activities whose data may not fit in memory (a 10M-task job's completion
 * report): write lines with backpressure, read them back one at a time.
 */
import { createReadStream, createWriteStream, promises as fsp, type WriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** Temporary directories older than this are left over from a process that died: removed when the next is made. */
const STALE_MS = 24 * 60 * 60 * 1000;

/**
 * A private temporary directory (under `root`, by default `TMPDIR`), removed with everything in it by `remove`. Directories of the same
 * label left by a worker that was killed are removed once they are a day old.
 */
export async function tempDir(
  label: string,
  root = os.tmpdir(),
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const prefix = `s3c-${label}-`;
  const names = await fsp.readdir(root).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(prefix))) {
    const p = path.join(root, name);
    const stat = await fsp.stat(p).catch(() => undefined);
    if (stat?.isDirectory() && Date.now() - stat.mtimeMs > STALE_MS) {
      await fsp.rm(p, { recursive: true, force: true }).catch(() => undefined);
    }
  }
  const dir = await fsp.mkdtemp(path.join(root, prefix));
  return { dir, remove: () => fsp.rm(dir, { recursive: true, force: true }) };
}

/** Appends lines to a file; `await` each write so memory stays at the stream's buffer. */
export class LineFile {
  private readonly out: WriteStream;
  private failure: Error | undefined;
  bytes = 0;

  constructor(readonly path: string) {
    this.out = createWriteStream(path);
    this.out.on('error', (err) => (this.failure ??= err));
  }

  /** Writes `text` as it is (include the line end). */
  async write(text: string): Promise<void> {
    if (this.failure) throw this.failure;
    this.bytes += Buffer.byteLength(text);
    if (!this.out.write(text)) {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        this.out.once('error', onError);
        this.out.once('drain', () => {
          this.out.off('error', onError);
          resolve();
        });
      });
    }
  }

  private closing: Promise<void> | undefined;

  /** Flushes and closes the file; later calls wait for the first. */
  async close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve, reject) => {
      this.out.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
    await this.closing;
    if (this.failure) throw this.failure;
  }
}

/**
 * The lines of a file (without line ends), one at a time, read with backpressure. Breaking out of a `for await`, or
 * calling `return()`, closes the file.
 */
export function readLines(file: string): AsyncIterableIterator<string> {
  const input = createReadStream(file, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Infinity });
  const lines = rl[Symbol.asyncIterator]();
  const close = () => {
    rl.close();
    // Closed before its file was opened, the stream may still fail to open it (a folder removed meanwhile, as an
    // analysis does right after closing its readers): nobody reads it any more, and with no listener that error
    // would be an uncaught exception that ends the worker process.
    input.on('error', () => undefined);
    input.destroy();
  };
  return {
    next: () => lines.next(),
    return: async (value?: unknown) => {
      close();
      return { done: true, value: value as string };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
