/**
 * Restore tracking on moto (S3 and SQS): archived objects followed through their states by HEAD sweeps and by restore
 * events from SQS, copy waves whose manifests list exactly the restored objects, the expiry guard's extensions, a
 * step resumed after its first attempt died part-way, and the conditional index writes that stop a stale attempt.
 */
import {
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  RestoreObjectCommand,
  type S3Client,
  type StorageClass,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  DeleteMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';

import { createRestoreTrackingActivities } from '../../src/activities/restore-tracking';
import { encodeManifestKey } from '../../src/inventory/key-encoding';
import { readCsvManifest } from '../../src/manifest/csv-manifest';
import type { TrackingRow } from '../../src/restore-tracking/rows';
import { TrackingStore } from '../../src/restore-tracking/store';
import { LOCAL_CREDENTIALS } from '../../src/stack';
import { FailureType } from '../../src/shared/errors';
import type {
  AdvanceRestoreTrackingInput,
  AdvanceRestoreTrackingResult,
  ConsumeRestoreEventsInput,
  ConsumeRestoreEventsResult,
  CreateRestoreTrackingResult,
  TrackingLocation,
} from '../../src/shared/restore-tracking-types';
import { crashingS3, s3Client, stackEndpoints, uniqueName, withBucket } from '../helpers';

const DAY = 24 * 60 * 60 * 1000;
const AWKWARD_KEYS = ['plain.txt', 'with space.txt', 'ü/unicode é.bin', 'a+b.txt', 'deep/x%41,y.txt'];

function sqsClient(): SQSClient {
  const e = stackEndpoints();
  return new SQSClient({ endpoint: e.s3Endpoint, region: e.region, credentials: LOCAL_CREDENTIALS });
}

/** Archived objects (alternately GLACIER and DEEP_ARCHIVE unless `storageClass` says) and a manifest of them. */
async function archive(
  s3: S3Client,
  bucket: string,
  keys: string[],
  opts: { manifestKey?: string; storageClass?: StorageClass; extraManifestKeys?: string[] } = {},
): Promise<string> {
  for (const [i, key] of keys.entries()) {
    const StorageClass = opts.storageClass ?? (i % 2 ? 'DEEP_ARCHIVE' : 'GLACIER');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}`, StorageClass }));
  }
  const manifestKey = opts.manifestKey ?? 'in/restore-manifest.csv';
  const lines = [...keys, ...(opts.extraManifestKeys ?? [])].map((k) => `${bucket},${encodeManifestKey(k)}\n`);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: manifestKey, Body: lines.join('') }));
  return manifestKey;
}

async function restore(s3: S3Client, bucket: string, key: string, days: number): Promise<void> {
  await s3.send(new RestoreObjectCommand({ Bucket: bucket, Key: key, RestoreRequest: { Days: days } }));
}

/** moto's expiry for a key, from its x-amz-restore header. */
async function motoExpiry(s3: S3Client, bucket: string, key: string): Promise<string> {
  const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const m = /expiry-date="([^"]+)"/.exec(h.Restore ?? '');
  if (!m) throw new Error(`${key} is not restored: ${h.Restore}`);
  return new Date(m[1]!).toISOString();
}

/** Every row of the tracking set, by key. */
async function rowsByKey(s3: S3Client, loc: TrackingLocation): Promise<Map<string, TrackingRow>> {
  const store = new TrackingStore(s3, loc);
  const { index } = (await store.readIndex())!;
  const out = new Map<string, TrackingRow>();
  for (const [s, e] of index.shards.entries()) for (const r of await store.readShard(s, e.gen)) out.set(r.key, r);
  return out;
}

async function text(s3: S3Client, bucket: string, key: string): Promise<string> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body?.transformToString('utf8')) ?? '';
}

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

/** Counts the calls of each command a client makes. */
function countCalls(client: S3Client | SQSClient): Map<string, number> {
  const counts = new Map<string, number>();
  (client as S3Client).middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName);
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  return counts;
}

function advance(
  s3: S3Client,
  input: AdvanceRestoreTrackingInput,
  info: { attempt?: number; heartbeatDetails?: unknown } = {},
  onHeartbeat?: (d: unknown) => void,
): Promise<AdvanceRestoreTrackingResult> {
  const env = new MockActivityEnvironment(info);
  if (onHeartbeat) env.on('heartbeat', onHeartbeat);
  return env.run(createRestoreTrackingActivities({ s3 }).advanceRestoreTracking, input);
}

async function track(
  s3: S3Client,
  loc: TrackingLocation,
  manifestKey: string,
  extra: object = {},
): Promise<CreateRestoreTrackingResult> {
  const { createRestoreTracking } = createRestoreTrackingActivities({ s3 });
  return new MockActivityEnvironment().run(createRestoreTracking, {
    tracking: loc,
    manifests: [{ bucket: loc.bucket, key: manifestKey }],
    tier: 'STANDARD',
    ...extra,
  });
}

describe('restore tracking: HEAD sweeps and waves', () => {
  test('archived objects stay requested until restored, then restored with moto expiry; waves list each exactly once, encoded', async () => {
    await withBucket(async (bucket, s3) => {
      const loc = { bucket, prefix: 'campaigns/c1' };
      const manifestKey = await archive(s3, bucket, AWKWARD_KEYS, { extraManifestKeys: ['never/existed.txt'] });
      const created = await track(s3, loc, manifestKey, { maxObjectsPerShard: 2 });
      expect(created).toMatchObject({ objects: 6, existed: false, counts: { requested: 6 } });
      expect(created.shards).toBeGreaterThanOrEqual(3);
      // The same manifests again: the same set, nothing rewritten.
      expect(await track(s3, loc, manifestKey, { maxObjectsPerShard: 2 })).toMatchObject({ existed: true, objects: 6 });

      // Before any restore: the sweep keeps them requested (and learns size and class); the missing one fails.
      const s1 = await advance(s3, { tracking: loc, stepId: 's1', sweep: true });
      expect(s1.counts).toMatchObject({ requested: 5, failed: 1, restored: 0 });
      expect(s1).toMatchObject({ headRequests: 6, failedInStep: 1, restoredInStep: 0 });
      let rows = await rowsByKey(s3, loc);
      expect(rows.get('never/existed.txt')).toMatchObject({ state: 'failed', note: 'NoSuchKey (HEAD 404)' });
      expect(rows.get('with space.txt')).toMatchObject({
        state: 'requested',
        storageClass: 'DEEP_ARCHIVE',
        size: 'body of with space.txt'.length,
      });

      // moto restores at once: the next sweep sees them restored, with moto's own expiry date.
      for (const k of AWKWARD_KEYS.slice(1)) await restore(s3, bucket, k, 10);
      const s2 = await advance(s3, { tracking: loc, stepId: 's2', sweep: true });
      expect(s2).toMatchObject({ restoredInStep: 4, extensionsIssued: 0, headRequests: 5 });
      expect(s2.counts).toMatchObject({ requested: 1, restored: 4, failed: 1 });
      rows = await rowsByKey(s3, loc);
      for (const k of AWKWARD_KEYS.slice(1)) {
        expect(rows.get(k)).toMatchObject({ state: 'restored', expiresAt: await motoExpiry(s3, bucket, k) });
      }
      expect(s2.nextEarliestExpiry).toBe(
        [...rows.values()]
          .map((r) => r.expiresAt)
          .filter(Boolean)
          .sort()[0],
      );
      expect(s2.durations.map((d) => [d.group, d.count])).toEqual([
        ['DEEP_ARCHIVE/STANDARD', 2],
        ['GLACIER/STANDARD', 2],
      ]);

      // A wave: exactly the restored keys, URL-encoded like manifests, a valid Batch Operations CSV manifest.
      const wave1 = `${loc.prefix}/waves/wave-1.csv`;
      const s3r = await advance(s3, {
        tracking: loc,
        stepId: 's3',
        wave: { maxObjects: 100, manifestKey: wave1 },
      });
      expect(s3r.wave).toMatchObject({ bucket, key: wave1, rows: 4, waveId: 1 });
      expect(s3r.counts).toMatchObject({ queued: 4, restored: 0, requested: 1 });
      const lines = (await text(s3, bucket, wave1)).split('\n').filter(Boolean).sort();
      expect(lines).toEqual(
        AWKWARD_KEYS.slice(1)
          .map((k) => `${bucket},${encodeManifestKey(k)}`)
          .sort(),
      );
      expect(lines).toContain(`${bucket},a%2Bb.txt`);
      expect(lines).toContain(`${bucket},%C3%BC/unicode%20%C3%A9.bin`);
      const decoded: string[] = [];
      await readCsvManifest(s3, `s3://${bucket}/${wave1}`, (r) => void decoded.push(r.decodedKey));
      expect(decoded.sort()).toEqual(AWKWARD_KEYS.slice(1).sort());
      expect(s3r.wave!.etag).toBe(
        (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: wave1 }))).ETag!.replace(/"/g, ''),
      );

      // The next step puts nothing twice: only the object restored since.
      await restore(s3, bucket, 'plain.txt', 10);
      const wave2 = `${loc.prefix}/waves/wave-2.csv`;
      const s4 = await advance(s3, {
        tracking: loc,
        stepId: 's4',
        sweep: true,
        wave: { maxObjects: 100, manifestKey: wave2 },
      });
      expect(s4.wave).toMatchObject({ rows: 1, waveId: 2 });
      expect(await text(s3, bucket, wave2)).toBe(`${bucket},plain.txt\n`);
      expect(s4.counts).toMatchObject({ queued: 5, failed: 1, requested: 0, restored: 0 });
      rows = await rowsByKey(s3, loc);
      expect(rows.get('plain.txt')).toMatchObject({ state: 'queued', wave: 2 });
      expect(rows.get('a+b.txt')).toMatchObject({ state: 'queued', wave: 1 });

      // A retry of a finished step returns its result again and changes nothing.
      expect(await advance(s3, { tracking: loc, stepId: 's4', sweep: true })).toEqual(s4);

      // A step with nothing to move writes no wave manifest and leaves no open upload.
      const s5 = await advance(s3, {
        tracking: loc,
        stepId: 's5',
        wave: { maxObjects: 100, manifestKey: `${loc.prefix}/waves/wave-3.csv` },
      });
      expect(s5.wave).toBeUndefined();
      const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      expect(uploads.Uploads ?? []).toEqual([]);
    });
  });

  test('a wave holds at most maxObjects; objects over maxObjectSize stay restored and are counted, then go alone into a minObjectSize wave', async () => {
    await withBucket(async (bucket, s3) => {
      const loc = { bucket, prefix: 'c' };
      const keys = Array.from({ length: 7 }, (_, i) => `k${i}`);
      const manifestKey = await archive(s3, bucket, keys, { storageClass: 'GLACIER' });
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: 'k6', Body: 'x'.repeat(100), StorageClass: 'GLACIER' }),
      );
      for (const k of keys) await restore(s3, bucket, k, 10);
      await track(s3, loc, manifestKey, { maxObjectsPerShard: 3 });
      const r = await advance(s3, {
        tracking: loc,
        stepId: 'w1',
        sweep: true,
        wave: { maxObjects: 4, manifestKey: 'w1.csv', maxObjectSize: 50 },
      });
      expect(r.wave!.rows).toBe(4);
      expect(r.tooLargeForWave).toBe(1);
      expect(r.counts).toMatchObject({ queued: 4, restored: 3 });
      const rows = await rowsByKey(s3, loc);
      expect(rows.get('k6')).toMatchObject({ state: 'restored', size: 100 });

      // The large ones' own wave (minObjectSize): only the object over the size; the small ones stay for a wave.
      const large = await advance(s3, {
        tracking: loc,
        stepId: 'w2',
        wave: { maxObjects: 100, manifestKey: 'large-w2.csv', minObjectSize: 50 },
      });
      expect(large.wave).toMatchObject({ rows: 1, waveId: 2 });
      expect((await text(s3, bucket, 'large-w2.csv')).trim()).toBe(`${bucket},k6`);
      expect(large.counts).toMatchObject({ queued: 5, restored: 2 });
      expect((await rowsByKey(s3, loc)).get('k6')).toMatchObject({ state: 'queued', wave: 2 });
    });
  });

  test('precheck: objects already restored are skipped-restored, missing ones failed, only the rest go to the restore manifest', async () => {
    await withBucket(async (bucket, s3) => {
      const loc = { bucket, prefix: 'pre' };
      const manifestKey = await archive(s3, bucket, ['fresh', 'restored-long', 'restored-short'], {
        storageClass: 'GLACIER',
        extraManifestKeys: ['missing'],
      });
      await restore(s3, bucket, 'restored-long', 30);
      await restore(s3, bucket, 'restored-short', 1);
      const created = await track(s3, loc, manifestKey, {
        precheck: { minLifetimeMs: 3 * DAY, restoreManifestPrefix: 'pre/restore' },
      });
      expect(created.counts).toMatchObject({ requested: 2, 'skipped-restored': 1, failed: 1 });
      expect(created.headRequests).toBe(4);
      expect(created.restoreManifests).toHaveLength(1);
      const lines = (await text(s3, bucket, created.restoreManifests![0]!.key)).split('\n').filter(Boolean).sort();
      expect(lines).toEqual([`${bucket},fresh`, `${bucket},restored-short`]);
      const rows = await rowsByKey(s3, loc);
      expect(rows.get('restored-long')).toMatchObject({
        state: 'skipped-restored',
        expiresAt: await motoExpiry(s3, bucket, 'restored-long'),
      });
      // A retry finds it done and returns the same manifests.
      const again = await track(s3, loc, manifestKey, {
        precheck: { minLifetimeMs: 3 * DAY, restoreManifestPrefix: 'pre/restore' },
      });
      expect(again).toMatchObject({ existed: true, restoreManifests: created.restoreManifests });
      // skipped-restored objects go into waves like restored ones.
      const w = await advance(s3, { tracking: loc, stepId: 'w', wave: { maxObjects: 10, manifestKey: 'pre/w.csv' } });
      expect(await text(s3, bucket, 'pre/w.csv')).toBe(`${bucket},restored-long\n`);
      expect(w.counts).toMatchObject({ queued: 1, requested: 2, failed: 1 });
    });
  });

  test('a tracking folder holding other manifests is refused with AlreadyExists', async () => {
    await withBucket(async (bucket, s3) => {
      const loc = { bucket, prefix: 'x' };
      const a = await archive(s3, bucket, ['a'], { manifestKey: 'm1.csv' });
      const b = await archive(s3, bucket, ['b'], { manifestKey: 'm2.csv' });
      await track(s3, loc, a);
      const f = await failure(track(s3, loc, b));
      expect(f.type).toBe(FailureType.AlreadyExists);
      expect(f.nonRetryable).toBe(true);
    });
  });
});

