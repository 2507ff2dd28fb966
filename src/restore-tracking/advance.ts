/**
 * One tracking step over every shard, in order, one shard in memory at a time:
 *
 *   load the current generation → send requeued copy failures back to `requested` → apply new event facts → HEAD
 *   `requested` rows (when a sweep is due) → expiry guard on restored rows → re-request expired rows (optional) →
 *   move restored rows into the copy wave → write the next generation → replace the index (If-Match) → delete the
 *   applied event files
 *
 * A shard in which the step has nothing to do (no event file, nothing for the sweep, the wave, the guard or a requeue,
 * as its index entry tells) is skipped: neither read nor rewritten, and its entry keeps the step that last wrote it.
 *
 * Idempotency and resume. The step claims the index first (its id and Temporal attempt number, a conditional write),
 * which fences off any older attempt still running: its next index write fails with 412 and it stops. Every shard is
 * committed by one conditional index write that also records the step's id and what the step did to that shard, so a
 * retried attempt skips committed shards (whatever its heartbeat says: heartbeats are throttled and may lag) and
 * still reports the totals of an uninterrupted step. A finished step records its result; a retry returns it.
 *
 * The wave manifest is one multipart upload, completed at the end of the step, so no half-written wave is ever
 * visible. A retried attempt restarts it cleanly: it aborts the earlier upload (named in the index and the heartbeat)
 * and rewrites the rows of committed shards (state `queued`, this wave) before going on. Continuing the old upload
 * would trust part lists that may be stale and would let a fenced-off attempt still write parts into it.
 */
import { setMaxListeners } from 'node:events';
import type { Readable } from 'node:stream';

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  UploadPartCommand,
  type S3Client,
  type Tier,
} from '@aws-sdk/client-s3';

import { CsvParser } from '../csv';
import { decodeManifestKey, encodeManifestKey } from '../inventory/key-encoding';
import type { Logger } from '../logging';
import {
  UNRESTORED_COPY_ERROR_CODES,
  type AdvanceRestoreTrackingInput,
  type AdvanceRestoreTrackingResult,
  type TrackingCounts,
} from '../shared/restore-tracking-types';
import type { RestoreFact } from './events';
import { addSample, emptyHistogram, mergeHistogram, summarize, type HistogramJson } from './histogram';
import { headObject, requestRestore, sdkTier, type HeadOutcome } from './object-ops';
import { forEachPaced, TokenBucket } from './rate-limit';
import { estimateRestoreExpiry } from './restore-header';
import {
  countRows,
  emptyCounts,
  EXPIRY_UNKNOWN,
  objectId,
  TrackingFileError,
  versionMatches,
  type TrackingRow,
} from './rows';
import { shardOf } from './shard-hash';
import {
  ConditionalWriteConflict,
  TrackingStore,
  type ShardEntry,
  type ShardStepStats,
  type TrackingIndex,
} from './store';

/** @see AdvanceRestoreTrackingInput.expiryMarginMs */
export const DEFAULT_EXPIRY_MARGIN_MS = 2 * 24 * 60 * 60 * 1000;
/** @see AdvanceRestoreTrackingInput.expirationDays */
export const DEFAULT_EXPIRATION_DAYS = 7;
/** HEADs in flight: enough to hide S3's ~20-50 ms latency without queuing in the SDK's socket pool (50). */
export const DEFAULT_HEAD_CONCURRENCY = 32;
/** HEADs per second: S3 serves 5,500 GET/HEAD per second per prefix; stay far below it for other readers. */
export const DEFAULT_HEAD_RATE = 500;
/** Wave manifest parts: S3's minimum is 5 MiB (except the last); a part ends at a shard boundary once over this. */
export const WAVE_PART_BYTES = 8 << 20;

/** The step's progress, heartbeated after every shard. Small; the index in S3 is the truth, this is a hint. */
export interface AdvanceCheckpoint {
  stepId: string;
  /** Shards done (committed or found committed), in order. */
  shardsDone: number;
  indexETag: string;
  wave?: { uploadId: string; parts: number; rows: number };
}

