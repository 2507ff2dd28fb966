/**
 * Bucket listing → manifests: what `buildManifests` does for an inventory, for a listed bucket. Pages from the
 * parallel lister are filtered with the inventory path's plan (same conditions, same meaning), written as the same
 * manifest rows (same key encoding, `null` for null versions) into the same sink and shards, and counted into the same
 * stats and sample.
 *
 * Resuming: pages reach the sink one at a time, and every page is remembered until the sink says its rows are durable
 * (in uploaded parts). A checkpoint then holds, for every range not yet durably done, where its durable rows end (the
 * page boundary, plus how many rows of the next page are durable already) and the totals of the durable pages. A
 * retry lists each range again from there, skips the rows already written, and neither loses nor repeats an object.
 */
import { createHash } from 'node:crypto';

import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';

import type { ResumableBuildDeps } from '../inventory/build-manifests';
import { invalidInventory, s3Failure } from '../inventory/errors';
import type { InventoryColumns, InventoryField } from '../inventory/fields';
import { encodeManifestKey } from '../inventory/key-encoding';
import { buildScanPlan, keyPredicate, PlanError, type ScanPlan } from '../inventory/plan';
import { addTotals, emptyTotals, murmur3, ScanStats } from '../inventory/scan-output';
import { S3ManifestSink } from '../inventory/sink';
import {
  ManifestTotalsSchema,
  ShardStateSchema,
  type InventoryFilter,
  type ManifestShard,
  type ManifestTotals,
} from '../inventory/types';
import { createLogger } from '../logging';
import { listBucket, type ListedEntry, type ListedPage, type ListRange } from './lister';

/** Checkpoint and progress report at most this often (ms): well inside any heartbeat timeout of 10 s or more. */
const DEFAULT_PROGRESS_INTERVAL_MS = 2_000;

/** The fields a listing returns, as the inventory plan names them. */
const LISTING_FIELDS: InventoryField[] = [
  'Bucket',
  'Key',
  'VersionId',
  'IsLatest',
  'IsDeleteMarker',
  'Size',
  'LastModifiedDate',
  'ETag',
  'StorageClass',
];
const LISTING_COLUMNS: InventoryColumns = {
  names: LISTING_FIELDS,
  index: new Map(LISTING_FIELDS.map((f, i) => [f, i])),
};

/** What a listing build reads and writes. */
export interface ListingBuildInput {
  /** The bucket listed. */
  bucket: string;
  /** Only keys that start with this. @default "" */
  prefix?: string;
  /** Every version and delete marker; the manifests then have a VersionId column. @default false */
  versions?: boolean;
  /** The inventory path's filter; conditions on fields a listing lacks are an `InvalidInput` failure. */
  filter?: InventoryFilter;
  /** Manifests go to `s3://bucket/prefix/manifest-NNNNN.csv`. The prefix should belong to this one build. */
  output: { bucket: string; prefix: string };
  /** Rows per manifest. */
  maxObjectsPerJob: number;
  /** Manifests at most: more fails with `InvalidInput` before anything is published. @default no limit */
  maxManifests?: number;
  /** Keys in the summary's sample. @default 10 */
  sampleSize?: number;
}

/** What `buildManifestsFromListing` is given besides its input (the shape every streaming build takes, and more). */
export interface ListingBuildDeps extends ResumableBuildDeps<ListingProgress> {
  /** List requests in flight at most. @default DEFAULT_LIST_CONCURRENCY */
  concurrency?: number;
  /** Keys per list request. @default 1000 */
  pageSize?: number;
}

const RangeStateSchema = z.object({
  after: z.string().optional(),
  afterVersion: z.string().optional(),
  before: z.string().optional(),
  /** Selected rows of the range, from `after` on, that are already durable: a retry skips them. */
  skip: z.number().int().min(0),
});

