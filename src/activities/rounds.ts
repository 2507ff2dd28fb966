/**
 * Reads the completion reports of a round's jobs and decides what happens to every object: succeeded, failed for
 * good, or worth another job. Writes the retry manifest(s) and CSVs of this round's failures to S3.
 *
 * The retry manifest is *job manifest − succeeded − permanent failures*: a job that ended Failed or Cancelled
 * before running every task has tasks in no report at all, and those must be retried too.
 *
 * Memory stays bounded whatever the job's size: rows are joined a partition at a time through local temporary
 * files, and the failure CSVs are written to files before upload.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

import type { S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure, Context } from '@temporalio/activity';

import { toApplicationFailure } from '../aws/errors';
import { getObjectTextIfExists } from '../aws/s3-text';
import { uploadStream } from '../aws/upload';
import { csvRow } from '../csv';
import { decodeManifestKey } from '../inventory/key-encoding';
import { readJobManifestRows } from '../manifest/read';
import { ManifestShardWriter } from '../manifest/shard-writer';
import {
  iterateReportRows,
  parseReportManifest,
  type ReportManifest,
  type ReportRow,
} from '../reports/completion-report';
import type { AnalyzeRoundInput, RoundAnalysis } from '../shared/activity-types';
import type { OperationType } from '../shared/campaign-spec';
import { FailureType } from '../shared/errors';
import { LineFile, readLines, tempDir } from './spool';

/** Header of the failure CSVs (and of the campaign's failed.csv). Keys stay URL-encoded, as in manifests. */
export const FAILURE_CSV_HEADER = ['bucket', 'key', 'versionId', 'errorCode', 'httpStatus', 'message', 'round'];
/** Error code recorded for objects a job never got to. */
export const NOT_RUN_CODE = 'NotRun';
/** Error code recorded for objects of a job that ended without a completion report: nobody knows what happened. */
export const OUTCOME_UNKNOWN_CODE = 'OutcomeUnknown';
/** The job's FailureReasons codes that mean its completion report will never be written. */
const REPORT_NEVER_CODES = new Set(['ReportWriteFailed', 'ReportBucketNotAccessible']);
/**
 * How long after a job ended its completion report may still be on its way (S3 writes it before the terminal
 * status, so this is generous). Past it, the report will not come and the job's objects have an unknown outcome.
 */
export const REPORT_GRACE_MS = 15 * 60_000;

type Verdict = 'succeeded' | 'retryable' | 'permanent';

/** Pure classification of one failed report row. */
export function classifyFailure(
  row: Pick<ReportRow, 'errorCode' | 'httpStatusCode'>,
  operation: OperationType,
  retryableCodes: ReadonlySet<string>,
): Verdict {
  const code = row.errorCode ?? '';
  // A restore already running is what the campaign wanted: the object is on its way back.
  if (operation === 'restore' && code === 'RestoreAlreadyInProgress') return 'succeeded';
  if (retryableCodes.has(code)) return 'retryable';
  if (row.httpStatusCode !== undefined && row.httpStatusCode >= 500) return 'retryable';
  return 'permanent';
}

function objectId(bucket: string, rawKey: string, versionId: string | undefined): string {
  let key = rawKey;
  try {
    key = decodeManifestKey(rawKey);
  } catch {
    // keep the raw form: both sides come from the same manifest line
  }
  // A null-version object is `null` in a manifest but may be empty in a report: the same object either way.
  return `${bucket}\u0000${key}\u0000${versionId === 'null' ? '' : (versionId ?? '')}`;
}

/**
 * Manifest rows whose report rows are held in memory at once. A job's rows are split by a hash of the object into
 * partitions of about this many (on local disk), so a 10M-task job needs a few hundred MB, not several GB.
 */
export const ANALYSIS_PARTITION_ROWS = 250_000;

/** What the report says about an object; `verdict` undefined: in no report (never ran). */
interface Outcome {
  verdict: Verdict;
  code?: string;
  status?: number;
  message?: string;
}

