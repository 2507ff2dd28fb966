/**
 * The inventory → manifests build: read a report, filter its rows on worker threads, write Batch Operations CSV
 * manifests in shards, checkpoint after every data file so a retried Temporal activity resumes instead of starting
 * over. The campaign's manifest activity and the `manifest` CLI command both call `buildManifests`.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';

import type { S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';

import { createLogger, type Logger } from '../logging';
import { FailureType } from '../shared/errors';
import { invalidInventory } from './errors';
import { parseLocation } from './location';
import { nativeScanAvailable } from './native-scan';
import { buildScanPlan, PlanError, type ScanPlan } from './plan';
import { creationTime, loadInventoryReport } from './report';
import { addTotals, emptyTotals } from './scan-output';
import { EarlyScanWorker, ScanPool } from './scan-pool';
import { LocalManifestSink, S3ManifestSink, type ManifestSink } from './sink';
import {
  BuildManifestsInputSchema,
  ManifestProgressSchema,
  type BuildManifestsInput,
  type ManifestProgress,
  type ManifestSummary,
  type ManifestTotals,
  type ResumePoint,
} from './types';

/** Live progress between checkpoints: often enough for a heartbeat timeout of 10 s or more. */
const DEFAULT_PROGRESS_INTERVAL_MS = 2_000;

/**
 * What a streaming manifest build (an inventory scan, a bucket listing) is given besides its input: one shape for both,
 * so that the campaign's activity wires cancellation, hand-over and heartbeats the same way for each.
 */
export interface ResumableBuildDeps<Progress> {
  /** Reads the source and writes S3 manifests; built and owned by the caller. */
  s3: S3Client;
  /** Cancels the build: workers stop, uploads are aborted, the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Whether an abort hands the build over to a later attempt (a worker shutting down, an attempt that timed out)
   * rather than ending it: then the uploads stay, for the next attempt to resume from the last progress.
   * @default every abort ends the build
   */
  handOver?: () => boolean;
  /**
   * Called with small JSON progress after every checkpoint and every `progressIntervalMs`; a Temporal activity
   * heartbeats it. Must not throw.
   */
  onProgress?: (progress: Progress) => void;
  /**
   * Progress from an earlier attempt of the same build (the activity's last heartbeat details): the build goes on from
   * there. Progress that does not validate or belongs to another build is ignored, and the build starts over.
   */
  resumeFrom?: unknown;
  /** @default a logger named after the build */
  log?: Logger;
  /** Milliseconds between live progress reports. @default 2000 */
  progressIntervalMs?: number;
}

/** What `buildManifests` is given besides its input. */
export interface BuildManifestsDeps extends ResumableBuildDeps<ManifestProgress> {
  /**
   * Bytes of manifest rows a worker may send ahead of the file being written before it spills further rows to a
   * temporary file. Tests lower it to exercise spilling. @default 4 MiB
   */
  spillAfterBytes?: number;
  /**
   * Largest data file (compressed) that the main thread scans itself instead of waiting for a worker; tests set 0 so
   * that workers scan every file. @default MAIN_THREAD_SCAN_BYTES (2 MiB)
   */
  mainThreadScanBytes?: number;
}

