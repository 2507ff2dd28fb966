/**
 * Streams manifest lines into S3 as one or more `S3BatchOperations_CSV_20180820` files of at most `maxRows` lines
 * each. Each file is a multipart upload, so nothing is visible under its key until it is complete; keys are
 * deterministic (`<prefix>-<shard>.csv`), so a retried activity overwrites its own earlier attempt.
 */
import { PassThrough } from 'node:stream';

import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import type { ManifestRef } from '../shared/campaign';

export interface ShardWriterOptions {
  s3: S3Client;
  bucket: string;
  /** Key prefix of the files; shard `n` is written to `<keyPrefix>-<n>.csv`. */
  keyPrefix: string;
  /** Lines per file at most. */
  maxRows: number;
  /** Whether lines carry a VersionId column (recorded in the refs). */
  versioned?: boolean;
  /** Aborts the open upload; nothing partial stays visible. */
  signal?: AbortSignal;
}

/** Writes lines (each without its `\n`) and returns one ref per file written; none for no lines. */
export class ManifestShardWriter {
  private readonly refs: ManifestRef[] = [];
  private body: PassThrough | undefined;
  private upload: Upload | undefined;
  private done: Promise<unknown> | undefined;
  private rows = 0;

  constructor(private readonly opts: ShardWriterOptions) {}

  private get shardKey(): string {
    return `${this.opts.keyPrefix}-${this.refs.length}.csv`;
  }

  private open(): void {
    this.body = new PassThrough();
    this.upload = new Upload({
      client: this.opts.s3,
      params: { Bucket: this.opts.bucket, Key: this.shardKey, Body: this.body, ContentType: 'text/csv' },
      // 8 MiB parts, a few in flight: enough for manifests of millions of lines without holding them in memory.
      partSize: 8 * 1024 * 1024,
      queueSize: 2,
    });
    this.done = this.upload.done();
    // Surface upload errors at close(); avoid an unhandled rejection meanwhile.
    this.done.catch(() => undefined);
    this.opts.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private readonly onAbort = () => {
    void this.upload?.abort();
  };

  /** Adds one line; resolves when the stream can take more (back-pressure). */
  async write(line: string): Promise<void> {
    if (!this.body) this.open();
    const ok = this.body!.write(line + '\n');
    this.rows += 1;
    if (!ok) await new Promise<void>((resolve) => this.body!.once('drain', resolve));
    if (this.rows >= this.opts.maxRows) await this.closeShard();
  }

  private async closeShard(): Promise<void> {
    if (!this.body) return;
    const key = this.shardKey;
    this.body.end();
    const res = (await this.done) as { ETag?: string };
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.refs.push({
      bucket: this.opts.bucket,
      key,
      etag: (res.ETag ?? '').replace(/"/g, ''),
      rows: this.rows,
      versioned: this.opts.versioned || undefined,
    });
    this.body = undefined;
    this.upload = undefined;
    this.done = undefined;
    this.rows = 0;
  }

  /** Completes the last file and returns every file written. */
  async close(): Promise<ManifestRef[]> {
    await this.closeShard();
    return this.refs;
  }

  /** Abandons the open file (its multipart upload is aborted). */
  async abort(): Promise<void> {
    if (this.upload) await this.upload.abort().catch(() => undefined);
    this.body?.destroy();
    await this.done?.catch(() => undefined);
  }
}
