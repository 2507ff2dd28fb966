/**
 * Creates a tracking set from the manifests of the restore job(s): every object becomes a `requested` row (or, with
 * `precheck`, `skipped-restored` / `failed` / `requested` after a HEAD), in the shard its bucket and key hash to.
 *
 * Memory stays flat: the manifests are streamed into one local spool file, which is split into one local file per
 * shard; then each shard is read, deduplicated and written to S3 one at a time. The index is written last, with
 * If-None-Match: *, so the tracking set exists completely or not at all; the generation-0 files a failed attempt
 * left are never referenced and are rewritten by the retry (the only case where a generation is written twice: it
 * cannot have been read by anyone).
 */
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { LineFile, readLines, tempDir } from '../activities/spool';
import { encodeManifestKey, decodeManifestKey } from '../inventory/key-encoding';
import type { Logger } from '../logging';
import { ManifestShardWriter } from '../manifest/shard-writer';
import { readCsvManifest } from '../manifest/csv-manifest';
import type { CreateRestoreTrackingInput, CreateRestoreTrackingResult } from '../shared/restore-tracking-types';
import { DEFAULT_HEAD_CONCURRENCY, DEFAULT_HEAD_RATE } from './advance';
import { headObject } from './object-ops';
import { forEachPaced, TokenBucket } from './rate-limit';
import { countRows, emptyCounts, type TrackingRow } from './rows';
import { shardOf } from './shard-hash';
import { ConditionalWriteConflict, INDEX_FORMAT, TrackingStore, type ShardEntry, type TrackingIndex } from './store';

/** @see CreateRestoreTrackingInput.maxObjectsPerShard: ~5-10 MB of CSV, read and rewritten in well under a second. */
export const DEFAULT_MAX_OBJECTS_PER_SHARD = 50_000;
/**
 * Shards are sized for 90% of the maximum on average: a hash spreads n rows with a spread of about √n, so at
 * 45,000 a shard over 50,000 is a 20-sigma event. Small test sets that overflow anyway get more shards.
 */
const FILL = 0.9;
/** Spooled lines buffered in memory before they are appended to the shard files. */
const SPOOL_BUFFER_BYTES = 4 << 20;
/** @see CreateRestoreTrackingInput.precheck */
const DEFAULT_MAX_OBJECTS_PER_MANIFEST = 1_000_000;

/** The tracking set exists already for other manifests. */
export class TrackingExistsError extends Error {
  override name = 'TrackingExistsError';
}

/** The manifests cannot make a tracking set (mixed version columns, nothing in them). */
export class TrackingInputError extends Error {
  override name = 'TrackingInputError';
}

/** Heartbeated after every shard written. */
export interface CreateCheckpoint {
  fingerprint: string;
  shardCount: number;
  shardsWritten: number;
}

export interface CreateHooks {
  signal?: AbortSignal;
  log: Logger;
  onProgress: (cp: CreateCheckpoint) => void;
  resume?: unknown;
  now?: () => number;
  /** Where the spool files go. @default TMPDIR */
  tmpDir?: string;
}

function isCreateCheckpoint(v: unknown): v is CreateCheckpoint {
  return typeof v === 'object' && v !== null && typeof (v as CreateCheckpoint).fingerprint === 'string';
}

const sameSource = (a: TrackingIndex['source']['manifests'], b: TrackingIndex['source']['manifests']) =>
  a.length === b.length && a.every((m, i) => m.bucket === b[i]!.bucket && m.key === b[i]!.key && m.etag === b[i]!.etag);

function existingResult(index: TrackingIndex, etag: string): CreateRestoreTrackingResult {
  return {
    objects: index.objects,
    shards: index.shardCount,
    duplicates: index.duplicates ?? 0,
    counts: sumEntries(index.shards),
    indexETag: etag,
    ...(index.restoreManifests ? { restoreManifests: index.restoreManifests } : {}),
    headRequests: 0,
    existed: true,
  };
}