export interface AdvanceHooks {
  signal?: AbortSignal;
  /** Temporal's attempt number (1 for the first). */
  attempt: number;
  /** The last heartbeat of an earlier attempt, if any. */
  resume?: unknown;
  onProgress: (cp: AdvanceCheckpoint) => void;
  log: Logger;
  /** The clock (tests move it). @default Date.now */
  now?: () => number;
}

/** The tracking set does not exist. */
export class TrackingNotFoundError extends Error {
  override name = 'TrackingNotFoundError';
}

/**
 * Another attempt (or step) holds the index: this one must stop. `retryable` when it lost only the race to claim
 * (a lagging older attempt wrote in between): a retry reads the index again and claims it.
 */
export class StaleWriterError extends Error {
  override name = 'StaleWriterError';

  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

const emptyStats = (): Required<ShardStepStats> => ({
  restored: 0,
  extended: 0,
  expired: 0,
  failed: 0,
  reRequested: 0,
  requeued: 0,
  waveRows: 0,
  tooLarge: 0,
  eventsApplied: 0,
  eventsUnmatched: 0,
  heads: 0,
  restoreRequests: 0,
});

/** Collects the wave manifest's lines into parts of a multipart upload that is completed only at the end. */
class WaveWriter {
  private readonly parts: { PartNumber: number; ETag: string }[] = [];
  private buf: string[] = [];
  private bufBytes = 0;
  rows = 0;

  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    readonly key: string,
    readonly uploadId: string,
    private readonly signal?: AbortSignal,
  ) {}

  get partCount(): number {
    return this.parts.length;
  }

  add(line: string): void {
    this.buf.push(line, '\n');
    this.bufBytes += line.length + 1;
    this.rows += 1;
  }

  /** Uploads what is buffered as a part once there is enough of it (call at shard boundaries). */
  async flushIfFull(): Promise<void> {
    if (this.bufBytes >= WAVE_PART_BYTES) await this.uploadPart();
  }

  private async uploadPart(): Promise<void> {
    const PartNumber = this.parts.length + 1;
    const out = await this.s3.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        PartNumber,
        Body: Buffer.from(this.buf.join(''), 'utf8'),
      }),
      { abortSignal: this.signal },
    );
    this.parts.push({ PartNumber, ETag: out.ETag ?? '' });
    this.buf = [];
    this.bufBytes = 0;
  }

  /** Completes the manifest; with no row, aborts the upload and returns undefined. */
  async complete(): Promise<string | undefined> {
    if (this.rows === 0) {
      await this.abort();
      return undefined;
    }
    if (this.bufBytes > 0) await this.uploadPart();
    const out = await this.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: this.parts },
      }),
      { abortSignal: this.signal },
    );
    return (out.ETag ?? '').replace(/"/g, '');
  }

  async abort(): Promise<void> {
    await abortUpload(this.s3, this.bucket, this.key, this.uploadId);
  }
}

async function abortUpload(s3: S3Client, bucket: string, key: string, uploadId: string): Promise<void> {
  await s3
    .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
    .catch(() => undefined);
}

function isCheckpoint(v: unknown): v is AdvanceCheckpoint {
  return typeof v === 'object' && v !== null && typeof (v as AdvanceCheckpoint).stepId === 'string';
}

const isRestored = (r: TrackingRow) => r.state === 'restored' || r.state === 'skipped-restored';
const isDate = (s: string) => s !== '' && s !== EXPIRY_UNKNOWN;

/** The manifest line of a row: `bucket,key[,versionId]`, key URL-encoded. */
function manifestLine(r: TrackingRow, versioned: boolean): string {
  const base = `${r.bucket},${encodeManifestKey(r.key)}`;
  return versioned ? `${base},${r.versionId || 'null'}` : base;
}

function sumCounts(entries: readonly ShardEntry[]): TrackingCounts {
  const c = emptyCounts();
  for (const e of entries) for (const [k, v] of Object.entries(e.counts)) c[k as keyof TrackingCounts] += v;
  return c;
}

/**
 * The rows of `requeue`'s failed.csv with one of its error codes, by shard: object id → error code.
 * @returns the map and how many rows it holds
 */