describe('restore tracking: expiry guard', () => {
  test('a restored object whose copy expires within the margin is extended once (RestoreObject), with the new expiry', async () => {
    await withBucket(async (bucket, s3) => {
      const loc = { bucket, prefix: 'g' };
      const manifestKey = await archive(s3, bucket, ['soon', 'later'], { storageClass: 'GLACIER' });
      await restore(s3, bucket, 'soon', 1);
      await restore(s3, bucket, 'later', 20);
      await track(s3, loc, manifestKey);
      const before = await motoExpiry(s3, bucket, 'soon');
      const calls = countCalls(s3);
      const started = Date.now();
      const r = await advance(s3, {
        tracking: loc,
        stepId: 'g1',
        sweep: true,
        expiryMarginMs: 2 * DAY,
        expirationDays: 5,
      });
      expect(r).toMatchObject({ restoredInStep: 2, extensionsIssued: 1, restoreRequests: 1 });
      expect(calls.get('RestoreObjectCommand')).toBe(1);
      const after = await motoExpiry(s3, bucket, 'soon');
      expect(Date.parse(after) - Date.parse(before)).toBeGreaterThan(3.9 * DAY);
      expect(Math.abs(Date.parse(after) - (started + 5 * DAY))).toBeLessThan(60_000);
      const rows = await rowsByKey(s3, loc);
      expect(rows.get('soon')).toMatchObject({ state: 'restored', expiresAt: after });
      expect(rows.get('soon')!.note).toMatch(/^extended .* by 5 d$/);
      expect(rows.get('later')!.note).toBe('');
      expect(r.nextEarliestExpiry).toBe(after);

      // Now out of the margin: no second extension.
      const again = await advance(s3, { tracking: loc, stepId: 'g2', expiryMarginMs: 2 * DAY, expirationDays: 5 });
      expect(again).toMatchObject({ extensionsIssued: 0, restoreRequests: 0, headRequests: 0 });
      expect(calls.get('RestoreObjectCommand')).toBe(1);
    });
  });

  test("a queued object is guarded while its wave runs (extended, counted as expiring soon), not once its wave's copy ended", async () => {
    await withBucket(async (bucket, s3) => {
      const loc = { bucket, prefix: 'gq' };
      const manifestKey = await archive(s3, bucket, ['one', 'two'], { storageClass: 'GLACIER' });
      await restore(s3, bucket, 'one', 1);
      await restore(s3, bucket, 'two', 1);
      await track(s3, loc, manifestKey);
      // A one-hour margin: a copy restored for a day is safe, and each step queues one object in its own wave.
      const wave = (n: number) => ({ maxObjects: 1, manifestKey: `gq/wave-${n}.csv` });
      const w1 = await advance(s3, {
        tracking: loc,
        stepId: 'q1',
        sweep: true,
        expiryMarginMs: 3600_000,
        wave: wave(1),
      });
      const w2 = await advance(s3, { tracking: loc, stepId: 'q2', expiryMarginMs: 3600_000, wave: wave(2) });
      expect([w1.wave?.rows, w2.wave?.rows, w1.extensionsIssued + w2.extensionsIssued]).toEqual([1, 1, 0]);
      let rows = await rowsByKey(s3, loc);
      const inWave = (id: number) => [...rows.values()].find((r) => r.wave === id)!.key;
      const [ended, running] = [inWave(w1.wave!.waveId), inWave(w2.wave!.waveId)];
      const before = { ended: await motoExpiry(s3, bucket, ended), running: await motoExpiry(s3, bucket, running) };

      // Wave 1's copy has ended, wave 2's still runs; now a two-day margin puts both within it.
      const calls = countCalls(s3);
      const g = await advance(s3, {
        tracking: loc,
        stepId: 'q3',
        expiryMarginMs: 2 * DAY,
        expirationDays: 5,
        activeWaves: [w2.wave!.waveId],
        // Six days: the extended copy (five) is still expiring soon; the ended wave's copy (one) is not counted.
        expiringWithinMs: 6 * DAY,
      });
      expect(g).toMatchObject({ extensionsIssued: 1, restoreRequests: 1, expiringSoon: 1 });
      expect(calls.get('RestoreObjectCommand')).toBe(1);
      expect(await motoExpiry(s3, bucket, ended)).toBe(before.ended);
      const after = await motoExpiry(s3, bucket, running);
      expect(Date.parse(after) - Date.parse(before.running)).toBeGreaterThan(3.9 * DAY);
      rows = await rowsByKey(s3, loc);
      expect(rows.get(running)).toMatchObject({ state: 'queued', wave: w2.wave!.waveId, expiresAt: after });
      expect(rows.get(running)!.note).toMatch(/^extended .* by 5 d$/);
      expect(rows.get(ended)).toMatchObject({ state: 'queued', note: '' });
      expect(g.nextEarliestExpiry).toBe(after);

      // Once wave 2 has ended too, the next step (nothing else to do) redoes the shard: nothing is guarded any more.
      const done = await advance(s3, { tracking: loc, stepId: 'q4', expiryMarginMs: 2 * DAY, activeWaves: [] });
      expect(done).toMatchObject({ extensionsIssued: 0, expiringSoon: 0 });
      expect(done.nextEarliestExpiry).toBeUndefined();
    });
  });
});

