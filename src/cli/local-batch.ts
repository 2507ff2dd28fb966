/**
 * `s3-campaigns local-batch`: runs the local S3 Batch Operations engine in the foreground until SIGINT/SIGTERM.
 * Prints exactly one line on stdout when it serves requests (`local-batch ready http://127.0.0.1:PORT`); logs go to
 * stderr.
 */
import { type Command, InvalidArgumentError } from 'commander';

import {
  DEFAULT_MAX_ACTIVE_JOBS,
  DEFAULT_RETENTION_DAYS,
  DEFAULT_TASK_CONCURRENCY,
  MAX_RESTORE_LATENCY_MS,
  startLocalBatchEngine,
} from '../local-batch';
import { FaultInjector } from '../local-batch/faults';
import { parseLambdaMapping } from '../local-batch/lambda';
import { durationMs, formatDuration } from '../shared/campaign-spec';

interface LocalBatchFlags {
  port: number;
  s3Endpoint: string;
  stateDir: string;
  host: string;
  region: string;
  taskConcurrency: number;
  maxActiveJobs: number;
  retentionDays: number;
  lambda: Record<string, string>;
  faults?: string;
  restoreLatency: number;
}

function parsePortOrZero(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    throw new InvalidArgumentError(
      `--port must be 0 (any free port) or a port number up to 65535, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function parseEndpoint(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(
      `--s3-endpoint must be a URL such as http://127.0.0.1:4566, got ${JSON.stringify(value)}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`--s3-endpoint must be an http:// or https:// URL, got ${JSON.stringify(value)}`);
  }
  return value;
}

function parseRegion(value: string): string {
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(value)) {
    throw new InvalidArgumentError(`--region must be an AWS region such as us-east-1, got ${JSON.stringify(value)}`);
  }
  return value;
}

function collectLambda(value: string, previous: Record<string, string>): Record<string, string> {
  try {
    const [arn, target] = parseLambdaMapping(value);
    return { ...previous, [arn]: target };
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function parseCount(flag: string, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > max) {
      throw new InvalidArgumentError(`${flag} must be a whole number from 1 to ${max}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

/**
 * A commander parser for `--restore-latency`: a duration of the campaign spec's kind (`30s`, `2m`, `1h`, `1.5h`,
 * plain milliseconds) or `0`, at most 30 days; returns milliseconds. `dev` uses it too.
 */
export function parseRestoreLatency(value: string): number {
  let ms: number | undefined;
  try {
    ms = durationMs(value);
  } catch {
    ms = undefined;
  }
  if (ms === undefined || ms > MAX_RESTORE_LATENCY_MS) {
    throw new InvalidArgumentError(
      `--restore-latency must be a duration such as 30s, 2m or 1h (0 = restores complete at once), at most ` +
        `${formatDuration(MAX_RESTORE_LATENCY_MS)}, got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}

/** `--restore-latency` help, shared with `dev`. */
export const RESTORE_LATENCY_HELP =
  'how long a GLACIER/DEEP_ARCHIVE restore takes, e.g. 30s, 2m, 1h: the object stays archived until then, then it ' +
  "is restored and s3:ObjectRestore:Completed goes to the bucket's SQS queues (0 = at once, as moto does)";

function parseNonNegativeInt(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value))
      throw new InvalidArgumentError(`${flag} must be a whole number, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}

export function registerLocalBatchCommand(program: Command): void {
  program
    .command('local-batch')
    .description(
      'run the local S3 Batch Operations engine: the S3 Control job API, executing jobs against an S3 endpoint',
    )
    .option('--port <port>', 'port to listen on (0 = any free port)', parsePortOrZero, 0)
    .requiredOption('--s3-endpoint <url>', 'S3 endpoint the jobs act on, e.g. http://127.0.0.1:4566', parseEndpoint)
    .requiredOption('--state-dir <dir>', 'directory where jobs and task progress survive restarts')
    .option('--host <host>', 'interface to bind (the engine has no authentication)', '127.0.0.1')
    .option('--region <region>', 'region for job ARNs and the S3 client', parseRegion, 'us-east-1')
    .option(
      '--task-concurrency <n>',
      'tasks in flight per active job',
      parseCount('--task-concurrency', 1024),
      DEFAULT_TASK_CONCURRENCY,
    )
    .option(
      '--max-active-jobs <n>',
      'jobs running at once',
      parseCount('--max-active-jobs', 1024),
      DEFAULT_MAX_ACTIVE_JOBS,
    )
    .option(
      '--retention-days <n>',
      'days a finished job is kept',
      parseNonNegativeInt('--retention-days'),
      DEFAULT_RETENTION_DAYS,
    )
    .option(
      '--lambda <arn=target>',
      'local handler for a Lambda function ARN: a JS module path or http(s) URL (repeatable)',
      collectLambda,
      {},
    )
    .option('--faults <file.json>', 'fault-injection rules to start with (see /_local/faults)')
    .option('--restore-latency <duration>', RESTORE_LATENCY_HELP, parseRestoreLatency, 0)
    .addHelpText(
      'after',
      '\nExamples:\n  s3-campaigns local-batch --port 4567 --s3-endpoint http://127.0.0.1:4566 --state-dir .local/engine \\\n' +
        '    --lambda arn:aws:lambda:us-east-1:123456789012:function:resize=./handlers/resize.js\n' +
        '  s3-campaigns local-batch --s3-endpoint http://127.0.0.1:4566 --state-dir .local/engine --restore-latency 2m\n' +
        '\nGET /_local/restores shows the restores held back by --restore-latency: counts and the next due time\n' +
        '(?bucket=<name>&prefix=<key prefix>&limit=<0-1000> lists some of them).\n',
    )
    .action(async (flags: LocalBatchFlags) => {
      process.exitCode = await runLocalBatch(flags);
    });
}

async function runLocalBatch(flags: LocalBatchFlags): Promise<number> {
  let faults: FaultInjector | undefined;
  if (flags.faults !== undefined) {
    try {
      faults = FaultInjector.fromFile(flags.faults);
    } catch (err) {
      process.stderr.write(`local-batch: --faults ${flags.faults}: ${(err as Error).message}\n`);
      return 2;
    }
  }
  let engine;
  try {
    engine = await startLocalBatchEngine({
      port: flags.port,
      host: flags.host,
      s3Endpoint: flags.s3Endpoint,
      region: flags.region,
      stateDir: flags.stateDir,
      taskConcurrency: flags.taskConcurrency,
      maxActiveJobs: flags.maxActiveJobs,
      retentionDays: flags.retentionDays,
      lambdaHandlers: flags.lambda,
      restoreLatencyMs: flags.restoreLatency,
      ...(faults ? { faults } : {}),
    });
  } catch (err) {
    process.stderr.write(`local-batch: could not start: ${(err as Error).message}\n`);
    return 1;
  }
  console.log(`local-batch ready ${engine.url}`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await engine.close();
  return 0;
}
