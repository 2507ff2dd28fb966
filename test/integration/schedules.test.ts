/**
 * Recurring campaigns: the `schedule` commands run as subprocesses against the dev server, each run a real campaign.
 */

import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';

import { approveUpdate, rejectUpdate, type CampaignResult } from '../../src/shared/campaign';
import type { CampaignSpecInput } from '../../src/shared/campaign-spec';
import { stackEndpoints, uniqueName, withBucket } from '../helpers';
import {
  getText,
  manifestKeys,
  putObjects,
  startCampaign,
  testSpec,
  waitForPhase,
  withCampaignWorker,
  writeDailyInventory,
} from '../support/campaign';
import { runCli as cli, withSpecFile } from '../support/cli';

async function listAll(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!);
}

/** Waits until the schedule has taken `n` actions; returns the workflow id of action n (1-based). */
async function nthRun(client: Client, scheduleId: string, n: number): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const d = await client.schedule.getHandle(scheduleId).describe();
    const a = d.info.recentActions[n - 1];
    if (a) return a.action.workflow.workflowId;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`schedule ${scheduleId} took no action #${n}`);
}

describe('schedules', () => {
  test('create (paused) → list → describe → trigger runs a campaign → pause/unpause with notes → delete', async () => {
    await withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, ['s1.txt']);
      await withCampaignWorker(async (h) => {
        const env = { TEMPORAL_ADDRESS: stackEndpoints().temporalAddress, TEMPORAL_TASK_QUEUE: h.taskQueue };
        const id = uniqueName('sched');
        const spec = testSpec(h, bucket, {
          source: { type: 'keys', bucket, keys: ['s1.txt'] },
          approval: { required: false },
        });
        await withSpecFile(spec, async (file) => {
          expect(
            await cli(
              ['schedule', 'create', file, '--id', id, '--every', '1h', '--paused', '--note', 'until Monday'],
              env,
            ),
          ).toMatchObject({ code: 0, stdout: `${id}\n` });
        });
        try {
          const list = await cli(['schedule', 'list'], env);
          expect(list.stdout).toMatch(new RegExp(`${id}\\s+paused\\s+every 1h`));
          const described = JSON.parse((await cli(['schedule', 'describe', id, '--json'], env)).stdout);
          expect(described).toMatchObject({
            scheduleId: id,
            paused: true,
            note: 'until Monday',
            overlap: 'SKIP',
            pauseOnFailure: true,
            intervals: ['1h'],
          });

          expect((await cli(['schedule', 'trigger', id], env)).stdout).toContain('triggered (overlap SKIP)');
          const runId = await nthRun(h.client, id, 1);
          expect(runId.startsWith(id)).toBe(true);
          const result = (await h.client.workflow.getHandle(runId).result()) as CampaignResult;
          expect(result).toMatchObject({ outcome: 'Succeeded', succeeded: 1 });

          expect((await cli(['schedule', 'unpause', id, '--note', 'go'], env)).code).toBe(0);
          expect((await h.client.schedule.getHandle(id).describe()).state).toMatchObject({ paused: false, note: 'go' });
          expect((await cli(['schedule', 'pause', id, '--note', 'maintenance'], env)).code).toBe(0);
          expect((await h.client.schedule.getHandle(id).describe()).state).toMatchObject({
            paused: true,
            note: 'maintenance',
          });
        } finally {
          expect((await cli(['schedule', 'delete', id], env)).code).toBe(0);
        }
        expect((await cli(['schedule', 'describe', id], env)).code).toBe(1);
      });
    });
  });

  test('backfill takes the actions of a past window, under the schedule’s overlap policy', async () => {
    await withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, ['b.txt']);
      await withCampaignWorker(async (h) => {
        const env = { TEMPORAL_ADDRESS: stackEndpoints().temporalAddress, TEMPORAL_TASK_QUEUE: h.taskQueue };
        const id = uniqueName('sched-backfill');
        await withSpecFile(
          testSpec(h, bucket, { source: { type: 'keys', bucket, keys: ['b.txt'] }, approval: { required: false } }),
          async (file) => {
            expect((await cli(['schedule', 'create', file, '--id', id, '--every', '1h', '--paused'], env)).code).toBe(
              0,
            );
          },
        );
        try {
          const bad = await cli(['schedule', 'backfill', id, '2026-01-02T00:00:00Z', '2026-01-01T00:00:00Z'], env);
          expect(bad.code).toBe(2);
          expect(bad.stderr).toContain('<from> must be before <to>');
          const res = await cli(['schedule', 'backfill', id, '2026-01-01T00:00:00Z', '2026-01-01T01:30:00Z'], env);
          expect(res.stdout).toContain(`${id} backfilled 2026-01-01T00:00:00.000Z → 2026-01-01T01:30:00.000Z`);
          const runId = await nthRun(h.client, id, 1);
          const d = await h.client.schedule.getHandle(id).describe();
          const scheduledAt = d.info.recentActions[0]!.scheduledAt.getTime();
          expect(scheduledAt).toBeGreaterThanOrEqual(Date.parse('2026-01-01T00:00:00Z'));
          expect(scheduledAt).toBeLessThanOrEqual(Date.parse('2026-01-01T01:30:00Z'));
          expect(await h.client.workflow.getHandle(runId).result()).toMatchObject({
            outcome: 'Succeeded',
            succeeded: 1,
          });
        } finally {
          await h.client.schedule.getHandle(id).delete();
        }
      });
    });
  });

  test('overlap skip: a trigger while the previous run awaits approval starts nothing', async () => {
    await withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, ['o.txt']);
      await withCampaignWorker(async (h) => {
        const env = { TEMPORAL_ADDRESS: stackEndpoints().temporalAddress, TEMPORAL_TASK_QUEUE: h.taskQueue };
        const id = uniqueName('sched-skip');
        await withSpecFile(testSpec(h, bucket, { source: { type: 'keys', bucket, keys: ['o.txt'] } }), async (file) => {
          expect((await cli(['schedule', 'create', file, '--id', id, '--every', '24h', '--paused'], env)).code).toBe(0);
        });
        try {
          await cli(['schedule', 'trigger', id], env);
          const first = await nthRun(h.client, id, 1);
          await waitForPhase(h.client.workflow.getHandle(first), 'AwaitingApproval');
          await cli(['schedule', 'trigger', id], env);
          let d = await h.client.schedule.getHandle(id).describe();
          for (let i = 0; i < 50 && d.info.numActionsSkippedOverlap === 0; i++) {
            await new Promise((r) => setTimeout(r, 200));
            d = await h.client.schedule.getHandle(id).describe();
          }
          expect(d.info.numActionsSkippedOverlap).toBe(1);
          expect(d.info.runningActions.map((a) => a.workflow.workflowId)).toEqual([first]);
          await h.client.workflow.getHandle(first).executeUpdate(rejectUpdate, { args: [{ by: 'test' }] });
        } finally {
          await h.client.schedule.getHandle(id).delete();
        }
      });
    });
  });

  test('incremental: the second run takes only objects changed since the first run’s inventory; a third, with no new inventory, has nothing to do', async () => {
    await withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, ['old/a.txt', 'old/b.txt', 'new/c.txt']);
      const inventory = (createdAt: string, rows: Array<[string, string]>) =>
        writeDailyInventory(s3, bucket, createdAt, rows);
      await inventory('2026-01-01T00:00:00Z', [
        ['old/a.txt', '2025-12-30T10:00:00Z'],
        ['old/b.txt', '2025-12-31T10:00:00Z'],
      ]);
      await withCampaignWorker(async (h) => {
        const env = { TEMPORAL_ADDRESS: stackEndpoints().temporalAddress, TEMPORAL_TASK_QUEUE: h.taskQueue };
        const id = uniqueName('sched-incr');
        const spec = testSpec(h, bucket, {
          source: { type: 'inventory-latest', destination: `s3://${bucket}/inv/${bucket}/daily/` },
          approval: { required: false },
          incremental: {},
        });
        await withSpecFile(spec, async (file) => {
          expect((await cli(['schedule', 'create', file, '--id', id, '--every', '24h', '--paused'], env)).code).toBe(0);
        });
        try {
          await cli(['schedule', 'trigger', id], env);
          const first = (await h.client.workflow.getHandle(await nthRun(h.client, id, 1)).result()) as CampaignResult;
          expect(first).toMatchObject({ outcome: 'Succeeded', objects: 2 });
          expect(first.watermark?.inventoryCreatedAt).toBe(Date.parse('2026-01-01T00:00:00Z'));
          const saved = JSON.parse(await getText(s3, bucket, `campaigns/incremental/${id}.json`));
          expect(saved.inventoryCreatedAt).toBe(Date.parse('2026-01-01T00:00:00Z'));

          await inventory('2026-01-02T00:00:00Z', [
            ['old/a.txt', '2025-12-30T10:00:00Z'],
            ['old/b.txt', '2025-12-31T10:00:00Z'],
            ['new/c.txt', '2026-01-01T12:00:00Z'],
          ]);
          await cli(['schedule', 'trigger', id], env);
          const secondId = await nthRun(h.client, id, 2);
          const second = (await h.client.workflow.getHandle(secondId).result()) as CampaignResult;
          expect(second).toMatchObject({ outcome: 'Succeeded', objects: 1, succeeded: 1 });
          const report = JSON.parse(await getText(s3, bucket, second.report!.replace(`s3://${bucket}/`, '')));
          const m = report.jobs[0].manifest;
          expect(await manifestKeys(s3, m.bucket, m.key)).toEqual(['new/c.txt']);

          await cli(['schedule', 'trigger', id], env);
          const third = (await h.client.workflow.getHandle(await nthRun(h.client, id, 3)).result()) as CampaignResult;
          expect(third.outcome).toBe('NothingToDo');
          expect(third.reason).toContain('already processed');
        } finally {
          await h.client.schedule.getHandle(id).delete();
        }
      });
    });
  });

  test('incremental restore-and-copy on a Schedule: each run restores and copies only what the last run did not', async () => {
    await withBucket(async (bucket, s3) => {
      // Archived and readable objects alike: the sort HEADs each one, whatever the inventory says.
      await putObjects(s3, bucket, ['old/a.txt', 'new/c.txt'], 'GLACIER');
      await putObjects(s3, bucket, ['old/b.txt']);
      const inventory = (createdAt: string, rows: Array<[string, string]>) =>
        writeDailyInventory(s3, bucket, createdAt, rows);
      await inventory('2026-01-01T00:00:00Z', [
        ['old/a.txt', '2025-12-30T10:00:00Z'],
        ['old/b.txt', '2025-12-31T10:00:00Z'],
      ]);
      await withCampaignWorker(async (h) => {
        const env = { TEMPORAL_ADDRESS: stackEndpoints().temporalAddress, TEMPORAL_TASK_QUEUE: h.taskQueue };
        const id = uniqueName('sched-rac');
        const spec = testSpec(h, bucket, {
          source: { type: 'inventory-latest', destination: `s3://${bucket}/inv/${bucket}/daily/` },
          approval: { required: false },
          incremental: {},
          operation: {
            type: 'restore-and-copy',
            tier: 'STANDARD',
            expirationDays: 1,
            targetBucket: bucket,
            targetKeyPrefix: 'copied/',
            waves: { minObjects: 100, maxWait: '1s' },
            tracking: { sweepInterval: '1s', firstSweepAfter: '0' },
          },
        });
        const copied = async () => (await listAll(s3, bucket, 'copied/')).map((k) => k.replace('copied/', '')).sort();
        await withSpecFile(spec, async (file) => {
          expect((await cli(['schedule', 'create', file, '--id', id, '--every', '24h', '--paused'], env)).code).toBe(0);
        });
        try {
          await cli(['schedule', 'trigger', id], env);
          const first = (await h.client.workflow.getHandle(await nthRun(h.client, id, 1)).result()) as CampaignResult;
          expect(first).toMatchObject({ outcome: 'Succeeded', objects: 2, succeeded: 2, failed: 0 });
          expect(first.watermark?.inventoryCreatedAt).toBe(Date.parse('2026-01-01T00:00:00Z'));
          expect(await copied()).toEqual(['old/a.txt', 'old/b.txt']);

          await inventory('2026-01-02T00:00:00Z', [
            ['old/a.txt', '2025-12-30T10:00:00Z'],
            ['old/b.txt', '2025-12-31T10:00:00Z'],
            ['new/c.txt', '2026-01-01T12:00:00Z'],
          ]);
          await cli(['schedule', 'trigger', id], env);
          const secondId = await nthRun(h.client, id, 2);
          const second = (await h.client.workflow.getHandle(secondId).result()) as CampaignResult;
          // Only the new archived object: restored, then copied.
          expect(second).toMatchObject({ outcome: 'Succeeded', objects: 1, succeeded: 1, failed: 0 });
          const report = JSON.parse(await getText(s3, bucket, second.report!.replace(`s3://${bucket}/`, ''))) as {
            restoreAndCopy: { restores: unknown[] };
          };
          expect(report.restoreAndCopy.restores).toHaveLength(1);
          expect(await copied()).toEqual(['new/c.txt', 'old/a.txt', 'old/b.txt']);
          expect(await getText(s3, bucket, 'copied/new/c.txt')).toBe('body of new/c.txt');

          await cli(['schedule', 'trigger', id], env);
          const third = (await h.client.workflow.getHandle(await nthRun(h.client, id, 3)).result()) as CampaignResult;
          expect(third.outcome).toBe('NothingToDo');
        } finally {
          await h.client.schedule.getHandle(id).delete();
        }
      });
    });
  });

  test('incremental: a rejected run leaves the watermark where it was; `since` bounds the first successful run', async () => {
    await withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, ['old/a.txt', 'new/b.txt']);
      await writeDailyInventory(s3, bucket, '2026-01-01T00:00:00Z', [
        ['old/a.txt', '2025-12-30T10:00:00Z'],
        ['new/b.txt', '2025-12-31T10:00:00Z'],
      ]);
      await withCampaignWorker(async (h) => {
        const stateKey = uniqueName('incr');
        const spec = testSpec(h, bucket, {
          source: { type: 'inventory-latest', destination: `s3://${bucket}/inv/${bucket}/daily/` },
          incremental: { stateKey, since: '2025-12-31T00:00:00Z' },
        });
        const watermarkKey = `campaigns/incremental/${stateKey}.json`;
        const rejected = await startCampaign(h, uniqueName('wf-incr-rejected'), spec);
        await waitForPhase(rejected, 'AwaitingApproval');
        await rejected.executeUpdate(rejectUpdate, { args: [{ by: 'bob' }] });
        const rejectedResult = (await rejected.result()) as CampaignResult;
        expect(rejectedResult.outcome).toBe('Rejected');
        expect(rejectedResult.watermark).toBeUndefined();
        await expect(getText(s3, bucket, watermarkKey)).rejects.toThrow();

        const approved = await startCampaign(h, uniqueName('wf-incr-approved'), spec);
        const waiting = await waitForPhase(approved, 'AwaitingApproval');
        // Only the object modified since `since`: the first run starts there, not at the beginning of time.
        expect(waiting.stats?.rowsSelected).toBe(1);
        expect(await manifestKeys(s3, waiting.jobs[0]!.manifest.bucket, waiting.jobs[0]!.manifest.key)).toEqual([
          'new/b.txt',
        ]);
        await approved.executeUpdate(approveUpdate, { args: [{ by: 'dana' }] });
        const result = (await approved.result()) as CampaignResult;
        expect(result).toMatchObject({ outcome: 'Succeeded', objects: 1 });
        expect(JSON.parse(await getText(s3, bucket, watermarkKey))).toMatchObject({
          inventoryCreatedAt: Date.parse('2026-01-01T00:00:00Z'),
          campaignId: approved.workflowId,
        });
      });
    });
  });

  test.each<[string, string, Partial<CampaignSpecInput>, RegExp]>([
    [
      'a slash (each run would nest in another campaign’s folder)',
      'nightly/dr',
      {},
      /each run is named <id>-.*contains "\/"/,
    ],
    [
      'characters a watermark name cannot hold, for an incremental spec',
      'nightly dr',
      {
        source: { type: 'inventory-latest', destination: 's3://inv-bucket/inv/src/daily/' },
        incremental: {},
      },
      /names the watermark of this incremental spec/,
    ],
  ])('create refuses an id with %s (exit 2) and creates nothing', async (_what, id, over, message) => {
    const spec = testSpec({ accountId: '123456789012' }, 'reports-bucket', over);
    await withSpecFile(spec, async (file) => {
      const env = { TEMPORAL_ADDRESS: stackEndpoints().temporalAddress };
      const res = await cli(['schedule', 'create', file, '--id', id, '--every', '1h'], env);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(message);
      expect((await cli(['schedule', 'describe', id], env)).code).not.toBe(0);
    });
  });
});
