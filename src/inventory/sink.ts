/**
 * Where manifest rows go: shards of at most `maxObjectsPerJob` rows, written to S3 as multipart uploads or to a
 * local directory as `.partial` files. Nothing appears under a final key or name until `finish`: every S3 upload
 * stays open (and every local file partial) until the whole build is done, so a cancelled or failed build leaves no
 * half-written manifest, and a retried one can pick up any earlier checkpoint's uploads and go on.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

import { createLogger, type Logger } from '../logging';
import { s3Failure } from './errors';
import type { ManifestShard, ShardState } from './types';

/** S3's minimum part size is 5 MiB; 8 MiB parts keep the part list (heartbeat details) short and memory small. */
export const PART_BYTES = 8 << 20;
/** Parts uploading at once: enough to hide latency, bounded so memory stays at a few parts. */
const PARTS_IN_FLIGHT = 2;

/** The file or object name of shard `i` (0-based): `manifest-00001.csv`, … */
export function shardName(i: number): string {
  return `manifest-${String(i + 1).padStart(5, '0')}.csv`;
}

/** The state a build checkpoints: every shard begun (the last one open) and how many rows are durable. */
export interface SinkCheckpoint {
  shards: ShardState[];
  durableRows: number;
}

/** Rows in, shards out. Calls must not overlap (each awaits the previous). */
export interface ManifestSink {
  /**
   * Appends `rows` whole lines. `chunk` is the sink's only until the returned promise settles (its memory is then
   * reused for other rows): keep a copy of anything kept longer.
   */
  write(chunk: Buffer, rows: number): Promise<void>;
  /** Waits for writes in flight; returns what is durable (everything but the open shard's unsent tail). */
  checkpoint(): Promise<SinkCheckpoint>;
  /** Writes the rest and publishes every shard under its final key, in order. */
  finish(): Promise<ManifestShard[]>;
  /** Discards everything not yet published (best effort; never throws). */
  abort(): Promise<void>;
  /**
   * Lets go of open files and waits for writes in flight, keeping what is written for a retry to resume (after a
   * failure that is not final). Idempotent; never throws.
   */
  release(): Promise<void>;
}

/** Where the byte offset just after the `n`-th line end of `b` is (n ≥ 1). */
function afterLine(b: Buffer, n: number): number {
  let pos = -1;
  for (let k = 0; k < n; k++) pos = b.indexOf(0x0a, pos + 1);
  return pos + 1;
}

/** Splits rows into shards; subclasses store them. */
abstract class ShardedSink implements ManifestSink {
  /** Rows in the open shard, written or buffered. */
  protected openRows = 0;
  protected count: number;

  protected constructor(
    protected readonly maxRows: number,
    resumed: readonly ShardState[],
  ) {
    this.count = resumed.length;
    this.openRows = resumed[resumed.length - 1]?.rows ?? 0;
  }

  protected abstract startShard(index: number): Promise<void>;
  protected abstract append(index: number, chunk: Buffer, rows: number): Promise<void>;
  protected abstract endShard(index: number): Promise<void>;
  abstract checkpoint(): Promise<SinkCheckpoint>;
  abstract finish(): Promise<ManifestShard[]>;
  abstract abort(): Promise<void>;
  abstract release(): Promise<void>;

  async write(chunk: Buffer, rows: number): Promise<void> {
    while (rows > 0) {
      if (this.count === 0 || this.openRows === this.maxRows) {
        this.count++;
        this.openRows = 0;
        await this.startShard(this.count - 1);
      }
      const index = this.count - 1;
      const room = this.maxRows - this.openRows;
      const take = Math.min(room, rows);
      const cut = take === rows ? chunk.length : afterLine(chunk, take);
      await this.append(index, chunk.subarray(0, cut), take);
      this.openRows += take;
      if (this.openRows === this.maxRows) await this.endShard(index);
      chunk = chunk.subarray(cut);
      rows -= take;
    }
  }
}

interface S3Shard extends ShardState {
  uploadId?: string;
  parts: string[];
  pending: Buffer[];
  pendingBytes: number;
  pendingRows: number;
}

