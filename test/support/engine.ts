/**
 * Utilities for the engine's integration tests: manifests, job inputs, waiting for a status, an engine of the test's
 * own (temp state dir, closed in `finally`), the fault admin API and completion reports.
 */
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  type CreateJobCommandInput,
  DescribeJobCommand,
  type JobDescriptor,
  type JobOperation,
  type JobStatus,
  type S3ControlClient,
} from '@aws-sdk/client-s3-control';

import { createLocalS3ControlClient, type LocalBatchEngine, startLocalBatchEngine } from '../../src/local-batch';
import type { LocalBatchEngineOptions } from '../../src/local-batch';
import { encodeManifestKey } from '../../src/local-batch/manifest-reader';
import { reportBaseKey } from '../../src/local-batch/report';
import { createLogger } from '../../src/logging';
import { readCompletionReport, type ReportRow } from '../../src/reports/completion-report';
import { LOCAL_CREDENTIALS } from '../../src/stack';
import { stackEndpoints } from '../helpers';

/** A fresh account id: the engine scopes jobs by account, so a test that lists jobs sees only its own. */
export function uniqueAccountId(): string {
  return String(randomInt(100_000, 999_999)) + String(randomInt(100_000, 999_999));
}

/** Puts `keys` (body = key) with bounded concurrency; for manifests of thousands of objects. */
export async function putObjects(
  s3: S3Client,
  bucket: string,
  keys: readonly string[],
  concurrency = 32,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
}

/** Writes a CSV manifest listing `keys` of `bucket` and returns the `Manifest` member of a CreateJob. */
export async function putManifest(
  s3: S3Client,
  bucket: string,
  keys: readonly string[],
  manifestKey = 'manifests/manifest.csv',
): Promise<NonNullable<CreateJobCommandInput['Manifest']>> {
  const body = keys.map((k) => `${bucket},${encodeManifestKey(k)}\n`).join('');
  const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: manifestKey, Body: body }));
  return {
    Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
    Location: { ObjectArn: `arn:aws:s3:::${bucket}/${manifestKey}`, ETag: (out.ETag ?? '').replace(/"/g, '') },
  };
}

export interface JobInputOptions {
  accountId?: string;
  manifest: NonNullable<CreateJobCommandInput['Manifest']>;
  operation?: JobOperation;
  /** Report bucket name; the report is disabled when absent. */
  reportBucket?: string;
  reportPrefix?: string;
  reportScope?: 'AllTasks' | 'FailedTasksOnly';
  /** @default false: the job runs on its own */
  confirmationRequired?: boolean;
  priority?: number;
  description?: string;
  token?: string;
  tags?: { Key: string; Value: string }[];
}

/** A CreateJob input with sensible defaults: tag every object `done=yes`, run without confirmation, no report. */
export function jobInput(o: JobInputOptions): CreateJobCommandInput {
  return {
    AccountId: o.accountId ?? stackEndpoints().accountId,
    ConfirmationRequired: o.confirmationRequired ?? false,
    Operation: o.operation ?? { S3PutObjectTagging: { TagSet: [{ Key: 'done', Value: 'yes' }] } },
    Report: o.reportBucket
      ? {
          Enabled: true,
          Bucket: `arn:aws:s3:::${o.reportBucket}`,
          Format: 'Report_CSV_20180820',
          Prefix: o.reportPrefix ?? 'reports',
          ReportScope: o.reportScope ?? 'AllTasks',
        }
      : { Enabled: false },
    Manifest: o.manifest,
    Priority: o.priority ?? 10,
    RoleArn: 'arn:aws:iam::123456789012:role/BatchOperations',
    ...(o.description !== undefined ? { Description: o.description } : {}),
    ...(o.token !== undefined ? { ClientRequestToken: o.token } : {}),
    ...(o.tags !== undefined ? { Tags: o.tags } : {}),
  };
}

const TERMINAL: JobStatus[] = ['Complete', 'Failed', 'Cancelled'];

/**
 * Polls DescribeJob until `until` holds (default: a terminal status) and returns the job.
 * @throws when it does not within `timeoutMs`, with the last status seen.
 */
export async function waitForJob(
  control: S3ControlClient,
  accountId: string,
  jobId: string,
  until: JobStatus[] | ((job: JobDescriptor) => boolean) = TERMINAL,
  timeoutMs = 60_000,
): Promise<JobDescriptor> {
  const test = Array.isArray(until) ? (j: JobDescriptor) => until.includes(j.Status as JobStatus) : until;
  const deadline = Date.now() + timeoutMs;
  let last: JobDescriptor | undefined;
  for (;;) {
    last = (await control.send(new DescribeJobCommand({ AccountId: accountId, JobId: jobId }))).Job;
    if (last && test(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(
        `job ${jobId} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Quiet logs for engines started inside a test. */
export const quietLog = () => createLogger('local-batch', { level: 'error' });

/**
 * Runs `fn` with an engine of its own (on the run's moto, a temp state dir unless given) and an S3 Control client for
 * it; closes both and removes the temp dir afterwards.
 */
export async function withEngine<T>(
  opts: Partial<LocalBatchEngineOptions>,
  fn: (engine: LocalBatchEngine, control: S3ControlClient) => Promise<T>,
): Promise<T> {
  const tmp = opts.stateDir === undefined ? mkdtempSync(path.join(os.tmpdir(), 'lb-engine-')) : undefined;
  const engine = await startLocalBatchEngine({
    s3Endpoint: stackEndpoints().s3Endpoint,
    log: quietLog(),
    ...opts,
    stateDir: opts.stateDir ?? tmp,
  });
  const control = engineClient(engine.url);
  try {
    return await fn(engine, control);
  } finally {
    control.destroy();
    await engine.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

/** An S3 Control client for an engine URL; no retries, so tests see every error as it is. */
export function engineClient(url: string): S3ControlClient {
  return createLocalS3ControlClient({ endpoint: url, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
}

/** Calls the engine's JSON admin API. */
export async function admin(
  engineUrl: string,
  method: string,
  pathName: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${engineUrl}${pathName}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
}

/** Reads a job's completion report (manifest.json + every results file, MD5s checked). */
export async function readJobReport(
  s3: S3Client,
  bucket: string,
  prefix: string,
  jobId: string,
): Promise<{ rows: ReportRow[]; files: { TaskExecutionStatus: string; Key: string }[] }> {
  const { manifest, rows } = await readCompletionReport(s3, bucket, `${reportBaseKey(jobId, prefix)}/manifest.json`);
  return { rows, files: manifest.Results };
}

/**
 * A local HTTP "Lambda function" that counts invocations per key and answers Succeeded after `delayMs`, for jobs
 * whose every task execution must be observable.
 */
export async function countingLambda(delayMs = 0): Promise<{
  url: string;
  counts: Map<string, number>;
  close(): Promise<void>;
}> {
  const counts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const event = JSON.parse(body) as {
        invocationSchemaVersion: string;
        invocationId: string;
        tasks: { taskId: string; s3Key: string }[];
      };
      for (const t of event.tasks) counts.set(t.s3Key, (counts.get(t.s3Key) ?? 0) + 1);
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            invocationSchemaVersion: event.invocationSchemaVersion,
            invocationId: event.invocationId,
            treatMissingKeysAs: 'PermanentFailure',
            results: event.tasks.map((t) => ({ taskId: t.taskId, resultCode: 'Succeeded', resultString: 'ok' })),
          }),
        );
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
