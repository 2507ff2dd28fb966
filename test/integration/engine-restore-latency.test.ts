/**
 * Restores that take time (`restoreLatencyMs`): the engine holds a restore back until its due time, so the object
 * stays archived (no x-amz-restore, GET and copy refused), then restores it in moto and sends
 * `s3:ObjectRestore:Completed` to the queues the bucket configures. Pending restores overlap as on S3 and survive an
 * engine restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketNotificationConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateJobCommand, type JobOperation, type S3ControlClient } from '@aws-sdk/client-s3-control';

import { encodeManifestKey } from '../../src/local-batch/manifest-reader';
import type { RestoreStats, RestoreView } from '../../src/local-batch/restores';
import { uniqueName, withBucket } from '../helpers';
import { putCsvManifest, putObjects } from '../support/data-plane';
import { admin, jobInput, readJobReport, uniqueAccountId, waitForJob, withEngine } from '../support/engine';
import { withQueue } from '../support/sqs';

type RestoresAnswer = RestoreStats & { matching: number; restores: RestoreView[] };

const restoreOp = (days: number, tier: 'BULK' | 'STANDARD'): JobOperation => ({
  S3InitiateRestoreObject: { ExpirationInDays: days, GlacierJobTier: tier },
});

/** Runs one job over `objects` (rows of several buckets allowed) and returns its report rows by decoded key. */
async function runJob(
  s3: S3Client,
  control: S3ControlClient,
  reportBucket: string,
  objects: ReadonlyArray<{ bucket: string; key: string }>,
  operation: JobOperation,
) {
  const accountId = uniqueAccountId();
  const body = objects.map((o) => `${o.bucket},${encodeManifestKey(o.key)}\n`).join('');
  const manifest = await putCsvManifest(s3, reportBucket, `manifests/${uniqueName('m')}.csv`, body);
  const { JobId } = await control.send(
    new CreateJobCommand(jobInput({ accountId, manifest, reportBucket, operation })),
  );
  const job = await waitForJob(control, accountId, JobId!);
  expect(job.Status).toBe('Complete');
  const { rows } = await readJobReport(s3, reportBucket, 'reports', JobId!);
  return new Map(rows.map((r) => [`${r.bucket}/${r.decodedKey}`, r]));
}

async function restoresOf(engineUrl: string, query = ''): Promise<RestoresAnswer> {
  const res = await admin(engineUrl, 'GET', `/_local/restores${query}`);
  expect(res.status).toBe(200);
  return res.json as RestoresAnswer;
}

/** Waits until the engine has no pending restore; returns when that was seen. */
async function untilNonePending(engineUrl: string, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while ((await restoresOf(engineUrl)).pending > 0) {
    if (Date.now() > deadline) throw new Error(`restores still pending after ${timeoutMs} ms`);
    await sleep(50);
  }
  return Date.now();
}

async function restoreHeader(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  return (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).Restore;
}

async function getError(s3: S3Client, bucket: string, key: string): Promise<{ name: string; status?: number }> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await out.Body?.transformToString();
    return { name: 'none' };
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
}

async function bodyOf(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToString();
}

interface EventRecord {
  eventName: string;
  s3: { bucket: { name: string }; object: { key: string } };
  glacierEventData?: unknown;
}

const completedRecords = (messages: unknown[]) =>
  messages
    .flatMap((m) => (m as { Records?: EventRecord[] }).Records ?? [])
    .filter((r) => r.eventName === 'ObjectRestore:Completed');

