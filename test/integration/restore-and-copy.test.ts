/**
 * A restore-and-copy campaign end to end on the local stack, with an engine whose restores take seconds: GLACIER,
 * DEEP_ARCHIVE, STANDARD and already-restored objects, and two objects over a 5 MiB largeObjectThreshold. One
 * approval; restore children; tracking sweeps; at least two copy waves; the large objects copied by the worker. And a
 * copy task that finds its source not restored (InvalidObjectState): its object goes back to waiting and a later wave
 * copies it, instead of failing.
 */
import { randomBytes } from 'node:crypto';

import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  RestoreObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

import { formatReport } from '../../src/cli/campaign-views';
import { approveUpdate, statusQuery, type CampaignResult } from '../../src/shared/campaign';
import { CAMPAIGN_SEARCH_ATTRIBUTES as SA } from '../../src/shared/search-attributes';
import { s3Client, uniqueName, withBucket } from '../helpers';
import { startCampaign, testSpec, waitForPhase, withCampaignWorker, type CampaignHarness } from '../support/campaign';
import { admin, withEngine } from '../support/engine';

jest.setTimeout(180_000);

const MiB = 2 ** 20;

interface Seed {
  key: string;
  storageClass: 'GLACIER' | 'DEEP_ARCHIVE' | 'STANDARD';
  body: Buffer;
  /** Restored in moto before the campaign (moto restores at once). */
  restored?: boolean;
}

const seeds: Seed[] = [
  { key: 'cold/g1.txt', storageClass: 'GLACIER', body: Buffer.from('glacier one') },
  { key: 'cold/g2 with space.txt', storageClass: 'GLACIER', body: Buffer.from('glacier two') },
  { key: 'cold/d1.txt', storageClass: 'DEEP_ARCHIVE', body: Buffer.from('deep one') },
  { key: 'cold/d2.txt', storageClass: 'DEEP_ARCHIVE', body: Buffer.from('deep two') },
  { key: 'warm/s1.txt', storageClass: 'STANDARD', body: Buffer.from('standard one') },
  { key: 'warm/s2.txt', storageClass: 'STANDARD', body: Buffer.from('standard two') },
  { key: 'cold/r1.txt', storageClass: 'GLACIER', body: Buffer.from('already restored'), restored: true },
  { key: 'big/b1.bin', storageClass: 'GLACIER', body: randomBytes(6 * MiB) },
  { key: 'big/b2.bin', storageClass: 'DEEP_ARCHIVE', body: randomBytes(6 * MiB) },
];

async function seed(s3: S3Client, bucket: string): Promise<void> {
  for (const o of seeds) {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: o.key,
        Body: o.body,
        StorageClass: o.storageClass,
        ContentType: 'application/x-test',
        Metadata: { origin: o.storageClass.toLowerCase() },
        Tagging: `class=${o.storageClass}&n=${seeds.indexOf(o)}`,
      }),
    );
    if (o.restored) {
      await s3.send(
        new RestoreObjectCommand({
          Bucket: bucket,
          Key: o.key,
          RestoreRequest: { Days: 5, GlacierJobParameters: { Tier: 'Standard' } },
        }),
      );
    }
  }
}

const bodyOf = async (s3: S3Client, bucket: string, key: string) =>
  Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());

/** Adds engine fault rules, each of which must be accepted. */
async function addFaults(engineUrl: string, rules: object[]): Promise<void> {
  for (const rule of rules) expect((await admin(engineUrl, 'POST', '/_local/faults', rule)).status).toBeLessThan(300);
}

/**
 * Starts a restore-and-copy campaign of `keys` without approval, with waves and sweeps every second, and waits until
 * its sort has seen every object: a test may then change them behind it.
 */