/** Per manifest row, in a byte: what happened to it. */
const NEVER_RAN = 0;
const VERDICT_CODES: Record<Verdict, number> = { succeeded: 1, retryable: 2, permanent: 3 };

function partitionOf(id: string, partitions: number): number {
  if (partitions === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) % partitions;
}

/**
 * Why a missing completion report will never come (so the job's objects have an unknown outcome), or undefined while
 * it may still: the job said it could not write it, or it ended more than {@link REPORT_GRACE_MS} ago.
 */
function reportNeverComing(job: AnalyzeRoundInput['jobs'][number], where: string): string | undefined {
  const code = job.failureCodes?.find((c) => REPORT_NEVER_CODES.has(c));
  const ended = job.endedAt ? Date.parse(job.endedAt) : Context.current().info.scheduledTimestampMs;
  const waited = Date.now() - ended;
  if (code === undefined && !(waited > REPORT_GRACE_MS)) return undefined;
  const why = code ?? `no report at ${where} ${Math.round(waited / 60_000)} min after the job ended`;
  return `job ${job.jobId} ended ${job.status ?? ''} without a completion report (${why}): whether this object was processed is unknown`;
}

/**
 * @param options.partitionRows manifest rows per partition (tests make it small)
 * @param options.tmpDir where the analysis spools its files (default: `TMPDIR`)
 */