/** Heartbeat details of a listing build; pass the last one back as `resumeFrom`. */
export const ListingProgressSchema = z.object({
  version: z.literal(1),
  kind: z.literal('listing'),
  /** Identifies the build (bucket, prefix, versions, filter, output, sharding); another build's is ignored. */
  fingerprint: z.string(),
  /** List requests sent so far: this attempt's and the earlier attempts' (up to their last heartbeat). */
  listRequests: z.number(),
  /** Entries listed so far (this attempt's and the durable ones before it). */
  rowsScanned: z.number(),
  rowsSelected: z.number(),
  /** Where a retry goes on. */
  resume: z.object({
    /** Ranges not yet durably done, from their durable end on. */
    ranges: z.array(RangeStateSchema),
    /** Totals of the durable rows. */
    totals: ManifestTotalsSchema,
    shards: z.array(ShardStateSchema),
  }),
});
export type ListingProgress = z.infer<typeof ListingProgressSchema>;

/** What a listing build produced. */
export interface ListingSummary {
  /** The manifests, in order; empty when nothing was selected. */
  shards: ManifestShard[];
  fields: ['Bucket', 'Key'] | ['Bucket', 'Key', 'VersionId'];
  rowsScanned: number;
  rowsSelected: number;
  bytesByStorageClass: Record<string, number>;
  rowsByStorageClass: Record<string, number>;
  sampleKeys: string[];
  /** List requests sent: this attempt's and the earlier attempts' (up to their last heartbeat), for the estimate. */
  listRequests: number;
  /** True when this attempt went on from `resumeFrom`. */
  resumed: boolean;
}

/** Whether a listed entry passes the plan's conditions, exactly as an inventory row with the same values would. */
function selector(plan: ScanPlan): (e: ListedEntry) => boolean {
  const keyTest = keyPredicate(plan);
  const afterMs = plan.modifiedAfter === undefined ? -Infinity : Date.parse(plan.modifiedAfter);
  const beforeMs = plan.modifiedBefore === undefined ? Infinity : Date.parse(plan.modifiedBefore);
  const dated = plan.lastModified >= 0;
  // buildScanPlan only lets storage class conditions through: the listing has no other enum column.
  const classes = plan.enums.map((e) => new Set(e.values));
  return (e) => {
    if (plan.isDeleteMarker >= 0 && e.isDeleteMarker) return false;
    if (plan.isLatest >= 0 && !e.isLatest) return false;
    for (const values of classes) if (!values.has(e.storageClass.toUpperCase())) return false;
    if (plan.minSize !== undefined && e.size < plan.minSize) return false;
    if (plan.maxSize !== undefined && e.size > plan.maxSize) return false;
    if (dated && !(e.lastModified >= afterMs && e.lastModified < beforeMs)) return false;
    return !keyTest || keyTest(e.key);
  };
}

/** The inventory path's scan plan for a listing's fields; a condition on a field a listing lacks is `InvalidInput`. */
function listingPlan(
  source: string,
  filter: InventoryFilter | undefined,
  versioned: boolean,
  sampleSize: number,
): ScanPlan {
  try {
    return buildScanPlan('CSV', LISTING_COLUMNS, {
      filter: filter ?? {},
      versionIds: versioned ? 'include' : 'omit',
      sampleSize,
    });
  } catch (err) {
    if (err instanceof PlanError) throw invalidInventory(`listing ${source}: ${err.message}`);
    throw err;
  }
}

/** The sample hash of the inventory path: of the encoded key as it stands in the manifest. */
function sampleHash(encodedKey: string): number {
  return murmur3(Buffer.from(encodedKey, 'latin1'), 0, encodedKey.length);
}

/** What `countListing` found: the build's totals, without writing anything. */
export interface ListingCount extends ManifestTotals {
  /** List requests sent. */
  listRequests: number;
}

/**
 * Lists and filters as `buildManifestsFromListing` does, and only counts: rows scanned and selected, bytes and rows
 * by storage class, the same sample. For `estimate`, which must write nothing.
 */