async function startSorted(h: CampaignHarness, source: string, target: string, name: string, keys: string[]) {
  const id = uniqueName(name);
  const handle = await startCampaign(
    h,
    id,
    testSpec(h, source, {
      source: { type: 'keys', bucket: source, keys },
      approval: { required: false },
      operation: {
        type: 'restore-and-copy',
        tier: 'STANDARD',
        expirationDays: 1,
        targetBucket: target,
        waves: { minObjects: 100, maxWait: '1s' },
        tracking: { sweepInterval: '1s', firstSweepAfter: '0' },
      },
    }),
  );
  const deadline = Date.now() + 60_000;
  while (!(await handle.query(statusQuery)).restoreAndCopy?.sorted) {
    expect(Date.now()).toBeLessThan(deadline);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { id, handle };
}

test('a mixed restore-and-copy campaign: every object copied with its bytes, metadata and tags, in two or more waves', () =>
  withBucket((source, s3) =>
    withBucket(async (target) => {
      await seed(s3, source);
      await withEngine({ restoreLatencyMs: 3000 }, (engine) =>
        withCampaignWorker(
          async (h) => {
            const id = uniqueName('rac');
            const handle = await startCampaign(
              h,
              id,
              testSpec(h, source, {
                source: { type: 'keys', bucket: source, keys: seeds.map((o) => o.key) },
                operation: {
                  type: 'restore-and-copy',
                  tier: 'STANDARD',
                  expirationDays: 1,
                  targetBucket: target,
                  targetKeyPrefix: 'from-archive/',
                  largeObjectThreshold: '5MiB',
                  waves: { minObjects: 100, maxWait: '2s' },
                  tracking: { sweepInterval: '1s', firstSweepAfter: '0' },
                },
              }),
            );
            // One approval for the whole campaign, no job yet, with the whole campaign's estimate.
            const waiting = await waitForPhase(handle, 'AwaitingApproval', 60_000);
            expect(waiting.jobs).toEqual([]);
            expect(waiting.estimate?.operation).toBe('restore-and-copy');
            expect(waiting.restoreAndCopy?.sorted?.counts).toMatchObject({
              requested: 6,
              'skipped-restored': 3,
              failed: 0,
            });
            await handle.executeUpdate(approveUpdate, { args: [{ by: 'tester' }] });
            const result = (await handle.result()) as CampaignResult;
            expect(result).toMatchObject({ outcome: 'Succeeded', objects: 9, succeeded: 9, failed: 0, notRun: 0 });

            const status = await handle.query(statusQuery);
            const rac = status.restoreAndCopy!;
            expect(rac.restores).toHaveLength(1);
            expect(rac.restores[0]!.result).toMatchObject({ outcome: 'Succeeded', succeeded: 6, failed: 0 });
            expect(rac.waves.length).toBeGreaterThanOrEqual(2);
            // No copy task failed, for an archived source or anything else.
            for (const w of rac.waves) expect(w.result).toMatchObject({ outcome: 'Succeeded', failed: 0 });
            expect(rac.waves.reduce((n, w) => n + (w.result?.succeeded ?? 0), 0)).toBe(7);
            expect(rac.large).toMatchObject({ objects: 2, copied: 2, failed: 0, bytes: 12 * MiB });
            expect(rac.counts).toMatchObject({ requested: 0, restored: 0, 'skipped-restored': 0, queued: 9 });
            expect(rac.durations?.length).toBeGreaterThan(0);
            // Progress where an operator looks: the status query (status, --watch, --json) and the search attributes.
            expect(status.restoreAndCopyProgress).toMatchObject({
              objects: 9,
              needRestore: 6,
              requested: 6,
              restored: 9,
              waiting: 0,
              copying: 0,
              copied: 9,
              failed: 0,
              waves: rac.waves.length,
              expiringSoon: 0,
            });
            const sa = (await handle.describe()).typedSearchAttributes;
            expect([sa.get(SA.restored), sa.get(SA.copied), sa.get(SA.expiringSoon)]).toEqual([9, 9, 0]);

            // Every object in the target: same bytes, metadata and tags.
            for (const o of seeds) {
              const key = `from-archive/${o.key}`;
              expect(await bodyOf(s3, target, key)).toEqual(o.body);
              const head = await s3.send(new HeadObjectCommand({ Bucket: target, Key: key }));
              expect(head.Metadata).toEqual({ origin: o.storageClass.toLowerCase() });
              expect(head.ContentType).toBe('application/x-test');
              const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: target, Key: key }));
              expect(Object.fromEntries((tags.TagSet ?? []).map((t) => [t.Key, t.Value]))).toEqual({
                class: o.storageClass,
                n: String(seeds.indexOf(o)),
              });
            }

            // The report: counts in campaign.json, and a failed.csv with its header only.
            const report = JSON.parse((await bodyOf(s3, source, `campaigns/${id}/campaign.json`)).toString()) as {
              totals: Record<string, number>;
              restoreAndCopy: { waves: unknown[]; largeObjects: { copied: number }; tracking: Record<string, number> };
            };
            expect(report.totals).toMatchObject({ objects: 9, succeeded: 9, failed: 0 });
            expect(report.restoreAndCopy.waves.length).toBe(rac.waves.length);
            expect(report.restoreAndCopy.largeObjects.copied).toBe(2);
            expect(report.restoreAndCopy.tracking.queued).toBe(9);
            expect((await bodyOf(s3, source, `campaigns/${id}/failed.csv`)).toString().trim().split('\n')).toHaveLength(
              1,
            );
          },
          { engineUrl: engine.url },
        ),
      );
    }),
  ));

