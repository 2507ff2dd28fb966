/**
 * How a restore-and-copy campaign learns that its objects are restored, end to end on the local stack with an engine
 * whose restores take seconds and send `s3:ObjectRestore:Completed` to the SQS queues the bucket's notification
 * configuration names: by events alone (sweeps too far apart to matter), by HEAD sweeps alone (no queue), and a lost
 * event (its message deleted before the campaign could read it) caught by a sweep. And the expiry guard: restored
 * objects that wait for their wave longer than their restore's lifetime less the margin get their restore extended.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  type QueueConfiguration,
  type S3Client,
  type StorageClass,
} from '@aws-sdk/client-s3';

import { statusQuery, type CampaignResult, type RestoreAndCopyState } from '../../src/shared/campaign';
import type { CampaignSpecInput } from '../../src/shared/campaign-spec';
import { uniqueName, waitFor, withBucket } from '../helpers';
import { startCampaign, testSpec, withCampaignWorker } from '../support/campaign';
import { withEngine } from '../support/engine';
import { withQueue, type TestQueue } from '../support/sqs';

jest.setTimeout(180_000);

/** Restores complete this long after their task ran. */
const RESTORE_LATENCY_MS = 2000;

const OBJECTS: Array<{ key: string; storageClass: StorageClass }> = [
  { key: 'cold/g1.txt', storageClass: 'GLACIER' },
  { key: 'cold/g2 with space.txt', storageClass: 'GLACIER' },
  { key: 'cold/d1.txt', storageClass: 'DEEP_ARCHIVE' },
  { key: 'warm/s1.txt', storageClass: 'STANDARD' },
];
const ARCHIVED = OBJECTS.filter((o) => o.storageClass !== 'STANDARD').length;

async function seed(s3: S3Client, bucket: string, objects: typeof OBJECTS): Promise<void> {
  for (const o of objects) {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: o.key, Body: `body of ${o.key}`, StorageClass: o.storageClass }),
    );
  }
}

/** Sends the bucket's restore completions under each prefix (all of them for '') to its queue. */
async function notify(s3: S3Client, bucket: string, routes: Array<{ prefix: string; queue: TestQueue }>) {
  const QueueConfigurations: QueueConfiguration[] = routes.map((r, i) => ({
    Id: `restored-${i}`,
    QueueArn: r.queue.arn,
    Events: ['s3:ObjectRestore:Completed'],
    ...(r.prefix ? { Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: r.prefix }] } } } : {}),
  }));
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: { QueueConfigurations },
    }),
  );
}

const bodyOf = async (s3: S3Client, bucket: string, key: string) =>
  await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();

/** HEAD requests of the tracking steps: all of them but the sort's precheck. */
const trackingHeads = (rac: RestoreAndCopyState) => rac.headRequests - (rac.sorted?.headRequests ?? 0);

type RestoreAndCopyInput = Extract<CampaignSpecInput['operation'], { type: 'restore-and-copy' }>;

/** The expiry date of a restored object's copy, from its x-amz-restore (undefined while it is not restored). */
async function restoreExpiry(s3: S3Client, bucket: string, key: string): Promise<number | undefined> {
  const { Restore } = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const m = /ongoing-request="false", expiry-date="([^"]+)"/.exec(Restore ?? '');
  return m ? Date.parse(m[1]!) : undefined;
}

/** Runs a campaign over `keys` of `source` into `target` with these tracking knobs, to its end. */
async function runCampaign(
  source: string,
  target: string,
  keys: string[],
  tracking: NonNullable<RestoreAndCopyInput['tracking']>,
  operation: Partial<RestoreAndCopyInput> = {},
): Promise<{ result: CampaignResult; rac: RestoreAndCopyState; campaignId: string }> {
  return await withEngine({ restoreLatencyMs: RESTORE_LATENCY_MS }, (engine) =>
    withCampaignWorker(
      async (h) => {
        const campaignId = uniqueName('rac-tracking');
        const handle = await startCampaign(
          h,
          campaignId,
          testSpec(h, source, {
            source: { type: 'keys', bucket: source, keys },
            approval: { required: false },
            operation: {
              type: 'restore-and-copy',
              tier: 'STANDARD',
              expirationDays: 1,
              expiryMargin: '12h',
              targetBucket: target,
              waves: { minObjects: 100, maxWait: '1s' },
              tracking,
              ...operation,
            },
          }),
        );
        const result = (await handle.result()) as CampaignResult;
        return { result, rac: (await handle.query(statusQuery)).restoreAndCopy!, campaignId };
      },
      { engineUrl: engine.url },
    ),
  );
}

