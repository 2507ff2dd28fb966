/**
 * `start` and `approve` as an operator meets their edges: a reused campaign id, ids and specs beyond Temporal's
 * limits, and a decision sent while no worker runs. Subprocess tests against the run's Temporal.
 */

import type { Client } from '@temporalio/client';

import { campaignSummary } from '../../src/campaign/summary';
import { statusQuery } from '../../src/shared/campaign';
import { parseCampaignSpec, type CampaignSpecInput } from '../../src/shared/campaign-spec';
import { stackEndpoints, temporalClient, uniqueName, withBucket } from '../helpers';
import {
  putObjects,
  randomAccount,
  testSpec,
  waitForPhase,
  waitForStatus,
  withCampaignWorker,
} from '../support/campaign';
import { runCli as cli, withSpecFile } from '../support/cli';

/** A valid spec for a campaign nobody runs: nothing is read or written until a worker takes it. */
function idleSpec(over: Partial<CampaignSpecInput> = {}): CampaignSpecInput {
  return testSpec({ accountId: randomAccount() }, 'no-such-bucket-needed', over);
}

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const { client, connection } = await temporalClient();
  try {
    return await fn(client);
  } finally {
    await connection.close();
  }
}

const reEscape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const env = (taskQueue: string) => ({
  TEMPORAL_ADDRESS: stackEndpoints().temporalAddress,
  TEMPORAL_TASK_QUEUE: taskQueue,
});

describe('start: a campaign id names one campaign, once', () => {
  test('an id whose campaign is still open exits 2, names it and its status, and starts nothing', async () => {
    const taskQueue = uniqueName('tq-idle');
    const id = uniqueName('cli-reuse-open');
    const spec = idleSpec();
    await withSpecFile(spec, async (file) => {
      expect(await cli(['start', file, '--id', id], env(taskQueue))).toMatchObject({ code: 0, stdout: `${id}\n` });
      const again = await cli(['start', file, '--id', id], env(taskQueue));
      expect(again.code).toBe(2);
      const { startTime } = await withClient((client) => client.workflow.getHandle(id).describe());
      expect(again.stderr).toMatch(
        new RegExp(
          `^s3-campaigns: campaign ${id} already exists \\(${reEscape(campaignSummary(parseCampaignSpec(spec)))}, started ` +
            `${startTime.toISOString().replace(/\./g, '\\.')}, still running\\); choose another --id, ` +
            `e\\.g\\. --id ${id}-\\d{8}T\\d{6}Z, or leave --id out`,
        ),
      );
      await withClient(async (client) => {
        const handle = client.workflow.getHandle(id);
        // Still the first run: the refused start neither replaced nor restarted it.
        const first = await handle.describe();
        expect(first.status.name).toBe('RUNNING');
        expect(first.historyLength).toBeLessThan(10);
        await handle.terminate('test cleanup');
      });
    });
  });

  test('an id whose campaign has ended (the F5 repro) exits 2 and names its outcome', async () => {
    await withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, ['f5.txt']);
      await withCampaignWorker(async (h) => {
        const id = uniqueName('cli-reuse-ended');
        const spec = testSpec(h, bucket, { source: { type: 'keys', bucket, keys: ['f5.txt'] } });
        await withSpecFile(spec, async (file) => {
          expect((await cli(['start', file, '--id', id], env(h.taskQueue))).code).toBe(0);
          const handle = h.client.workflow.getHandle(id);
          await waitForPhase(handle, 'AwaitingApproval');
          // --reason is --note's other name (what an operator reaches for first); not both at once.
          const both = await cli(['reject', id, '--note', 'not now', '--reason', 'later'], env(h.taskQueue));
          expect(both).toMatchObject({
            code: 2,
            stderr: expect.stringContaining('--reason is another name for --note'),
          });
          expect((await cli(['reject', id, '--reason', 'not now'], env(h.taskQueue))).code).toBe(0);
          await waitForStatus(handle, (s) => s.phase === 'Done', 'the campaign to end');
          expect((await handle.query(statusQuery)).outcomeReason).toMatch(/: not now$/);
          const { runId } = await handle.describe();

          const again = await cli(['start', file, '--id', id], env(h.taskQueue));
          expect(again.code).toBe(2);
          expect(again.stderr).toMatch(
            new RegExp(
              `^s3-campaigns: campaign ${id} already exists \\(${spec.name}, started \\S+, outcome Rejected\\); ` +
                'choose another --id',
            ),
          );
          // The earlier campaign is untouched: same run, still its own outcome.
          expect((await handle.describe()).runId).toBe(runId);
          expect((await handle.query(statusQuery)).outcome).toBe('Rejected');
        });
      });
    });
  });
});

