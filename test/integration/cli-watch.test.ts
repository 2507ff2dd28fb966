/**
 * `status --watch` over a real retry: a subprocess follows a campaign whose first round leaves objects to retry. Its
 * lines count what earlier rounds did, show when the retry round starts, and measure a task rate while tasks run.
 */
import { statusQuery } from '../../src/shared/campaign';
import { stackEndpoints, uniqueName, withBucket } from '../helpers';
import { addFault, putObjects, removeFault, testSpec, waitForPhase, withCampaignWorker } from '../support/campaign';
import { runCli as cli, withSpecFile } from '../support/cli';

const keys = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);

test('status --watch during a retry: cumulative counts, the next retry time, a real task rate', async () => {
  await withBucket(async (bucket, s3) => {
    const ok = keys(9, 'ok/');
    // Enough slow tasks in the retry round (16 run at once per job, 1.5 s each: ~9 s) for several polls to see them.
    const flaky = keys(96, 'flaky/');
    await putObjects(s3, bucket, [...ok, ...flaky]);
    const faults = [
      await addFault({ match: { bucket, keyPrefix: 'flaky/' }, errorCode: 'SlowDown', httpStatus: 503, times: 1 }),
    ];
    try {
      await withCampaignWorker(async (h) => {
        const spec = testSpec(h, bucket, {
          source: { type: 'keys', bucket, keys: [...ok, ...flaky] },
          approval: { required: false },
          // Long enough for several 2-second polls of the watch to see the wait.
          retry: { delay: '10s' },
        });
        const id = uniqueName('cli-watch-retry');
        const env = { TEMPORAL_ADDRESS: stackEndpoints().temporalAddress, TEMPORAL_TASK_QUEUE: h.taskQueue };
        await withSpecFile(spec, async (file) => {
          expect((await cli(['start', file, '--id', id], env)).code).toBe(0);
        });
        const watching = cli(['status', id, '--watch'], env, 150_000);
        const waiting = await waitForPhase(h.client.workflow.getHandle(id), 'WaitingToRetry', 60_000);
        // Slow the retry round down only (the first round's 96 failures were quick).
        faults.push(await addFault({ match: { bucket, keyPrefix: 'flaky/' }, latencyMs: 1500 }));
        const res = await watching;
        expect(res.code).toBe(0);
        expect((await h.client.workflow.getHandle(id).query(statusQuery)).outcome).toBe('Succeeded');

        const lines = res.stdout.split('\n');
        const retryAt = waiting.retryAt!.replace(/\.\d+Z$/, 'Z');
        // While it waits: the 9 that succeeded stay counted, and the line says when the retry round starts.
        expect(lines).toContainEqual(
          expect.stringMatching(
            new RegExp(
              `^WaitingToRetry +\\[#{2}-{22}\\] +8% 9/105 9 ok 0 failed · 96 to retry in round 1 at ${retryAt} \\(in \\d+s\\)$`,
            ),
          ),
        );
        // While the retry round runs: cumulative counts, a measured rate above zero, and the round's own progress.
        const running = lines
          .filter((l) => l.startsWith('Running') && l.includes('retry round 1'))
          .map((l) => {
            const m =
              /^Running +\[[#-]+\] +\d+% (\d+)\/105 (\d+) ok 0 failed(?: (\d+\.\d)\/s(?: ETA \S+)?)? · retry round 1: (\d+)\/96$/.exec(
                l,
              );
            if (!m) throw new Error(`unexpected watch line: ${l}`);
            return {
              done: Number(m[1]),
              ok: Number(m[2]),
              rate: m[3] === undefined ? undefined : Number(m[3]),
              round: Number(m[4]),
            };
          });
        for (const r of running) expect(r).toMatchObject({ done: 9 + r.round, ok: 9 + r.round });
        // Measured from successive polls: known once the counts moved twice, and above zero while tasks run.
        const rates = running.map((r) => r.rate).filter((r) => r !== undefined);
        expect(rates.length).toBeGreaterThan(0);
        for (const r of rates) expect(r).toBeGreaterThan(0);
        // No line of the retry round forgets the first round (the old `0% 0/96`).
        expect(lines.filter((l) => / 0\/(96|105) /.test(l) && /retry/.test(l))).toEqual([]);
        expect(lines).toContain('Done             [########################] 100% 105/105 105 ok 0 failed');
      });
    } finally {
      for (const f of faults) await removeFault(f);
    }
  });
});