test('a wave copy that fails InvalidObjectState goes back to waiting: a later sweep and wave copy it, and it is not in failed.csv', () =>
  withBucket((source, s3) =>
    withBucket(async (target) => {
      const objects = [
        { key: 'cold/flip.txt', storageClass: 'GLACIER' as const },
        { key: 'cold/steady.txt', storageClass: 'GLACIER' as const },
        { key: 'warm/s1.txt', storageClass: 'STANDARD' as const },
      ];
      for (const o of objects) {
        await s3.send(
          new PutObjectCommand({ Bucket: source, Key: o.key, Body: `body of ${o.key}`, StorageClass: o.storageClass }),
        );
      }
      await withEngine({ restoreLatencyMs: 2000 }, async (engine) => {
        // Restored by the time its wave is made, but "not restored" (as if it expired meanwhile) when copied, once.
        const rule = await admin(engine.url, 'POST', '/_local/faults', {
          match: { operation: 'S3PutObjectCopy', bucket: source, keyPrefix: 'cold/flip' },
          errorCode: 'InvalidObjectState',
          httpStatus: 403,
          message: 'The operation is not valid for the object storage class',
          times: 1,
        });
        expect(rule.status).toBeLessThan(300);
        await withCampaignWorker(
          async (h) => {
            const id = uniqueName('rac-flip');
            const handle = await startCampaign(
              h,
              id,
              testSpec(h, source, {
                source: { type: 'keys', bucket: source, keys: objects.map((o) => o.key) },
                approval: { required: false },
                operation: {
                  type: 'restore-and-copy',
                  tier: 'STANDARD',
                  expirationDays: 1,
                  targetBucket: target,
                  waves: { minObjects: 100, maxWait: '1s' },
                  tracking: { sweepInterval: '1s', firstSweepAfter: '0' },
                },
              }),
            );
            const result = (await handle.result()) as CampaignResult;
            expect(result).toMatchObject({ outcome: 'Succeeded', objects: 3, succeeded: 3, failed: 0, notRun: 0 });

            const rac = (await handle.query(statusQuery)).restoreAndCopy!;
            // The fault fired: one wave's copy of cold/flip.txt failed InvalidObjectState, and went back to waiting.
            const flipped = rac.waves.filter((w) => (w.requeued ?? 0) > 0);
            expect(flipped).toHaveLength(1);
            expect(flipped[0]!.result).toMatchObject({ failed: 1 });
            const childFailed = (
              await bodyOf(s3, source, flipped[0]!.result!.failedObjects!.split('/').slice(3).join('/'))
            )
              .toString()
              .trim()
              .split('\n');
            expect(childFailed).toHaveLength(2);
            expect(childFailed[1]).toMatch(/^[^,]+,cold\/flip\.txt,[^,]*,InvalidObjectState,/);
            expect(rac.requeued).toBe(1);
            // A later wave copied it: every object once, through the waves.
            const later = rac.waves.filter((w) => (w.waveId ?? 0) > flipped[0]!.waveId!);
            expect(later.reduce((n, w) => n + (w.result?.succeeded ?? 0), 0)).toBeGreaterThanOrEqual(1);
            expect(rac.waves.reduce((n, w) => n + (w.result?.succeeded ?? 0), 0)).toBe(3);
            expect(rac.counts).toMatchObject({ requested: 0, restored: 0, queued: 3 });

            for (const o of objects) expect((await bodyOf(s3, target, o.key)).toString()).toBe(`body of ${o.key}`);
            const failedCsv = (await bodyOf(s3, source, `campaigns/${id}/failed.csv`)).toString();
            expect(failedCsv.trim().split('\n')).toHaveLength(1);
            const report = JSON.parse((await bodyOf(s3, source, `campaigns/${id}/campaign.json`)).toString()) as {
              totals: Record<string, number>;
              restoreAndCopy: { requeued: number };
            };
            expect(report.totals).toMatchObject({ objects: 3, succeeded: 3, failed: 0 });
            expect(report.restoreAndCopy.requeued).toBe(1);
          },
          { engineUrl: engine.url },
        );
      });
    }),
  ));