test('with a 3 s latency the objects stay archived until due, then are restored and the configured queue is told once per object', () =>
  withBucket((bucket, s3) =>
    withBucket((otherBucket) =>
      withQueue(async (queue) => {
        await s3.send(
          new PutBucketNotificationConfigurationCommand({
            Bucket: bucket,
            NotificationConfiguration: {
              QueueConfigurations: [
                {
                  Id: 'restored-cold',
                  QueueArn: queue.arn,
                  Events: ['s3:ObjectRestore:Completed'],
                  Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'cold/' }] } },
                },
              ],
            },
          }),
        );
        const notified = ['cold/plain.bin', 'cold/with space ü+é.bin'];
        const keys = [...notified, 'warm/outside-the-prefix.bin'];
        await putObjects(s3, bucket, keys, { StorageClass: 'GLACIER' });
        await putObjects(s3, otherBucket, ['cold/unconfigured-bucket.bin'], { StorageClass: 'GLACIER' });
        const objects = [
          ...keys.map((key) => ({ bucket, key })),
          { bucket: otherBucket, key: 'cold/unconfigured-bucket.bin' },
        ];

        await withEngine({ restoreLatencyMs: 3000 }, async (engine, control) => {
          const requested = Date.now();
          const rows = await runJob(s3, control, bucket, objects, restoreOp(2, 'BULK'));
          const jobDone = Date.now();
          expect(jobDone - requested).toBeLessThan(2500);
          for (const o of objects) {
            expect(rows.get(`${o.bucket}/${o.key}`)).toMatchObject({
              taskStatus: 'succeeded',
              resultMessage: 'Restore initiated (BULK, 2 days)',
            });
          }

          // Pending: archived as before the job.
          for (const o of objects) {
            expect(await restoreHeader(s3, o.bucket, o.key)).toBeUndefined();
            expect(await getError(s3, o.bucket, o.key)).toEqual({ name: 'InvalidObjectState', status: 403 });
          }
          const pending = await restoresOf(engine.url, `?bucket=${bucket}&limit=10`);
          expect(pending).toMatchObject({ latencyMs: 3000, pending: 4, inFlight: 0, completed: 0, matching: 3 });
          const due = Date.parse(pending.nextDueAt!);
          expect(due).toBeGreaterThanOrEqual(requested + 3000);
          expect(due).toBeLessThanOrEqual(jobDone + 3000);
          expect(pending.restores.map((r) => r.key).sort()).toEqual([...keys].sort());
          expect(pending.restores[0]).toMatchObject({ bucket, tier: 'BULK', days: 2 });
          expect(Date.now()).toBeLessThan(due);

          const completedAt = await untilNonePending(engine.url);
          expect(completedAt).toBeGreaterThanOrEqual(due);
          expect(await restoresOf(engine.url)).toMatchObject({ pending: 0, completed: 4, failed: 0, nextDueAt: null });
          for (const o of objects) {
            expect(await restoreHeader(s3, o.bucket, o.key)).toMatch(/^ongoing-request="false", expiry-date="/);
            expect(await bodyOf(s3, o.bucket, o.key)).toBe(`body of ${o.key}`);
          }
        });

        const mine = (m: unknown[]) => completedRecords(m).filter((r) => r.glacierEventData !== undefined);
        const messages = await queue.drain((m) => mine(m).length >= notified.length);
        const engineRecords = mine(messages);
        expect(engineRecords.map((r) => decodeURIComponent(r.s3.object.key.replace(/\+/g, ' '))).sort()).toEqual(
          [...notified].sort(),
        );
        const spaced = engineRecords.find((r) => r.s3.object.key.startsWith('cold/with'))!;
        expect(spaced).toEqual({
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          awsRegion: 'us-east-1',
          eventTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
          eventName: 'ObjectRestore:Completed',
          s3: {
            s3SchemaVersion: '1.0',
            configurationId: 'restored-cold',
            bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
            object: {
              key: 'cold/with+space+%C3%BC%2B%C3%A9.bin',
              size: Buffer.byteLength('body of cold/with space ü+é.bin'),
              eTag: expect.stringMatching(/^[0-9a-f]{32}$/),
              sequencer: expect.stringMatching(/^[0-9A-F]{18}$/),
            },
          },
          glacierEventData: {
            restoreEventData: {
              lifecycleRestorationExpiryTime: expect.stringMatching(/Z$/),
              lifecycleRestoreStorageClass: 'GLACIER',
            },
          },
        });
        const expiry = Date.parse(
          (spaced.glacierEventData as { restoreEventData: { lifecycleRestorationExpiryTime: string } }).restoreEventData
            .lifecycleRestorationExpiryTime,
        );
        expect(expiry - Date.now()).toBeGreaterThan(2 * 86_400_000 - 60_000);
        expect(expiry - Date.now()).toBeLessThan(2 * 86_400_000 + 60_000);
        // moto adds a minimal message of its own when a restored key is first read (no glacierEventData, `/` as %2F;
        // README, "Restore latency"). Neither kind names the key outside the prefix or the unconfigured bucket.
        expect(completedRecords(messages).filter((r) => r.glacierEventData === undefined)).toHaveLength(
          notified.length,
        );
        for (const r of completedRecords(messages)) {
          expect(r.s3.bucket.name).toBe(bucket);
          expect(notified).toContain(decodeURIComponent(r.s3.object.key.replace(/\+/g, ' ')));
        }
      }),
    ),
  ));

