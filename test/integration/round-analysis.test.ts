/**
 * `analyzeRound` on moto, inside a mock activity context: a job's completion report (succeeded, retryable and
 * permanent failures, a task listed twice, tasks in no report, a null version) against its manifest. The analysis is
 * the same whether the rows are joined in one partition or in many (as a 10M-task job's are), and it is exactly what
 * the report says, in manifest order. And as a real Temporal activity, with the campaign's options: the progress it
 * heartbeats, and that the last of it reaches the server.
 */
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type ActivityInterceptorsFactory } from '@temporalio/worker';

import { createRoundActivities } from '../../src/activities/rounds';
import { formatReportRow, REPORT_FORMAT, type ReportRowInput } from '../../src/reports/completion-report';
import type { AnalyzeRoundInput, RoundAnalysis } from '../../src/shared/activity-types';
import { s3Client, uniqueName, withBucket } from '../helpers';
import { withCampaignWorker } from '../support/campaign';
import type { analyzeRoundWorkflow } from './activity-workflows';

async function text(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToString();
}

/** 40 objects: every 5th succeeded, then a mix of failures, duplicates and rows the job never ran. */
function fixture(bucket: string) {
  const manifest: string[] = [];
  const report: ReportRowInput[] = [];
  for (let i = 0; i < 40; i++) {
    const key = `dir/obj%20${i}+x`;
    const version = i % 7 === 0 ? 'null' : `v${i}`;
    manifest.push(`${bucket},${key},${version}`);
    // The report leaves a null version empty.
    const row = { bucket, key, versionId: version === 'null' ? undefined : version };
    if (i % 5 === 0) report.push({ ...row, taskStatus: 'succeeded', httpStatusCode: 200 });
    else if (i % 5 === 1) {
      report.push({ ...row, taskStatus: 'failed', httpStatusCode: 503, errorCode: 'SlowDown', resultMessage: 'slow' });
    } else if (i % 5 === 2) {
      report.push({
        ...row,
        taskStatus: 'failed',
        httpStatusCode: 404,
        errorCode: 'NoSuchKey',
        resultMessage: 'The specified key, "x", does not exist.\nSecond line',
      });
    } else if (i % 5 === 3) {
      // Listed twice: a failure, then a success; the success wins.
      report.push({ ...row, taskStatus: 'failed', httpStatusCode: 500, errorCode: 'InternalError' });
      report.push({ ...row, taskStatus: 'succeeded', httpStatusCode: 200 });
    }
    // i % 5 === 4: in no report (the job stopped before it).
  }
  return { manifest: manifest.join('\n') + '\n', report };
}

/** A round of one job over `in/manifest.csv` (40 rows, versioned), at most 12 objects per retry manifest. */
function roundInput(
  bucket: string,
  prefix: string,
  job: Pick<AnalyzeRoundInput['jobs'][number], 'jobId' | 'status' | 'tasksRun' | 'failureCodes' | 'endedAt'>,
  retryableErrorCodes: string[],
): AnalyzeRoundInput {
  return {
    campaignId: 'c1',
    round: 0,
    operationType: 'copy',
    retryableErrorCodes,
    maxObjectsPerJob: 12,
    jobs: [{ ...job, ordinal: 0, manifest: { bucket, key: 'in/manifest.csv', etag: 'x', rows: 40, versioned: true } }],
    reports: { bucket, prefix: 'reports' },
    output: { bucket, prefix },
  };
}

/** Writes job `jobId`'s completion report: each results file, and `reports/job-<id>/manifest.json` listing them. */
async function putCompletionReport(
  s3: S3Client,
  bucket: string,
  jobId: string,
  results: Array<{ status: 'succeeded' | 'failed'; key: string; rows: ReportRowInput[] }>,
): Promise<void> {
  for (const r of results) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: r.key, Body: r.rows.map(formatReportRow).join('') }));
  }
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `reports/job-${jobId}/manifest.json`,
      Body: JSON.stringify({
        Format: REPORT_FORMAT,
        Results: results.map((r) => ({ TaskExecutionStatus: r.status, Bucket: bucket, Key: r.key })),
      }),
    }),
  );
}

let bundle: ReturnType<typeof bundleWorkflowCode> | undefined;
/** The test workflows, bundled once for this file and only if a test runs them. */
function activityWorkflows(): ReturnType<typeof bundleWorkflowCode> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'activity-workflows.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never,
  });
  return bundle;
}