test('a cancelled restore-and-copy campaign cancels its running wave, and its report names every object not copied and why, once', () =>
  withBucket((source, s3) =>
    withBucket(async (target) => {
      const objects = [
        { key: 'warm/w1.txt', storageClass: 'STANDARD' as const },
        { key: 'warm/w2.txt', storageClass: 'STANDARD' as const },
        { key: 'cold/g1.txt', storageClass: 'GLACIER' as const },
        { key: 'cold/g 2.txt', storageClass: 'DEEP_ARCHIVE' as const },
        // Its restore fails for good: it stays `requested` in the tracking set, and is named once, by that failure.
        { key: 'cold/denied.txt', storageClass: 'GLACIER' as const },
      ];
      for (const o of objects) {
        await s3.send(
          new PutObjectCommand({ Bucket: source, Key: o.key, Body: `body of ${o.key}`, StorageClass: o.storageClass }),
        );
      }
      // Restores that take ten minutes, and a copy job held in Preparing: the cancel finds both under way.
      await withEngine({ restoreLatencyMs: 600_000 }, async (engine) => {
        const rule = await admin(engine.url, 'POST', '/_local/faults', {
          match: { operation: 'S3PutObjectCopy' },
          preparingDelayMs: 600_000,
        });
        expect(rule.status).toBeLessThan(300);
        const denied = await admin(engine.url, 'POST', '/_local/faults', {
          match: { operation: 'S3InitiateRestoreObject', keyPrefix: 'cold/denied' },
          errorCode: 'AccessDenied',
          httpStatus: 403,
          message: 'Access Denied',
        });
        expect(denied.status).toBeLessThan(300);
        await withCampaignWorker(
          async (h) => {
            const id = uniqueName('rac-cancel');
            const handle = await startCampaign(
              h,
              id,
              testSpec(h, source, {
                source: { type: 'keys', bucket: source, keys: objects.map((o) => o.key) },
                approval: { required: false },
                operation: {
                  type: 'restore-and-copy',
                  tier: 'STANDARD',
                  expirationDays: 1,
                  targetBucket: target,
                  waves: { minObjects: 100, maxWait: '1s' },
                  tracking: { sweepInterval: '1s', firstSweepAfter: '0' },
                },
              }),
            );
            const deadline = Date.now() + 60_000;
            let wave: string | undefined;
            while (!wave && Date.now() < deadline) {
              const s = await handle.query(statusQuery);
              const restoresDone = s.restoreAndCopy?.restores.every((r) => r.result) ?? false;
              if (restoresDone) wave = s.restoreAndCopy?.waves.find((w) => !w.result && !w.error)?.workflowId;
              if (!wave) await new Promise((r) => setTimeout(r, 500));
            }
            expect(wave).toBe(`${id}--wave-1`);
            await handle.cancel();
            await expect(handle.result()).rejects.toThrow();
            expect((await handle.describe()).status.name).toBe('CANCELLED');
            // The wave's child campaign was cancelled too, and wrote its own report.
            const child = h.client.workflow.getHandle(wave!);
            expect((await child.describe()).status.name).toBe('CANCELLED');

            const status = await handle.query(statusQuery);
            expect(status).toMatchObject({ phase: 'Done', outcome: 'Cancelled' });
            expect(status.outcomeReason).toContain(`child campaigns cancelled: ${wave}`);
            expect(status.totals).toMatchObject({ objects: 5, succeeded: 0, failed: 1, notRun: 4 });
            const report = JSON.parse((await bodyOf(s3, source, `campaigns/${id}/campaign.json`)).toString()) as {
              outcome: string;
              totals: Record<string, number>;
              errorsByCode: Record<string, number>;
              failedObjects: { count: number };
              restoreAndCopy: { waves: Array<{ outcome?: string }>; restores: Array<{ outcome?: string }> };
            };
            expect(report.outcome).toBe('Cancelled');
            expect(report.totals).toMatchObject({ objects: 5, succeeded: 0, failed: 1, notRun: 4 });
            expect(report.restoreAndCopy.waves).toMatchObject([{ outcome: 'Cancelled' }]);
            expect(report.restoreAndCopy.restores).toMatchObject([{ outcome: 'CompletedWithFailures' }]);
            // The counts are those of the rows written.
            expect(report.errorsByCode).toEqual({ 'NotCopied:Cancelled': 4, 'RestoreFailed:AccessDenied': 1 });
            expect(report.failedObjects.count).toBe(5);
            // `s3-campaigns report` reads it: each child campaign, and the objects by why they were not copied.
            const text = formatReport(report as unknown as Parameters<typeof formatReport>[0], 's3://x/campaign.json');
            expect(text).toMatch(new RegExp(`wave 1 +${wave} +Cancelled +2 +0 +0`));
            expect(text).toMatch(/NotCopied:Cancelled +4/);
            expect(text).toMatch(/RestoreFailed:AccessDenied +1/);
            // Each object named once, with why it was not copied.
            const [header, ...rows] = (await bodyOf(s3, source, `campaigns/${id}/failed.csv`))
              .toString()
              .trim()
              .split('\n');
            expect(header).toMatch(/^bucket,key,/);
            const byKey = Object.fromEntries(
              rows.map((r) => {
                const f = r.split(',');
                return [decodeURIComponent(f[1]!), [f[3], f[5]]];
              }),
            );
            expect(rows).toHaveLength(5);
            expect(byKey).toEqual({
              'cold/denied.txt': ['RestoreFailed:AccessDenied', 'Access Denied'],
              'warm/w1.txt': ['NotCopied:Cancelled', expect.stringMatching(/^its copy wave was stopped/)],
              'warm/w2.txt': ['NotCopied:Cancelled', expect.stringMatching(/^its copy wave was stopped/)],
              'cold/g1.txt': ['NotCopied:Cancelled', 'its restore was asked for (or was to be) and had not completed'],
              'cold/g 2.txt': ['NotCopied:Cancelled', 'its restore was asked for (or was to be) and had not completed'],
            });
          },
          { engineUrl: engine.url },
        );
      });
    }),
  ));

