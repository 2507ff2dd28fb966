/**
 * The tracking set in S3:
 *
 *   <prefix>/tracking/index.json                        the commit record: each shard's current generation, counts
 *   <prefix>/tracking/shards/NNNNN/gen-GGGGGG.csv       shard NNNNN's rows, one immutable object per generation
 *   <prefix>/tracking/events/NNNNN/<batch-id>.csv       restore facts for shard NNNNN, immutable, deleted once applied
 *
 * A generation or an event file is written once (If-None-Match: *) and never overwritten. It counts only once
 * `index.json` names it, and `index.json` is only ever replaced conditionally (If-Match on the ETag its writer read,
 * If-None-Match: * for the first one): two writers can never interleave silently; the slower one gets 412.
 */
import type { Readable } from 'node:stream';

import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

import type { AdvanceRestoreTrackingResult, TrackingCounts, TrackingLocation } from '../shared/restore-tracking-types';
import type { RestoreFact } from './events';
import type { HistogramJson } from './histogram';
import { formatFacts, formatShard, parseFacts, parseShard, TrackingFileError, type TrackingRow } from './rows';

export const INDEX_FORMAT = 's3-campaigns/restore-tracking@1';

/** What one step did to one shard; kept in the shard's entry so that a resumed step reports the same totals. */
export interface ShardStepStats {
  restored: number;
  extended: number;
  expired: number;
  failed: number;
  reRequested: number;
  /** Absent in entries written by earlier releases. */
  requeued?: number;
  waveRows: number;
  tooLarge: number;
  eventsApplied: number;
  eventsUnmatched: number;
  heads: number;
  restoreRequests: number;
}

export interface ShardEntry {
  /** The current generation. */
  gen: number;
  rows: number;
  counts: TrackingCounts;
  /** The earliest expiry among the rows the expiry guard protects (ISO); absent when none. */
  earliestExpiry?: string;
  /** Rows the guard protects whose copy expired within the step's `expiringWithinMs` when `gen` was written. */
  expiringSoon?: number;
  /** The waves whose queued rows the guard protected when `gen` was written: once one ends, the shard is redone. */
  guardedWaves?: number[];
  /** Event files already applied to `gen` that may still exist (they are deleted after the commit). */
  applied: string[];
  /** The step that wrote `gen`. */
  step?: string;
  stepStats?: ShardStepStats;
}

/** The step that holds the index (the last to claim it). */
export interface StepClaim {
  id: string;
  /** Temporal's attempt number of the activity that claimed: a lower attempt of the same step is stale. */
  attempt: number;
  claimedAt: string;
  /** The copy wave this step fills, if any. */
  waveId?: number;
  /** The wave manifest's multipart upload, so that a successor can abort it. */
  wave?: { bucket: string; key: string; uploadId: string };
}

export interface TrackingIndex {
  format: typeof INDEX_FORMAT;
  createdAt: string;
  requestedAt: string;
  tier?: string;
  maxObjectsPerShard: number;
  shardCount: number;
  objects: number;
  /** Manifest rows that named an object already listed (tracked once). */
  duplicates?: number;
  /** With a precheck: the manifests of the objects that still needed a restore. */
  restoreManifests?: { bucket: string; key: string; etag: string; rows: number; versioned?: boolean }[];
  /** Whether rows carry version ids (the source manifests had a third column). */
  versioned: boolean;
  /** Every bucket with tracked objects. */
  buckets: string[];
  source: { manifests: { bucket: string; key: string; etag: string }[] };
  shards: ShardEntry[];
  /** Restore durations per `<storage class>/<tier>`. */
  durations: Record<string, HistogramJson>;
  /** The last wave id given out. */
  waves: number;
  /** Waves whose step never finished: their rows go back to `restored` when their shard is next advanced. */
  abandonedWaves: number[];
  step?: StepClaim;
  /** The result of the last step that finished, returned again to a retry of that step. */
  lastResult?: AdvanceRestoreTrackingResult;
}