describe('analyzeRound', () => {
  test('gives the same analysis, failures and retry manifest in one partition or many', async () => {
    await withBucket(async (bucket, s3) => {
      const { manifest, report } = fixture(bucket);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/manifest.csv', Body: manifest }));
      const succeeded = report.filter((r) => r.taskStatus === 'succeeded');
      const failed = report.filter((r) => r.taskStatus === 'failed');
      // Results files in a shuffled order, as S3 gives no order: the analysis must follow the manifest.
      await putCompletionReport(s3, bucket, 'j1', [
        { status: 'failed', key: 'rep/failed.csv', rows: failed },
        { status: 'succeeded', key: 'rep/ok.csv', rows: succeeded.reverse() },
      ]);
      const input = (prefix: string) =>
        roundInput(bucket, prefix, { jobId: 'j1', status: 'Cancelled', tasksRun: 36 }, ['SlowDown', 'InternalError']);
      const run = async (partitionRows: number, prefix: string) => {
        const { analyzeRound } = createRoundActivities({ s3 }, { partitionRows });
        const analysis: RoundAnalysis = await new MockActivityEnvironment().run(analyzeRound, input(prefix));
        const files = await Promise.all([
          text(s3, bucket, analysis.permanentFailuresKey!),
          text(s3, bucket, analysis.retryableFailuresKey!),
          ...analysis.retryManifests.map((m) => text(s3, bucket, m.key)),
        ]);
        return { analysis, files };
      };
      const one = await run(1000, 'one');
      const many = await run(3, 'many');
      expect({ ...many.analysis, permanentFailuresKey: 0, retryableFailuresKey: 0, retryManifests: 0 }).toEqual({
        ...one.analysis,
        permanentFailuresKey: 0,
        retryableFailuresKey: 0,
        retryManifests: 0,
      });
      expect(many.files).toEqual(one.files);
      expect(many.analysis.retryManifests.map((m) => m.rows)).toEqual(one.analysis.retryManifests.map((m) => m.rows));

      // And it is what the report says: 8 + 8 succeeded, 8 retryable, 8 permanent, 8 never ran.
      expect(one.analysis).toMatchObject({ succeeded: 16, retryable: 8, permanent: 8, neverRan: 8 });
      expect(one.analysis.errorsByCode).toEqual({ SlowDown: 8, NoSuchKey: 8, NotRun: 8 });
      const retryRows = one.files.slice(2).join('').split('\n').filter(Boolean);
      const expected = fixture(bucket)
        .manifest.split('\n')
        .filter((_l, i) => i % 5 === 1 || i % 5 === 4);
      expect(retryRows).toEqual(expected);
      expect(one.analysis.retryManifests.map((m) => m.rows)).toEqual([12, 4]);
      const permanent = one.files[0]!;
      expect(permanent.split('NoSuchKey').length - 1).toBe(8);
      expect(permanent).toContain(`${bucket},dir/obj%2012+x,v12,NoSuchKey,404,"The specified key, ""x"", does`);
    });
  });

  test('a report not visible yet is a retryable failure that leaves no file open and no temporary file', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 's3c-round-test-'));
    try {
      await withBucket(async (bucket, s3) => {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/manifest.csv', Body: fixture(bucket).manifest }));
        const { analyzeRound } = createRoundActivities({ s3 }, { partitionRows: 2, tmpDir: tmp });
        const input = roundInput(
          bucket,
          'out',
          { jobId: 'late', status: 'Complete', tasksRun: 5, endedAt: new Date().toISOString() },
          [],
        );
        const err = await new MockActivityEnvironment().run(analyzeRound, input).then(
          () => undefined,
          (e: unknown) => e as { type?: string; nonRetryable?: boolean; message: string },
        );
        expect(err).toMatchObject({ type: 'Transient', nonRetryable: false });
        expect(err?.message).toMatch(/completion report of job late \(5 tasks run\) is not at/);
        // And a missing manifest (an error in the middle of the join) cleans up as well.
        const missing = {
          ...input,
          jobs: [{ ...input.jobs[0]!, jobId: undefined, manifest: { ...input.jobs[0]!.manifest, key: 'gone.csv' } }],
        };
        await expect(new MockActivityEnvironment().run(analyzeRound, missing)).rejects.toThrow();
      });
      const open = readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(tmp);
        } catch {
          return false;
        }
      });
      expect(open).toEqual([]);
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test.each([
    ['said it could not write its report', { status: 'Failed', failureCodes: ['ReportWriteFailed'] }],
    ['ended long ago and its report never came', { status: 'Complete', endedAt: '2026-01-01T00:00:00Z' }],
  ])(
    'a job that %s: every object has an unknown outcome, reported and never retried, and the analysis ends',
    async (_why, job) => {
      await withBucket(async (bucket, s3) => {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/manifest.csv', Body: fixture(bucket).manifest }));
        const { analyzeRound } = createRoundActivities({ s3 });
        const input = roundInput(bucket, 'out', { jobId: 'noreport', tasksRun: 5, ...job }, ['SlowDown']);
        const analysis: RoundAnalysis = await new MockActivityEnvironment().run(analyzeRound, input);
        // Never "succeeded", never "never ran" (which would be retried): unknown, counted as a permanent failure.
        expect(analysis).toMatchObject({ succeeded: 0, retryable: 0, neverRan: 0, permanent: 40, unknown: 40 });
        expect(analysis.errorsByCode).toEqual({ OutcomeUnknown: 40 });
        expect(analysis.retryManifests).toEqual([]);
        const lines = (await text(s3, bucket, analysis.permanentFailuresKey!)).split('\n').filter(Boolean);
        expect(lines).toHaveLength(40);
        expect(lines[0]).toMatch(
          /^[^,]+,dir\/obj%200\+x,null,OutcomeUnknown,,job noreport ended \w+ without a completion report .*unknown/,
        );
      });
    },
  );

  test('heartbeats its progress through every step of a job, and the server keeps the last heartbeat for the retry', async () => {
    await withBucket(async (bucket, s3) => {
      // One job of 25,000 objects: 20,000 succeeded, 5,000 failed for good.
      const rows = 25_000;
      const keys = Array.from({ length: rows }, (_, i) => `obj-${String(i).padStart(5, '0')}`);
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'in/manifest.csv',
          Body: keys.map((k) => `${bucket},${k}\n`).join(''),
        }),
      );
      const report = keys.map((key, i): ReportRowInput =>
        i % 5 === 0
          ? { bucket, key, taskStatus: 'failed', httpStatusCode: 404, errorCode: 'NoSuchKey' }
          : { bucket, key, taskStatus: 'succeeded', httpStatusCode: 200 },
      );
      await putCompletionReport(s3, bucket, 'j7', [{ status: 'succeeded', key: 'rep/all.csv', rows: report }]);
      const input: AnalyzeRoundInput = {
        campaignId: 'c-heartbeats',
        round: 0,
        operationType: 'copy',
        retryableErrorCodes: [],
        maxObjectsPerJob: rows,
        // Ordinal 2: the heartbeats name the job by its ordinal in the campaign, not its index in the round.
        jobs: [
          {
            jobId: 'j7',
            status: 'Complete',
            tasksRun: rows,
            ordinal: 2,
            manifest: { bucket, key: 'in/manifest.csv', etag: 'x', rows },
          },
        ],
        reports: { bucket, prefix: 'reports' },
        output: { bucket, prefix: 'out' },
      };

      // The first attempt analyses the whole job, then fails to write its failures file (a 500 from S3).
      const worker = s3Client();
      worker.middlewareStack.add(
        (next) => async (args) => {
          const key = (args.input as { Key?: string }).Key ?? '';
          if (Context.current().info.attempt === 1 && key.endsWith('failures/round-0-permanent.csv')) {
            throw Object.assign(new Error('simulated S3 outage'), {
              name: 'InternalError',
              $metadata: { httpStatusCode: 500 },
            });
          }
          return next(args);
        },
        { step: 'initialize', name: 'failFirstAttempt' },
      );
      const attempts: Array<{ attempt: number; heartbeatDetails: unknown; beats: unknown[] }> = [];
      const watchHeartbeats: ActivityInterceptorsFactory = (ctx) => {
        const seen = { attempt: ctx.info.attempt, heartbeatDetails: ctx.info.heartbeatDetails, beats: [] as unknown[] };
        attempts.push(seen);
        // The SDK has no interceptor for heartbeats: this attempt's context records each one on its way out.
        const send = ctx.heartbeat;
        Object.defineProperty(ctx, 'heartbeat', {
          value: (details?: unknown) => {
            seen.beats.push(details);
            send(details);
          },
        });
        return {};
      };
      let analysis: RoundAnalysis;
      try {
        analysis = await withCampaignWorker(
          (h) =>
            h.client.workflow.execute<typeof analyzeRoundWorkflow>('analyzeRoundWorkflow', {
              taskQueue: h.taskQueue,
              workflowId: uniqueName('round-heartbeats'),
              args: [input],
            }),
          {
            s3: worker,
            workerOptions: { workflowBundle: await activityWorkflows(), interceptors: { activity: [watchHeartbeats] } },
          },
        );
      } finally {
        worker.destroy();
      }

      // Report rows read, manifest rows read, the partition joined, manifest rows decided: every 10,000 rows.
      const progress = [
        { job: 2, reportRows: 10_000 },
        { job: 2, reportRows: 20_000 },
        { job: 2, rows: 10_000 },
        { job: 2, rows: 20_000 },
        { job: 2, partition: 0, partitions: 1 },
        { job: 2, rows: 10_000 },
        { job: 2, rows: 20_000 },
      ];
      expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
      expect(attempts[0]!.beats).toEqual(progress);
      expect(attempts[1]!.beats).toEqual(progress);
      // The server kept the first attempt's last heartbeat (sent when it failed, though throttled before) for the next.
      expect(attempts[0]!.heartbeatDetails).toBeUndefined();
      expect(attempts[1]!.heartbeatDetails).toEqual(progress[progress.length - 1]);
      expect(analysis).toMatchObject({ succeeded: 20_000, permanent: 5_000, retryable: 0, neverRan: 0 });
    });
  });
});
