/**
 * Reads the completion reports of a round's jobs and decides what happens to every object: succeeded, failed for
 * good, or worth another job. Writes the retry manifest(s) and CSVs of this round's failures to S3.
 *
 * The retry manifest is *job manifest − succeeded − permanent failures*: a job that ended Failed or Cancelled
 * before running every task has tasks in no report at all, and those must be retried too.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure, Context } from '@temporalio/activity';

import { toApplicationFailure } from '../aws/errors';
import { getObjectTextIfExists } from '../aws/s3-text';
import { csvRow } from '../csv';
import { decodeManifestKey } from '../inventory/key-encoding';
import { readManifestRows } from '../manifest/read';
import { ManifestShardWriter } from '../manifest/shard-writer';
import { iterateReportRows, parseReportManifest, type ReportRow } from '../reports/completion-report';
import type { AnalyzeRoundInput, RoundAnalysis } from '../shared/activity-types';
import type { OperationType } from '../shared/campaign-spec';
import { FailureType } from '../shared/errors';

/** Header of the failure CSVs (and of the campaign's failed.csv). Keys stay URL-encoded, as in manifests. */
export const FAILURE_CSV_HEADER = ['bucket', 'key', 'versionId', 'errorCode', 'httpStatus', 'message', 'round'];
/** Error code recorded for objects a job never got to. */
export const NOT_RUN_CODE = 'NotRun';

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

export function createRoundActivities(deps: { s3: S3Client }) {
  return {
    async analyzeRound(input: AnalyzeRoundInput): Promise<RoundAnalysis> {
      const retryableCodes = new Set(input.retryableErrorCodes);
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
      const permanentLines: string[] = [];
      const retryableLines: string[] = [];
      const versioned = input.jobs.some((j) => j.manifest.versioned);
      const retry = new ManifestShardWriter({
        s3: deps.s3,
        bucket: input.output.bucket,
        keyPrefix: `${base}/manifests/round-${input.round + 1}`,
        maxRows: input.maxObjectsPerJob,
        versioned,
        signal: Context.current().cancellationSignal,
      });
      try {
        for (const job of input.jobs) {
          // Every report row of this job, by object; the last row wins if a task appears twice.
          const verdicts = new Map<string, { verdict: Verdict; row: ReportRow }>();
          let reportRows = 0;
          if (job.jobId) {
            const manifestKey = `${input.reports.prefix}/job-${job.jobId}/manifest.json`;
            const text = await getObjectTextIfExists(deps.s3, input.reports.bucket, manifestKey);
            if (text === undefined && (job.tasksRun ?? 0) > 0) {
              // Tasks ran, so S3 owes a report: not visible yet. Retry rather than call every object "never ran".
              throw ApplicationFailure.retryable(
                `the completion report of job ${job.jobId} (${job.tasksRun} tasks run) is not at s3://${input.reports.bucket}/${manifestKey} yet`,
                FailureType.Transient,
              );
            }
            // No report and no task run (cancelled or failed before starting): every object is "never ran".
            if (text !== undefined) {
              const report = parseReportManifest(text, `s3://${input.reports.bucket}/${manifestKey}`);
              for await (const row of iterateReportRows(deps.s3, report)) {
                const verdict =
                  row.taskStatus === 'succeeded'
                    ? 'succeeded'
                    : classifyFailure(row, input.operationType, retryableCodes);
                const id = objectId(row.bucket, row.key, row.versionId);
                // A task listed twice: success wins (the object is done), else the last failure is the one to report.
                if (verdicts.get(id)?.verdict !== 'succeeded') verdicts.set(id, { verdict, row });
                if (++reportRows % 10_000 === 0) Context.current().heartbeat({ job: job.ordinal, reportRows });
              }
            }
          }
          let n = 0;
          for await (const m of readManifestRows(deps.s3, job.manifest.bucket, job.manifest.key)) {
            const hit = verdicts.get(objectId(m.bucket, m.rawKey, m.versionId));
            const line = [m.bucket, m.rawKey, ...(m.versionId !== undefined ? [m.versionId] : [])].join(',');
            if (hit?.verdict === 'succeeded') {
              analysis.succeeded += 1;
            } else {
              const code = hit ? hit.row.errorCode || `HTTP${hit.row.httpStatusCode ?? ''}` : NOT_RUN_CODE;
              analysis.errorsByCode[code] = (analysis.errorsByCode[code] ?? 0) + 1;
              const failure = csvRow([
                m.bucket,
                m.rawKey,
                m.versionId ?? '',
                code,
                hit?.row.httpStatusCode !== undefined ? String(hit.row.httpStatusCode) : '',
                hit?.row.resultMessage ??
                  (hit ? '' : `job ${job.jobId ?? '(not created)'} ended ${job.status ?? ''} before running this task`),
                String(input.round),
              ]);
              if (hit?.verdict === 'permanent') {
                analysis.permanent += 1;
                permanentLines.push(failure);
              } else {
                if (hit) analysis.retryable += 1;
                else analysis.neverRan += 1;
                retryableLines.push(failure);
                await retry.write(line);
              }
            }
            if (++n % 10_000 === 0) Context.current().heartbeat({ job: job.ordinal, rows: n });
          }
        }
        analysis.retryManifests = await retry.close();
      } catch (err) {
        await retry.abort();
        if (err instanceof ApplicationFailure) throw err;
        throw toApplicationFailure(err, `analyzing round ${input.round} of campaign ${input.campaignId}`);
      }
      const put = async (name: string, lines: string[]) => {
        const key = `${base}/failures/round-${input.round}-${name}.csv`;
        const body = lines.join('');
        // Explicit length: the SDK leaves it out for an empty body and then warns about streams of unknown length.
        await deps.s3.send(
          new PutObjectCommand({
            Bucket: input.output.bucket,
            Key: key,
            Body: body,
            ContentLength: Buffer.byteLength(body),
            ContentType: 'text/csv',
          }),
        );
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
    },
  };
}
