/**
 * Local batch engine throughput against moto, next to its anchor: a plain loop of the same SDK calls.
 *
 *   npm run bench:engine                                 # 2,000 objects, the engine's default task concurrency
 *   node dist/bench/engine-throughput.js --objects 5000 --concurrency 32 --rounds 5
 *
 * One process, one event loop (the engine runs in-process, with its state directory on): each round tags every
 * object once through an S3PutObjectTagging job (CreateJob → Complete, manifest read included, no report) and once
 * through `concurrency` workers sending PutObjectTaggingCommand with an S3 client set up like the engine's.
 * The two alternate, after one warm-up of each, so that moto's and the JIT's drift hits both alike. The figure is
 * the engine's overhead against the loop, from the medians. Both sides also report this process's CPU time per task
 * (user + system), which shows what the engine itself costs even when moto, not Node, is the bottleneck.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { CreateBucketCommand, PutObjectCommand, PutObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateJobCommand, DescribeJobCommand, type S3ControlClient } from '@aws-sdk/client-s3-control';
import { NodeHttpHandler } from '@smithy/node-http-handler';

import { createLocalS3ControlClient, DEFAULT_TASK_CONCURRENCY, startLocalBatchEngine } from '../src/local-batch';
import { encodeManifestKey } from '../src/local-batch/manifest-reader';
import { createLogger } from '../src/logging';
import { quietSdkNodeWarningOnNode20 } from '../src/node-support';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, startS3 } from '../src/stack';

quietSdkNodeWarningOnNode20();

interface Args {
  objects: number;
  concurrency: number;
  rounds: number;
}

function parseArgs(argv: string[]): Args {
  // 7 rounds: on a shared 2-core machine 3 rounds gave medians 20 points apart from one run to the next.
  const args: Args = { objects: 2000, concurrency: DEFAULT_TASK_CONCURRENCY, rounds: 7 };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]?.replace(/^--/, '');
    const value = Number(argv[i + 1]);
    if (!name || !(name in args) || !Number.isInteger(value) || value < 1) {
      throw new Error(
        `usage: engine-throughput [--objects N] [--concurrency N] [--rounds N] (bad: ${argv[i]} ${argv[i + 1]})`,
      );
    }
    args[name as keyof Args] = value;
  }
  return args;
}

async function pool(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** The anchor: `concurrency` workers over the same keys, the same calls, an equally configured client. */
async function plainLoop(s3: S3Client, bucket: string, keys: string[], concurrency: number, round: number) {
  await pool(keys.length, concurrency, async (i) => {
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: bucket,
        Key: keys[i]!,
        Tagging: { TagSet: [{ Key: 'round', Value: `loop-${round}` }] },
      }),
    );
  });
}