test('an object whose restore failed and that a sweep then found gone is named once in failed.csv, by its restore failure', () =>
  withBucket((source, s3) =>
    withBucket(async (target) => {
      await s3.send(
        new PutObjectCommand({ Bucket: source, Key: 'cold/gone.txt', Body: 'gone', StorageClass: 'GLACIER' }),
      );
      await s3.send(
        new PutObjectCommand({ Bucket: source, Key: 'warm/s1.txt', Body: 'stays', StorageClass: 'STANDARD' }),
      );
      await withEngine({ restoreLatencyMs: 2000 }, async (engine) => {
        // Its restore finds it gone (the test deletes it once the sort has seen it), and the wave waits long enough
        // for a sweep to find it gone too before the campaign ends.
        await addFaults(engine.url, [
          {
            match: { operation: 'S3InitiateRestoreObject', keyPrefix: 'cold/gone' },
            errorCode: 'NoSuchKey',
            httpStatus: 404,
            message: 'The specified key does not exist.',
          },
          { match: { operation: 'S3PutObjectCopy' }, preparingDelayMs: 8000 },
        ]);
        await withCampaignWorker(
          async (h) => {
            const { id, handle } = await startSorted(h, source, target, 'rac-gone', ['cold/gone.txt', 'warm/s1.txt']);
            await s3.send(new DeleteObjectCommand({ Bucket: source, Key: 'cold/gone.txt' }));
            const result = (await handle.result()) as CampaignResult;
            expect(result).toMatchObject({ outcome: 'CompletedWithFailures', objects: 2, succeeded: 1, notRun: 0 });
            const rac = (await handle.query(statusQuery)).restoreAndCopy!;
            // Both stages saw it fail: its restore (404), and then a sweep (HEAD 404).
            expect(rac.restores).toMatchObject([{ result: { failed: 1 } }]);
            expect(rac.counts).toMatchObject({ failed: 1, requested: 0 });

            const rows = (await bodyOf(s3, source, `campaigns/${id}/failed.csv`)).toString().trim().split('\n');
            expect(rows.slice(1)).toEqual([
              expect.stringMatching(/^[^,]+,cold\/gone\.txt,[^,]*,RestoreFailed:NoSuchKey,/),
            ]);
            const report = JSON.parse((await bodyOf(s3, source, `campaigns/${id}/campaign.json`)).toString()) as {
              totals: Record<string, number>;
              errorsByCode: Record<string, number>;
              failedObjects: { count: number };
            };
            expect(report.errorsByCode).toEqual({ 'RestoreFailed:NoSuchKey': 1 });
            expect(report.failedObjects.count).toBe(1);
            // Counted once too, in the outcome's reason as well.
            expect(report.totals).toMatchObject({ objects: 2, succeeded: 1, failed: 1, notRun: 0 });
            expect(result.failed).toBe(1);
            expect(result.reason).toBe('1 object(s) did not make it (see failed.csv)');
          },
          { engineUrl: engine.url },
        );
      });
    }),
  ));

