import type { S3Client } from '@aws-sdk/client-s3';
import type { JobReport, TaskOutcome, TaskRef } from './types';

/**
 * Writes the job's completion report in the AWS layout. Returns undefined when the report is disabled or no task ran.
 */
export async function writeCompletionReport(
  s3: S3Client,
  job: { JobId: string; Report: JobReport },
  results: Iterable<{ task: TaskRef; outcome: TaskOutcome }>,
  now: Date = new Date(),
): Promise<{ manifestKey: string } | undefined> {
  void s3;
  void results;
  void now;
  if (!job.Report.Enabled) return undefined;
  throw new Error('completion reports are not implemented yet');
}
