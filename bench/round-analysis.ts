/**
 * Round analysis of one large job (completion report vs manifest) on moto: time and peak RSS of the partitioned join
 * the campaign uses, next to the same code with every row in one partition (the whole job's report in memory at once,
 * as the analysis held it before partitioning; the anchor), in the same run.
 *
 *   npm run bench:rounds                          # 1,000,000 tasks
 *   node dist/bench/round-analysis.js --tasks 3000000 --heap-mb 160   # both under a 160 MB V8 heap cap
 *
 * The report: 90% succeeded, 5% SlowDown (retried), 3% NoSuchKey (permanent), 2% in no report. Each analysis runs in
 * a child process, so its peak RSS is its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';

import { ANALYSIS_PARTITION_ROWS, createRoundActivities } from '../src/activities/rounds';
import { uploadStream } from '../src/aws/upload';
import { createLogger } from '../src/logging';
import { quietSdkNodeWarningOnNode20 } from '../src/node-support';
import { formatReportRow, REPORT_FORMAT } from '../src/reports/completion-report';
import type { AnalyzeRoundInput, RoundAnalysis } from '../src/shared/activity-types';
import { LOCAL_CREDENTIALS, startS3 } from '../src/stack';
import { peakRssMB } from './peak-rss';

quietSdkNodeWarningOnNode20();

const BUCKET = 'bench-rounds';

function client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
}

function input(tasks: number, prefix: string): AnalyzeRoundInput {
  return {
    campaignId: 'bench',
    round: 0,
    operationType: 'copy',
    retryableErrorCodes: ['SlowDown'],
    maxObjectsPerJob: 1_000_000,
    jobs: [
      {
        jobId: 'j1',
        ordinal: 0,
        status: 'Complete',
        tasksRun: tasks,
        manifest: { bucket: BUCKET, key: 'manifest.csv', etag: 'x', rows: tasks },
      },
    ],
    reports: { bucket: BUCKET, prefix: 'reports' },
    output: { bucket: BUCKET, prefix },
  };
}

/**
 * Writes the manifest and the job's completion report. Streamed in multipart uploads, chunk by chunk: at 10M tasks one
 * file is over V8's longest string.
 */
async function seed(s3: S3Client, tasks: number): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const keyOf = (i: number) => `logs/2024/${i % 1000}/object-${i.toString(36).padStart(8, '0')}.json.gz`;
  /** The line of task `i` in one of the files, or undefined when that file does not list it. */
  const lines: Record<string, (i: number) => string | undefined> = {
    'manifest.csv': (i) => `${BUCKET},${keyOf(i)}\n`,
    'reports/ok.csv': (i) =>
      i % 100 < 90
        ? formatReportRow({ bucket: BUCKET, key: keyOf(i), taskStatus: 'succeeded', httpStatusCode: 200 })
        : undefined,
    'reports/failed.csv': (i) => {
      const r = i % 100;
      if (r >= 90 && r < 95) {
        return formatReportRow({
          bucket: BUCKET,
          key: keyOf(i),
          taskStatus: 'failed',
          httpStatusCode: 503,
          errorCode: 'SlowDown',
        });
      }
      if (r >= 95 && r < 98) {
        return formatReportRow({
          bucket: BUCKET,
          key: keyOf(i),
          taskStatus: 'failed',
          httpStatusCode: 404,
          errorCode: 'NoSuchKey',
          resultMessage: 'The specified key does not exist.',
        });
      }
      return undefined;
    },
  };
  for (const [Key, line] of Object.entries(lines)) {
    const chunks = (function* () {
      let chunk = '';
      for (let i = 0; i < tasks; i++) {
        chunk += line(i) ?? '';
        if (chunk.length >= 1 << 20) {
          yield Buffer.from(chunk);
          chunk = '';
        }
      }
      if (chunk) yield Buffer.from(chunk);
    })();
    await uploadStream(s3, { Bucket: BUCKET, Key, ContentType: 'text/csv' }, Readable.from(chunks));
  }
  const results = [
    { TaskExecutionStatus: 'succeeded', Bucket: BUCKET, Key: 'reports/ok.csv' },
    { TaskExecutionStatus: 'failed', Bucket: BUCKET, Key: 'reports/failed.csv' },
  ];
  await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: 'reports/job-j1/manifest.json',
      Body: JSON.stringify({ Format: REPORT_FORMAT, Results: results }),
    }),
  );
}

