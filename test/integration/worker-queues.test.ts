/**
 * Heavy and light work apart (issue 13): heavy activities (manifest builds, round analysis, reports, tracking, large
 * copies) run on `<taskQueue>-heavy` with slots of their own, so that a long one never holds up another campaign's job
 * calls and polls on the campaign task queue.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { WorkflowHandle } from '@temporalio/client';

import { approveUpdate, type CampaignResult } from '../../src/shared/campaign';
import { heavyTaskQueue } from '../../src/shared/task-queue';
import { s3Client, stackEndpoints, uniqueName, withBucket } from '../helpers';
import { pendingActivity } from '../support/activity-history';
import {
  putObjects,
  startCampaign,
  testSpec,
  waitForPhase,
  waitForStatus,
  withCampaignWorker,
  writeDailyInventory,
} from '../support/campaign';
import { HoldProxy } from '../support/hold-proxy';

/** Three inventory data files of 1,000 rows: the build is held reading one of them. */
const KEYS = Array.from({ length: 3_000 }, (_, i) => `inv-${String(i).padStart(4, '0')}`);

/** Puts KEYS (and `others`) in `bucket` with a daily inventory of KEYS; returns the inventory's manifest. */
async function seedInventory(s3: S3Client, bucket: string, others: string[]) {
  const manifest = await writeDailyInventory(
    s3,
    bucket,
    '2024-05-01T00:00:00Z',
    KEYS.map((k) => [k, '2024-04-01T00:00:00Z']),
  );
  await putObjects(s3, bucket, [...KEYS, ...others]);
  return manifest;
}

describe('heavy and light work apart', () => {
  test("a manifest build holding every heavy slot does not hold up another campaign's approval, job calls and polls", async () => {
    await withBucket(async (bucket, s3) => {
      const manifest = await seedInventory(s3, bucket, ['light/1.txt', 'light/2.txt']);
      const proxy = await HoldProxy.start(stackEndpoints().s3Endpoint);
      const workerS3 = s3Client(proxy.url);
      try {
        await withCampaignWorker(
          async (h) => {
            // The light campaign builds its (small) manifest and creates its job first, then awaits approval.
            const light: WorkflowHandle = await startCampaign(
              h,
              uniqueName('light'),
              testSpec(h, bucket, {
                source: { type: 'keys', bucket, keys: ['light/1.txt', 'light/2.txt'] },
                approval: { required: true, timeout: '10m' },
              }),
            );
            await waitForPhase(light, 'AwaitingApproval');

            // The heavy campaign's build takes the one heavy slot and stays in it: S3 never answers its read.
            proxy.hold({ name: 'build', match: (r) => r.method === 'GET' && r.url.includes('.csv.gz') });
            const heavy: WorkflowHandle = await startCampaign(
              h,
              uniqueName('heavy'),
              testSpec(h, bucket, { source: { type: 'inventory', manifest }, approval: { required: false } }),
            );
            await proxy.waitForHold('build');

            // With one light slot too, a build on the campaign queue would hold it: here the approval's
            // UpdateJobStatus and the polls that see the job through run while the build still holds its slot.
            await light.executeUpdate(approveUpdate, { args: [{ by: 'test' }] });
            const seen = await waitForStatus(
              light,
              (s) => s.jobs.length === 1 && s.jobs[0]!.status === 'Complete',
              'its job Complete, seen by a poll',
            );
            expect(seen.jobs[0]!.status).toBe('Complete');
            expect(proxy.isHeld('build')).toBe(true);
            expect((await pendingActivity(heavy, 'buildCampaignManifests'))?.attempt).toBe(1);

            // The build was scheduled on the heavy queue, the job calls on the campaign queue.
            const { events } = await heavy.fetchHistory();
            const queueOf = (type: string) =>
              (events ?? [])
                .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type)
                .map((e) => e.activityTaskScheduledEventAttributes?.taskQueue?.name);
            expect(queueOf('buildCampaignManifests')).toEqual([heavyTaskQueue(h.taskQueue)]);
            expect(queueOf('claimCampaignFolder')).toEqual([h.taskQueue]);

            // Let the build go (its read fails, the retry reads again): both campaigns end with every object.
            proxy.dropHeld();
            const [l, hv] = (await Promise.all([light.result(), heavy.result()])) as CampaignResult[];
            expect(l).toMatchObject({ outcome: 'Succeeded', objects: 2, succeeded: 2 });
            expect(hv).toMatchObject({ outcome: 'Succeeded', objects: KEYS.length, succeeded: KEYS.length });
          },
          { s3: workerS3, settings: { lightActivities: 1, heavyActivities: 1 } },
        );
      } finally {
        workerS3.destroy();
        await proxy.close();
      }
    });
  });

  test("by default, a small campaign's heavy work (its manifest build, its round analysis) runs while another campaign's build holds a heavy slot", async () => {
    await withBucket(async (bucket, s3) => {
      const manifest = await seedInventory(s3, bucket, ['small/1.txt', 'small/2.txt']);
      const proxy = await HoldProxy.start(stackEndpoints().s3Endpoint);
      const workerS3 = s3Client(proxy.url);
      try {
        await withCampaignWorker(
          async (h) => {
            proxy.hold({ name: 'build', match: (r) => r.method === 'GET' && r.url.includes('.csv.gz') });
            const large: WorkflowHandle = await startCampaign(
              h,
              uniqueName('large'),
              testSpec(h, bucket, { source: { type: 'inventory', manifest }, approval: { required: false } }),
            );
            await proxy.waitForHold('build');

            // Two fixed heavy slots (the previous default) would serve this too; one would not: the memory-aware
            // default grants further slots while the budget has room, and the small campaign needs two heavy
            // activities in a row while the build holds its slot.
            const small: WorkflowHandle = await startCampaign(
              h,
              uniqueName('small'),
              testSpec(h, bucket, {
                source: { type: 'keys', bucket, keys: ['small/1.txt', 'small/2.txt'] },
                approval: { required: false },
              }),
            );
            expect(await small.result()).toMatchObject({ outcome: 'Succeeded', objects: 2, succeeded: 2 });
            expect(proxy.isHeld('build')).toBe(true);
            expect((await pendingActivity(large, 'buildCampaignManifests'))?.attempt).toBe(1);

            proxy.dropHeld();
            expect(await large.result()).toMatchObject({ outcome: 'Succeeded', objects: KEYS.length });
          },
          // The test process holds jest and the stack's clients too: a budget well above its RSS, so that the
          // memory check grants the further slots (tested apart in test/unit/heavy-slots.test.ts).
          { s3: workerS3, settings: { memoryBudgetMiB: 8192 } },
        );
      } finally {
        workerS3.destroy();
        await proxy.close();
      }
    });
  });
});