export function createRoundActivities(
  deps: { s3: S3Client },
  options: { partitionRows?: number; tmpDir?: string } = {},
) {
  const partitionRows = options.partitionRows ?? ANALYSIS_PARTITION_ROWS;
  return {
    async analyzeRound(input: AnalyzeRoundInput): Promise<RoundAnalysis> {
      const retryableCodes = new Set(input.retryableErrorCodes);
      // Every S3 read honours cancellation (a cancelled campaign, a worker shutting down), stalled bodies included.
      const signal = Context.current().cancellationSignal;
      const base = `${input.output.prefix}`;
      const analysis: RoundAnalysis = {
        round: input.round,
        succeeded: 0,
        retryable: 0,
        permanent: 0,
        neverRan: 0,
        errorsByCode: {},
        retryManifests: [],
      };
      const tmp = await tempDir('round', options.tmpDir);
      const permanentLines = new LineFile(path.join(tmp.dir, 'permanent.csv'));
      const retryableLines = new LineFile(path.join(tmp.dir, 'retryable.csv'));
      const versioned = input.jobs.some((j) => j.manifest.versioned);
      const retry = new ManifestShardWriter({
        s3: deps.s3,
        bucket: input.output.bucket,
        keyPrefix: `${base}/manifests/round-${input.round + 1}`,
        maxRows: input.maxObjectsPerJob,
        versioned,
        signal,
      });
      try {
        try {
          for (const [index, job] of input.jobs.entries()) {
            await analyzeJob(job, index);
          }
          analysis.retryManifests = await retry.close();
        } catch (err) {
          await retry.abort();
          if (err instanceof ApplicationFailure) throw err;
          throw toApplicationFailure(err, `analyzing round ${input.round} of campaign ${input.campaignId}`);
        }
        await permanentLines.close();
        await retryableLines.close();
        const put = async (name: string, file: LineFile) => {
          const key = `${base}/failures/round-${input.round}-${name}.csv`;
          const body = createReadStream(file.path);
          try {
            await uploadStream(deps.s3, { Bucket: input.output.bucket, Key: key, ContentType: 'text/csv' }, body);
          } finally {
            body.destroy();
          }
          return key;
        };
        try {
          analysis.permanentFailuresKey = await put('permanent', permanentLines);
          analysis.retryableFailuresKey = await put('retryable', retryableLines);
        } catch (err) {
          throw toApplicationFailure(
            err,
            `writing the failures of round ${input.round} to s3://${input.output.bucket}/${base}/failures/`,
          );
        }
        return analysis;
      } finally {
        await permanentLines.close().catch(() => undefined);
        await retryableLines.close().catch(() => undefined);
        await tmp.remove().catch(() => undefined);
      }

      /**
       * One job: report rows and manifest rows go to partition files by object, each partition is joined in memory
       * (a verdict byte per manifest row, failure details to a file in manifest order), then the manifest is read
       * once more in order to write the retry manifest and the failure lines in manifest order.
       */
      async function analyzeJob(job: AnalyzeRoundInput['jobs'][number], index: number): Promise<void> {
        let report: ReportManifest | undefined;
        /** Set when the job ran tasks but its report will never come: why, for every object's failure line. */
        let unknownBecause: string | undefined;
        if (job.jobId) {
          const manifestKey = `${input.reports.prefix}/job-${job.jobId}/manifest.json`;
          const where = `s3://${input.reports.bucket}/${manifestKey}`;
          const text = await getObjectTextIfExists(deps.s3, input.reports.bucket, manifestKey, signal);
          if (text === undefined && (job.tasksRun ?? 0) > 0) {
            // Tasks ran, so S3 owes a report. Wait for it a bounded while, then say what we know: not what happened.
            unknownBecause = reportNeverComing(job, where);
            if (unknownBecause === undefined) {
              throw ApplicationFailure.retryable(
                `the completion report of job ${job.jobId} (${job.tasksRun} tasks run) is not at ${where} yet`,
                FailureType.Transient,
              );
            }
          }
          // No report and no task run (cancelled or failed before starting): every object is "never ran".
          if (text !== undefined) report = parseReportManifest(text, where);
        }
        const partitions = Math.max(1, Math.ceil((job.manifest.rows || 1) / partitionRows));
        const dir = path.join(tmp.dir, `job-${index}`);
        await mkdir(dir);
        const file = (kind: string, p: number) => path.join(dir, `${kind}-${p}.jsonl`);
        // Every file opened here is closed on the way out, whatever happens.
        const writers: LineFile[] = [];
        const readers: AsyncIterableIterator<string>[] = [];
        const writer = (filePath: string) => {
          const f = new LineFile(filePath);
          writers.push(f);
          return f;
        };
        const open = (kind: string) => Array.from({ length: partitions }, (_, p) => writer(file(kind, p)));
        const beat = (details: Record<string, number>) => Context.current().heartbeat({ job: job.ordinal, ...details });
        try {
          // 1. Report rows by partition: [id, verdict, code, status, message].
          const reportParts = open('report');
          let reportRows = 0;
          if (report) {
            for await (const row of iterateReportRows(deps.s3, report, signal)) {
              const verdict =
                row.taskStatus === 'succeeded'
                  ? 'succeeded'
                  : classifyFailure(row, input.operationType, retryableCodes);
              const id = objectId(row.bucket, row.key, row.versionId);
              const record = [
                id,
                verdict,
                row.errorCode ?? null,
                row.httpStatusCode ?? null,
                row.resultMessage ?? null,
              ];
              await reportParts[partitionOf(id, partitions)]!.write(`${JSON.stringify(record)}\n`);
              if (++reportRows % 10_000 === 0) beat({ reportRows });
            }
          }
          await Promise.all(reportParts.map((f) => f.close()));

          // 2. Manifest rows by partition ([ordinal, id]), and all of them in order for step 4.
          const manifestParts = open('manifest');
          const ordered = writer(path.join(dir, 'manifest.jsonl'));
          let rows = 0;
          for await (const m of readJobManifestRows(deps.s3, job.manifest, signal)) {
            const id = objectId(m.bucket, m.rawKey, m.versionId);
            await manifestParts[partitionOf(id, partitions)]!.write(`${JSON.stringify([rows, id])}\n`);
            await ordered.write(`${JSON.stringify([m.bucket, m.rawKey, m.versionId ?? null, id])}\n`);
            if (++rows % 10_000 === 0) beat({ rows });
          }
          await Promise.all([...manifestParts.map((f) => f.close()), ordered.close()]);

          // 3. Join each partition: a verdict per manifest row, failure details in manifest order per partition.
          const verdicts = new Uint8Array(rows);
          const detailParts = open('details');
          let joined = 0;
          for (let p = 0; p < partitions; p++) {
            beat({ partition: p, partitions });
            const outcomes = new Map<string, Outcome>();
            for await (const line of readLines(file('report', p))) {
              const [id, verdict, code, status, message] = JSON.parse(line) as [
                string,
                Verdict,
                string | null,
                number | null,
                string | null,
              ];
              // A task listed twice: success wins (the object is done), else the last failure is the one to report.
              if (outcomes.get(id)?.verdict === 'succeeded') continue;
              outcomes.set(id, {
                verdict,
                code: code ?? undefined,
                status: status ?? undefined,
                message: message ?? undefined,
              });
              if (++joined % 100_000 === 0) beat({ partition: p, joined });
            }
            for await (const line of readLines(file('manifest', p))) {
              const [ordinal, id] = JSON.parse(line) as [number, string];
              const hit = outcomes.get(id);
              verdicts[ordinal] = hit ? VERDICT_CODES[hit.verdict] : NEVER_RAN;
              if (hit && hit.verdict !== 'succeeded') {
                const detail = [hit.code ?? null, hit.status ?? null, hit.message ?? null];
                await detailParts[p]!.write(`${JSON.stringify(detail)}\n`);
              }
              if (++joined % 100_000 === 0) beat({ partition: p, joined });
            }
            outcomes.clear();
            await rm(file('report', p), { force: true });
            await rm(file('manifest', p), { force: true });
          }
          await Promise.all(detailParts.map((f) => f.close()));

          // 4. In manifest order: counts, failure lines and the retry manifest, exactly as the report decided.
          const details = detailParts.map((f) => readLines(f.path));
          readers.push(...details);
          let n = 0;
          for await (const line of readLines(ordered.path)) {
            const [bucket, rawKey, versionId, id] = JSON.parse(line) as [string, string, string | null, string];
            const verdict = verdicts[n]!;
            if (++n % 10_000 === 0) beat({ rows: n });
            if (verdict === VERDICT_CODES.succeeded) {
              analysis.succeeded += 1;
              continue;
            }
            let hit: Outcome | undefined;
            if (verdict !== NEVER_RAN) {
              const next = await details[partitionOf(id, partitions)]!.next();
              if (next.done) {
                throw ApplicationFailure.nonRetryable(
                  `analysis of job ${job.jobId}: the failure details of its partition ran out (a bug)`,
                  FailureType.Unknown,
                );
              }
              const [code, status, message] = JSON.parse(next.value) as [string | null, number | null, string | null];
              hit = {
                verdict: verdict === VERDICT_CODES.permanent ? 'permanent' : 'retryable',
                code: code ?? undefined,
                status: status ?? undefined,
                message: message ?? undefined,
              };
            }
            if (!hit && unknownBecause !== undefined) {
              hit = { verdict: 'permanent', code: OUTCOME_UNKNOWN_CODE, message: unknownBecause };
              analysis.unknown = (analysis.unknown ?? 0) + 1;
            }
            const code = hit ? hit.code || `HTTP${hit.status ?? ''}` : NOT_RUN_CODE;
            analysis.errorsByCode[code] = (analysis.errorsByCode[code] ?? 0) + 1;
            const failure = csvRow([
              bucket,
              rawKey,
              versionId ?? '',
              code,
              hit?.status !== undefined ? String(hit.status) : '',
              hit?.message ??
                (hit ? '' : `job ${job.jobId ?? '(not created)'} ended ${job.status ?? ''} before running this task`),
              String(input.round),
            ]);
            if (hit?.verdict === 'permanent') {
              analysis.permanent += 1;
              await permanentLines.write(failure);
            } else {
              if (hit) analysis.retryable += 1;
              else analysis.neverRan += 1;
              await retryableLines.write(failure);
              await retry.write([bucket, rawKey, ...(versionId !== null ? [versionId] : [])].join(','));
            }
          }
        } finally {
          await Promise.all(readers.map((r) => r.return?.()));
          await Promise.all(writers.map((w) => w.close().catch(() => undefined)));
          await rm(dir, { recursive: true, force: true });
        }
      }
    },
  };
}