describe('restore-and-copy: how restores become known', () => {
  test.each([
    {
      path: 'events alone (sweeps too far apart to happen): no HEAD after the sort',
      queue: true,
      // The first sweep would come two days after the restores, the next 12 h later: only events can tell.
      tracking: { eventInterval: '1s', firstSweepAfter: '2d', sweepInterval: '12h' },
    },
    {
      path: 'HEAD sweeps alone (no queue): no event applied',
      queue: false,
      tracking: { firstSweepAfter: '0', sweepInterval: '1s' },
    },
  ])('$path', ({ queue: withEvents, tracking }) =>
    withBucket((source, s3) =>
      withBucket((target) =>
        withQueue(async (queue) => {
          await seed(s3, source, OBJECTS);
          if (withEvents) await notify(s3, source, [{ prefix: '', queue }]);
          const { result, rac } = await runCampaign(
            source,
            target,
            OBJECTS.map((o) => o.key),
            withEvents ? { ...tracking, queueUrl: queue.url } : tracking,
          );
          expect(result).toMatchObject({ outcome: 'Succeeded', objects: OBJECTS.length, succeeded: OBJECTS.length });
          for (const o of OBJECTS) expect(await bodyOf(s3, target, o.key)).toBe(`body of ${o.key}`);
          expect(rac.sorted?.headRequests).toBe(OBJECTS.length);
          if (withEvents) {
            // Every archived object learnt from its event; not one HEAD after the precheck (no sweep, no guard).
            expect(rac.eventsApplied).toBeGreaterThanOrEqual(ARCHIVED);
            expect(trackingHeads(rac)).toBe(0);
            expect(rac.consumers).toBeGreaterThan(0);
          } else {
            expect(rac.eventsApplied).toBe(0);
            expect(rac.consumers).toBe(0);
            expect(trackingHeads(rac)).toBeGreaterThanOrEqual(ARCHIVED);
          }
        }),
      ),
    ),
  );

  test('a lost event (its message deleted before the campaign read it) is caught by the next sweep', () =>
    withBucket((source, s3) =>
      withBucket((target) =>
        withQueue((campaignQueue) =>
          withQueue(async (thief) => {
            const objects = [...OBJECTS, { key: 'lost/l1.txt', storageClass: 'GLACIER' as const }];
            await seed(s3, source, objects);
            // The lost object's completion goes to another queue, where this test deletes it unread by the campaign.
            await notify(s3, source, [
              { prefix: 'cold/', queue: campaignQueue },
              { prefix: 'lost/', queue: thief },
            ]);
            const stolen = thief.drain((got) => JSON.stringify(got).includes('lost/l1.txt'), { timeoutMs: 90_000 });
            const { result, rac } = await runCampaign(
              source,
              target,
              objects.map((o) => o.key),
              { queueUrl: campaignQueue.url, eventInterval: '1s', firstSweepAfter: '8s', sweepInterval: '8s' },
            );
            // The event existed, and this test deleted it: the campaign's queue never carried it.
            expect(JSON.stringify(await stolen)).toMatch(/ObjectRestore:Completed.*lost\/l1\.txt/);
            expect(result).toMatchObject({ outcome: 'Succeeded', objects: objects.length, succeeded: objects.length });
            expect(await bodyOf(s3, target, 'lost/l1.txt')).toBe('body of lost/l1.txt');
            // The cold objects were told by events; a sweep HEADed what was still waiting, the lost one among them.
            expect(rac.eventsApplied).toBeGreaterThanOrEqual(ARCHIVED);
            expect(trackingHeads(rac)).toBeGreaterThanOrEqual(1);
          }),
        ),
      ),
    ));
});

/**
 * Watches the restored copies' expiry on HEAD while a campaign runs: the first one S3 (moto: completion + days, to the
 * second) gives each, and when it first moved.
 */