describe('start: ids and specs beyond the limits exit 2 and say which limit', () => {
  const bigKeys = Array.from({ length: 10_000 }, (_, i) => `${String(i).padStart(5, '0')}/${'k'.repeat(1000)}`);
  test.each<[string, string | undefined, Partial<CampaignSpecInput>, RegExp]>([
    ['an empty --id', '', {}, /--id must not be empty/],
    ['a blank --id', '   ', {}, /--id must not be empty/],
    [
      'a 2,000-character --id',
      'x'.repeat(2000),
      {},
      /--id is 2000 bytes long; Temporal accepts workflow ids of at most 1000 bytes/,
    ],
    ['an --id with a slash', 'f5/manifests', {}, /--id "f5\/manifests" contains "\/"/],
    [
      'an --id that makes the report keys too long for S3',
      'y'.repeat(950),
      { report: { bucket: 'my-bucket', prefix: 'campaigns' } },
      /keys under s3:\/\/my-bucket\/campaigns\/y+\/ would be up to \d+ bytes long; S3 keys are at most 1024 bytes/,
    ],
    [
      'a ~10 MB spec',
      undefined,
      { source: { type: 'keys', bucket: 'my-bucket', keys: bigKeys } },
      /is 9\.\d MB as a workflow input; Temporal refuses a payload over 2 MB/,
    ],
  ])('%s', async (_what, id, over, message) => {
    const taskQueue = uniqueName('tq-limits');
    await withSpecFile(idleSpec(over), async (file) => {
      const res = await cli(['start', file, ...(id === undefined ? [] : ['--id', id])], env(taskQueue));
      expect(res.stderr).toMatch(message);
      expect(res.code).toBe(2);
      expect(res.stdout).toBe('');
    });
    // Nothing started: no campaign on this task queue.
    await withClient(async (client) => {
      const started = [];
      for await (const w of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) started.push(w.workflowId);
      expect(started).toEqual([]);
    });
  });
});

describe('approve while no worker runs', () => {
  test('says no worker polls, and on timeout exits 3 saying the decision stays pending', async () => {
    const taskQueue = uniqueName('tq-no-worker');
    const id = uniqueName('cli-approve-idle');
    await withSpecFile(idleSpec(), async (file) => {
      expect((await cli(['start', file, '--id', id], env(taskQueue))).code).toBe(0);
      try {
        const res = await cli(['approve', id, '--wait', '2'], env(taskQueue));
        expect(res.stderr).toContain(`no worker has polled task queue ${taskQueue}`);
        expect(res.stderr).toContain(`approve not applied within 2 s`);
        expect(res.stderr).toContain('stays pending');
        expect(res.code).toBe(3);
      } finally {
        await withClient((client) => client.workflow.getHandle(id).terminate('test cleanup'));
      }
    });
  });

  test('a decision that timed out while the worker was down is applied once a worker runs again', async () => {
    await withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, ['late.txt']);
      const taskQueue = uniqueName('tq-restart');
      const id = uniqueName('cli-approve-late');
      let spec: CampaignSpecInput | undefined;
      await withCampaignWorker(
        async (h) => {
          spec = testSpec(h, bucket, { source: { type: 'keys', bucket, keys: ['late.txt'] } });
          await withSpecFile(spec, async (file) => {
            expect((await cli(['start', file, '--id', id], env(h.taskQueue))).code).toBe(0);
          });
          await waitForPhase(h.client.workflow.getHandle(id), 'AwaitingApproval');
        },
        { taskQueue },
      );
      // The worker is gone: the decision cannot be applied now.
      const res = await cli(['approve', id, '--by', 'dana', '--wait', '2'], env(taskQueue));
      expect(res.code).toBe(3);
      expect(res.stderr).toContain('stays pending');
      await withCampaignWorker(
        async (h) => {
          const s = await waitForStatus(
            h.client.workflow.getHandle(id),
            (st) => st.phase === 'Done',
            'the campaign to end after the late approval',
          );
          expect(s.outcome).toBe('Succeeded');
          expect(s.jobs[0]?.approval).toMatchObject({ decision: 'approved', by: 'dana' });
        },
        { taskQueue },
      );
    });
  });
});