describe('restore tracking: copies that found their source not restored', () => {
  test('requeue: the failed.csv rows of InvalidObjectState go back to requested (archived again: restore asked again), others stay; a sweep and a wave take them again', async () => {
    await withBucket(async (bucket, s3) => {
      const loc = { bucket, prefix: 'rq' };
      const keys = ['flip one', 'flip-two', 'denied', 'fine'];
      const manifestKey = await archive(s3, bucket, keys, { storageClass: 'GLACIER' });
      for (const k of keys) await restore(s3, bucket, k, 10);
      await track(s3, loc, manifestKey, { maxObjectsPerShard: 2 });
      const w1 = await advance(s3, {
        tracking: loc,
        stepId: 'w1',
        sweep: true,
        wave: { maxObjects: 100, manifestKey: 'rq/wave-1.csv' },
      });
      expect(w1.wave).toMatchObject({ rows: 4, waveId: 1 });
      // 'flip-two' is archived again with no restore (a new GLACIER version): the step must ask for it again.
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'flip-two', Body: 'v2', StorageClass: 'GLACIER' }));
      const failed = [
        'bucket,key,versionId,errorCode,httpStatus,message,round',
        `${bucket},${encodeManifestKey('flip one')},,InvalidObjectState,403,not restored,0`,
        `${bucket},flip-two,,ObjectNotInActiveTierError,403,not restored,0`,
        `${bucket},denied,,AccessDenied,403,denied,0`,
        `${bucket},never-queued,,InvalidObjectState,403,not restored,0`,
      ].join('\n');
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'rq/wave-1-failed.csv', Body: `${failed}\n` }));
      const calls = countCalls(s3);
      const input: AdvanceRestoreTrackingInput = {
        tracking: loc,
        stepId: 'rq1',
        requeue: { waveId: 1, failures: { bucket, key: 'rq/wave-1-failed.csv' } },
      };
      const r = await advance(s3, input);
      expect(r).toMatchObject({ requeued: 2, requeueUnmatched: 1, restoreRequests: 1, headRequests: 2 });
      expect(calls.get('RestoreObjectCommand')).toBe(1);
      expect(r.counts).toMatchObject({ requested: 2, queued: 2 });
      let rows = await rowsByKey(s3, loc);
      expect(rows.get('flip one')).toMatchObject({ state: 'requested', wave: undefined, expiresAt: '' });
      expect(rows.get('flip one')!.note).toMatch(
        /^copy in wave 1 failed InvalidObjectState .*: waiting for the restore again$/,
      );
      expect(rows.get('flip-two')!.note).toMatch(/ObjectNotInActiveTierError .*; restore asked again$/);
      expect(rows.get('denied')).toMatchObject({ state: 'queued', wave: 1 });
      expect(rows.get('fine')).toMatchObject({ state: 'queued', wave: 1 });
      // A retry of the step returns its result and requeues nothing twice.
      expect(await advance(s3, input)).toEqual(r);

      // moto restores at once: the next sweep finds both restored, and the next wave takes exactly them.
      const w2 = await advance(s3, {
        tracking: loc,
        stepId: 'w2',
        sweep: true,
        wave: { maxObjects: 100, manifestKey: 'rq/wave-2.csv' },
      });
      expect(w2).toMatchObject({ restoredInStep: 2, wave: { rows: 2, waveId: 2 } });
      expect((await text(s3, bucket, 'rq/wave-2.csv')).split('\n').filter(Boolean).sort()).toEqual([
        `${bucket},flip%20one`,
        `${bucket},flip-two`,
      ]);
      rows = await rowsByKey(s3, loc);
      expect(rows.get('flip-two')).toMatchObject({ state: 'queued', wave: 2 });

      // The first step after the waves ended redoes the shards whose queued rows the guard protected while they ran.
      await advance(s3, { tracking: loc, stepId: 'settle' });
      // Nothing left to do in any shard: a step reads and rewrites none of them (only the index: claim and result).
      const before = new Map(calls);
      const idle = await advance(s3, { tracking: loc, stepId: 'idle', sweep: true });
      expect(idle).toMatchObject({ headRequests: 0, counts: { queued: 4 } });
      const made = (name: string) => (calls.get(name) ?? 0) - (before.get(name) ?? 0);
      expect(made('GetObjectCommand')).toBe(1);
      expect(made('PutObjectCommand')).toBe(2);
    });
  });
});

