/**
 * The scheduler of an engine with one Active slot: Ready jobs start highest priority first (oldest first among
 * equals), UpdateJobPriority reorders the queue, and never more than `maxActiveJobs` jobs are Active at once.
 */
import { CreateJobCommand, ListJobsCommand, UpdateJobPriorityCommand } from '@aws-sdk/client-s3-control';

import { withBucket } from '../helpers';
import { jobInput, putManifest, putObjects, uniqueAccountId, waitForJob, withEngine } from '../support/engine';

test('with maxActiveJobs=1, queued jobs run one at a time by priority, then age', () =>
  withBucket(async (bucket, s3) => {
    const accountId = uniqueAccountId();
    await putObjects(s3, bucket, ['a', 'b', 'c']);
    const manifest = await putManifest(s3, bucket, ['a', 'b', 'c']);
    await withEngine(
      {
        maxActiveJobs: 1,
        taskConcurrency: 1,
        // The blocker holds the only slot until the queue is built; queued jobs take long enough to be told apart.
        faults: [
          { id: 'hold', match: { description: 'blocker' }, latencyMs: 3000 },
          { id: 'pace', match: { description: 'queued' }, latencyMs: 20 },
        ],
      },
      async (engine, control) => {
        const create = async (description: string, priority: number) =>
          (await control.send(new CreateJobCommand(jobInput({ accountId, manifest, description, priority })))).JobId!;
        const blocker = await create('blocker', 1_000_000);
        await waitForJob(control, accountId, blocker, ['Active']);
        const a = await create('queued A', 10);
        const b = await create('queued B', 20);
        const c = await create('queued C', 30);
        const d = await create('queued D', 20);
        for (const id of [a, b, c, d]) await waitForJob(control, accountId, id, ['Ready']);

        // A jumps the queue; B and D keep their creation order.
        await control.send(new UpdateJobPriorityCommand({ AccountId: accountId, JobId: a, Priority: 40 }));

        let maxActive = 0;
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            const jobs = (await control.send(new ListJobsCommand({ AccountId: accountId }))).Jobs ?? [];
            maxActive = Math.max(maxActive, jobs.filter((j) => j.Status === 'Active').length);
            await new Promise((r) => setTimeout(r, 10));
          }
        })();
        engine.faults.remove('hold');
        const done = [];
        for (const id of [blocker, a, b, c, d]) done.push(await waitForJob(control, accountId, id));
        sampling = false;
        await sampler;

        expect(done.map((j) => j.Status)).toEqual(['Complete', 'Complete', 'Complete', 'Complete', 'Complete']);
        const order = [...done]
          .sort((x, y) => x.TerminationDate!.getTime() - y.TerminationDate!.getTime())
          .map((j) => j.Description);
        expect(order).toEqual(['blocker', 'queued A', 'queued C', 'queued B', 'queued D']);
        expect(maxActive).toBe(1);
      },
    );
  }));