export async function createTracking(
  s3: S3Client,
  input: CreateRestoreTrackingInput,
  hooks: CreateHooks,
): Promise<CreateRestoreTrackingResult> {
  const now = hooks.now ?? Date.now;
  const signal = hooks.signal;
  // Every request in flight listens on the signal: lift Node's warning threshold (10) above the concurrency.
  if (signal) setMaxListeners((input.precheck?.headConcurrency ?? DEFAULT_HEAD_CONCURRENCY) + 16, signal);
  const store = new TrackingStore(s3, input.tracking, signal);
  const maxPerShard = input.maxObjectsPerShard ?? DEFAULT_MAX_OBJECTS_PER_SHARD;
  if (!(maxPerShard >= 1)) throw new TrackingInputError(`maxObjectsPerShard must be at least 1 (got ${maxPerShard})`);
  if (input.manifests.length === 0) throw new TrackingInputError('no manifests: there is nothing to track');

  const currentSource = async () =>
    Promise.all(
      input.manifests.map(async (m) => {
        const out = await s3.send(new HeadObjectCommand({ Bucket: m.bucket, Key: m.key }), { abortSignal: signal });
        return { bucket: m.bucket, key: m.key, etag: (out.ETag ?? '').replace(/"/g, '') };
      }),
    );
  const existing = await store.readIndex();
  if (existing) {
    if (sameSource(existing.index.source.manifests, await currentSource())) {
      return existingResult(existing.index, existing.etag);
    }
    throw new TrackingExistsError(
      `s3://${input.tracking.bucket}/${store.keys.index} already tracks other manifests; use another folder`,
    );
  }

  const tmp = await tempDir('tracking', hooks.tmpDir);
  try {
    // 1. Every manifest row into one local file (validated like every manifest the project reads).
    const all = new LineFile(path.join(tmp.dir, 'all.csv'));
    const source: TrackingIndex['source']['manifests'] = [];
    let total = 0;
    let versioned: boolean | undefined;
    const buckets = new Set<string>();
    try {
      for (const m of input.manifests) {
        const read = await readCsvManifest(
          s3,
          `s3://${m.bucket}/${m.key}`,
          async (row) => {
            buckets.add(row.bucket);
            await all.write(`${row.bucket},${encodeManifestKey(row.decodedKey)},${row.versionId ?? ''}\n`);
          },
          { signal },
        );
        if (read.rows === 0) continue;
        if (versioned !== undefined && versioned !== read.versioned) {
          throw new TrackingInputError(
            `s3://${m.bucket}/${m.key} ${read.versioned ? 'has' : 'has no'} version ids and an earlier manifest ` +
              `${versioned ? 'has' : 'has none'}: version ids must be in all rows or in none`,
          );
        }
        versioned = read.versioned;
        total += read.rows;
        source.push({ bucket: m.bucket, key: m.key, etag: read.etag.replace(/"/g, '') });
      }
    } finally {
      await all.close();
    }
    if (total === 0) throw new TrackingInputError('the manifests list no object: there is nothing to track');

    // 2. Split into shards; more shards if one came out over the maximum.
    let shardCount = Math.max(1, Math.ceil(total / Math.max(1, Math.floor(maxPerShard * FILL))));
    let partDir = '';
    for (let tries = 0; ; tries++) {
      partDir = path.join(tmp.dir, `parts-${shardCount}`);
      const counts = await partition(path.join(tmp.dir, 'all.csv'), partDir, shardCount);
      const biggest = Math.max(...counts);
      if (biggest <= maxPerShard || tries >= 8) {
        if (biggest > maxPerShard) {
          hooks.log.warn('a shard is over the maximum (duplicate rows?)', { biggest, maxPerShard, shardCount });
        }
        break;
      }
      await fsp.rm(partDir, { recursive: true, force: true });
      shardCount = Math.ceil(shardCount * 1.25) + 1;
    }

    // 3. Each shard: deduplicate, (precheck), write generation 0.
    const fingerprint = createHash('sha256')
      .update(JSON.stringify({ source, maxPerShard, shardCount, precheck: input.precheck ?? null }))
      .digest('hex');
    const resume =
      isCreateCheckpoint(hooks.resume) && hooks.resume.fingerprint === fingerprint ? hooks.resume : undefined;
    const requestedAt = input.requestedAt ?? new Date(now()).toISOString();
    const pacer = new TokenBucket(input.precheck?.headRatePerSecond ?? DEFAULT_HEAD_RATE);
    const shards: ShardEntry[] = [];
    let objects = 0;
    let headRequests = 0;
    for (let s = 0; s < shardCount; s++) {
      if (signal?.aborted) throw signal.reason;
      let rows: TrackingRow[];
      if (resume && s < resume.shardsWritten) {
        rows = await store.readShard(s, 0);
      } else {
        rows = await shardRows(path.join(partDir, `${s}.csv`), requestedAt);
        if (input.precheck) {
          const minLifetime = input.precheck.minLifetimeMs;
          const nowMs = now();
          const nowIso = new Date(nowMs).toISOString();
          await forEachPaced(
            rows,
            { concurrency: input.precheck.headConcurrency ?? DEFAULT_HEAD_CONCURRENCY, bucket: pacer, signal },
            async (r) => {
              headRequests += 1;
              const h = await headObject(s3, r, signal);
              if (h.missing) {
                r.state = 'failed';
                r.note = 'NoSuchKey (HEAD 404)';
                return;
              }
              r.size = h.size;
              r.storageClass = h.storageClass;
              const exp = h.restore.state === 'restored' ? h.restore.expiresAt : undefined;
              const readable =
                (h.restore.state === 'restored' && (exp === undefined || exp.getTime() - nowMs >= minLifetime)) ||
                (!h.archived && h.restore.state === 'none');
              if (!readable) return;
              r.state = 'skipped-restored';
              r.restoredAt = nowIso;
              r.expiresAt = exp ? exp.toISOString() : '';
              r.note = h.archived ? 'already restored' : `not archived (${h.storageClass})`;
            },
          );
        }
        await store.writeShard(s, 0, rows, true);
      }
      objects += rows.length;
      let earliest: string | undefined;
      for (const r of rows) {
        if (r.state === 'skipped-restored' && r.expiresAt && (!earliest || r.expiresAt < earliest))
          earliest = r.expiresAt;
      }
      shards.push({
        gen: 0,
        rows: rows.length,
        counts: countRows(rows),
        ...(earliest ? { earliestExpiry: earliest } : {}),
        applied: [],
      });
      hooks.onProgress({ fingerprint, shardCount, shardsWritten: s + 1 });
    }

    // 4. With a precheck: the manifests of what still needs a restore.
    let restoreManifests: CreateRestoreTrackingResult['restoreManifests'];
    if (input.precheck) {
      const writer = new ManifestShardWriter({
        s3,
        bucket: input.tracking.bucket,
        keyPrefix: input.precheck.restoreManifestPrefix,
        maxRows: input.precheck.maxObjectsPerManifest ?? DEFAULT_MAX_OBJECTS_PER_MANIFEST,
        versioned: versioned === true,
        signal,
      });
      try {
        for (let s = 0; s < shardCount; s++) {
          if ((shards[s]!.counts.requested ?? 0) === 0) continue;
          for (const r of await store.readShard(s, 0)) {
            if (r.state !== 'requested') continue;
            const line = `${r.bucket},${encodeManifestKey(r.key)}`;
            await writer.write(versioned ? `${line},${r.versionId}` : line);
          }
        }
        restoreManifests = (await writer.close()).map((m) => ({
          bucket: m.bucket,
          key: m.key,
          etag: m.etag,
          rows: m.rows,
          ...(m.versioned ? { versioned: true } : {}),
        }));
      } catch (err) {
        await writer.abort();
        throw err;
      }
    }

    // 5. The index, last: the tracking set exists from here on.
    const index: TrackingIndex = {
      format: INDEX_FORMAT,
      createdAt: new Date(now()).toISOString(),
      requestedAt,
      ...(input.tier ? { tier: input.tier.toUpperCase() } : {}),
      maxObjectsPerShard: maxPerShard,
      shardCount,
      objects,
      duplicates: total - objects,
      versioned: versioned === true,
      buckets: [...buckets].sort(),
      source: { manifests: source },
      shards,
      durations: {},
      waves: 0,
      abandonedWaves: [],
      ...(restoreManifests ? { restoreManifests } : {}),
    };
    let indexETag: string;
    try {
      indexETag = await store.writeIndex(index, undefined);
    } catch (err) {
      if (!(err instanceof ConditionalWriteConflict)) throw err;
      // Another attempt finished first: fine if it tracked the same manifests.
      const other = await store.readIndex();
      if (other && sameSource(other.index.source.manifests, source)) return existingResult(other.index, other.etag);
      throw new TrackingExistsError(`s3://${input.tracking.bucket}/${store.keys.index} was created by another writer`);
    }
    return {
      objects,
      shards: shardCount,
      duplicates: total - objects,
      counts: sumEntries(shards),
      indexETag,
      ...(restoreManifests ? { restoreManifests } : {}),
      headRequests,
      existed: false,
    };
  } finally {
    await tmp.remove().catch(() => undefined);
  }
}

function sumEntries(shards: readonly ShardEntry[]) {
  const counts = emptyCounts();
  for (const e of shards) for (const [k, v] of Object.entries(e.counts)) counts[k as keyof typeof counts] += v;
  return counts;
}

/** Splits the spool into `<dir>/<shard>.csv`; returns the lines per shard. */
async function partition(allFile: string, dir: string, shardCount: number): Promise<number[]> {
  await fsp.mkdir(dir, { recursive: true });
  const counts = new Array<number>(shardCount).fill(0);
  const buffers = new Map<number, string[]>();
  let buffered = 0;
  const flush = async () => {
    for (const [s, lines] of buffers) await fsp.appendFile(path.join(dir, `${s}.csv`), lines.join(''));
    buffers.clear();
    buffered = 0;
  };
  for await (const line of readLines(allFile)) {
    const [bucket, encKey] = line.split(',', 2) as [string, string];
    const s = shardOf(bucket, decodeManifestKey(encKey), shardCount);
    counts[s]! += 1;
    const list = buffers.get(s);
    if (list) list.push(line, '\n');
    else buffers.set(s, [line, '\n']);
    buffered += line.length + 1;
    if (buffered >= SPOOL_BUFFER_BYTES) await flush();
  }
  await flush();
  return counts;
}

/** The rows of one shard's spool file, each object once, in manifest order. */
async function shardRows(file: string, requestedAt: string): Promise<TrackingRow[]> {
  const rows: TrackingRow[] = [];
  const seen = new Set<string>();
  const exists = await fsp.stat(file).then(
    () => true,
    () => false,
  );
  if (!exists) return rows;
  for await (const line of readLines(file)) {
    if (line === '' || seen.has(line)) continue;
    seen.add(line);
    const [bucket, encKey, versionId] = line.split(',') as [string, string, string];
    rows.push({
      bucket,
      key: decodeManifestKey(encKey),
      versionId,
      size: undefined,
      storageClass: '',
      state: 'requested',
      requestedAt,
      restoredAt: '',
      expiresAt: '',
      wave: undefined,
      note: '',
    });
  }
  return rows;
}
