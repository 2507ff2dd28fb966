/**
 * Writes a job's completion report to S3 in the AWS layout:
 *
 *   <Prefix>/job-<JobId>/results/<40 hex>.csv   one file of succeeded rows, one of failed rows
 *   <Prefix>/job-<JobId>/manifest.json          written last, so whoever sees it sees a complete report
 *
 * Rows stream into multipart uploads (`@aws-sdk/lib-storage`), so a report of millions of tasks is never one string.
 */
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';

import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { formatReportRow, REPORT_FORMAT, REPORT_SCHEMA, type ReportManifest } from '../reports/completion-report';
import { awsErrorInfo, bucketFromArn, FailureCode, jobFailure } from './failures';
import type { JobReport, TaskOutcome, TaskRef } from './types';

/** Rows are batched into writes of about this many characters: fewer, larger stream writes. */
const WRITE_BATCH_CHARS = 256 * 1024;

/** Multipart part size; lib-storage's minimum is 5 MiB, a little more keeps the part count low for big reports. */
const PART_SIZE_BYTES = 8 * 1024 * 1024;

type Status = TaskOutcome['status'];

/** `<Prefix>/job-<JobId>` (no trailing slash on the prefix), or `job-<JobId>` without a prefix. */
export function reportBaseKey(jobId: string, prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/\/+$/, '');
  return p ? `${p}/job-${jobId}` : `job-${jobId}`;
}

/**
 * The 40-hex name of a results file. Derived from the job and status rather than random so that rewriting a report
 * (an engine restarted while writing it) overwrites the same files instead of leaving orphans.
 */
export function resultsFileName(jobId: string, status: Status): string {
  return createHash('sha1').update(`${jobId}\0${status}`).digest('hex');
}

/** One results CSV being uploaded, with its running MD5. */
class ResultsFile {
  private readonly body = new PassThrough();
  private readonly hash: Hash = createHash('md5');
  private readonly upload: Upload;
  private readonly done: Promise<unknown>;
  private failure: unknown;
  private batch: string[] = [];
  private batchChars = 0;
  rows = 0;

  constructor(
    s3: S3Client,
    readonly bucket: string,
    readonly key: string,
  ) {
    this.upload = new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: this.body, ContentType: 'text/csv', ServerSideEncryption: 'AES256' },
      partSize: PART_SIZE_BYTES,
      queueSize: 2,
    });
    this.done = this.upload.done();
    this.done.catch((err: unknown) => {
      this.failure = err;
    });
  }

  async write(line: string): Promise<void> {
    this.batch.push(line);
    this.batchChars += line.length;
    this.rows += 1;
    if (this.batchChars >= WRITE_BATCH_CHARS) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const buf = Buffer.from(this.batch.join(''), 'utf8');
    this.batch = [];
    this.batchChars = 0;
    this.hash.update(buf);
    if (!this.body.write(buf)) {
      // Wait for the upload to take more, or for it to fail (then 'drain' would never come).
      await Promise.race([once(this.body, 'drain'), this.done]);
    }
    if (this.failure) throw this.failure;
  }

  /** Ends the file; resolves to its hex MD5 once the upload is complete. */
  async end(): Promise<string> {
    await this.flush();
    this.body.end();
    await this.done;
    return this.hash.digest('hex');
  }

  async abort(): Promise<void> {
    await this.upload.abort().catch(() => undefined);
    this.body.destroy();
  }
}

/**
 * Writes the completion report of a finished (complete, failed or cancelled) job.
 *
 * Rows: `Bucket,Key,VersionId,TaskStatus,HTTPStatusCode,ErrorCode,ResultMessage`, Key in its URL-encoded manifest
 * form, no header. `ReportScope: FailedTasksOnly` writes only failed rows (manifest.json then lists no succeeded
 * file). Files are written with SSE-S3, as the service's reports are.
 *
 * @param results every task that ran, with its outcome; iterated once.
 * @param now the report's creation date. @default new Date()
 * @returns the manifest.json key, or undefined when the report is disabled or no task ran.
 * @throws JobFailure when the report bucket is missing or not a bucket ARN; S3 errors of the uploads as thrown.
 */
export async function writeCompletionReport(
  s3: S3Client,
  job: { JobId: string; Report: JobReport },
  results: Iterable<{ task: TaskRef; outcome: TaskOutcome }>,
  now: Date = new Date(),
): Promise<{ manifestKey: string } | undefined> {
  const report = job.Report;
  if (!report.Enabled) return undefined;
  const bucket = report.Bucket ? bucketFromArn(report.Bucket) : undefined;
  if (!bucket) {
    throw jobFailure(FailureCode.BucketNotAccessible, `Report bucket ${report.Bucket ?? '(none)'} is not a bucket ARN`);
  }
  const base = reportBaseKey(job.JobId, report.Prefix);
  const failedOnly = report.ReportScope === 'FailedTasksOnly';
  const files = new Map<Status, ResultsFile>();
  let ran = 0;
  try {
    for (const { task, outcome } of results) {
      ran += 1;
      if (failedOnly && outcome.status !== 'failed') continue;
      let file = files.get(outcome.status);
      if (!file) {
        file = new ResultsFile(s3, bucket, `${base}/results/${resultsFileName(job.JobId, outcome.status)}.csv`);
        files.set(outcome.status, file);
      }
      await file.write(
        formatReportRow({
          bucket: task.bucket,
          key: task.rawKey,
          versionId: task.versionId,
          taskStatus: outcome.status,
          httpStatusCode: outcome.httpStatus,
          errorCode: outcome.errorCode,
          resultMessage: outcome.resultMessage,
        }),
      );
    }
    if (ran === 0) return undefined;
    const entries: ReportManifest['Results'] = [];
    for (const status of ['succeeded', 'failed'] as const) {
      const file = files.get(status);
      if (!file) continue;
      const md5 = await file.end();
      entries.push({ TaskExecutionStatus: status, Bucket: bucket, MD5Checksum: md5, Key: file.key });
    }
    const manifest: ReportManifest = {
      Format: REPORT_FORMAT,
      ReportCreationDate: now.toISOString(),
      Results: entries,
      ReportSchema: REPORT_SCHEMA,
    };
    const manifestKey = `${base}/manifest.json`;
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: manifestKey,
        Body: JSON.stringify(manifest),
        ContentType: 'application/json',
        ServerSideEncryption: 'AES256',
      }),
    );
    return { manifestKey };
  } catch (err) {
    await Promise.all([...files.values()].map((f) => f.abort()));
    const e = awsErrorInfo(err);
    if (e.name === 'NoSuchBucket' || e.httpStatus === 403) {
      throw jobFailure(
        FailureCode.BucketNotAccessible,
        `Writing the completion report to bucket ${bucket} failed: ${e.name}`,
      );
    }
    throw err;
  }
}
