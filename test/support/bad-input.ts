/**
 * Support for the bad-input table: what a refused input must not leave behind (jobs, objects, open multipart
 * uploads), the ApplicationFailure inside a failure chain, a workflow outcome that reports a stuck workflow instead of
 * hanging, and a worker shared by every workflow row of a file.
 */
import {
  CreateBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';

import { statusQuery } from '../../src/shared/campaign';
import { uniqueName } from '../helpers';
import { listJobs, withCampaignWorker, type CampaignHarness } from './campaign';

/** What an input left behind: each list must be empty after a refused input. */
export interface Leftovers {
  /** `<job id> <status>` of every Batch Operations job in the account. */
  jobs: string[];
  /** Keys under the prefix (the whole bucket when no prefix is given). */
  objects: string[];
  /** Keys of the bucket's open multipart uploads (any prefix). */
  uploads: string[];
}

export async function leftovers(
  s3: S3Client,
  where: { accountId: string; bucket: string; prefix?: string },
): Promise<Leftovers> {
  const objects: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: where.bucket, Prefix: where.prefix, ContinuationToken }),
    );
    objects.push(...(page.Contents ?? []).map((o) => o.Key!));
    ContinuationToken = page.NextContinuationToken;
  } while (ContinuationToken);
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: where.bucket }));
  return {
    jobs: shown((await listJobs(where.accountId)).map((j) => `${j.JobId} ${j.Status}`)),
    objects: shown(objects),
    uploads: shown((uploads.Uploads ?? []).map((u) => u.Key!)),
  };
}

/** At most SHOWN entries and a count of the rest: a failed row reads well even when it left 300 objects. */
function shown(list: string[]): string[] {
  return list.length <= SHOWN ? list : [...list.slice(0, SHOWN), `… and ${list.length - SHOWN} more`];
}

/** Entries listed per kind of leftover. */
const SHOWN = 5;

export const NOTHING: Leftovers = { jobs: [], objects: [], uploads: [] };

/** A fresh bucket for one row; the file deletes it in `afterAll` (see `deleteBuckets`). */
export async function rowBucket(s3: S3Client, buckets: string[], prefix: string): Promise<string> {
  const bucket = uniqueName(prefix);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  buckets.push(bucket);
  return bucket;
}

/** The first ApplicationFailure in an error's cause chain (WorkflowFailedError → ActivityFailure → …). */
export function applicationFailureIn(err: unknown): ApplicationFailure | undefined {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (e instanceof ApplicationFailure) return e;
  }
  return undefined;
}

/** How a workflow ended, or why it is considered stuck. */
export interface Settled {
  value?: unknown;
  error?: unknown;
  /** Set when the workflow did not end but kept retrying a task, or went ahead with input it should refuse. */
  stuck?: string;
}

/**
 * Waits for a workflow that should refuse its input. Returns as soon as it ends, or as soon as it is clearly not going
 * to end the way it should: a workflow task or an activity being retried (a bad value thrown as a plain Error, or a
 * permanent fault classified as transient), or the campaign planning jobs (the input was accepted).
 */
export async function settle(handle: WorkflowHandle): Promise<Settled> {
  let done = false;
  const result = handle.result().then(
    (value: unknown): Settled => ({ value }),
    (error: unknown): Settled => ({ error }),
  );
  void result.finally(() => (done = true));
  const watch = async (): Promise<Settled> => {
    while (!done) {
      const d = await handle.describe().catch(() => undefined);
      const running = d?.status.name === 'RUNNING';
      // A pending workflow task may be one that failed and is being retried (a status query would wait on it).
      if (running && d.raw.pendingWorkflowTask) {
        const history = await handle.fetchHistory();
        const failed = [...(history.events ?? [])].reverse().find((e) => e.workflowTaskFailedEventAttributes);
        if (failed) {
          return {
            stuck: `workflow task failed and is retried: ${failed.workflowTaskFailedEventAttributes?.failure?.message ?? '?'}`,
          };
        }
      }
      const act = d?.raw.pendingActivities?.find((a) => (a.attempt ?? 0) > 1);
      if (act) {
        return {
          stuck: `activity ${act.activityType?.name ?? '?'} retried (attempt ${act.attempt}): ${act.lastFailure?.message ?? '?'}`,
        };
      }
      // Queried only between workflow tasks: a query waits for a pending task, which may be one that keeps failing.
      const status =
        running && !d.raw.pendingWorkflowTask ? await handle.query(statusQuery).catch(() => undefined) : undefined;
      if (status && status.jobs.length > 0) {
        return { stuck: `the input was accepted: ${status.jobs.length} job(s) planned, phase ${status.phase}` };
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return await result;
  };
  return await Promise.race([result, watch()]);
}

/** Terminates the workflows a test left running (a row that failed because its input was accepted). */
export async function terminateRunning(handles: WorkflowHandle[]): Promise<void> {
  await Promise.all(
    handles.map(async (h) => {
      const d = await h.describe().catch(() => undefined);
      if (d?.status.name === 'RUNNING') await h.terminate('bad-input test cleanup').catch(() => undefined);
    }),
  );
}

/**
 * One in-process worker for a whole test file: `start()` in `beforeAll`, `stop()` in `afterAll`. Every workflow row
 * runs on it, so rows can start their workflows concurrently.
 */
export function sharedCampaignWorker(): { start(): Promise<CampaignHarness>; stop(): Promise<void> } {
  let release: (() => void) | undefined;
  let running: Promise<void> | undefined;
  return {
    start: () =>
      new Promise<CampaignHarness>((ready, failed) => {
        running = withCampaignWorker(async (h) => {
          ready(h);
          await new Promise<void>((r) => (release = r));
        });
        running.catch(failed);
      }),
    async stop() {
      release?.();
      await running;
    },
  };
}

/** A slot limiter: the returned function runs at most `n` of the calls it is given at a time. */
export function limited(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async (fn) => {
    while (active >= n) await new Promise<void>((r) => queue.push(r));
    active += 1;
    try {
      return await fn();
    } finally {
      active -= 1;
      queue.shift()?.();
    }
  };
}