function watchExpiries(s3: S3Client, bucket: string, keys: string[]) {
  const first = new Map<string, number>();
  const movedAt = new Map<string, number>();
  let watching = true;
  const loop = (async () => {
    while (watching && movedAt.size < keys.length) {
      for (const key of keys) {
        if (movedAt.has(key)) continue;
        const at = await restoreExpiry(s3, bucket, key);
        if (at === undefined) continue;
        if (!first.has(key)) first.set(key, at);
        else if (at > first.get(key)!) movedAt.set(key, Date.now());
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    first,
    movedAt,
    stop: async () => {
      watching = false;
      await loop;
    },
  };
}

describe('restore-and-copy: the expiry guard', () => {
  test('objects that wait for their wave past their restore lifetime less the margin are extended: the expiry on HEAD moves', () =>
    withBucket((source, s3) =>
      withBucket(async (target) => {
        const objects = OBJECTS.filter((o) => o.key.startsWith('cold/g'));
        await seed(s3, source, objects);
        const { first, stop } = watchExpiries(
          s3,
          source,
          objects.map((o) => o.key),
        );
        try {
          // A 1-day restore and a margin of 23 h 59 min: a copy that has waited a minute is within the margin. Its
          // wave comes 90 s after it was seen restored; sweeps every 5 s run the guard in between.
          const { result, rac, campaignId } = await runCampaign(
            source,
            target,
            objects.map((o) => o.key),
            { firstSweepAfter: '0', sweepInterval: '5s' },
            { expirationDays: 1, expiryMargin: '1439m', waves: { minObjects: 100, maxWait: '90s' } },
          );
          expect(result).toMatchObject({ outcome: 'Succeeded', objects: objects.length, succeeded: objects.length });
          await waitFor('the first expiries', async () => first.size === objects.length, Boolean);
          expect(rac.extensions).toBeGreaterThanOrEqual(objects.length);
          for (const o of objects) {
            // Extended a minute or more after the restore completed: the copy now expires that much later.
            const now = (await restoreExpiry(s3, source, o.key))!;
            expect(now - first.get(o.key)!).toBeGreaterThanOrEqual(59_000);
            expect(await bodyOf(s3, target, o.key)).toBe(`body of ${o.key}`);
          }
          const report = JSON.parse(await bodyOf(s3, source, `campaigns/${campaignId}/campaign.json`)) as {
            restoreAndCopy: { extensions: number };
          };
          expect(report.restoreAndCopy.extensions).toBe(rac.extensions);
        } finally {
          await stop();
        }
      }),
    ));

  test('the loop wakes up for the guard: a copy is extended once it is within the margin, not at the next sweep or wave', () =>
    withBucket((source, s3) =>
      withBucket(async (target) => {
        const objects = OBJECTS.filter((o) => o.key.startsWith('cold/g'));
        await seed(s3, source, objects);
        const keys = objects.map((o) => o.key);
        const watch = watchExpiries(s3, source, keys);
        try {
          // Restores complete a few seconds in, so their copies are within the 23 h 59 min margin about a minute
          // later. Sweeps at 15 s, 60 s, 105 s (the 60 s one is too early to extend) and the wave at 115 s: only a
          // wake-up for the guard extends them at about 65 s.
          const { result, rac } = await runCampaign(
            source,
            target,
            keys,
            { firstSweepAfter: '15s', sweepInterval: '45s' },
            { expirationDays: 1, expiryMargin: '1439m', waves: { minObjects: 100, maxWait: '100s' } },
          );
          expect(result).toMatchObject({ outcome: 'Succeeded', objects: objects.length, succeeded: objects.length });
          expect(rac.extensions).toBeGreaterThanOrEqual(objects.length);
          const waveAt = Math.min(...rac.waves.map((w) => Date.parse(w.startedAt)));
          for (const key of keys) {
            const moved = watch.movedAt.get(key);
            expect(moved).toBeDefined();
            expect(waveAt - moved!).toBeGreaterThan(25_000);
            // The guard acted within seconds of the copy entering the margin (a minute after its restore completed).
            expect(moved! - (watch.first.get(key)! - 86_400_000)).toBeLessThan(75_000);
          }
        } finally {
          await watch.stop();
        }
      }),
    ));
});