async function engineJob(
  control: S3ControlClient,
  bucket: string,
  manifestEtag: string,
  round: number,
): Promise<{ succeeded: number; finished: number }> {
  const { JobId } = await control.send(
    new CreateJobCommand({
      AccountId: LOCAL_ACCOUNT_ID,
      ConfirmationRequired: false,
      Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'round', Value: `engine-${round}` }] } },
      Report: { Enabled: false },
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ObjectArn: `arn:aws:s3:::${bucket}/manifest.csv`, ETag: manifestEtag },
      },
      Priority: 10,
      RoleArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/bench`,
    }),
  );
  for (;;) {
    const job = (await control.send(new DescribeJobCommand({ AccountId: LOCAL_ACCOUNT_ID, JobId }))).Job;
    if (job?.Status === 'Complete') {
      return { succeeded: job.ProgressSummary?.NumberOfTasksSucceeded ?? 0, finished: job.TerminationDate!.getTime() };
    }
    if (job?.Status === 'Failed' || job?.Status === 'Cancelled') {
      throw new Error(`bench job ${JobId} ended ${job.Status}: ${JSON.stringify(job.FailureReasons)}`);
    }
    // The rate comes from the job's TerminationDate, so polling can be rare and cost the engine next to nothing.
    await new Promise((r) => setTimeout(r, 250));
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-bench-engine-'));
  const log = createLogger('bench', { level: 'warn' });
  console.log(
    `engine throughput: ${args.objects} objects, task concurrency ${args.concurrency}, ${args.rounds} rounds`,
  );
  const moto = await startS3({ dir, log });
  // The same client setup as the engine's own: keep-alive sockets, at least as many as tasks in flight.
  const s3 = new S3Client({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: new NodeHttpHandler({
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: Math.max(50, args.concurrency) }),
    }),
  });
  const engine = await startLocalBatchEngine({
    s3Endpoint: moto.endpoint,
    stateDir: path.join(dir, 'engine-state'),
    taskConcurrency: args.concurrency,
    log: createLogger('local-batch', { level: 'warn' }),
  });
  const control = createLocalS3ControlClient({ endpoint: engine.url, credentials: LOCAL_CREDENTIALS });
  try {
    const bucket = 'bench-engine';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const keys = Array.from({ length: args.objects }, (_, i) => `objects/${String(i).padStart(7, '0')}.bin`);
    await pool(keys.length, 32, async (i) => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: keys[i]!, Body: 'x' }));
    });
    const manifest = keys.map((k) => `${bucket},${encodeManifestKey(k)}\n`).join('');
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'manifest.csv', Body: manifest }));
    const etag = (put.ETag ?? '').replace(/"/g, '');

    const loopRates: number[] = [];
    const engineRates: number[] = [];
    const loopCpu: number[] = [];
    const engineCpu: number[] = [];
    const cpuMicros = (since: NodeJS.CpuUsage) => {
      const d = process.cpuUsage(since);
      return (d.user + d.system) / keys.length;
    };
    for (let round = 0; round <= args.rounds; round++) {
      const warmup = round === 0;
      let cpu = process.cpuUsage();
      const t = performance.now();
      await plainLoop(s3, bucket, keys, args.concurrency, round);
      const loopRate = keys.length / ((performance.now() - t) / 1000);
      const loopUs = cpuMicros(cpu);
      cpu = process.cpuUsage();
      const started = Date.now();
      const { succeeded, finished } = await engineJob(control, bucket, etag, round);
      const engineRate = keys.length / ((finished - started) / 1000);
      const engineUs = cpuMicros(cpu);
      if (succeeded !== keys.length) throw new Error(`engine job tagged ${succeeded} of ${keys.length} objects`);
      console.log(
        `${warmup ? 'warm-up' : `round ${round}`}: plain loop ${loopRate.toFixed(0)} tasks/s (${loopUs.toFixed(0)} µs CPU/task), ` +
          `engine ${engineRate.toFixed(0)} tasks/s (${engineUs.toFixed(0)} µs CPU/task)`,
      );
      if (!warmup) {
        loopRates.push(loopRate);
        engineRates.push(engineRate);
        loopCpu.push(loopUs);
        engineCpu.push(engineUs);
      }
    }
    const loop = median(loopRates);
    const eng = median(engineRates);
    const overhead = ((loop - eng) / loop) * 100;
    const cpuOverhead = ((median(engineCpu) - median(loopCpu)) / median(loopCpu)) * 100;
    console.log('');
    console.log(
      `plain loop of PutObjectTagging (anchor): ${loop.toFixed(0)} tasks/s, ${median(loopCpu).toFixed(0)} µs CPU/task (medians)`,
    );
    console.log(
      `engine S3PutObjectTagging job:          ${eng.toFixed(0)} tasks/s, ${median(engineCpu).toFixed(0)} µs CPU/task (medians, CreateJob → Complete)`,
    );
    // Each round runs both sides back to back, so the per-round ratio is the figure least moved by the machine's
    // other load; the spread says how much to trust it.
    const paired = loopRates.map((l, i) => ((l - engineRates[i]!) / l) * 100);
    console.log(
      `engine overhead: ${overhead.toFixed(1)}% in throughput (target < 10%), ${cpuOverhead.toFixed(1)}% in CPU per task`,
    );
    console.log(
      `per-round throughput overhead: median ${median(paired).toFixed(1)}%, range ${Math.min(...paired).toFixed(1)}% … ${Math.max(...paired).toFixed(1)}%`,
    );
  } finally {
    control.destroy();
    await engine.close();
    s3.destroy();
    await moto.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