function fingerprint(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/** Whether a failure leaves state worth resuming (a retry may succeed) rather than being final. */
function isFinal(err: unknown, signal: AbortSignal | undefined, handOver: (() => boolean) | undefined): boolean {
  if (signal?.aborted) return !handOver?.();
  return err instanceof ApplicationFailure && err.nonRetryable === true;
}

/**
 * Builds `S3BatchOperations_CSV_20180820` manifests from an S3 Inventory report.
 *
 * Rows keep the report's order (data files in manifest order, rows in file order), so the same input always gives
 * byte-identical manifests. Each manifest holds at most `maxObjectsPerJob` rows. Manifests appear under their final
 * keys only when the whole build succeeds.
 *
 * @throws ApplicationFailure `InvalidInput` (non-retryable) for bad input, a filter on a field the inventory lacks,
 *   an ORC inventory, a malformed data file or an MD5 mismatch; `NotFound` for a missing report or data file; AWS
 *   errors as mapped by `toApplicationFailure`. On cancellation, the signal's reason.
 */
export async function buildManifests(input: BuildManifestsInput, deps: BuildManifestsDeps): Promise<ManifestSummary> {
  // Most inventories are CSV: a scan worker starts now, while the manifest is read, and is ended if not needed.
  const early = new EarlyScanWorker();
  try {
    return await build(input, deps, early);
  } finally {
    await early.release();
  }
}

async function build(
  input: BuildManifestsInput,
  deps: BuildManifestsDeps,
  early: EarlyScanWorker,
): Promise<ManifestSummary> {
  const log = deps.log ?? createLogger('inventory');
  const { s3, signal } = deps;
  const parsed = BuildManifestsInputSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ');
    throw invalidInventory(`invalid manifest build input: ${issues}`);
  }
  const spec = parsed.data;
  const report = await loadInventoryReport(s3, spec.inventory);
  let plan: ScanPlan;
  try {
    plan = buildScanPlan(report.format as ScanPlan['format'], report.columns, spec);
  } catch (err) {
    if (err instanceof PlanError) throw invalidInventory(`inventory ${report.manifestLocation}: ${err.message}`);
    throw err;
  }
  if (plan.format !== 'CSV') await early.release();
  // Whether CSV rows go through the native scanner; a bad S3C_NATIVE (or =on without the addon) fails here, clearly.
  let scanner: 'native' | 'javascript' | undefined;
  try {
    scanner = plan.format !== 'CSV' ? undefined : nativeScanAvailable() && !plan.keyRegex ? 'native' : 'javascript';
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, FailureType.InvalidInput);
  }
  let output;
  try {
    output = parseLocation(spec.output);
  } catch (err) {
    throw invalidInventory(`output: ${(err as Error).message}`);
  }
  const s3Prefix = output.kind === 's3' ? output.key.replace(/\/+$/, '') : '';
  const id = fingerprint({
    manifest: report.manifestLocation,
    manifestMd5: report.manifestMd5,
    plan,
    output: output.kind === 's3' ? `s3://${output.bucket}/${s3Prefix}` : output.path,
    maxObjectsPerJob: spec.maxObjectsPerJob,
  });

  let resume: ResumePoint | undefined;
  if (deps.resumeFrom !== undefined && deps.resumeFrom !== null) {
    const prior = ManifestProgressSchema.safeParse(deps.resumeFrom);
    if (prior.success && prior.data.fingerprint === id) resume = prior.data.resume;
    else log.warn('ignoring progress of another manifest build; starting over', { inventory: spec.inventory });
  }

  const makeSink = async (from: ResumePoint | undefined): Promise<{ sink: ManifestSink; ok: boolean }> => {
    if (output.kind === 's3') {
      const sink = new S3ManifestSink(s3, output.bucket, s3Prefix, spec.maxObjectsPerJob, from?.shards, log, signal);
      return { sink, ok: await sink.prepare() };
    }
    const sink = new LocalManifestSink(output.path, spec.maxObjectsPerJob, from?.shards);
    return { sink, ok: await sink.prepare() };
  };
  const first = await makeSink(resume);
  let sink = first.sink;
  if (!first.ok) {
    log.warn('the uploads of the earlier attempt are gone; starting over', { inventory: spec.inventory });
    resume = undefined;
    sink = (await makeSink(undefined)).sink;
  }
  if (resume) log.info('resuming manifest build', { file: resume.file, skipRows: resume.skipRows });

  const files = report.files.slice(resume?.file ?? 0);
  const filesTotal = report.files.length;
  let totals: ManifestTotals = resume?.totals ?? emptyTotals();
  /** Selected rows before each data file, and the totals of the files before it, for files not yet safe. */
  const starts = new Map<number, ManifestTotals>([[resume?.file ?? 0, totals]]);
  let point: ResumePoint = resume ?? { file: 0, skipRows: 0, totals, shards: [] };
  let filesDone = resume?.file ?? 0;
  let liveSelected = totals.rowsSelected + (resume?.skipRows ?? 0);
  const progress = (): ManifestProgress => ({
    version: 1,
    fingerprint: id,
    filesTotal,
    filesDone,
    rowsScanned: totals.rowsScanned,
    rowsSelected: liveSelected,
    resume: point,
  });
  const report_ = () => {
    try {
      deps.onProgress?.(progress());
    } catch (err) {
      log.warn('onProgress threw', { err });
    }
  };
  report_();
  const timer = setInterval(report_, deps.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS);
  timer.unref();

  // Parquet without a key regex goes to DuckDB, which uses every core on one worker (see parquet-duckdb.ts).
  const duckdb = plan.format === 'Parquet' && plan.keyRegex === undefined;
  const concurrency = duckdb ? 1 : (spec.concurrency ?? os.availableParallelism());
  const pool = new ScanPool({
    s3,
    plan,
    files,
    concurrency,
    signal,
    spillAfterBytes: deps.spillAfterBytes,
    mainThreadScanBytes: deps.mainThreadScanBytes,
    early,
  });
  let skipLeft = resume?.skipRows ?? 0;
  // Checked before rows reach the sink, so a build over the limit fails before anything could be published.
  const maxRows = spec.maxManifests === undefined ? Infinity : spec.maxManifests * spec.maxObjectsPerJob;
  /** Rows in the sink's shards, the resumed ones included. */
  let sinkRows = (resume?.totals.rowsSelected ?? 0) + (resume?.skipRows ?? 0);
  const started = Date.now();
  try {
    for await (const ev of pool.events()) {
      if (ev.type === 'rows') {
        let { chunk, rows } = ev;
        if (skipLeft > 0) {
          // Rows of the resume file that are already durable in a shard.
          const skip = Math.min(skipLeft, rows);
          skipLeft -= skip;
          let cut = -1;
          for (let k = 0; k < skip; k++) cut = chunk.indexOf(0x0a, cut + 1);
          chunk = chunk.subarray(cut + 1);
          rows -= skip;
          if (rows === 0) continue;
        }
        if (sinkRows + rows > maxRows) {
          throw invalidInventory(
            `the inventory selects more than ${maxRows} objects: more than ${spec.maxManifests} jobs at ` +
              `maxObjectsPerJob=${spec.maxObjectsPerJob}, at most ${spec.maxManifests} per round: raise maxObjectsPerJob`,
          );
        }
        await sink.write(chunk, rows);
        sinkRows += rows;
        liveSelected += rows;
        continue;
      }
      totals = addTotals(totals, ev.totals, spec.sampleSize);
      filesDone = ev.index + 1;
      starts.set(ev.index + 1, totals);
      const cp = await sink.checkpoint();
      // Resume from the last file whose start is durable; its first rows up to the durable count are skipped.
      let file = point.file;
      for (const [f, t] of starts) if (t.rowsSelected <= cp.durableRows && f > file) file = f;
      const before = starts.get(file)!;
      for (const f of [...starts.keys()]) if (f < file) starts.delete(f);
      point = { file, skipRows: cp.durableRows - before.rowsSelected, totals: before, shards: cp.shards };
      liveSelected = totals.rowsSelected;
      report_();
      log.debug('data file done', { file: ev.index, rowsScanned: ev.totals.rowsScanned });
    }
    const shards = await sink.finish();
    const seconds = (Date.now() - started) / 1000;
    log.info('manifests built', {
      rowsScanned: totals.rowsScanned,
      rowsSelected: totals.rowsSelected,
      shards: shards.length,
      seconds,
      ...(scanner ? { scanner } : {}),
    });
    return {
      inventory: {
        manifest: report.manifestLocation,
        sourceBucket: report.manifest.sourceBucket,
        fileFormat: report.format,
        creationTimestamp: creationTime(report.manifest),
        files: filesTotal,
      },
      format: 'S3BatchOperations_CSV_20180820',
      fields: plan.versionId >= 0 ? ['Bucket', 'Key', 'VersionId'] : ['Bucket', 'Key'],
      output: output.kind === 's3' ? { bucket: output.bucket, prefix: s3Prefix } : { dir: output.path },
      shards,
      rowsScanned: totals.rowsScanned,
      rowsSelected: totals.rowsSelected,
      bytesByStorageClass: totals.bytesByStorageClass,
      rowsByStorageClass: totals.rowsByStorageClass,
      sampleKeys: totals.sample.map(([, key]) => key),
      resumed: resume !== undefined,
    };
  } catch (err) {
    if (isFinal(err, signal, deps.handOver)) await sink.abort();
    if (signal?.aborted) {
      throw signal.reason instanceof Error
        ? signal.reason
        : Object.assign(new Error('cancelled'), { name: 'AbortError' });
    }
    throw err;
  } finally {
    clearInterval(timer);
    await pool.close();
    await sink.release();
  }
}