test('objects whose restore failed but that became readable anyway are named in failed.csv by their copy alone, and counted once', () =>
  withBucket((source, s3) =>
    withBucket(async (target) => {
      const keys = ['cold/a.txt', 'cold/b.txt', 'warm/s1.txt'];
      for (const key of keys) {
        const StorageClass = key.startsWith('cold/') ? 'GLACIER' : 'STANDARD';
        await s3.send(new PutObjectCommand({ Bucket: source, Key: key, Body: `first ${key}`, StorageClass }));
      }
      await withEngine({ restoreLatencyMs: 2000 }, async (engine) => {
        // The cold objects are overwritten as STANDARD once the sort has seen them archived: their restores fail
        // InvalidObjectState (as S3 says of an object not archived), a sweep finds them readable, and waves copy
        // them: cold/a.txt copied, cold/b.txt's copy denied. Copies wait long enough for that sweep to come before
        // the campaign could end.
        await addFaults(engine.url, [
          {
            match: { operation: 'S3InitiateRestoreObject', keyPrefix: 'cold/' },
            errorCode: 'InvalidObjectState',
            httpStatus: 403,
            message: "Restore is not allowed for the object's current storage class",
          },
          { match: { operation: 'S3PutObjectCopy' }, preparingDelayMs: 4000 },
          {
            match: { operation: 'S3PutObjectCopy', keyPrefix: 'cold/b' },
            errorCode: 'AccessDenied',
            httpStatus: 403,
            message: 'Access Denied',
          },
        ]);
        await withCampaignWorker(
          async (h) => {
            const { id, handle } = await startSorted(h, source, target, 'rac-readable', keys);
            for (const key of ['cold/a.txt', 'cold/b.txt']) {
              await s3.send(
                new PutObjectCommand({ Bucket: source, Key: key, Body: `second ${key}`, StorageClass: 'STANDARD' }),
              );
            }
            const result = (await handle.result()) as CampaignResult;
            const status = await handle.query(statusQuery);
            const rac = status.restoreAndCopy!;
            // Their restores failed, and waves took them all the same.
            expect(rac.restores).toMatchObject([{ result: { failed: 2 } }]);
            expect(rac.counts).toMatchObject({ requested: 0, failed: 0, queued: 3 });
            expect(rac.waves.reduce((n, w) => n + (w.result?.succeeded ?? 0), 0)).toBe(2);
            expect((await bodyOf(s3, target, 'cold/a.txt')).toString()).toBe('second cold/a.txt');
            // Each object counted once: objects = succeeded + failed + notRun, and the outcome's reason says so.
            expect(result).toMatchObject({
              outcome: 'CompletedWithFailures',
              objects: 3,
              succeeded: 2,
              failed: 1,
              notRun: 0,
            });
            expect(status.outcomeReason).toBe('1 object(s) did not make it (see failed.csv)');

            // Named once, by its copy; the one copied not at all.
            const rows = (await bodyOf(s3, source, `campaigns/${id}/failed.csv`)).toString().trim().split('\n');
            expect(rows.slice(1)).toEqual([
              expect.stringMatching(/^[^,]+,cold\/b\.txt,[^,]*,CopyFailed:AccessDenied,/),
            ]);
            const report = JSON.parse((await bodyOf(s3, source, `campaigns/${id}/campaign.json`)).toString()) as {
              outcome: string;
              reason?: string;
              totals: Record<string, number>;
              errorsByCode: Record<string, number>;
              failedObjects: { count: number };
              restoreAndCopy: { restoreFailuresWentOn?: number };
            };
            expect(report.errorsByCode).toEqual({ 'CopyFailed:AccessDenied': 1 });
            expect(report.failedObjects.count).toBe(1);
            expect(report.totals).toMatchObject({ objects: 3, succeeded: 2, failed: 1, notRun: 0 });
            expect([report.outcome, report.reason]).toEqual([result.outcome, status.outcomeReason]);
            expect(report.restoreAndCopy.restoreFailuresWentOn).toBe(2);
          },
          { engineUrl: engine.url },
        );
      });
    }),
  ));

test('a large copy that finds its source not restored goes back to waiting: a later sweep and large copy take it, and it is not in failed.csv', () =>
  withBucket((source, s3) =>
    withBucket(async (target) => {
      const big = randomBytes(6 * MiB);
      await s3.send(new PutObjectCommand({ Bucket: source, Key: 'big/flip.bin', Body: big, StorageClass: 'GLACIER' }));
      // The worker's S3 client: the first time the large copy HEADs its source (it alone asks for checksums), the
      // restore reads as gone, as if it had expired between the tracking step and the copy.
      const workerS3 = s3Client();
      let flipped = 0;
      workerS3.middlewareStack.add(
        (next, context) => async (args) => {
          const res = await next(args);
          const input = args.input as { Key?: string; ChecksumMode?: string };
          if (context.commandName === 'HeadObjectCommand' && input.ChecksumMode === 'ENABLED' && flipped === 0) {
            flipped += 1;
            (res.output as { Restore?: string }).Restore = undefined;
          }
          return res;
        },
        { step: 'initialize', name: 'restoreGoneOnce' },
      );
      try {
        await withEngine({ restoreLatencyMs: 2000 }, (engine) =>
          withCampaignWorker(
            async (h) => {
              const id = uniqueName('rac-large-flip');
              const handle = await startCampaign(
                h,
                id,
                testSpec(h, source, {
                  source: { type: 'keys', bucket: source, keys: ['big/flip.bin'] },
                  approval: { required: false },
                  operation: {
                    type: 'restore-and-copy',
                    tier: 'STANDARD',
                    expirationDays: 1,
                    targetBucket: target,
                    largeObjectThreshold: '5MiB',
                    waves: { minObjects: 100, maxWait: '1s' },
                    tracking: { sweepInterval: '1s', firstSweepAfter: '0' },
                  },
                }),
              );
              const result = (await handle.result()) as CampaignResult;
              expect(flipped).toBe(1);
              expect(result).toMatchObject({ outcome: 'Succeeded', objects: 1, succeeded: 1, failed: 0, notRun: 0 });
              const rac = (await handle.query(statusQuery)).restoreAndCopy!;
              expect(rac.large).toMatchObject({ copied: 1, failed: 0, requeued: 1, failureKeys: [] });
              expect(rac.large.batches).toBeGreaterThanOrEqual(2);
              expect(rac.requeued).toBe(1);
              expect(rac.waves).toEqual([]);
              // The unrestored copy was written down for the requeue step, not as a failure.
              const unrestored = (
                await bodyOf(s3, source, `campaigns/${id}/failures/large-1-unrestored.csv`)
              ).toString();
              expect(unrestored).toMatch(/^[^,]+,big\/flip\.bin,,NotRestored,/);
              expect(await bodyOf(s3, target, 'big/flip.bin')).toEqual(big);
              expect(
                (await bodyOf(s3, source, `campaigns/${id}/failed.csv`)).toString().trim().split('\n'),
              ).toHaveLength(1);
            },
            { engineUrl: engine.url, s3: workerS3 },
          ),
        );
      } finally {
        workerS3.destroy();
      }
    }),
  ));

