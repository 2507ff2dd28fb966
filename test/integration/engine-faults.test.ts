/**
 * Fault injection through the engine's admin API (`/_local/faults`), and the service's failure rule: a job fails
 * once at least 1,000 tasks have run and more than half of them failed. Rules on the run's shared engine are scoped
 * to the test's own job description and removed in `finally`.
 */
import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { CreateJobCommand } from '@aws-sdk/client-s3-control';

import { controlClient, stackEndpoints, uniqueName, withBucket } from '../helpers';
import { admin, jobInput, putManifest, putObjects, readJobReport, waitForJob, withEngine } from '../support/engine';

const control = controlClient({ maxAttempts: 1 });
afterAll(() => control.destroy());

/** Adds rules to the run's engine for the duration of `fn`. */
async function withFaults<T>(rules: unknown[], fn: () => Promise<T>): Promise<T> {
  const { engineUrl } = stackEndpoints();
  const ids: string[] = [];
  try {
    for (const rule of rules) {
      const res = await admin(engineUrl, 'POST', '/_local/faults', rule);
      expect(res.status).toBe(201);
      ids.push((res.json as { id: string }).id);
    }
    return await fn();
  } finally {
    for (const id of ids) await admin(engineUrl, 'DELETE', `/_local/faults/${id}`);
  }
}

describe('the fault admin API', () => {
  test('adds, lists, replaces, removes and clears rules; refuses bad JSON and bad rules with a message', () =>
    withEngine({}, async (engine) => {
      const url = engine.url;
      expect(await admin(url, 'GET', '/_local/faults')).toEqual({ status: 200, json: [] });

      const added = await admin(url, 'POST', '/_local/faults', {
        match: { keyPrefix: 'bad/' },
        errorCode: 'AccessDenied',
        httpStatus: 403,
      });
      expect(added.status).toBe(201);
      const id = (added.json as { id: string }).id;
      expect(added.json).toEqual({ id, match: { keyPrefix: 'bad/' }, errorCode: 'AccessDenied', httpStatus: 403 });
      const named = await admin(url, 'POST', '/_local/faults', { id: 'slow', latencyMs: 5 });
      expect(named).toEqual({ status: 201, json: { id: 'slow', latencyMs: 5 } });
      expect((await admin(url, 'GET', '/_local/faults')).json).toEqual([added.json, named.json]);
      expect(engine.faults.list()).toEqual([added.json, named.json]);

      const duplicate = await admin(url, 'POST', '/_local/faults', { id: 'slow', latencyMs: 1 });
      expect(duplicate.status).toBe(400);
      expect(duplicate.json).toMatchObject({
        error: 'InvalidFaultRule',
        message: expect.stringMatching(/already exists/),
      });
      const invalid = await admin(url, 'POST', '/_local/faults', { rate: 2 });
      expect(invalid.status).toBe(400);
      expect(invalid.json).toMatchObject({ error: 'InvalidFaultRule', message: expect.stringMatching(/rate/) });
      const backreference = await admin(url, 'POST', '/_local/faults', { match: { keyRegex: '^(a+)\\1$' } });
      expect(backreference.status).toBe(400);
      expect(backreference.json).toMatchObject({
        error: 'InvalidFaultRule',
        message: expect.stringMatching(/match\.keyRegex: .*linear time/),
      });
      const badJson = await admin(url, 'POST', '/_local/faults', '{"match": ');
      expect(badJson.status).toBe(400);
      expect(badJson.json).toMatchObject({ error: 'BadRequest', message: expect.stringMatching(/not valid JSON/) });
      const notAList = await admin(url, 'PUT', '/_local/faults', { rules: [] });
      expect(notAList.status).toBe(400);
      expect((await admin(url, 'GET', '/_local/faults')).json).toHaveLength(2);

      const replaced = await admin(url, 'PUT', '/_local/faults', [{ id: 'only', preparingDelayMs: 10 }]);
      expect(replaced).toEqual({ status: 200, json: [{ id: 'only', preparingDelayMs: 10 }] });
      expect(await admin(url, 'DELETE', '/_local/faults/only')).toEqual({ status: 204, json: undefined });
      expect((await admin(url, 'DELETE', '/_local/faults/only')).status).toBe(404);

      await admin(url, 'POST', '/_local/faults', { latencyMs: 1 });
      expect((await admin(url, 'DELETE', '/_local/faults')).status).toBe(204);
      expect((await admin(url, 'GET', '/_local/faults')).json).toEqual([]);
      expect((await admin(url, 'PATCH', '/_local/faults', {})).status).toBe(405);
      expect((await admin(url, 'GET', '/_local/nothing')).status).toBe(404);
    }));

  test('rules given at start are the ones the admin API lists', () =>
    withEngine({ faults: [{ id: 'boot', preparingDelayMs: 1 }] }, async (engine) => {
      expect((await admin(engine.url, 'GET', '/_local/faults')).json).toEqual([{ id: 'boot', preparingDelayMs: 1 }]);
    }));
});