async function readRequeueRows(
  s3: S3Client,
  requeue: NonNullable<AdvanceRestoreTrackingInput['requeue']>,
  shardCount: number,
  signal?: AbortSignal,
): Promise<{ byShard: Map<number, Map<string, string>>; rows: number }> {
  const codes = new Set(requeue.errorCodes ?? UNRESTORED_COPY_ERROR_CODES);
  const where = `s3://${requeue.failures.bucket}/${requeue.failures.key}`;
  const out = await s3.send(new GetObjectCommand({ Bucket: requeue.failures.bucket, Key: requeue.failures.key }), {
    abortSignal: signal,
  });
  const body = out.Body as Readable;
  body.setEncoding('utf8');
  const byShard = new Map<number, Map<string, string>>();
  let rows = 0;
  const parser = new CsvParser();
  const take = (records: ReturnType<CsvParser['push']>) => {
    for (const rec of records) {
      const [bucket, rawKey, versionId, code] = rec.fields;
      if (rec.line === 1 && bucket === 'bucket') continue;
      if (code === undefined || !codes.has(code) || !bucket || rawKey === undefined) continue;
      let key: string;
      try {
        key = decodeManifestKey(rawKey);
      } catch {
        throw new TrackingFileError(`${where} line ${rec.line}: key is not URL encoding`);
      }
      const shard = shardOf(bucket, key, shardCount);
      let m = byShard.get(shard);
      if (!m) byShard.set(shard, (m = new Map()));
      const id = objectId(bucket, key, versionId ?? '');
      if (!m.has(id)) rows += 1;
      m.set(id, code);
    }
  };
  for await (const chunk of body) take(parser.push(chunk as string));
  take(parser.end());
  return { byShard, rows };
}