/** The ETag S3 gives a multipart object: MD5 of the parts' binary MD5s, then `-<part count>`. */
function multipartETag(partETags: readonly string[]): string {
  const h = createHash('md5');
  for (const e of partETags) h.update(Buffer.from(e.replace(/"/g, ''), 'hex'));
  return `${h.digest('hex')}-${partETags.length}`;
}

const unquote = (etag: string | undefined) => (etag ?? '').replace(/"/g, '');

/** Shards as S3 objects `<prefix>/manifest-NNNNN.csv`, each written by a multipart upload. */
export class S3ManifestSink extends ShardedSink {
  private readonly shards: S3Shard[];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    maxRows: number,
    resumed: readonly ShardState[] = [],
    private readonly log: Logger = createLogger('inventory'),
    private readonly signal?: AbortSignal,
  ) {
    super(maxRows, resumed);
    this.shards = resumed.map((s) => ({
      ...s,
      parts: [...(s.parts ?? [])],
      pending: [],
      pendingBytes: 0,
      pendingRows: 0,
    }));
  }

  /** The S3 key of shard `i`. */
  key(i: number): string {
    return this.prefix === '' ? shardName(i) : `${this.prefix}/${shardName(i)}`;
  }

  /**
   * Checks that the uploads a resumed build continues still exist (an expired or aborted one means starting over),
   * then aborts any other upload under this build's shard names (left by a lost attempt).
   * @returns false when a resumed upload is gone.
   */
  async prepare(): Promise<boolean> {
    for (const [i, s] of this.shards.entries()) {
      if (!s.uploadId) continue;
      try {
        await this.s3.send(
          new ListPartsCommand({ Bucket: this.bucket, Key: this.key(i), UploadId: s.uploadId, MaxParts: 1 }),
        );
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e.name === 'NoSuchUpload' || e.$metadata?.httpStatusCode === 404) return false;
        throw s3Failure(err, `checking upload of s3://${this.bucket}/${this.key(i)}`);
      }
    }
    const known = new Set(this.shards.map((s) => s.uploadId));
    const namePattern = /^manifest-\d{5}\.csv$/;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    const listPrefix = this.prefix === '' ? 'manifest-' : `${this.prefix}/manifest-`;
    for (;;) {
      const page = await this.s3
        .send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: listPrefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        )
        .catch((err: unknown) => {
          throw s3Failure(err, `listing uploads under s3://${this.bucket}/${listPrefix}`);
        });
      for (const u of page.Uploads ?? []) {
        const name = (u.Key ?? '').slice(listPrefix.length - 'manifest-'.length);
        if (!namePattern.test(name) || known.has(u.UploadId)) continue;
        this.log.info('aborting a stale manifest upload', { key: u.Key, uploadId: u.UploadId });
        await this.s3
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }))
          .catch(() => undefined);
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
    return true;
  }

  protected async startShard(index: number): Promise<void> {
    this.shards[index] = { rows: 0, bytes: 0, parts: [], pending: [], pendingBytes: 0, pendingRows: 0 };
  }

  protected async append(index: number, chunk: Buffer, rows: number): Promise<void> {
    const s = this.shards[index]!;
    // Chunks belong to the caller's loop; copy only what is kept beyond this call.
    s.pending.push(Buffer.from(chunk));
    s.pendingBytes += chunk.length;
    s.pendingRows += rows;
    if (s.pendingBytes >= PART_BYTES) await this.sendPart(index);
  }

  protected async endShard(index: number): Promise<void> {
    await this.sendPart(index);
  }

  private async sendPart(index: number): Promise<void> {
    if (this.failure) throw this.failure;
    const s = this.shards[index]!;
    if (s.pendingRows === 0) return;
    const key = this.key(index);
    if (!s.uploadId) {
      const out = await this.s3
        .send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: 'text/csv' }))
        .catch((err: unknown) => {
          throw s3Failure(err, `starting upload of s3://${this.bucket}/${key}`);
        });
      s.uploadId = out.UploadId!;
    }
    const body = Buffer.concat(s.pending);
    const rows = s.pendingRows;
    s.pending = [];
    s.pendingBytes = 0;
    s.pendingRows = 0;
    const partNumber = s.parts.length + 1;
    s.parts.push('');
    while (this.inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const p: Promise<void> = this.s3
      .send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: s.uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
        }),
        { abortSignal: this.signal },
      )
      .then((out) => {
        s.parts[partNumber - 1] = unquote(out.ETag);
        s.rows += rows;
        s.bytes += body.length;
      })
      .catch((err: unknown) => {
        this.failure ??= s3Failure(err, `uploading part ${partNumber} of s3://${this.bucket}/${key}`);
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  async checkpoint(): Promise<SinkCheckpoint> {
    await this.drain();
    const shards = this.shards.map((s) => ({
      rows: s.rows,
      bytes: s.bytes,
      uploadId: s.uploadId,
      parts: [...s.parts],
    }));
    return { shards, durableRows: shards.reduce((n, s) => n + s.rows, 0) };
  }

  async finish(): Promise<ManifestShard[]> {
    if (this.count > 0) await this.sendPart(this.count - 1);
    await this.drain();
    const out: ManifestShard[] = [];
    for (const [i, s] of this.shards.entries()) {
      const key = this.key(i);
      const parts = s.parts.map((etag, n) => ({ PartNumber: n + 1, ETag: etag }));
      let etag: string;
      try {
        const res = await this.s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: s.uploadId,
            MultipartUpload: { Parts: parts },
          }),
        );
        etag = unquote(res.ETag);
      } catch (err) {
        // A lost attempt may have completed this very upload already: accept the object if it is exactly ours.
        if ((err as { name?: string }).name !== 'NoSuchUpload') {
          throw s3Failure(err, `completing s3://${this.bucket}/${key}`);
        }
        const head = await this.s3
          .send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))
          .catch(() => undefined);
        etag = unquote(head?.ETag);
        if (etag !== multipartETag(s.parts)) throw s3Failure(err, `completing s3://${this.bucket}/${key}`);
      }
      out.push({ key, etag, rows: s.rows, bytes: s.bytes });
    }
    return out;
  }

  async release(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  async abort(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    await Promise.allSettled(
      this.shards.map((s, i) =>
        s.uploadId
          ? this.s3.send(
              new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(i), UploadId: s.uploadId }),
            )
          : Promise.resolve(),
      ),
    );
  }
}

