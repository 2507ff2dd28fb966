/**
 * Jobs survive a restart of the engine on the same state directory: a job stopped while Active resumes its remaining
 * tasks, keeps the ones that finished, counts every task exactly once and writes a report with one row per manifest
 * row. Tasks call a local HTTP "Lambda function" that counts how often each object was processed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { CreateJobCommand, DescribeJobCommand, ListJobsCommand } from '@aws-sdk/client-s3-control';

import { encodeManifestKey } from '../../src/local-batch/manifest-reader';
import { startEngine } from '../../src/stack';
import { stackEndpoints, withBucket } from '../helpers';
import {
  countingLambda,
  engineClient,
  jobInput,
  putManifest,
  readJobReport,
  uniqueAccountId,
  waitForJob,
  withEngine,
} from '../support/engine';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:count-me';

test('an engine closed mid-job resumes it after restart: nothing lost, nothing run or counted twice', () =>
  withBucket(async (bucket, s3) => {
    const accountId = uniqueAccountId();
    const keys = Array.from({ length: 80 }, (_, i) => `item ${i}+${i % 3 === 0 ? 'ü' : 'x'}`);
    const manifest = await putManifest(s3, bucket, keys);
    const lambda = await countingLambda(40);
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'lb-restart-'));
    const engineOpts = { stateDir, taskConcurrency: 4, lambdaHandlers: { [FUNCTION_ARN]: lambda.url } };
    const input = jobInput({
      accountId,
      manifest,
      reportBucket: bucket,
      token: 'restart-token',
      operation: {
        LambdaInvoke: { FunctionArn: FUNCTION_ARN, InvocationSchemaVersion: '2.0', UserArguments: { k: 'v' } },
      },
    });
    try {
      const { jobId, before } = await withEngine(engineOpts, async (_engine, control) => {
        const { JobId } = await control.send(new CreateJobCommand(input));
        const job = await waitForJob(
          control,
          accountId,
          JobId!,
          (j) => (j.ProgressSummary?.NumberOfTasksSucceeded ?? 0) >= 12,
        );
        expect(job.Status).toBe('Active');
        return { jobId: JobId!, before: job.ProgressSummary!.NumberOfTasksSucceeded! };
      });
      const invokedBeforeRestart = [...lambda.counts.values()].reduce((a, b) => a + b, 0);
      expect(invokedBeforeRestart).toBeGreaterThanOrEqual(before);
      expect(invokedBeforeRestart).toBeLessThan(keys.length);
      // Downtime must not count as Active time.
      await new Promise((r) => setTimeout(r, 3000));

      await withEngine(engineOpts, async (_engine, control) => {
        const resumed = (await control.send(new DescribeJobCommand({ AccountId: accountId, JobId: jobId }))).Job!;
        expect(resumed.ProgressSummary!.NumberOfTasksSucceeded).toBe(invokedBeforeRestart);
        // The idempotency token survives too.
        expect((await control.send(new CreateJobCommand(input))).JobId).toBe(jobId);

        const job = await waitForJob(control, accountId, jobId);
        expect(job).toMatchObject({
          Status: 'Complete',
          ProgressSummary: { TotalNumberOfTasks: 80, NumberOfTasksSucceeded: 80, NumberOfTasksFailed: 0 },
        });
        expect(job.ProgressSummary!.Timers!.ElapsedTimeInActiveSeconds).toBeLessThan(3);
        expect((await control.send(new ListJobsCommand({ AccountId: accountId }))).Jobs?.map((j) => j.JobId)).toEqual([
          jobId,
        ]);

        const encoded = keys.map(encodeManifestKey);
        expect([...lambda.counts.keys()].sort()).toEqual([...encoded].sort());
        expect([...lambda.counts.values()].every((n) => n === 1)).toBe(true);
        const { rows } = await readJobReport(s3, bucket, 'reports', jobId);
        expect(rows.map((r) => r.decodedKey).sort()).toEqual([...keys].sort());
        expect(rows.every((r) => r.taskStatus === 'succeeded' && r.resultMessage === 'ok')).toBe(true);
      });
    } finally {
      await lambda.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  }));

test('an engine killed with SIGKILL mid-job resumes it: every task counted once, the report has every row', () =>
  withBucket(async (bucket, s3) => {
    const accountId = uniqueAccountId();
    const keys = Array.from({ length: 150 }, (_, i) => `crash/${i}`);
    const manifest = await putManifest(s3, bucket, keys);
    const lambda = await countingLambda(20);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-crash-'));
    const stateDir = path.join(dir, 'state');
    const start = () =>
      startEngine({
        dir,
        stateDir,
        s3Endpoint: stackEndpoints().s3Endpoint,
        args: ['--task-concurrency', '4', '--lambda', `${FUNCTION_ARN}=${lambda.url}`],
        name: 'crash-engine',
      });
    let engine = await start();
    let control = engineClient(engine.url);
    try {
      const { JobId } = await control.send(
        new CreateJobCommand(
          jobInput({
            accountId,
            manifest,
            reportBucket: bucket,
            operation: { LambdaInvoke: { FunctionArn: FUNCTION_ARN } },
          }),
        ),
      );
      await waitForJob(control, accountId, JobId!, (j) => (j.ProgressSummary?.NumberOfTasksSucceeded ?? 0) >= 80);
      await engine.proc.kill();
      control.destroy();
      const invokedBeforeCrash = [...lambda.counts.values()].reduce((a, b) => a + b, 0);
      expect(invokedBeforeCrash).toBeLessThan(keys.length);

      engine = await start();
      control = engineClient(engine.url);
      const job = await waitForJob(control, accountId, JobId!);
      expect(job).toMatchObject({
        Status: 'Complete',
        ProgressSummary: { TotalNumberOfTasks: 150, NumberOfTasksSucceeded: 150, NumberOfTasksFailed: 0 },
      });
      // At-least-once execution (a task in flight or not yet flushed at the crash runs again), exactly-once
      // counting; what was flushed before the crash does not run again.
      expect([...lambda.counts.keys()].sort()).toEqual(keys.map(encodeManifestKey).sort());
      const rerun = [...lambda.counts.values()].reduce((a, b) => a + b, 0) - keys.length;
      expect(rerun).toBeLessThan(invokedBeforeCrash / 2);
      const { rows } = await readJobReport(s3, bucket, 'reports', JobId!);
      expect(rows).toHaveLength(150);
      expect(new Set(rows.map((r) => r.decodedKey)).size).toBe(150);
    } finally {
      control.destroy();
      await engine.proc.stop();
      await lambda.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }));