/** A conditional write lost: someone else wrote the object since it was read. */
export class ConditionalWriteConflict extends Error {
  override name = 'ConditionalWriteConflict';
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export const trackingKeys = (loc: TrackingLocation) => {
  const base = `${loc.prefix}/tracking`;
  return {
    base,
    index: `${base}/index.json`,
    shardDir: (s: number) => `${base}/shards/${pad(s, 5)}/`,
    generation: (s: number, gen: number) => `${base}/shards/${pad(s, 5)}/gen-${pad(gen, 6)}.csv`,
    eventDir: (s: number) => `${base}/events/${pad(s, 5)}/`,
    eventFile: (s: number, batchId: string) => `${base}/events/${pad(s, 5)}/${batchId}.csv`,
  };
};

function isPreconditionFailure(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  // 409 ConditionalRequestConflict: AWS's answer when a conflicting conditional write is still in flight.
  return (
    e.name === 'PreconditionFailed' ||
    e.name === 'ConditionalRequestConflict' ||
    e.$metadata?.httpStatusCode === 412 ||
    (e.$metadata?.httpStatusCode === 409 && e.name !== 'RestoreAlreadyInProgress')
  );
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

async function* bodyChunks(body: unknown): AsyncIterable<string> {
  const stream = body as Readable;
  stream.setEncoding('utf8');
  for await (const chunk of stream) yield chunk as string;
}

/** S3 reads and writes of one tracking set. */
export class TrackingStore {
  readonly keys: ReturnType<typeof trackingKeys>;

  constructor(
    readonly s3: S3Client,
    readonly loc: TrackingLocation,
    private readonly signal?: AbortSignal,
  ) {
    this.keys = trackingKeys(loc);
  }

  private get opts() {
    return { abortSignal: this.signal };
  }

  /** The index and its ETag, or undefined when there is none yet. */
  async readIndex(): Promise<{ index: TrackingIndex; etag: string } | undefined> {
    try {
      const out = await this.s3.send(
        new GetObjectCommand({ Bucket: this.loc.bucket, Key: this.keys.index }),
        this.opts,
      );
      const text = (await out.Body?.transformToString('utf8')) ?? '';
      let index: TrackingIndex;
      try {
        index = JSON.parse(text) as TrackingIndex;
      } catch {
        throw new TrackingFileError(`s3://${this.loc.bucket}/${this.keys.index} is not JSON`);
      }
      if (index?.format !== INDEX_FORMAT) {
        throw new TrackingFileError(
          `s3://${this.loc.bucket}/${this.keys.index} is not a tracking index (format ${String(index?.format)})`,
        );
      }
      return { index, etag: out.ETag ?? '' };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Replaces the index only if it is still the one read (`ifMatch`), or creates it only if there is none (`ifMatch`
   * undefined). @returns the new ETag. @throws ConditionalWriteConflict when that is no longer so.
   */
  async writeIndex(index: TrackingIndex, ifMatch: string | undefined): Promise<string> {
    try {
      const out = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.loc.bucket,
          Key: this.keys.index,
          Body: JSON.stringify(index),
          ContentType: 'application/json',
          ...(ifMatch === undefined ? { IfNoneMatch: '*' } : { IfMatch: ifMatch }),
        }),
        this.opts,
      );
      return out.ETag ?? '';
    } catch (err) {
      if (isPreconditionFailure(err)) {
        throw new ConditionalWriteConflict(
          `s3://${this.loc.bucket}/${this.keys.index} changed since it was read (another writer holds it)`,
        );
      }
      throw err;
    }
  }

  async readShard(shard: number, gen: number): Promise<TrackingRow[]> {
    const key = this.keys.generation(shard, gen);
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.loc.bucket, Key: key }), this.opts);
    return parseShard(bodyChunks(out.Body), `s3://${this.loc.bucket}/${key}`);
  }

  /**
   * Writes generation `gen` of a shard, or the next free one when `gen` exists already (written by an attempt that
   * lost the index, never referenced). @returns the generation written.
   */
  async writeShard(shard: number, gen: number, rows: readonly TrackingRow[], overwrite = false): Promise<number> {
    const body = formatShard(rows);
    // A few tries: each lost attempt that died after writing its generation leaves one unreferenced number behind.
    for (let g = gen; g < gen + 16; g++) {
      try {
        await this.s3.send(
          new PutObjectCommand({
            Bucket: this.loc.bucket,
            Key: this.keys.generation(shard, g),
            Body: body,
            ContentType: 'text/csv',
            ...(overwrite ? {} : { IfNoneMatch: '*' }),
          }),
          this.opts,
        );
        return g;
      } catch (err) {
        if (!isPreconditionFailure(err)) throw err;
      }
    }
    throw new ConditionalWriteConflict(`shard ${shard}: generations ${gen}-${gen + 15} all exist already`);
  }

  /** Names (without `.csv`) of the event files waiting for a shard, in name order. */
  async listEventFiles(shard: number): Promise<string[]> {
    const prefix = this.keys.eventDir(shard);
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.loc.bucket, Prefix: prefix, ContinuationToken: token }),
        this.opts,
      );
      for (const o of page.Contents ?? []) {
        const name = (o.Key ?? '').slice(prefix.length);
        if (name.endsWith('.csv') && !name.includes('/')) names.push(name.slice(0, -4));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return names.sort();
  }

  async readEventFile(shard: number, name: string): Promise<RestoreFact[]> {
    const key = this.keys.eventFile(shard, name);
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.loc.bucket, Key: key }), this.opts);
    return parseFacts(bodyChunks(out.Body), `s3://${this.loc.bucket}/${key}`);
  }

  /** Writes an event file once; an existing one (a retried write of the same batch) is left as it is. */
  async writeEventFile(shard: number, name: string, facts: readonly RestoreFact[]): Promise<void> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.loc.bucket,
          Key: this.keys.eventFile(shard, name),
          Body: formatFacts(facts),
          ContentType: 'text/csv',
          IfNoneMatch: '*',
        }),
        this.opts,
      );
    } catch (err) {
      if (!isPreconditionFailure(err)) throw err;
    }
  }

  /** Deletes keys (best effort: what is left is deleted by a later step). */
  async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.s3
        .send(
          new DeleteObjectsCommand({
            Bucket: this.loc.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
          this.opts,
        )
        .catch(() => undefined);
    }
  }
}