test('a restore-and-copy campaign continues as new only between its child campaigns: none is lost, cut short or started twice', () =>
  withBucket((source, s3) =>
    withBucket(async (target) => {
      const objects = [
        { key: 'cold/c1.txt', storageClass: 'GLACIER' as const },
        { key: 'cold/c2.txt', storageClass: 'DEEP_ARCHIVE' as const },
        { key: 'warm/w1.txt', storageClass: 'STANDARD' as const },
        { key: 'warm/w2.txt', storageClass: 'STANDARD' as const },
      ];
      for (const o of objects) {
        await s3.send(
          new PutObjectCommand({ Bucket: source, Key: o.key, Body: `body of ${o.key}`, StorageClass: o.storageClass }),
        );
      }
      await withEngine({ restoreLatencyMs: 4000 }, (engine) =>
        withCampaignWorker(
          async (h) => {
            const id = uniqueName('rac-can');
            const handle = await startCampaign(
              h,
              id,
              testSpec(h, source, {
                source: { type: 'keys', bucket: source, keys: objects.map((o) => o.key) },
                approval: { required: false },
                // The lowest limit: the parent is over it within a few tracking passes, children running or not.
                historyEventLimit: 50,
                operation: {
                  type: 'restore-and-copy',
                  tier: 'STANDARD',
                  expirationDays: 1,
                  targetBucket: target,
                  waves: { minObjects: 100, maxWait: '1s' },
                  tracking: { sweepInterval: '1s', firstSweepAfter: '0' },
                },
              }),
            );
            const result = (await handle.result()) as CampaignResult;
            expect(result).toMatchObject({ outcome: 'Succeeded', objects: 4, succeeded: 4, failed: 0, notRun: 0 });
            const status = await handle.query(statusQuery);
            expect(status.runs).toBeGreaterThan(1);
            const rac = status.restoreAndCopy!;
            const children = [...rac.restores, ...rac.waves];
            // Each child ran to its end (one cut short by a parent that continued would be TERMINATED), once.
            expect(new Set(children.map((c) => c.workflowId)).size).toBe(children.length);
            for (const c of children) {
              expect([c.workflowId, (await h.client.workflow.getHandle(c.workflowId).describe()).status.name]).toEqual([
                c.workflowId,
                'COMPLETED',
              ]);
            }
            const next = `${id}--wave-${Math.max(...rac.waves.map((w) => w.waveId!)) + 1}`;
            await expect(h.client.workflow.getHandle(next).describe()).rejects.toThrow(/not found/i);
            expect(rac.waves.reduce((n, w) => n + (w.result?.succeeded ?? 0), 0)).toBe(4);
            for (const o of objects) expect((await bodyOf(s3, target, o.key)).toString()).toBe(`body of ${o.key}`);
          },
          { engineUrl: engine.url },
        ),
      );
    }),
  ));

/** A restore-and-copy campaign of one object above a 5 MiB threshold (copied by the worker), without approval. */
function oneLargeObject(
  h: { accountId: string },
  source: string,
  target: string,
  key: string,
  over: { largeObjects?: { partSize: string } } = {},
) {
  return testSpec(h, source, {
    source: { type: 'keys', bucket: source, keys: [key] },
    approval: { required: false },
    operation: {
      type: 'restore-and-copy',
      tier: 'STANDARD',
      expirationDays: 1,
      targetBucket: target,
      largeObjectThreshold: '5MiB',
      ...over,
      waves: { minObjects: 100, maxWait: '1s' },
      tracking: { sweepInterval: '1s', firstSweepAfter: '0' },
    },
  });
}