describe('restore tracking: events from SQS', () => {
  async function withQueue<T>(fn: (queueUrl: string, queueArn: string, sqs: SQSClient) => Promise<T>): Promise<T> {
    const sqs = sqsClient();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('restore-events') }));
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    try {
      return await fn(QueueUrl!, attrs.Attributes!.QueueArn!, sqs);
    } finally {
      await sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => undefined);
      sqs.destroy();
    }
  }

  const s3Event = (bucket: string, key: string, expiresAt: string, eventName = 'ObjectRestore:Completed') =>
    JSON.stringify({
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          eventTime: new Date().toISOString(),
          eventName,
          s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key).replace(/%20/g, '+'), size: 9 } },
          glacierEventData: {
            restoreEventData: { lifecycleRestorationExpiryTime: expiresAt, lifecycleRestoreStorageClass: 'GLACIER' },
          },
        },
      ],
    });

  const eventBridge = (bucket: string, key: string, expiresAt: string) =>
    JSON.stringify({
      version: '0',
      'detail-type': 'Object Restore Completed',
      source: 'aws.s3',
      time: new Date().toISOString(),
      detail: {
        version: '0',
        bucket: { name: bucket },
        object: { key, size: 9 },
        'restore-expiry-time': expiresAt,
        'source-storage-class': 'GLACIER',
      },
    });

  function consume(
    s3: S3Client,
    sqs: SQSClient,
    loc: TrackingLocation,
    queueUrl: string,
    id: string,
    extra: Partial<ConsumeRestoreEventsInput> = {},
  ): Promise<ConsumeRestoreEventsResult> {
    return new MockActivityEnvironment().run(createRestoreTrackingActivities({ s3, sqs }).consumeRestoreEvents, {
      tracking: loc,
      queue: { queueUrl },
      consumerId: id,
      waitTimeSeconds: 1,
      stopWhenEmpty: true,
      ...extra,
    });
  }

  test('with sweeps off, events alone mark objects restored; messages are deleted only once their shard event file exists; duplicates count once', async () => {
    await withBucket(async (bucket, s3) => {
      await withQueue(async (queueUrl, _arn, sqs) => {
        const loc = { bucket, prefix: 'ev' };
        const keys = ['a b+c.txt', 'ü/é.bin', 'plain', 'via eventbridge', 'no event'];
        const manifestKey = await archive(s3, bucket, keys, { storageClass: 'GLACIER' });
        await track(s3, loc, manifestKey, { maxObjectsPerShard: 2 });
        const exp = new Date(Date.now() + 10 * DAY).toISOString();
        const bodies = [
          s3Event(bucket, 'a b+c.txt', exp),
          s3Event(bucket, 'ü/é.bin', exp),
          s3Event(bucket, 'plain', exp),
          s3Event(bucket, 'plain', exp), // delivered twice
          eventBridge(bucket, 'via eventbridge', exp),
          JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: bucket }),
          s3Event('some-other-bucket', 'x', exp),
          s3Event(bucket, 'not tracked', exp),
          s3Event(bucket, 'plain', exp, 'ObjectRestore:Post'),
        ];
        for (const MessageBody of bodies) await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody }));

        // Every delete must find all of its flush's event files in S3 already.
        const store = new TrackingStore(s3, loc);
        const filesAtDelete: number[] = [];
        sqs.middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName === 'DeleteMessageBatchCommand') {
              const listed = await s3.send(
                new ListObjectsV2Command({ Bucket: bucket, Prefix: `${store.keys.base}/events/` }),
              );
              filesAtDelete.push(listed.KeyCount ?? 0);
            }
            return next(args);
          },
          { step: 'initialize', name: 'checkFilesFirst' },
        );
        const c = await consume(s3, sqs, loc, queueUrl, 'consumer-1');
        expect(c).toMatchObject({ received: 9, deleted: 9, ignored: 2, notTracked: 1, malformed: 0, facts: 6 });
        expect(filesAtDelete.length).toBeGreaterThan(0);
        expect(filesAtDelete.every((n) => n === c.files)).toBe(true);
        const left = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }));
        expect(left.Messages ?? []).toEqual([]);

        const r = await advance(s3, { tracking: loc, stepId: 'e1', sweep: false });
        // 'plain' was told twice: one object restored, one fact applied.
        expect(r).toMatchObject({ restoredInStep: 4, headRequests: 0, eventsApplied: 4, eventsUnmatched: 1 });
        expect(r.counts).toMatchObject({ restored: 4, requested: 1 });
        const rows = await rowsByKey(s3, loc);
        for (const k of ['a b+c.txt', 'ü/é.bin', 'plain', 'via eventbridge']) {
          expect(rows.get(k)).toMatchObject({ state: 'restored', expiresAt: exp, storageClass: 'GLACIER' });
        }
        expect(rows.get('no event')!.state).toBe('requested');
        // Applied event files are deleted.
        const events = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: `${store.keys.base}/events/` }),
        );
        expect(events.KeyCount ?? 0).toBe(0);

        // At-least-once delivery: the same event again changes nothing.
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: s3Event(bucket, 'plain', exp) }));
        await consume(s3, sqs, loc, queueUrl, 'consumer-2');
        const r2 = await advance(s3, { tracking: loc, stepId: 'e2' });
        expect(r2).toMatchObject({ restoredInStep: 0, eventsApplied: 0 });
        expect(r2.counts).toEqual(r.counts);
      });
    });
  });

  test("the local stack's two messages per restore (moto's without an expiry, the engine's with one) count one object once and give it the engine's expiry, without a HEAD", async () => {
    await withBucket(async (bucket, s3) => {
      await withQueue(async (queueUrl, _arn, sqs) => {
        const loc = { bucket, prefix: 'pair' };
        const manifestKey = await archive(s3, bucket, ['pair.txt', 'waits'], { storageClass: 'GLACIER' });
        await track(s3, loc, manifestKey);
        const exp = new Date(Date.now() + 3 * DAY).toISOString();
        const bare = JSON.parse(s3Event(bucket, 'pair.txt', exp)) as { Records: Array<Record<string, unknown>> };
        delete bare.Records[0]!.glacierEventData;
        // Both orders, split over two consumers and steps: the second fact is news only for its expiry.
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(bare) }));
        await consume(s3, sqs, loc, queueUrl, 'pair-1');
        const first = await advance(s3, { tracking: loc, stepId: 'p1' });
        expect(first).toMatchObject({ restoredInStep: 1, eventsApplied: 1, headRequests: 0 });
        expect((await rowsByKey(s3, loc)).get('pair.txt')).toMatchObject({ state: 'restored', expiresAt: 'unknown' });
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: s3Event(bucket, 'pair.txt', exp) }));
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(bare) }));
        await consume(s3, sqs, loc, queueUrl, 'pair-2');
        const second = await advance(s3, { tracking: loc, stepId: 'p2' });
        expect(second).toMatchObject({ restoredInStep: 0, eventsApplied: 0, headRequests: 0 });
        expect(second.counts).toMatchObject({ restored: 1, requested: 1 });
        expect((await rowsByKey(s3, loc)).get('pair.txt')).toMatchObject({
          state: 'restored',
          expiresAt: exp,
          note: '',
        });
      });
    });
  });

  test("moto's own notifications: the s3:TestEvent is deleted, a real ObjectRestore:Completed applies, a sweep learns its expiry", async () => {
    await withBucket(async (bucket, s3) => {
      await withQueue(async (queueUrl, queueArn, sqs) => {
        const loc = { bucket, prefix: 'real' };
        const manifestKey = await archive(s3, bucket, ['real event.txt', 'other'], { storageClass: 'GLACIER' });
        await track(s3, loc, manifestKey);
        await s3.send(
          new PutBucketNotificationConfigurationCommand({
            Bucket: bucket,
            NotificationConfiguration: {
              QueueConfigurations: [{ QueueArn: queueArn, Events: ['s3:ObjectRestore:Completed'] }],
            },
          }),
        );
        await restore(s3, bucket, 'real event.txt', 10);
        // moto sends Completed when the restored key is next read.
        const expiry = await motoExpiry(s3, bucket, 'real event.txt');
        const c = await consume(s3, sqs, loc, queueUrl, 'real');
        expect(c).toMatchObject({ received: 2, deleted: 2, ignored: 1, facts: 1 });
        const r = await advance(s3, { tracking: loc, stepId: 'r1' });
        expect(r).toMatchObject({ restoredInStep: 1, headRequests: 0 });
        const rows = await rowsByKey(s3, loc);
        // moto's event has no glacierEventData: restored, expiry unknown until a HEAD.
        expect(rows.get('real event.txt')).toMatchObject({ state: 'restored', expiresAt: 'unknown' });
        const r2 = await advance(s3, { tracking: loc, stepId: 'r2', sweep: true });
        expect(r2.headRequests).toBe(2);
        expect((await rowsByKey(s3, loc)).get('real event.txt')).toMatchObject({
          state: 'restored',
          expiresAt: expiry,
        });
      });
    });
  });

  test('a consumer that dies after writing its event files but before deleting: the messages come back and count once', async () => {
    await withBucket(async (bucket, s3) => {
      await withQueue(async (queueUrl, _arn, sqs) => {
        const loc = { bucket, prefix: 'redeliver' };
        const keys = ['r1', 'r 2', 'r+3'];
        const manifestKey = await archive(s3, bucket, keys, { storageClass: 'GLACIER' });
        await track(s3, loc, manifestKey);
        const exp = new Date(Date.now() + 10 * DAY).toISOString();
        for (const k of keys) {
          await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: s3Event(bucket, k, exp) }));
        }
        const dying = sqsClient();
        dying.middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName === 'DeleteMessageBatchCommand') throw new Error('simulated worker crash');
            return next(args);
          },
          { step: 'initialize', name: 'crash' },
        );
        const quick = { visibilityTimeoutSeconds: 2, flushIntervalMs: 500 };
        await expect(consume(s3, dying, loc, queueUrl, 'dies', quick)).rejects.toThrow(/simulated worker crash/);
        const store = new TrackingStore(s3, loc);
        const files = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${store.keys.base}/events/` }));
        expect(files.KeyCount).toBeGreaterThan(0);
        await new Promise((r) => setTimeout(r, 2500));
        const again = await consume(s3, sqs, loc, queueUrl, 'again', quick);
        expect(again).toMatchObject({ received: 3, deleted: 3, facts: 3 });
        const r = await advance(s3, { tracking: loc, stepId: 'once' });
        expect(r).toMatchObject({ restoredInStep: 3, eventsApplied: 3, counts: { restored: 3 } });
        dying.destroy();
      });
    });
  });

  test('consumption is bounded: maxMessages leaves the rest in the queue, maxDurationMs ends a wait on an empty one', async () => {
    await withBucket(async (bucket, s3) => {
      await withQueue(async (queueUrl, _arn, sqs) => {
        const loc = { bucket, prefix: 'bounded' };
        const keys = ['b1', 'b2', 'b3', 'b4', 'b5'];
        await track(s3, loc, await archive(s3, bucket, keys, { storageClass: 'GLACIER' }));
        const exp = new Date(Date.now() + 10 * DAY).toISOString();
        for (const k of keys) {
          await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: s3Event(bucket, k, exp) }));
        }
        const first = await consume(s3, sqs, loc, queueUrl, 'b-1', { maxMessages: 3, stopWhenEmpty: false });
        expect(first).toMatchObject({ received: 3, deleted: 3, facts: 3 });
        const started = Date.now();
        const rest = await consume(s3, sqs, loc, queueUrl, 'b-2', { maxDurationMs: 2500, stopWhenEmpty: false });
        expect(rest).toMatchObject({ received: 2, deleted: 2 });
        expect(Date.now() - started).toBeLessThan(10_000);
        const r = await advance(s3, { tracking: loc, stepId: 'b' });
        expect(r.counts.restored).toBe(5);
      });
    });
  });

  test('a lost event (its message deleted unread) is caught by a later sweep', async () => {
    await withBucket(async (bucket, s3) => {
      await withQueue(async (queueUrl, _arn, sqs) => {
        const loc = { bucket, prefix: 'lost' };
        const manifestKey = await archive(s3, bucket, ['lost.txt'], { storageClass: 'DEEP_ARCHIVE' });
        await track(s3, loc, manifestKey);
        await restore(s3, bucket, 'lost.txt', 10);
        const exp = await motoExpiry(s3, bucket, 'lost.txt');
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: s3Event(bucket, 'lost.txt', exp) }));
        const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: got.Messages![0]!.ReceiptHandle }),
        );
        expect((await consume(s3, sqs, loc, queueUrl, 'late')).received).toBe(0);

        const noSweep = await advance(s3, { tracking: loc, stepId: 'l1' });
        expect(noSweep.counts).toMatchObject({ requested: 1, restored: 0 });
        const sweep = await advance(s3, { tracking: loc, stepId: 'l2', sweep: true });
        expect(sweep).toMatchObject({ restoredInStep: 1, headRequests: 1 });
        expect((await rowsByKey(s3, loc)).get('lost.txt')).toMatchObject({ state: 'restored', expiresAt: exp });
      });
    });
  });

  test('an expiry event turns a restored object expired; reRequestExpired asks again', async () => {
    await withBucket(async (bucket, s3) => {
      await withQueue(async (queueUrl, _arn, sqs) => {
        const loc = { bucket, prefix: 'exp' };
        const manifestKey = await archive(s3, bucket, ['e.txt'], { storageClass: 'GLACIER' });
        await track(s3, loc, manifestKey);
        const soon = new Date(Date.now() + 3 * DAY).toISOString();
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: s3Event(bucket, 'e.txt', soon) }));
        await consume(s3, sqs, loc, queueUrl, 'c1');
        expect((await advance(s3, { tracking: loc, stepId: 'x1', expiryMarginMs: DAY })).counts.restored).toBe(1);
        const gone = JSON.parse(s3Event(bucket, 'e.txt', '', 'ObjectRestore:Delete')) as {
          Records: { eventTime: string }[];
        };
        gone.Records[0]!.eventTime = new Date(Date.now() + 3 * DAY).toISOString();
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(gone) }));
        await consume(s3, sqs, loc, queueUrl, 'c2');
        const x2 = await advance(s3, { tracking: loc, stepId: 'x2', expiryMarginMs: DAY });
        expect(x2).toMatchObject({ expiredInStep: 1, counts: { expired: 1, restored: 0 } });
        const x3 = await advance(s3, { tracking: loc, stepId: 'x3', reRequestExpired: true, expiryMarginMs: DAY });
        expect(x3).toMatchObject({ reRequested: 1, restoreRequests: 1 });
        // moto had never restored e.txt (the events were ours): a new restore starts, the object is requested again.
        const row = (await rowsByKey(s3, loc)).get('e.txt')!;
        expect(row).toMatchObject({ state: 'requested', restoredAt: '', expiresAt: '' });
        expect(row.note).toMatch(/^re-requested /);
      });
    });
  });
});

describe('restore tracking: resume and stale writers', () => {
  const KEYS = Array.from({ length: 14 }, (_, i) => `obj ${String(i).padStart(2, '0')}+x`);

  async function restoredSet(s3: S3Client, bucket: string, prefix: string, manifestKey: string) {
    const loc = { bucket, prefix };
    await track(s3, loc, manifestKey, { maxObjectsPerShard: 2 });
    return loc;
  }

  test('a step whose first attempt died after K shards resumes without redoing them and ends as an uninterrupted step', async () => {
    await withBucket(async (bucket, s3) => {
      const manifestKey = await archive(s3, bucket, KEYS);
      for (const k of KEYS) await restore(s3, bucket, k, 10);
      const whole = await restoredSet(s3, bucket, 'whole', manifestKey);
      const broken = await restoredSet(s3, bucket, 'broken', manifestKey);
      const step = (loc: TrackingLocation): AdvanceRestoreTrackingInput => ({
        tracking: loc,
        stepId: 'step-1',
        sweep: true,
        wave: { maxObjects: 9, manifestKey: `${loc.prefix}/wave.csv` },
      });

      const reference = await advance(s3, step(whole));

      // Attempt 1 dies like a killed worker, cleaning nothing up, at shard K, the last shard with objects but one:
      // its PutObjects are the claim, then a generation and an index per shard with objects (an empty shard has
      // nothing to do, and the step skips it), so call 2C+2 is shard K's generation (written, never referenced), C
      // being the shards with objects before K. Shards hold at most 2 objects, so the C committed ones hold at least
      // 10 of the 14.
      const shards = (await new TrackingStore(s3, broken).readIndex())!.index.shards;
      const busy = shards.flatMap((e, i) => (e.rows > 0 ? [i] : []));
      const K = busy[busy.length - 2]!;
      const C = busy.filter((i) => i < K).length;
      const dying = crashingS3(2 * C + 2, { commands: ['PutObjectCommand'], noCleanup: true });
      const beats: unknown[] = [];
      const f = await failure(advance(dying, step(broken), { attempt: 1 }, (d) => beats.push(d)));
      expect(f.nonRetryable).toBe(false);
      expect(beats.at(-1)).toMatchObject({ stepId: 'step-1', shardsDone: K, wave: { rows: 9 } });
      // Nothing half-written is visible: no wave manifest, its upload still open (as a dead worker leaves it).
      await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'broken/wave.csv' }))).rejects.toThrow();
      const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'broken/' }));
      expect(open.Uploads ?? []).toHaveLength(1);

      const resumedS3 = s3Client();
      const calls = countCalls(resumedS3);
      const resumed = await advance(resumedS3, step(broken), { attempt: 2, heartbeatDetails: beats.at(-1) });
      expect(resumed.shardsResumed).toBe(C);
      const rowsInFirstK = (await new TrackingStore(s3, broken).readIndex())!.index.shards
        .slice(0, K)
        .reduce((n, e) => n + e.rows, 0);
      expect(calls.get('HeadObjectCommand')).toBe(KEYS.length - rowsInFirstK);

      // The same outcome as the uninterrupted step: counts, totals, wave rows; no upload left open.
      // Durations differ by the seconds between the two runs: compare their counts.
      const strip = (r: AdvanceRestoreTrackingResult) => ({
        ...r,
        shardsResumed: 0,
        wave: { ...r.wave, key: '', etag: '' },
        durations: r.durations.map((d) => [d.group, d.count]),
      });
      expect(strip(resumed)).toEqual(strip(reference));
      const waveLines = async (loc: TrackingLocation) =>
        (await text(s3, bucket, `${loc.prefix}/wave.csv`)).split('\n').sort();
      expect(await waveLines(broken)).toEqual(await waveLines(whole));
      const a = await rowsByKey(s3, whole);
      const b = await rowsByKey(s3, broken);
      const shape = (m: Map<string, TrackingRow>) =>
        [...m.values()].map((r) => [r.key, r.state, r.wave, r.expiresAt, r.size]).sort();
      expect(shape(b)).toEqual(shape(a));
      const left = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      expect(left.Uploads ?? []).toEqual([]);
      resumedS3.destroy();
      dying.destroy();
    });
  });

  test('conditional index writes refuse a stale writer: an older attempt that wakes up after a newer one took over stops', async () => {
    await withBucket(async (bucket, s3) => {
      const manifestKey = await archive(s3, bucket, KEYS.slice(0, 6));
      const loc = await restoredSet(s3, bucket, 'stale', manifestKey);
      const input: AdvanceRestoreTrackingInput = { tracking: loc, stepId: 'st', sweep: true };

      // Attempt 1 stalls just before its second shard commit (its 4th PutObject)...
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let stalled!: () => void;
      const isStalled = new Promise<void>((r) => (stalled = r));
      const slow = s3Client();
      let puts = 0;
      slow.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'PutObjectCommand' && ++puts === 5) {
            stalled();
            await released;
          }
          return next(args);
        },
        { step: 'initialize', name: 'stall' },
      );
      const first = failure(advance(slow, input, { attempt: 1 }));
      await isStalled;
      // ...while attempt 2 (Temporal gave up on the first) runs the whole step.
      const second = await advance(s3, input, { attempt: 2 });
      expect(second.counts.requested).toBe(6);
      release();
      const f = await first;
      expect(f.type).toBe(FailureType.StaleWriter);
      expect(f.nonRetryable).toBe(true);
      // The index is attempt 2's: its recorded result, every shard of this step.
      const { index } = (await new TrackingStore(s3, loc).readIndex())!;
      expect(index.lastResult).toEqual(second);
      expect(index.step).toMatchObject({ id: 'st', attempt: 2 });

      // An attempt older than the one that holds the index is refused at once: attempt 3 claims it (then dies at its
      // first shard), and attempt 1 of the same step comes back late.
      const dies = crashingS3(2, { commands: ['PutObjectCommand'] });
      await failure(advance(dies, { ...input, stepId: 'st2' }, { attempt: 3 }));
      const late = await failure(advance(s3, { ...input, stepId: 'st2' }, { attempt: 1 }));
      expect(late.type).toBe(FailureType.StaleWriter);
      expect(late.message).toMatch(/attempt 3 of step st2 holds/);
      slow.destroy();
      dies.destroy();
    });
  });

  test('cancellation stops a step mid-sweep: CancelledFailure, no wave upload left open, the next step finishes it', async () => {
    await withBucket(async (bucket, s3) => {
      const manifestKey = await archive(s3, bucket, KEYS.slice(0, 6));
      const loc = await restoredSet(s3, bucket, 'cancel', manifestKey);
      const env = new MockActivityEnvironment();
      const input: AdvanceRestoreTrackingInput = {
        tracking: loc,
        stepId: 'c1',
        sweep: true,
        headRatePerSecond: 4,
        wave: { maxObjects: 10, manifestKey: 'cancel/w.csv' },
      };
      const running = env.run(createRestoreTrackingActivities({ s3 }).advanceRestoreTracking, input);
      setTimeout(() => env.cancel(), 700);
      await expect(running).rejects.toThrow(CancelledFailure);
      const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'cancel/' }));
      expect(open.Uploads ?? []).toEqual([]);
      const next = await advance(s3, { ...input, stepId: 'c2', headRatePerSecond: undefined });
      expect(next.counts.requested).toBe(6);
    });
  });

  test('a step that never finished leaves its wave behind: the next step puts those objects back and into its own wave', async () => {
    await withBucket(async (bucket, s3) => {
      const manifestKey = await archive(s3, bucket, KEYS.slice(0, 6));
      for (const k of KEYS.slice(0, 6)) await restore(s3, bucket, k, 10);
      const loc = await restoredSet(s3, bucket, 'ab', manifestKey);
      // It dies at the generation of its last shard with objects (the claim, then 2 PutObjects per shard with
      // objects; empty ones are skipped): the others are committed, holding at least 4 of the 6 objects (at most 2 per
      // shard) in wave 1.
      const { shards } = (await new TrackingStore(s3, loc).readIndex())!.index;
      const dying = crashingS3(2 * shards.filter((e) => e.rows > 0).length, { commands: ['PutObjectCommand'] });
      await failure(
        advance(dying, {
          tracking: loc,
          stepId: 'dead',
          sweep: true,
          wave: { maxObjects: 100, manifestKey: 'ab/w1.csv' },
        }),
      );
      const mid = [...(await rowsByKey(s3, loc)).values()];
      expect(mid.filter((r) => r.state === 'queued' && r.wave === 1).length).toBeGreaterThanOrEqual(4);
      const next = await advance(s3, {
        tracking: loc,
        stepId: 'next',
        sweep: true,
        wave: { maxObjects: 100, manifestKey: 'ab/w2.csv' },
      });
      expect(next.wave).toMatchObject({ rows: 6, waveId: 2 });
      expect(next.counts).toMatchObject({ queued: 6 });
      const rows = [...(await rowsByKey(s3, loc)).values()];
      expect(rows.every((r) => r.state === 'queued' && r.wave === 2)).toBe(true);
      await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ab/w1.csv' }))).rejects.toThrow();
      dying.destroy();
    });
  });
});
