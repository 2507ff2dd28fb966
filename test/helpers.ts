/**
 * Shared setup for integration tests. The servers start once per run (global-setup.ts); each test isolates itself
 * with its own buckets, prefixes, task queues and workflow ids, and cleans up in `finally`.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { inspect } from 'node:util';

import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { S3ControlClient } from '@aws-sdk/client-s3-control';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

import { createLocalS3ControlClient } from '../src/local-batch/client';
import { LOCAL_CREDENTIALS, type StackEndpoints } from '../src/stack';
import { HEAVY_TASK_QUEUE_SUFFIX } from '../src/shared/task-queue';

export function stackEndpoints(): StackEndpoints {
  const raw = process.env.S3C_TEST_ENDPOINTS;
  if (!raw) throw new Error('S3C_TEST_ENDPOINTS is not set: integration tests run under the jest global setup');
  return JSON.parse(raw) as StackEndpoints;
}

/** A bucket/queue/id-safe unique name: lower case, ≤ 63 chars. */
export function uniqueName(prefix: string): string {
  const p = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40);
  return `${p}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export function s3Client(endpoint = stackEndpoints().s3Endpoint): S3Client {
  return new S3Client({
    endpoint,
    region: stackEndpoints().region,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
  });
}

/**
 * An S3 client that dies like a killed worker: the `n`-th call of one of `commands` fails with a 500 (retryable, so
 * the activity fails and is retried). With `noCleanup`, every AbortMultipartUpload fails too, so its uploads stay
 * open as a dead worker's would.
 */
export function crashingS3(n: number, opts: { commands: string[]; noCleanup?: boolean }): S3Client {
  const s3 = s3Client();
  let calls = 0;
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const counted = opts.commands.includes(String(context.commandName));
      const abort = opts.noCleanup === true && context.commandName === 'AbortMultipartUploadCommand';
      if ((counted && ++calls === n) || abort) {
        throw Object.assign(new Error('simulated worker crash'), {
          name: 'InternalError',
          $metadata: { httpStatusCode: 500 },
        });
      }
      return next(args);
    },
    { step: 'initialize', name: 'simulatedCrash' },
  );
  return s3;
}

/** An S3 Control client for the run's engine (or another one, by URL). `maxAttempts: 1` for fault tests. */
export function controlClient(opts: { endpoint?: string; maxAttempts?: number } = {}): S3ControlClient {
  return createLocalS3ControlClient({
    endpoint: opts.endpoint ?? stackEndpoints().engineUrl,
    region: stackEndpoints().region,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: opts.maxAttempts,
  });
}

/** Deletes every object version and delete marker (bypassing governance retention), then the bucket. */
export async function emptyAndDeleteBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({
      Key: v.Key!,
      VersionId: v.VersionId,
    }));
    if (objects.length === 0) break;
    await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: objects, Quiet: true },
        BypassGovernanceRetention: true,
      }),
    );
    if (!page.IsTruncated) break;
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}

export interface BucketOptions {
  /** Enable versioning. @default false */
  versioning?: boolean;
  /** Create with Object Lock (implies versioning). @default false */
  objectLock?: boolean;
  /** Name prefix. @default 'test' */
  prefix?: string;
}

/** Runs `fn` with a fresh bucket and removes it afterwards (best effort: COMPLIANCE-locked objects may remain). */
export async function withBucket<T>(
  fn: (bucket: string, s3: S3Client) => Promise<T>,
  opts: BucketOptions = {},
): Promise<T> {
  const s3 = s3Client();
  const bucket = uniqueName(opts.prefix ?? 'test');
  await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: opts.objectLock || undefined }));
  if (opts.versioning && !opts.objectLock) {
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  }
  try {
    return await fn(bucket, s3);
  } finally {
    await emptyAndDeleteBucket(s3, bucket).catch(() => undefined);
    s3.destroy();
  }
}

/** A Temporal client for the run's dev server; close its connection in `finally`. */
export async function temporalClient(): Promise<{ client: Client; connection: Connection }> {
  const e = stackEndpoints();
  const connection = await Connection.connect({ address: e.temporalAddress });
  return { client: new Client({ connection, namespace: e.temporalNamespace }), connection };
}

/** Reads `read()` every 100 ms until `done` holds for its value, and returns it; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test file (each file is its own module registry). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: path.join(__dirname, '..', 'src', 'workflows', 'index.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never,
  });
  return bundle;
}

let runtimeInstalled = false;

/** Keeps the SDK's worker logs to warnings and errors in test output. Call before creating a worker. */
export function quietTemporalRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      logger: new DefaultLogger('WARN', (entry) => {
        // The heavy queue's worker has no workflows by design; the product's logging says so at debug level too.
        const queue = String((entry.meta as { taskQueue?: unknown } | undefined)?.taskQueue ?? '');
        if (entry.message.startsWith('No workflows registered') && queue.endsWith(HEAVY_TASK_QUEUE_SUFFIX)) return;
        const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
        // Straight to stderr as the SDK's own appender writes: Jest's console would add a code frame to each line.
        process.stderr.write(
          `${time} [${entry.level}] ${entry.message}${entry.meta ? ` ${inspect(entry.meta)}` : ''}\n`,
        );
      }),
    });
  } catch {
    // Already installed in this process (another helper got there first): keep it.
  }
}
