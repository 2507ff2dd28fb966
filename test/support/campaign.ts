/**
 * Campaign test support: a worker on its own task queue (real Temporal, moto, the run's engine), a spec builder,
 * polling for a phase, engine fault rules, and S3 seeding.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client, type StorageClass } from '@aws-sdk/client-s3';
import { ListJobsCommand, type JobListDescriptor } from '@aws-sdk/client-s3-control';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { NativeConnection, type WorkerOptions } from '@temporalio/worker';

import { createAwsClients } from '../../src/aws/clients';
import { writeInventoryReport } from '../../src/demo/inventory-writer';
import { loadConfig, workerSettingsFrom, type WorkerSettings } from '../../src/config';
import {
  CAMPAIGN_WORKFLOW_TYPE,
  statusQuery,
  type CampaignPhase,
  type CampaignStatus,
} from '../../src/shared/campaign';
import type { CampaignSpecInput } from '../../src/shared/campaign-spec';
import { LOCAL_CREDENTIALS } from '../../src/stack';
import { createWorker } from '../../src/worker';
import {
  controlClient,
  quietTemporalRuntime,
  stackEndpoints,
  temporalClient,
  uniqueName,
  workflowBundle,
} from '../helpers';

/** The worker's environment; `engineUrl` points it at another Batch Operations engine than the run's. */
export function workerEnv(taskQueue: string, engineUrl?: string): NodeJS.ProcessEnv {
  const e = stackEndpoints();
  return {
    TEMPORAL_ADDRESS: e.temporalAddress,
    TEMPORAL_NAMESPACE: e.temporalNamespace,
    TEMPORAL_TASK_QUEUE: taskQueue,
    AWS_REGION: e.region,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    S3C_S3_ENDPOINT: e.s3Endpoint,
    S3C_S3CONTROL_ENDPOINT: engineUrl ?? e.engineUrl,
  };
}

export interface CampaignHarness {
  client: Client;
  taskQueue: string;
  /** A fresh 12-digit account: ListJobs in it shows only this test's jobs. */
  accountId: string;
}

/** Where the harness's worker runs and what it is given besides the project's own wiring. */
export interface CampaignWorkerOptions extends Partial<Pick<CampaignHarness, 'taskQueue' | 'accountId'>> {
  /** The worker's S3 client (a failing or held network); the caller destroys it. @default one for the run's moto */
  s3?: S3Client;
  /**
   * Worker options over the project's (`createWorker`): test workflows in `workflowBundle`, activity `interceptors`
   * that watch the attempts. @default the project's workflows
   */
  workerOptions?: Partial<WorkerOptions>;
  /** The engine its S3 Control calls go to (one started with Lambda handlers, say). @default the run's engine */
  engineUrl?: string;
  /** Queues, cache and slots over `workerSettingsFrom(process.env)`. @default the worker's defaults */
  settings?: Partial<WorkerSettings>;
}

/**
 * Runs `fn` while an in-process worker, wired as `s3-campaigns worker` wires it (`createWorker`: the project's
 * activities and worker options), serves a task queue of its own (or `on.taskQueue`, to stop a campaign's worker and
 * start another for the same campaign).
 */
export async function withCampaignWorker<T>(
  fn: (h: CampaignHarness) => Promise<T>,
  on: CampaignWorkerOptions = {},
): Promise<T> {
  quietTemporalRuntime();
  const taskQueue = on.taskQueue ?? uniqueName('tq-campaign');
  const config = loadConfig(workerEnv(taskQueue, on.engineUrl));
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const clients = createAwsClients(config.aws);
  const { worker } = await createWorker({
    config,
    connection,
    clients: on.s3 ? { ...clients, s3: on.s3 } : clients,
    settings: workerSettingsFrom(process.env, on.settings),
    workerOptions: { workflowBundle: await workflowBundle(), ...on.workerOptions },
  });
  const { client, connection: clientConnection } = await temporalClient();
  try {
    return await worker.runUntil(fn({ client, taskQueue, accountId: on.accountId ?? randomAccount() }));
  } finally {
    await clientConnection.close();
    await connection.close();
  }
}

/** Starts a campaign workflow on the harness's task queue with `input` as its one argument (any value, as the Web UI). */
export function startCampaign(h: CampaignHarness, workflowId: string, input: unknown): Promise<WorkflowHandle> {
  return h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, { taskQueue: h.taskQueue, workflowId, args: [input] });
}