test('while a restore is pending a second restore fails RestoreAlreadyInProgress unless it is a faster tier with the same days, and a copy fails InvalidObjectState', () =>
  withBucket(async (bucket, s3) => {
    const keys = ['a.bin', 'b.bin', 'c.bin'];
    await putObjects(s3, bucket, keys, { StorageClass: 'DEEP_ARCHIVE' });
    const all = keys.map((key) => ({ bucket, key }));
    await withEngine({ restoreLatencyMs: 120_000 }, async (engine, control) => {
      const first = await runJob(s3, control, bucket, all, restoreOp(2, 'BULK'));
      expect([...first.values()].every((r) => r.taskStatus === 'succeeded')).toBe(true);

      const again = await runJob(s3, control, bucket, all, restoreOp(2, 'BULK'));
      for (const key of keys) {
        expect(again.get(`${bucket}/${key}`)).toMatchObject({
          taskStatus: 'failed',
          httpStatusCode: 409,
          errorCode: 'RestoreAlreadyInProgress',
        });
      }
      const otherDays = await runJob(s3, control, bucket, [{ bucket, key: 'b.bin' }], restoreOp(7, 'STANDARD'));
      expect(otherDays.get(`${bucket}/b.bin`)).toMatchObject({
        taskStatus: 'failed',
        errorCode: 'RestoreAlreadyInProgress',
      });
      const faster = await runJob(s3, control, bucket, [{ bucket, key: 'c.bin' }], restoreOp(2, 'STANDARD'));
      expect(faster.get(`${bucket}/c.bin`)).toMatchObject({
        taskStatus: 'succeeded',
        resultMessage: 'Restore already in progress; upgraded to the STANDARD tier',
      });

      const copy = await runJob(s3, control, bucket, all, {
        S3PutObjectCopy: { TargetResource: `arn:aws:s3:::${bucket}`, TargetKeyPrefix: 'copies' },
      });
      for (const key of keys) {
        expect(copy.get(`${bucket}/${key}`)).toMatchObject({
          taskStatus: 'failed',
          httpStatusCode: 403,
          errorCode: 'InvalidObjectState',
        });
      }

      const state = await restoresOf(engine.url, `?bucket=${bucket}&prefix=c&limit=5`);
      expect(state).toMatchObject({ pending: 3, matching: 1, completed: 0 });
      expect(state.restores).toEqual([expect.objectContaining({ key: 'c.bin', tier: 'STANDARD', days: 2 })]);
      expect(await restoreHeader(s3, bucket, 'c.bin')).toBeUndefined();
    });
  }));

test('pending restores survive an engine restart: they complete at their due time, and overdue ones right after the start', () =>
  withBucket(async (bucket, s3) => {
    await putObjects(s3, bucket, ['on-time.bin', 'overdue.bin'], { StorageClass: 'GLACIER' });
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'lb-restores-'));
    try {
      const due = await withEngine({ stateDir, restoreLatencyMs: 4000 }, async (engine, control) => {
        await runJob(s3, control, bucket, [{ bucket, key: 'on-time.bin' }], restoreOp(1, 'BULK'));
        return Date.parse((await restoresOf(engine.url)).nextDueAt!);
      });
      await withEngine({ stateDir, restoreLatencyMs: 4000 }, async (engine) => {
        expect(await restoresOf(engine.url)).toMatchObject({ pending: 1, nextDueAt: new Date(due).toISOString() });
        expect(Date.now()).toBeLessThan(due);
        expect(await restoreHeader(s3, bucket, 'on-time.bin')).toBeUndefined();
        expect(await untilNonePending(engine.url)).toBeGreaterThanOrEqual(due);
        expect(await restoreHeader(s3, bucket, 'on-time.bin')).toMatch(/^ongoing-request="false", expiry-date="/);
      });

      const overdueAt = await withEngine({ stateDir, restoreLatencyMs: 1000 }, async (engine, control) => {
        await runJob(s3, control, bucket, [{ bucket, key: 'overdue.bin' }], restoreOp(1, 'BULK'));
        return Date.parse((await restoresOf(engine.url)).nextDueAt!);
      });
      await sleep(Math.max(0, overdueAt - Date.now()) + 500);
      // Started without a latency: what was pending still completes, at once since it is late.
      await withEngine({ stateDir }, async (engine) => {
        const started = Date.now();
        expect(await untilNonePending(engine.url, 5000)).toBeLessThan(started + 2000);
        expect(await restoreHeader(s3, bucket, 'overdue.bin')).toMatch(/^ongoing-request="false"/);
        expect(await restoresOf(engine.url)).toMatchObject({ latencyMs: 0, pending: 0, completed: 1 });
      });
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }));

test('GET /_local/restores answers counts, and refuses other methods and bad parameters', () =>
  withEngine({}, async (engine) => {
    expect(await restoresOf(engine.url)).toEqual({
      latencyMs: 0,
      pending: 0,
      inFlight: 0,
      nextDueAt: null,
      completed: 0,
      failed: 0,
      matching: 0,
      restores: [],
    });
    const bad: Array<[string, string, number, RegExp]> = [
      ['POST', '/_local/restores', 405, /POST is not allowed/],
      ['GET', '/_local/restores?limit=1001', 400, /limit must be a whole number from 0 to 1000/],
      ['GET', '/_local/restores?limit=-1', 400, /limit/],
      ['GET', '/_local/restores?bucket=Not_A_Bucket', 400, /bucket must be an S3 bucket name/],
      ['GET', '/_local/restores?keyPrefix=a', 400, /unknown query parameter keyPrefix/],
      ['GET', '/_local/restores?limit=1&limit=2', 400, /limit is given twice/],
    ];
    for (const [method, url, status, message] of bad) {
      const res = await admin(engine.url, method, url);
      expect(res.status).toBe(status);
      expect((res.json as { message: string }).message).toMatch(message);
    }
  }));
