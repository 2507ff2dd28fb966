/**
 * A restore-and-copy campaign end to end on the local stack, with an engine whose restores take seconds: GLACIER,
 * DEEP_ARCHIVE, STANDARD and already-restored objects, and two objects over a 5 MiB largeObjectThreshold. One
 * approval; restore children; tracking sweeps; at least two copy waves; the large objects copied by the worker.
 */
import { randomBytes } from 'node:crypto';

import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  RestoreObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

import { approveUpdate, statusQuery, type CampaignResult } from '../../src/shared/campaign';
import { uniqueName, withBucket } from '../helpers';
import { startCampaign, testSpec, waitForPhase, withCampaignWorker } from '../support/campaign';
import { withEngine } from '../support/engine';

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