export async function countListing(
  input: Omit<ListingBuildInput, 'output' | 'maxObjectsPerJob' | 'maxManifests'>,
  deps: Pick<ListingBuildDeps, 's3' | 'signal' | 'concurrency' | 'pageSize'>,
): Promise<ListingCount> {
  const prefix = input.prefix ?? '';
  const sampleSize = input.sampleSize ?? 10;
  const source = `s3://${input.bucket}/${prefix}`;
  const select = selector(listingPlan(source, input.filter, input.versions === true, sampleSize));
  const stats = new ScanStats(sampleSize);
  let listRequests = 0;
  try {
    await listBucket({
      s3: deps.s3,
      bucket: input.bucket,
      prefix,
      versions: input.versions,
      concurrency: deps.concurrency,
      pageSize: deps.pageSize,
      signal: deps.signal,
      onRequest: () => listRequests++,
      onPage: async (_range, page) => {
        for (const e of page.entries) {
          stats.rowsScanned++;
          if (!select(e)) continue;
          stats.rowsSelected++;
          stats.addClass(e.storageClass, undefined, e.size, 1);
          const hash = sampleHash(encodeManifestKey(e.key));
          if (stats.wantsSample(hash)) stats.offerSample(hash, e.key);
        }
      },
    });
  } catch (err) {
    if (err instanceof ApplicationFailure || deps.signal?.aborted) throw err;
    throw s3Failure(err, `listing ${source}`);
  }
  return { ...stats.toTotals(), listRequests };
}