interface ChildResult {
  seconds: number;
  maxRssMB: number;
  analysis: Pick<RoundAnalysis, 'succeeded' | 'retryable' | 'permanent' | 'neverRan'>;
}

/**
 * Which failure ended a child: V8's heap limit ("out of memory", with the cap when one was set), a signal (the
 * kernel's OOM killer sends SIGKILL), or any other error with the last lines it printed.
 */
function childFailure(
  e: { status?: number | null; signal?: string | null; stderr?: string },
  heapFlags: string[],
): string {
  const stderr = e.stderr ?? '';
  if (/heap out of memory|Allocation failed/.test(stderr)) {
    return `ran out of memory (V8 heap${heapFlags.length ? `, ${heapFlags.join(' ')}` : ''})`;
  }
  if (e.signal) return `was killed by ${e.signal}${e.signal === 'SIGKILL' ? ' (the kernel OOM killer?)' : ''}`;
  const tail = stderr.trim().split('\n').slice(-3).join(' | ');
  return `failed with exit code ${e.status ?? '?'}${tail ? `: ${tail}` : ''}`;
}

async function child(endpoint: string, tasks: number, partitionRows: number): Promise<void> {
  const s3 = client(endpoint);
  const { analyzeRound } = createRoundActivities({ s3 }, { partitionRows });
  const started = process.hrtime.bigint();
  const a: RoundAnalysis = await new MockActivityEnvironment().run(analyzeRound, input(tasks, `out-${partitionRows}`));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const result: ChildResult = {
    seconds,
    maxRssMB: peakRssMB(),
    analysis: { succeeded: a.succeeded, retryable: a.retryable, permanent: a.permanent, neverRan: a.neverRan },
  };
  process.stdout.write(JSON.stringify(result));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    await child(argv[1]!, Number(argv[2]), Number(argv[3]));
    return;
  }
  const i = argv.indexOf('--tasks');
  const tasks = i === -1 ? 1_000_000 : Number(argv[i + 1]);
  const h = argv.indexOf('--heap-mb');
  const heap = h === -1 ? [] : [`--max-old-space-size=${Number(argv[h + 1])}`];
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-bench-rounds-'));
  const moto = await startS3({ dir, log: createLogger('bench') });
  try {
    await seed(client(moto.endpoint), tasks);
    const run = (partitionRows: number): ChildResult | { error: string } => {
      try {
        const args = [...heap, __filename, '--child', moto.endpoint, String(tasks), String(partitionRows)];
        const out = execFileSync(process.execPath, args, {
          encoding: 'utf-8',
          env: { ...process.env, S3C_LOG_LEVEL: 'warn' },
          stdio: ['ignore', 'pipe', 'pipe'],
          maxBuffer: 64 << 20,
        });
        return JSON.parse(out) as ChildResult;
      } catch (err) {
        const e = err as { status?: number | null; signal?: string | null; stderr?: string };
        return { error: childFailure(e, heap) };
      }
    };
    const ours = run(ANALYSIS_PARTITION_ROWS);
    const anchor = run(Number.MAX_SAFE_INTEGER);
    if ('error' in ours) throw new Error(`the partitioned analysis ${ours.error}`);
    const partitions = Math.ceil(tasks / ANALYSIS_PARTITION_ROWS);
    console.log(
      `\nround analysis of one job of ${tasks.toLocaleString('en-US')} tasks (${JSON.stringify(ours.analysis)})`,
    );
    console.log(
      `  partitioned (${partitions} × ${ANALYSIS_PARTITION_ROWS.toLocaleString('en-US')} rows)  ${ours.seconds.toFixed(1)} s  peak RSS ${ours.maxRssMB.toFixed(0)} MB`,
    );
    if ('error' in anchor) {
      console.log(`  one partition (anchor)       ${anchor.error}`);
      return;
    }
    if (JSON.stringify(ours.analysis) !== JSON.stringify(anchor.analysis)) {
      throw new Error(`the analyses differ: ${JSON.stringify(ours.analysis)} vs ${JSON.stringify(anchor.analysis)}`);
    }
    console.log(
      `  one partition (anchor)       ${anchor.seconds.toFixed(1)} s  peak RSS ${anchor.maxRssMB.toFixed(0)} MB`,
    );
    console.log(
      `  ratio                        ${(ours.seconds / anchor.seconds).toFixed(2)}× the time, ${(ours.maxRssMB / anchor.maxRssMB).toFixed(2)}× the memory`,
    );
  } finally {
    await moto.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