test('a cancel during a worker multipart copy stops it, aborts its upload, and the report names the object as not copied', () =>
  withBucket((source, s3) =>
    withBucket(async (target) => {
      const big = randomBytes(12 * MiB);
      await s3.send(new PutObjectCommand({ Bucket: source, Key: 'big/slow.bin', Body: big, StorageClass: 'STANDARD' }));
      // The worker's part copies take 10 s each, and its heartbeats reach Temporal at least every second (the
      // default throttle is up to a minute): the cancel reaches the copy while its parts run.
      const workerS3 = s3Client();
      let partsStarted = 0;
      workerS3.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'UploadPartCopyCommand') {
            partsStarted += 1;
            await new Promise((r) => setTimeout(r, 10_000));
          }
          return next(args);
        },
        { step: 'initialize', name: 'slowParts' },
      );
      try {
        await withEngine({}, (engine) =>
          withCampaignWorker(
            async (h) => {
              const id = uniqueName('rac-cancel-large');
              const handle = await startCampaign(
                h,
                id,
                oneLargeObject(h, source, target, 'big/slow.bin', { largeObjects: { partSize: '5MiB' } }),
              );
              const deadline = Date.now() + 60_000;
              while (partsStarted === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
              expect(partsStarted).toBeGreaterThan(0);
              await handle.cancel();
              await expect(handle.result()).rejects.toThrow();
              const status = await handle.query(statusQuery);
              expect(status).toMatchObject({ phase: 'Done', outcome: 'Cancelled' });
              expect(status.totals).toMatchObject({ objects: 1, succeeded: 0, failed: 0, notRun: 1 });
              const rows = (await bodyOf(s3, source, `campaigns/${id}/failed.csv`)).toString().trim().split('\n');
              expect(rows).toHaveLength(2);
              expect(rows[1]).toMatch(
                /^[^,]+,big\/slow\.bin,,NotCopied:Cancelled,,the campaign was cancelled during the copy,/,
              );
              const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: target }));
              expect(uploads.Uploads ?? []).toEqual([]);
              await expect(s3.send(new HeadObjectCommand({ Bucket: target, Key: 'big/slow.bin' }))).rejects.toThrow();
            },
            { engineUrl: engine.url, s3: workerS3, workerOptions: { maxHeartbeatThrottleInterval: '1s' } },
          ),
        );
      } finally {
        workerS3.destroy();
      }
    }),
  ));

test('a cancel after a batch of large objects is queued, before its copies start: the report names them as not copied', () =>
  withBucket((source, s3) =>
    withBucket(async (target) => {
      await s3.send(
        new PutObjectCommand({
          Bucket: source,
          Key: 'big/queued.bin',
          Body: randomBytes(6 * MiB),
          StorageClass: 'STANDARD',
        }),
      );
      // The worker's first read of a large batch's list waits until the test lets it go: the cancel lands there.
      const workerS3 = s3Client();
      let held: (() => void) | undefined;
      let holds = 0;
      workerS3.middlewareStack.add(
        (next, context) => async (args) => {
          const key = (args.input as { Key?: string }).Key ?? '';
          if (context.commandName === 'GetObjectCommand' && key.includes('/waves/large-') && holds++ === 0) {
            await new Promise<void>((resolve) => (held = resolve));
          }
          return next(args);
        },
        { step: 'initialize', name: 'holdLargeBatchList' },
      );
      try {
        await withEngine({}, (engine) =>
          withCampaignWorker(
            async (h) => {
              const id = uniqueName('rac-cancel-queued');
              const handle = await startCampaign(h, id, oneLargeObject(h, source, target, 'big/queued.bin'));
              const deadline = Date.now() + 60_000;
              while (!held && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
              expect(held).toBeDefined();
              await handle.cancel();
              await expect(handle.result()).rejects.toThrow();
              held!();
              const status = await handle.query(statusQuery);
              expect(status).toMatchObject({ phase: 'Done', outcome: 'Cancelled' });
              expect(status.totals).toMatchObject({ objects: 1, succeeded: 0, failed: 0, notRun: 1 });
              const rows = (await bodyOf(s3, source, `campaigns/${id}/failed.csv`)).toString().trim().split('\n');
              expect(rows).toHaveLength(2);
              expect(rows[1]).toMatch(
                /^[^,]+,big\/queued\.bin,,NotCopied:Cancelled,,the campaign was cancelled before its copy started,/,
              );
              await expect(s3.send(new HeadObjectCommand({ Bucket: target, Key: 'big/queued.bin' }))).rejects.toThrow();
            },
            { engineUrl: engine.url, s3: workerS3 },
          ),
        );
      } finally {
        held?.();
        workerS3.destroy();
      }
    }),
  ));