function fingerprint(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/** Per range: where its durable rows end, and whether it has been listed to its end. */
interface Tracked {
  range: ListRange;
  durableAfter?: string;
  durableAfterVersion?: string;
  /** Selected rows after `durableAfter` that are durable. */
  durableSkip: number;
  /** Selected rows still to skip while listing (a resumed range). */
  skipLeft: number;
}

/** A page in the sink, remembered until its rows are durable. */
interface WrittenPage {
  id: number;
  /** Rows in the sink before this page's. */
  start: number;
  rows: number;
  /** Selected rows of the page not written (durable from an earlier attempt), and those still to skip after it. */
  skipped: number;
  skipAfter: number;
  next?: ListedPage['next'];
  done: boolean;
  totals: ManifestTotals;
}

/**
 * Lists `input.bucket` (under `prefix`) in parallel and writes Batch Operations CSV manifests of the selected objects
 * under `output`, shards of `maxObjectsPerJob` rows, published only when the whole listing is in.
 *
 * @throws ApplicationFailure `InvalidInput` (non-retryable) for a filter a listing cannot answer or too many jobs;
 *   AWS errors as `toApplicationFailure` maps them (a missing bucket is `NotFound`). On cancellation, the signal's
 *   reason.
 */
export async function buildManifestsFromListing(
  input: ListingBuildInput,
  deps: ListingBuildDeps,
): Promise<ListingSummary> {
  const log = deps.log ?? createLogger('listing');
  const { s3, signal } = deps;
  const prefix = input.prefix ?? '';
  const versioned = input.versions === true;
  const sampleSize = input.sampleSize ?? 10;
  const source = `s3://${input.bucket}/${prefix}`;
  const plan = listingPlan(source, input.filter, versioned, sampleSize);
  const select = selector(plan);
  const outPrefix = input.output.prefix.replace(/\/+$/, '');
  const id = fingerprint({
    bucket: input.bucket,
    prefix,
    versioned,
    plan,
    output: `s3://${input.output.bucket}/${outPrefix}`,
    maxObjectsPerJob: input.maxObjectsPerJob,
  });

  let resume: ListingProgress['resume'] | undefined;
  /** Requests of earlier attempts: paid for even when their rows are not kept. */
  let priorRequests = 0;
  if (deps.resumeFrom !== undefined && deps.resumeFrom !== null) {
    const prior = ListingProgressSchema.safeParse(deps.resumeFrom);
    if (prior.success && prior.data.fingerprint === id) {
      resume = prior.data.resume;
      priorRequests = prior.data.listRequests;
    } else log.warn('ignoring progress of another manifest build; starting over', { source });
  }
  const makeSink = (shards: ListingProgress['resume']['shards'] | undefined) =>
    new S3ManifestSink(s3, input.output.bucket, outPrefix, input.maxObjectsPerJob, shards, log, signal);
  let sink = makeSink(resume?.shards);
  if (!(await sink.prepare())) {
    log.warn('the uploads of the earlier attempt are gone; starting over', { source });
    resume = undefined;
    sink = makeSink(undefined);
    await sink.prepare();
  }

  const ranges: ListRange[] = resume
    ? resume.ranges.map((r, i) => ({ id: i, after: r.after, afterVersion: r.afterVersion, before: r.before }))
    : [{ id: 0 }];
  const tracked = new Map<number, Tracked>();
  for (const [i, range] of ranges.entries()) {
    const skip = resume?.ranges[i]?.skip ?? 0;
    tracked.set(range.id, {
      range,
      durableAfter: range.after,
      durableAfterVersion: range.afterVersion,
      durableSkip: skip,
      skipLeft: skip,
    });
  }
  if (resume) log.info('resuming the listing', { source, ranges: ranges.length });

  let durableTotals: ManifestTotals = resume?.totals ?? emptyTotals();
  let liveTotals: ManifestTotals = durableTotals;
  let sinkRows = (resume?.shards ?? []).reduce((n, s) => n + s.rows, 0);
  const written: WrittenPage[] = [];
  const maxRows = input.maxManifests === undefined ? Infinity : input.maxManifests * input.maxObjectsPerJob;
  let listRequests = priorRequests;
  let progress: ListingProgress | undefined;
  const report = () => {
    if (!progress) return;
    try {
      deps.onProgress?.({
        ...progress,
        listRequests,
        rowsScanned: liveTotals.rowsScanned,
        rowsSelected: liveTotals.rowsSelected,
      });
    } catch (err) {
      log.warn('onProgress threw', { err });
    }
  };

  /** Moves pages whose rows are durable into the durable state and reports it. Runs between page writes. */
  const checkpoint = async () => {
    const cp = await sink.checkpoint();
    while (written.length > 0 && written[0]!.start + written[0]!.rows <= cp.durableRows) {
      const page = written.shift()!;
      durableTotals = addTotals(durableTotals, page.totals, sampleSize);
      const t = tracked.get(page.id)!;
      if (page.done) {
        tracked.delete(page.id);
        continue;
      }
      t.durableAfter = page.next!.after;
      t.durableAfterVersion = page.next!.afterVersion;
      t.durableSkip = page.skipAfter;
    }
    // The first page not wholly durable may have some rows in an uploaded part: a retry skips those too.
    const head = written[0];
    const partial = head && cp.durableRows > head.start ? head : undefined;
    progress = {
      version: 1,
      kind: 'listing',
      fingerprint: id,
      listRequests,
      rowsScanned: 0,
      rowsSelected: 0,
      resume: {
        ranges: [...tracked.values()].map((t) => ({
          after: t.durableAfter,
          afterVersion: t.durableAfterVersion,
          before: t.range.before,
          // A page with rows written had nothing left to skip: its durable rows follow the range's durable skip.
          skip: partial?.id === t.range.id ? t.durableSkip + (cp.durableRows - partial.start) : t.durableSkip,
        })),
        totals: durableTotals,
        shards: cp.shards,
      },
    };
    report();
  };

  let lastCheckpoint = Date.now();
  const interval = deps.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  let chain: Promise<unknown> = Promise.resolve();
  /** Sink calls must not overlap: pages go in one at a time. */
  const serial = (fn: () => Promise<void>): Promise<void> => {
    const p = chain.then(fn);
    chain = p.catch(() => undefined);
    return p;
  };
  const bucketField = input.bucket;

  const onPage = (range: ListRange, page: ListedPage) =>
    serial(async () => {
      const t = tracked.get(range.id)!;
      const stats = new ScanStats(sampleSize);
      const skipBefore = t.skipLeft;
      let text = '';
      let rows = 0;
      for (const e of page.entries) {
        stats.rowsScanned++;
        if (!select(e)) continue;
        stats.rowsSelected++;
        stats.addClass(e.storageClass, undefined, e.size, 1);
        const encoded = encodeManifestKey(e.key);
        const hash = sampleHash(encoded);
        if (stats.wantsSample(hash)) stats.offerSample(hash, e.key);
        if (t.skipLeft > 0) {
          t.skipLeft--;
          continue;
        }
        text += versioned ? `${bucketField},${encoded},${e.versionId ?? 'null'}\n` : `${bucketField},${encoded}\n`;
        rows++;
      }
      if (sinkRows + rows > maxRows) {
        throw invalidInventory(
          `the listing of ${source} selects more than ${maxRows} objects: more than ${input.maxManifests} jobs at ` +
            `maxObjectsPerJob=${input.maxObjectsPerJob}, at most ${input.maxManifests} per round: raise maxObjectsPerJob`,
        );
      }
      if (rows > 0) await sink.write(Buffer.from(text, 'utf8'), rows);
      const totals = stats.toTotals();
      written.push({
        id: range.id,
        start: sinkRows,
        rows,
        skipped: skipBefore - t.skipLeft,
        skipAfter: t.skipLeft,
        next: page.next,
        done: page.done,
        totals,
      });
      // A shard that filled up has just sent its last part: a checkpoint now makes its rows count at once.
      const shardEnded =
        Math.floor((sinkRows + rows) / input.maxObjectsPerJob) > Math.floor(sinkRows / input.maxObjectsPerJob);
      sinkRows += rows;
      liveTotals = addTotals(liveTotals, totals, sampleSize);
      if (shardEnded || Date.now() - lastCheckpoint >= interval) {
        lastCheckpoint = Date.now();
        await checkpoint();
      }
    });

  const onSplit = (_range: ListRange, added: ListRange[]) => {
    for (const r of added) {
      tracked.set(r.id, { range: r, durableAfter: r.after, durableSkip: 0, skipLeft: 0 });
    }
  };

  const timer = setInterval(report, interval);
  timer.unref();
  try {
    await checkpoint();
    try {
      await listBucket({
        s3,
        bucket: input.bucket,
        prefix,
        versions: versioned,
        ranges,
        concurrency: deps.concurrency,
        pageSize: deps.pageSize,
        signal,
        onPage,
        onSplit,
        onRequest: () => listRequests++,
      });
    } catch (err) {
      if (err instanceof ApplicationFailure || signal?.aborted) throw err;
      throw s3Failure(err, `listing ${source}`);
    }
    const shards = await sink.finish();
    log.info('manifests built from a listing', {
      source,
      rowsScanned: liveTotals.rowsScanned,
      rowsSelected: liveTotals.rowsSelected,
      shards: shards.length,
      listRequests,
    });
    return {
      shards,
      fields: versioned ? ['Bucket', 'Key', 'VersionId'] : ['Bucket', 'Key'],
      rowsScanned: liveTotals.rowsScanned,
      rowsSelected: liveTotals.rowsSelected,
      bytesByStorageClass: liveTotals.bytesByStorageClass,
      rowsByStorageClass: liveTotals.rowsByStorageClass,
      sampleKeys: liveTotals.sample.map(([, key]) => key),
      listRequests,
      resumed: resume !== undefined,
    };
  } catch (err) {
    const final = signal?.aborted ? !deps.handOver?.() : err instanceof ApplicationFailure && err.nonRetryable;
    if (final) await sink.abort();
    if (signal?.aborted) {
      throw signal.reason instanceof Error
        ? signal.reason
        : Object.assign(new Error('cancelled'), { name: 'AbortError' });
    }
    throw err;
  } finally {
    clearInterval(timer);
    await sink.release();
  }
}
