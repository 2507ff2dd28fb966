/**
 * Utilities for the data-plane integration tests (manifest reader, task runners, reports) that talk to moto directly,
 * without the engine's HTTP server.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { GetObjectTaggingCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { LambdaBridge } from '../../src/local-batch/lambda';
import type { RunnerDeps, TaskRunner } from '../../src/local-batch/operations';
import type { JobManifest, TaskOutcome, TaskRef } from '../../src/local-batch/types';

/** Puts a manifest object and returns the `Manifest` a CreateJob would carry for it (ETag unquoted, as AWS shows). */
export async function putCsvManifest(
  s3: S3Client,
  bucket: string,
  key: string,
  body: string,
  fields: NonNullable<JobManifest['Spec']['Fields']> = ['Bucket', 'Key'],
): Promise<JobManifest> {
  const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return {
    Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: fields },
    Location: { ObjectArn: `arn:aws:s3:::${bucket}/${key}`, ETag: (out.ETag ?? '').replace(/"/g, '') },
  };
}

/** Puts small objects (body = key) and returns their tasks, keys encoded as a manifest would carry them. */
export async function putObjects(
  s3: S3Client,
  bucket: string,
  keys: readonly string[],
  extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {},
): Promise<TaskRef[]> {
  const tasks: TaskRef[] = [];
  for (const [index, key] of keys.entries()) {
    const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}`, ...extra }));
    tasks.push({
      index,
      bucket,
      key,
      rawKey: key.split('/').map(encodeURIComponent).join('/'),
      versionId: out.VersionId,
    });
  }
  return tasks;
}

/** A task for an object, without its version. */
export function taskFor(bucket: string, key: string, index = 0): TaskRef {
  return { index, bucket, key, rawKey: key.split('/').map(encodeURIComponent).join('/') };
}

/** Runs every task (in order) and pairs it with its outcome. */
export async function runAll(
  run: TaskRunner,
  tasks: readonly TaskRef[],
): Promise<Array<{ task: TaskRef; outcome: TaskOutcome }>> {
  const out = [];
  for (const task of tasks) out.push({ task, outcome: await run(task) });
  return out;
}

export function deps(s3: S3Client, overrides: Partial<RunnerDeps> = {}): RunnerDeps {
  return {
    s3,
    lambda: new LambdaBridge(),
    jobId: 'job-test',
    lambdaRetry: { attempts: 3, backoffMs: 10 },
    ...overrides,
  };
}

export async function tagsOf(
  s3: S3Client,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<Record<string, string>> {
  const out = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  return Object.fromEntries((out.TagSet ?? []).map((t) => [t.Key!, t.Value!]));
}

/** A JSON-over-HTTP handler on 127.0.0.1 that records the events it receives. Close it in `finally`. */
export async function startHttpHandler(
  respond: (event: unknown, calls: number) => { status?: number; body: string; headers?: Record<string, string> },
): Promise<{ url: string; events: unknown[]; close: () => Promise<void> }> {
  const events: unknown[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const event: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      events.push(event);
      const r = respond(event, events.length);
      res.writeHead(r.status ?? 200, { 'content-type': 'application/json', ...r.headers });
      res.end(r.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/invoke`,
    events,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