/** Shards as files `<dir>/manifest-NNNNN.csv`, written as `.partial` files and renamed by `finish`. */
export class LocalManifestSink extends ShardedSink {
  private readonly shards: ShardState[];
  /** MD5 of each shard written from its first byte in this run; resumed shards are hashed again at the end. */
  private readonly hashes: (Hash | undefined)[] = [];
  private handle: fsp.FileHandle | undefined;
  private handleIndex = -1;

  constructor(
    private readonly dir: string,
    maxRows: number,
    resumed: readonly ShardState[] = [],
  ) {
    super(maxRows, resumed);
    this.shards = resumed.map((s) => ({ rows: s.rows, bytes: s.bytes }));
  }

  private partial(i: number): string {
    return path.join(this.dir, `.${shardName(i)}.partial`);
  }

  /** Cuts the open shard back to its checkpointed length. @returns false when a resumed partial file is gone. */
  async prepare(): Promise<boolean> {
    await fsp.mkdir(this.dir, { recursive: true });
    for (const [i, s] of this.shards.entries()) {
      const stat = await fsp.stat(this.partial(i)).catch(() => undefined);
      if (!stat || stat.size < s.bytes) return false;
    }
    const last = this.shards.length - 1;
    if (last >= 0) {
      this.handle = await fsp.open(this.partial(last), 'r+');
      await this.handle.truncate(this.shards[last]!.bytes);
      this.handleIndex = last;
    }
    return true;
  }

  private async openFor(index: number): Promise<fsp.FileHandle> {
    if (this.handle && this.handleIndex === index) return this.handle;
    await this.handle?.close();
    this.handle = await fsp.open(this.partial(index), 'w');
    this.handleIndex = index;
    return this.handle;
  }

  protected async startShard(index: number): Promise<void> {
    this.shards[index] = { rows: 0, bytes: 0 };
    this.hashes[index] = createHash('md5');
    await this.openFor(index);
  }

  protected async append(index: number, chunk: Buffer, rows: number): Promise<void> {
    const fh = await this.openFor(index);
    const s = this.shards[index]!;
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await fh.write(chunk, off, chunk.length - off, s.bytes + off);
      off += bytesWritten;
    }
    s.bytes += chunk.length;
    s.rows += rows;
    this.hashes[index]?.update(chunk);
  }

  protected async endShard(): Promise<void> {}

  async checkpoint(): Promise<SinkCheckpoint> {
    const shards = this.shards.map((s) => ({ rows: s.rows, bytes: s.bytes }));
    return { shards, durableRows: shards.reduce((n, s) => n + s.rows, 0) };
  }

  async finish(): Promise<ManifestShard[]> {
    await this.handle?.close();
    this.handle = undefined;
    const out: ManifestShard[] = [];
    for (const [i, s] of this.shards.entries()) {
      const final = path.join(this.dir, shardName(i));
      await fsp.truncate(this.partial(i), s.bytes);
      await fsp.rename(this.partial(i), final);
      let hash = this.hashes[i];
      if (!hash) {
        hash = createHash('md5');
        for await (const c of createReadStream(final)) hash.update(c as Buffer);
      }
      out.push({ key: final, etag: hash.digest('hex'), rows: s.rows, bytes: s.bytes });
    }
    return out;
  }

  async release(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }

  async abort(): Promise<void> {
    await this.release();
    await Promise.allSettled(this.shards.map((_s, i) => fsp.rm(this.partial(i), { force: true })));
  }
}