describe('injected faults in a running job', () => {
  test('failed keys carry the injected error in the report and are not touched; Preparing is held', () =>
    withBucket(async (bucket, s3) => {
      const { accountId } = stackEndpoints();
      const description = uniqueName('faults');
      const keys = ['ok/1', 'ok/2', 'flaky/1', 'flaky/2', 'flaky/3'];
      await putObjects(s3, bucket, keys);
      const manifest = await putManifest(s3, bucket, keys);
      await withFaults(
        [
          {
            match: { description, keyPrefix: 'flaky/' },
            errorCode: 'SlowDown',
            httpStatus: 503,
            message: 'injected slow down',
          },
          { match: { description }, latencyMs: 20, preparingDelayMs: 1500 },
        ],
        async () => {
          const started = Date.now();
          const { JobId } = await control.send(
            new CreateJobCommand(jobInput({ manifest, description, reportBucket: bucket })),
          );
          await new Promise((r) => setTimeout(r, 700));
          const preparing = await waitForJob(control, accountId, JobId!, () => true);
          expect(preparing.Status).toBe('Preparing');
          const job = await waitForJob(control, accountId, JobId!);
          expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
          expect(job).toMatchObject({
            Status: 'Complete',
            ProgressSummary: { TotalNumberOfTasks: 5, NumberOfTasksSucceeded: 2, NumberOfTasksFailed: 3 },
          });

          const { rows } = await readJobReport(s3, bucket, 'reports', JobId!);
          const failed = rows.filter((r) => r.taskStatus === 'failed');
          expect(failed.map((r) => r.decodedKey).sort()).toEqual(['flaky/1', 'flaky/2', 'flaky/3']);
          for (const r of failed) {
            expect(r).toMatchObject({
              errorCode: 'SlowDown',
              httpStatusCode: 503,
              resultMessage: 'injected slow down',
            });
          }
          for (const key of keys) {
            const tags = (await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet ?? [];
            expect(tags.length).toBe(key.startsWith('ok/') ? 1 : 0);
          }
        },
      );
    }));
});

describe('the failure rule: at least 1,000 tasks run and more than 50% failed', () => {
  test('a 1,200-task job with 60% of its objects failing stops and fails once 1,000 tasks have run', () =>
    withBucket(async (bucket, s3) => {
      const { accountId } = stackEndpoints();
      const description = uniqueName('threshold');
      const keys = Array.from({ length: 1200 }, (_, i) => `obj/${String(i).padStart(5, '0')}`);
      await putObjects(s3, bucket, keys);
      const manifest = await putManifest(s3, bucket, keys);
      await withFaults([{ match: { description }, rate: 0.6, seed: 7, errorCode: 'InternalError' }], async () => {
        const { JobId } = await control.send(
          new CreateJobCommand(jobInput({ manifest, description, reportBucket: bucket })),
        );
        const job = await waitForJob(control, accountId, JobId!, undefined, 110_000);
        const p = job.ProgressSummary!;
        const ran = p.NumberOfTasksSucceeded! + p.NumberOfTasksFailed!;
        expect(job.Status).toBe('Failed');
        expect(job.FailureReasons).toEqual([
          {
            FailureCode: 'TaskFailureThresholdExceeded',
            FailureReason: expect.stringMatching(/more than 50% after at least 1,000 tasks/),
          },
        ]);
        expect(p.TotalNumberOfTasks).toBe(1200);
        expect(ran).toBeGreaterThanOrEqual(1000);
        expect(ran).toBeLessThan(1200);
        expect(p.NumberOfTasksFailed! / ran).toBeGreaterThan(0.5);

        // The report is written for a failed job too, one row per task that ran.
        const { rows } = await readJobReport(s3, bucket, 'reports', JobId!);
        expect(rows).toHaveLength(ran);
        expect(rows.filter((r) => r.taskStatus === 'failed')).toHaveLength(p.NumberOfTasksFailed!);
      });
    }));

  test('below 1,000 tasks a job completes even when every task fails', () =>
    withBucket(async (bucket, s3) => {
      const { accountId } = stackEndpoints();
      const description = uniqueName('all-fail');
      const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
      await putObjects(s3, bucket, keys);
      const manifest = await putManifest(s3, bucket, keys);
      await withFaults([{ match: { description }, errorCode: 'AccessDenied', httpStatus: 403 }], async () => {
        const { JobId } = await control.send(new CreateJobCommand(jobInput({ manifest, description })));
        const job = await waitForJob(control, accountId, JobId!);
        expect(job).toMatchObject({
          Status: 'Complete',
          FailureReasons: [],
          ProgressSummary: { TotalNumberOfTasks: 60, NumberOfTasksSucceeded: 0, NumberOfTasksFailed: 60 },
        });
      });
    }));
});