export function randomAccount(): string {
  return String(100_000_000_000 + Math.floor(Math.random() * 899_999_999_999));
}

/** A valid spec with test-friendly timings; override what the test is about. */
export function testSpec(
  h: { accountId: string },
  reportBucket: string,
  over: Partial<CampaignSpecInput>,
): CampaignSpecInput {
  return {
    name: uniqueName('test-campaign'),
    accountId: h.accountId,
    region: 'us-east-1',
    roleArn: `arn:aws:iam::${h.accountId}:role/BatchOperations`,
    source: { type: 'keys', bucket: reportBucket, keys: ['x'] },
    operation: { type: 'put-tags', tags: { done: 'yes' } },
    report: { bucket: reportBucket, prefix: 'campaigns' },
    pollInterval: '1s',
    retry: { delay: '100ms' },
    ...over,
  };
}

/** Polls the status query until `pred` holds (or the campaign is done, which fails unless it was awaited). */
export async function waitForStatus(
  handle: WorkflowHandle,
  pred: (s: CampaignStatus) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<CampaignStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: CampaignStatus | undefined;
  for (;;) {
    last = await handle.query(statusQuery).catch(() => last);
    if (last && pred(last)) return last;
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}; last status: ${JSON.stringify(last?.phase)} ${last?.outcomeReason ?? ''}`,
      );
    await new Promise((r) => setTimeout(r, 150));
  }
}

export const waitForPhase = (handle: WorkflowHandle, phase: CampaignPhase, timeoutMs?: number) =>
  waitForStatus(handle, (s) => s.phase === phase, `phase ${phase}`, timeoutMs);

/** Adds a fault rule to the run's engine; returns its id. */
export async function addFault(rule: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${stackEndpoints().engineUrl}/_local/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(rule),
  });
  const body = (await res.json()) as { id?: string; message?: string };
  if (!res.ok || !body.id) throw new Error(`fault rule refused: ${res.status} ${JSON.stringify(body)}`);
  return body.id;
}

export async function removeFault(id: string): Promise<void> {
  await fetch(`${stackEndpoints().engineUrl}/_local/faults/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

export async function putObjects(
  s3: S3Client,
  bucket: string,
  keys: string[],
  storageClass?: StorageClass,
): Promise<void> {
  const queue = [...keys];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let k = queue.shift(); k !== undefined; k = queue.shift()) {
        await s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: k, Body: `body of ${k}`, StorageClass: storageClass }),
        );
      }
    }),
  );
}

export async function getText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return await out.Body!.transformToString('utf8');
}

/**
 * An S3 Inventory report of `bucket` in the bucket itself, under `inv/<bucket>/daily/` (what an `inventory-latest`
 * source names), created at `createdAt`: one STANDARD row of 10 bytes per `[key, lastModified]`.
 */
export function writeDailyInventory(
  s3: S3Client,
  bucket: string,
  createdAt: string,
  rows: Array<[key: string, lastModified: string]>,
): ReturnType<typeof writeInventoryReport> {
  return writeInventoryReport({
    s3,
    sourceBucket: bucket,
    destinationBucket: bucket,
    prefix: 'inv',
    createdAt: new Date(createdAt),
    rows: rows.map(([key, modified]) => ({
      key,
      size: 10,
      storageClass: 'STANDARD',
      lastModified: new Date(modified),
    })),
  });
}

/** Every job of an account on the run's engine (or the engine at `engineUrl`). */
export async function listJobs(accountId: string, engineUrl?: string): Promise<JobListDescriptor[]> {
  const c = controlClient({ endpoint: engineUrl });
  const jobs: JobListDescriptor[] = [];
  let NextToken: string | undefined;
  do {
    const page = await c.send(new ListJobsCommand({ AccountId: accountId, NextToken, MaxResults: 1000 }));
    jobs.push(...(page.Jobs ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return jobs;
}

/** The keys (decoded) of a manifest stored in S3. */
export async function manifestKeys(s3: S3Client, bucket: string, key: string): Promise<string[]> {
  const text = await getText(s3, bucket, key);
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => decodeURIComponent(l.split(',')[1]!.replace(/\+/g, ' ')));
}