/** Runs one step. See the file comment for the guarantees. */
export async function advanceTracking(
  s3: S3Client,
  input: AdvanceRestoreTrackingInput,
  hooks: AdvanceHooks,
): Promise<AdvanceRestoreTrackingResult> {
  const now = hooks.now ?? Date.now;
  const signal = hooks.signal;
  const store = new TrackingStore(s3, input.tracking, signal);
  const where = `s3://${input.tracking.bucket}/${store.keys.index}`;
  const margin = input.expiryMarginMs ?? DEFAULT_EXPIRY_MARGIN_MS;
  const days = input.expirationDays ?? DEFAULT_EXPIRATION_DAYS;
  const tier: Tier | undefined = sdkTier(input.tier ?? 'Standard');
  const expiringWithin = input.expiringWithinMs ?? 2 * margin;
  const bucket = new TokenBucket(input.headRatePerSecond ?? DEFAULT_HEAD_RATE);
  const concurrency = input.headConcurrency ?? DEFAULT_HEAD_CONCURRENCY;
  // Every request in flight listens on the signal: lift Node's warning threshold (10) above the concurrency.
  if (signal) setMaxListeners(concurrency + 16, signal);

  const read = await store.readIndex();
  if (!read) throw new TrackingNotFoundError(`no tracking set at ${where}`);
  const index: TrackingIndex = read.index;
  let etag = read.etag;
  if (index.lastResult?.stepId === input.stepId) return index.lastResult;

  // 1. Claim the index for this step and attempt.
  const prev = index.step;
  if (prev && prev.id === input.stepId && prev.attempt > hooks.attempt) {
    throw new StaleWriterError(
      `attempt ${prev.attempt} of step ${input.stepId} holds ${where}; this is attempt ${hooks.attempt}`,
    );
  }
  const uploadsToAbort = new Map<string, { bucket: string; key: string; uploadId: string }>();
  if (prev?.wave) uploadsToAbort.set(prev.wave.uploadId, prev.wave);
  if (isCheckpoint(hooks.resume) && hooks.resume.stepId === input.stepId && hooks.resume.wave && input.wave) {
    const { uploadId } = hooks.resume.wave;
    uploadsToAbort.set(uploadId, { bucket: input.tracking.bucket, key: input.wave.manifestKey, uploadId });
  }
  const prevFinished = prev !== undefined && index.lastResult?.stepId === prev.id;
  if (
    prev &&
    prev.id !== input.stepId &&
    !prevFinished &&
    prev.waveId !== undefined &&
    !index.abandonedWaves.includes(prev.waveId)
  ) {
    // That step never finished (no recorded result): nobody will copy its wave; its rows go back to `restored`.
    hooks.log.warn('an unfinished step left a wave behind; its objects return to restored', {
      step: prev.id,
      wave: prev.waveId,
    });
    index.abandonedWaves.push(prev.waveId);
  }
  for (const u of uploadsToAbort.values()) await abortUpload(s3, u.bucket, u.key, u.uploadId);
  const waveId = input.wave
    ? prev?.id === input.stepId && prev.waveId !== undefined
      ? prev.waveId
      : (index.waves += 1)
    : undefined;
  let wave: WaveWriter | undefined;
  if (input.wave && waveId !== undefined) {
    const created = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: input.tracking.bucket,
        Key: input.wave.manifestKey,
        ContentType: 'text/csv',
      }),
      { abortSignal: signal },
    );
    wave = new WaveWriter(s3, input.tracking.bucket, input.wave.manifestKey, created.UploadId!, signal);
  }
  index.step = {
    id: input.stepId,
    attempt: hooks.attempt,
    claimedAt: new Date(now()).toISOString(),
    waveId,
    wave: wave ? { bucket: wave.bucket, key: wave.key, uploadId: wave.uploadId } : undefined,
  };
  const abandoned = new Set(index.abandonedWaves);
  // The waves whose copies may still read their sources, this step's own included: the guard protects their rows.
  const activeWaves = new Set([...(input.activeWaves ?? []), ...(waveId !== undefined ? [waveId] : [])]);
  const guarded = (r: TrackingRow) =>
    isRestored(r) || (r.state === 'queued' && r.wave !== undefined && activeWaves.has(r.wave));
  const requeue = input.requeue
    ? await readRequeueRows(s3, input.requeue, index.shardCount, signal)
    : { byShard: new Map<number, Map<string, string>>(), rows: 0 };
  try {
    try {
      etag = await store.writeIndex(index, etag);
    } catch (err) {
      if (err instanceof ConditionalWriteConflict) {
        throw new StaleWriterError(`${where} changed while step ${input.stepId} claimed it: ${err.message}`, true);
      }
      throw err;
    }

    let shardsResumed = 0;
    const checkpoint = (shardsDone: number): AdvanceCheckpoint => ({
      stepId: input.stepId,
      shardsDone,
      indexETag: etag,
      wave: wave ? { uploadId: wave.uploadId, parts: wave.partCount, rows: wave.rows } : undefined,
    });

    // 2. Every shard in order.
    for (let s = 0; s < index.shardCount; s++) {
      if (signal?.aborted) throw signal.reason;
      const entry = index.shards[s]!;
      if (entry.step === input.stepId) {
        shardsResumed += 1;
        if (wave && (entry.stepStats?.waveRows ?? 0) > 0) {
          for (const r of await store.readShard(s, entry.gen)) {
            if (r.state === 'queued' && r.wave === waveId) wave.add(manifestLine(r, index.versioned));
          }
          await wave.flushIfFull();
        }
        hooks.onProgress(checkpoint(s + 1));
        continue;
      }
      const waveRoom = input.wave ? Math.max(0, input.wave.maxObjects - (wave?.rows ?? 0)) : 0;
      const listed = await store.listEventFiles(s);
      if (idle(s, entry, listed)) {
        hooks.onProgress(checkpoint(s + 1));
        continue;
      }
      const done = await advanceShard(s, entry, waveRoom, listed);
      const gen = await store.writeShard(s, entry.gen + 1, done.rows);
      const counts = countRows(done.rows);
      let earliest: string | undefined;
      let expiringSoon = 0;
      const soon = now() + expiringWithin;
      const guardedWaves = new Set<number>();
      for (const r of done.rows) {
        if (!guarded(r) || !isDate(r.expiresAt)) continue;
        if (r.state === 'queued') guardedWaves.add(r.wave!);
        if (earliest === undefined || r.expiresAt < earliest) earliest = r.expiresAt;
        if (Date.parse(r.expiresAt) < soon) expiringSoon += 1;
      }
      index.shards[s] = {
        gen,
        rows: done.rows.length,
        counts,
        ...(earliest ? { earliestExpiry: earliest } : {}),
        ...(expiringSoon ? { expiringSoon } : {}),
        ...(guardedWaves.size ? { guardedWaves: [...guardedWaves].sort((a, b) => a - b) } : {}),
        applied: done.applied,
        step: input.stepId,
        stepStats: done.stats,
      };
      for (const [group, h] of done.durations) mergeHistogram((index.durations[group] ??= emptyHistogram()), h);
      try {
        etag = await store.writeIndex(index, etag);
      } catch (err) {
        if (err instanceof ConditionalWriteConflict) {
          throw new StaleWriterError(`step ${input.stepId} attempt ${hooks.attempt} lost ${where}: ${err.message}`);
        }
        throw err;
      }
      // Applied files are deleted once the generation that applied them is committed; names a crash left behind
      // (applied, still listed) are deleted now too, and leave the list once they are no longer listed.
      if (done.applied.length > 0) {
        await store.deleteKeys(done.applied.map((n) => store.keys.eventFile(s, n)));
      }
      if (wave) {
        for (const line of done.waveLines) wave.add(line);
        await wave.flushIfFull();
      }
      hooks.onProgress(checkpoint(s + 1));
    }

    // 3. The wave, then the result, recorded for a retry of this step.
    let waveRef: AdvanceRestoreTrackingResult['wave'];
    if (wave) {
      const waveEtag = await wave.complete();
      if (waveEtag !== undefined) {
        waveRef = {
          bucket: wave.bucket,
          key: wave.key,
          etag: waveEtag,
          rows: wave.rows,
          waveId: waveId!,
          ...(index.versioned ? { versioned: true } : {}),
        };
      }
    }
    const stats = emptyStats();
    for (const e of index.shards) {
      if (e.step !== input.stepId) continue;
      for (const [k, v] of Object.entries(e.stepStats ?? {})) stats[k as keyof ShardStepStats] += v;
    }
    let nextEarliestExpiry: string | undefined;
    let expiringSoon = 0;
    for (const e of index.shards) {
      if (e.earliestExpiry && (nextEarliestExpiry === undefined || e.earliestExpiry < nextEarliestExpiry)) {
        nextEarliestExpiry = e.earliestExpiry;
      }
      expiringSoon += e.expiringSoon ?? 0;
    }
    const result: AdvanceRestoreTrackingResult = {
      stepId: input.stepId,
      counts: sumCounts(index.shards),
      restoredInStep: stats.restored,
      extensionsIssued: stats.extended,
      expiredInStep: stats.expired,
      failedInStep: stats.failed,
      reRequested: stats.reRequested,
      ...(input.requeue
        ? { requeued: stats.requeued, requeueUnmatched: Math.max(0, requeue.rows - stats.requeued) }
        : {}),
      ...(waveRef ? { wave: waveRef } : {}),
      tooLargeForWave: stats.tooLarge,
      ...(nextEarliestExpiry ? { nextEarliestExpiry } : {}),
      expiringSoon,
      eventsApplied: stats.eventsApplied,
      eventsUnmatched: stats.eventsUnmatched,
      headRequests: stats.heads,
      restoreRequests: stats.restoreRequests,
      shardsResumed,
      durations: summarize(index.durations),
    };
    // Every shard has now been through this step, which put the rows of abandoned waves back.
    index.abandonedWaves = [];
    index.step = { ...index.step!, wave: undefined };
    index.lastResult = result;
    try {
      await store.writeIndex(index, etag);
    } catch (err) {
      if (err instanceof ConditionalWriteConflict) {
        throw new StaleWriterError(`step ${input.stepId} attempt ${hooks.attempt} lost ${where}: ${err.message}`);
      }
      throw err;
    }
    return result;
  } catch (err) {
    // Nothing of an open wave upload is worth keeping: a retry rebuilds it from the committed shards.
    if (wave) await wave.abort();
    throw err;
  }

  /**
   * Whether this step has nothing to do in a shard, as far as the index and its event files tell: then it is neither
   * read nor rewritten, so a step that only applies a few events costs a LIST per shard, not a rewrite of the set.
   */
  function idle(s: number, entry: ShardEntry, listed: readonly string[]): boolean {
    const c = entry.counts;
    const restored = c.restored + c['skipped-restored'];
    if (listed.length > 0) return false;
    if (input.sweep && c.requested + restored > 0) return false;
    if (input.wave && restored > 0) return false;
    if (input.reRequestExpired && c.expired > 0) return false;
    if (requeue.byShard.has(s)) return false;
    if (abandoned.size > 0 && c.queued > 0) return false;
    // A wave whose rows it guarded has ended: its earliest expiry and expiring-soon count no longer hold.
    if (entry.guardedWaves?.some((w) => !activeWaves.has(w))) return false;
    return !(entry.earliestExpiry !== undefined && Date.parse(entry.earliestExpiry) - now() < margin);
  }

  /** One shard: reads it, applies everything, returns its next rows (not yet written). */
  async function advanceShard(
    s: number,
    entry: ShardEntry,
    waveRoom: number,
    listed: string[],
  ): Promise<{
    rows: TrackingRow[];
    stats: ShardStepStats;
    durations: Map<string, HistogramJson>;
    applied: string[];
    waveLines: string[];
  }> {
    const rows = await store.readShard(s, entry.gen);
    const stats = emptyStats();
    const durations = new Map<string, HistogramJson>();
    const nowMs = now();
    const nowIso = new Date(nowMs).toISOString();
    const group = (r: TrackingRow) => `${r.storageClass || 'UNKNOWN'}/${(index.tier ?? 'UNKNOWN').toUpperCase()}`;
    const markRestored = (r: TrackingRow, restoredAt: string, expiresAt: string) => {
      r.state = 'restored';
      r.restoredAt = restoredAt;
      r.expiresAt = expiresAt;
      stats.restored += 1;
      const from = Date.parse(r.requestedAt);
      const to = Date.parse(restoredAt);
      if (!Number.isNaN(from) && !Number.isNaN(to)) {
        let h = durations.get(group(r));
        if (!h) durations.set(group(r), (h = emptyHistogram()));
        addSample(h, to - from);
      }
    };
    const markFailed = (r: TrackingRow, note: string) => {
      r.state = 'failed';
      r.note = note;
      stats.failed += 1;
    };
    const markExpired = (r: TrackingRow, note: string) => {
      r.state = 'expired';
      r.note = note;
      stats.expired += 1;
    };
    const learn = (r: TrackingRow, h: HeadOutcome) => {
      if (h.missing) return;
      if (h.size !== undefined) r.size = h.size;
      r.storageClass = h.storageClass;
    };

    // Rows of a wave nobody will copy go back to restored.
    for (const r of rows) {
      if (r.state === 'queued' && r.wave !== undefined && abandoned.has(r.wave)) {
        r.state = 'restored';
        r.note = `wave ${r.wave} abandoned (its step never finished)`;
        r.wave = undefined;
      }
    }

    const paced = (list: TrackingRow[], fn: (r: TrackingRow) => Promise<void>) =>
      forEachPaced(list, { concurrency, bucket, signal }, fn);
    const head = async (r: TrackingRow) => {
      stats.heads += 1;
      return headObject(s3, r, signal);
    };
    const restore = async (r: TrackingRow) => {
      stats.restoreRequests += 1;
      return requestRestore(s3, r, days, tier, signal);
    };

    // Copies that failed because their source read as not restored: back to waiting, restore asked again if needed.
    const failedCopies = requeue.byShard.get(s);
    if (input.requeue && failedCopies) {
      const waveOf = input.requeue.waveId;
      const back = rows.filter(
        (r) => r.state === 'queued' && r.wave === waveOf && failedCopies.has(objectId(r.bucket, r.key, r.versionId)),
      );
      await paced(back, async (r) => {
        const code = failedCopies.get(objectId(r.bucket, r.key, r.versionId));
        r.state = 'requested';
        r.wave = undefined;
        r.requestedAt = nowIso;
        r.restoredAt = '';
        r.expiresAt = '';
        r.note = `copy in wave ${waveOf} failed ${code} ${nowIso}: waiting for the restore again`;
        stats.requeued += 1;
        const h = await head(r);
        if (h.missing) return markFailed(r, 'NoSuchKey (HEAD 404)');
        learn(r, h);
        if (!h.archived || h.restore.state !== 'none') return;
        const outcome = await restore(r);
        if (outcome === 'missing') return markFailed(r, 'NoSuchKey (RestoreObject 404)');
        if (outcome === 'started' || outcome === 'in-progress') r.note += '; restore asked again';
      });
    }

    // a. Event facts not applied yet.
    const applied = new Set(entry.applied);
    const newlyApplied = listed.filter((n) => !applied.has(n));
    if (newlyApplied.length > 0) {
      const byKey = new Map<string, number[]>();
      rows.forEach((r, i) => {
        const k = `${r.bucket}\n${r.key}`;
        const list = byKey.get(k);
        if (list) list.push(i);
        else byKey.set(k, [i]);
      });
      for (const name of newlyApplied) {
        for (const f of await store.readEventFile(s, name)) {
          const hits = (byKey.get(`${f.bucket}\n${f.key}`) ?? []).filter((i) =>
            versionMatches(rows[i]!.versionId, f.versionId),
          );
          if (hits.length === 0) {
            stats.eventsUnmatched += 1;
            continue;
          }
          // At-least-once delivery, and on the local stack moto's own message next to the engine's: a fact counts as
          // applied when it changed an object's state, so each object restored by events counts once.
          let changed = false;
          for (const i of hits) changed = applyFact(rows[i]!, f) || changed;
          if (changed) stats.eventsApplied += 1;
        }
      }
    }

    /** Applies one fact to a row; true when it changed the row's state. */
    function applyFact(r: TrackingRow, f: RestoreFact): boolean {
      if (f.size !== undefined && r.size === undefined) r.size = f.size;
      if (f.storageClass && !r.storageClass) r.storageClass = f.storageClass;
      if (f.kind === 'completed') {
        // A completion whose copy has expired by now is history, not news.
        if (f.expiresAt && Date.parse(f.expiresAt) <= nowMs) return false;
        if (r.state === 'requested' || r.state === 'expired') {
          markRestored(r, f.eventTime || nowIso, f.expiresAt || EXPIRY_UNKNOWN);
          if (!f.expiresAt) r.note = 'restored (event without an expiry date)';
          return true;
        }
        // The same restore told again (or by a second sender): at most it brings the expiry a first one lacked.
        if (isRestored(r) && f.expiresAt && (!isDate(r.expiresAt) || f.expiresAt > r.expiresAt)) {
          r.expiresAt = f.expiresAt;
          if (r.note === 'restored (event without an expiry date)') r.note = '';
        }
        return false;
      }
      // `expired`: ignore one older than what the row knows (a copy restored again since).
      if (!isRestored(r) && r.state !== 'queued') return false;
      if (isDate(r.expiresAt) && f.eventTime && Date.parse(r.expiresAt) > Date.parse(f.eventTime) + DAY_MS) {
        return false;
      }
      if (r.state === 'queued') {
        r.note = `restored copy expired ${f.eventTime || nowIso} while queued in wave ${r.wave}`;
        return false;
      }
      markExpired(r, `restored copy expired ${f.eventTime || nowIso} (event)`);
      return true;
    }

    // b. The sweep: HEAD what is still waiting, and restored rows whose expiry no event told.
    if (input.sweep) {
      const due = rows.filter((r) => r.state === 'requested' || (isRestored(r) && r.expiresAt === EXPIRY_UNKNOWN));
      await paced(due, async (r) => {
        const h = await head(r);
        if (h.missing) return markFailed(r, 'NoSuchKey (HEAD 404)');
        learn(r, h);
        const rs = h.restore;
        const restored = rs.state === 'restored';
        const expiry = rs.state === 'restored' && rs.expiresAt ? rs.expiresAt.toISOString() : '';
        // A date we cannot read is not "never expires": keep asking.
        const noDate = rs.state === 'restored' && rs.badDate !== undefined ? EXPIRY_UNKNOWN : '';
        if (r.state === 'requested') {
          if (restored) markRestored(r, nowIso, expiry || noDate);
          else if (!h.archived && h.restore.state === 'none') {
            markRestored(r, nowIso, '');
            r.note = `not archived (${h.storageClass}): readable without a restore`;
          }
          return;
        }
        if (restored) r.expiresAt = expiry || noDate;
        else if (h.archived) markExpired(r, 'not restored any more (HEAD)');
        else r.expiresAt = '';
      });
    }

    // c. The expiry guard: restored rows about to expire before they are copied, and rows whose wave still copies.
    const expiring = rows.filter((r) => guarded(r) && isDate(r.expiresAt) && Date.parse(r.expiresAt) - nowMs < margin);
    await paced(expiring, async (r) => {
      const h = await head(r);
      // A queued row stays queued: its wave's copy reports what became of it (a copy that finds its source not
      // restored sends it back to waiting), and counting it here as well would count it twice.
      if (r.state === 'queued' && (h.missing || h.restore.state !== 'restored')) {
        r.note = `${h.missing ? 'missing' : 'not restored any more'} (HEAD ${nowIso}) while queued in wave ${r.wave}`;
        r.expiresAt = '';
        return;
      }
      if (h.missing) return markFailed(r, 'NoSuchKey (HEAD 404)');
      learn(r, h);
      if (h.restore.state !== 'restored') {
        if (!h.archived) r.expiresAt = '';
        else
          markExpired(r, h.restore.state === 'ongoing' ? 'expired; a new restore is running' : 'restored copy expired');
        return;
      }
      const seen = h.restore.expiresAt?.getTime();
      if (seen === undefined) {
        r.expiresAt = '';
        return;
      }
      if (seen - nowMs >= margin) {
        r.expiresAt = new Date(seen).toISOString();
        return;
      }
      const outcome = await restore(r);
      if (outcome === 'missing') return markFailed(r, 'NoSuchKey (RestoreObject 404)');
      if (outcome === 'not-archived') {
        r.expiresAt = '';
        return;
      }
      if (outcome === 'in-progress') {
        r.note = `extension refused: RestoreAlreadyInProgress ${nowIso}`;
        return;
      }
      stats.extended += 1;
      const after = await head(r);
      const moved = !after.missing && after.restore.state === 'restored' ? after.restore.expiresAt : undefined;
      const expiresAt = moved && moved.getTime() > seen ? moved : estimateRestoreExpiry(new Date(nowMs), days);
      r.expiresAt = expiresAt.toISOString();
      r.note = `extended ${nowIso} by ${days} d${moved && moved.getTime() > seen ? '' : ' (expiry estimated)'}`;
    });

    // d. Expired rows asked for again.
    if (input.reRequestExpired) {
      await paced(
        rows.filter((r) => r.state === 'expired'),
        async (r) => {
          const outcome = await restore(r);
          if (outcome === 'missing') return markFailed(r, 'NoSuchKey (RestoreObject 404)');
          stats.reRequested += 1;
          if (outcome === 'not-archived') {
            markRestored(r, nowIso, '');
            return;
          }
          if (outcome === 'restored') {
            const h = await head(r);
            const exp = !h.missing && h.restore.state === 'restored' ? h.restore.expiresAt : undefined;
            markRestored(r, nowIso, exp ? exp.toISOString() : EXPIRY_UNKNOWN);
            return;
          }
          r.state = 'requested';
          r.requestedAt = nowIso;
          r.restoredAt = '';
          r.expiresAt = '';
          r.note =
            outcome === 'in-progress' ? `re-requested ${nowIso} (already in progress)` : `re-requested ${nowIso}`;
        },
      );
    }

    // e. The wave.
    const waveLines: string[] = [];
    if (input.wave && waveId !== undefined) {
      const maxSize = input.wave.maxObjectSize;
      const minSize = input.wave.minObjectSize;
      for (const r of rows) {
        if (!isRestored(r)) continue;
        if (maxSize !== undefined && r.size !== undefined && r.size > maxSize) {
          stats.tooLarge += 1;
          continue;
        }
        // A wave of large objects only: one whose size is unknown goes to an ordinary wave (Batch copies it or says why).
        if (minSize !== undefined && (r.size === undefined || r.size <= minSize)) continue;
        if (waveLines.length >= waveRoom) continue;
        r.state = 'queued';
        r.wave = waveId;
        waveLines.push(manifestLine(r, index.versioned));
      }
      stats.waveRows = waveLines.length;
    }

    const stillListed = new Set(listed);
    return {
      rows,
      stats,
      durations,
      applied: [...entry.applied.filter((n) => stillListed.has(n)), ...newlyApplied],
      waveLines,
    };
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;
