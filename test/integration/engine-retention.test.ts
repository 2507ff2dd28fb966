/**
 * What an engine does at start with old state: jobs that ended longer ago than the retention are dropped (files
 * included), jobs left Suspended for more than 30 days fail, everything else is kept as it was.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { DescribeJobCommand, ListJobsCommand } from '@aws-sdk/client-s3-control';

import { JobStore } from '../../src/local-batch/store';
import type { JobRecord, JobStatus } from '../../src/local-batch/types';
import { quietLog, uniqueAccountId, withEngine } from '../support/engine';

const DAY = 24 * 3600 * 1000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

function record(accountId: string, jobId: string, status: JobStatus, over: Partial<JobRecord> = {}): JobRecord {
  return {
    JobId: jobId,
    JobArn: `arn:aws:s3:us-east-1:${accountId}:job/${jobId}`,
    requestHash: jobId,
    spec: {
      AccountId: accountId,
      ConfirmationRequired: true,
      Operation: { type: 'S3DeleteObjectTagging' },
      Report: { Enabled: false },
      ClientRequestToken: jobId,
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ObjectArn: 'arn:aws:s3:::b/m.csv', ETag: 'e' },
      },
      Priority: 1,
      RoleArn: 'arn:aws:iam::123456789012:role/r',
    },
    Status: status,
    Priority: 1,
    Tags: [],
    CreationTime: ago(120),
    FailureReasons: [],
    activeMsBefore: 0,
    ProgressSummary: {
      TotalNumberOfTasks: 3,
      NumberOfTasksSucceeded: 2,
      NumberOfTasksFailed: 1,
      Timers: { ElapsedTimeInActiveSeconds: 4 },
    },
    ...over,
  };
}

test('old ended jobs are dropped, long-suspended jobs fail, the rest is kept', async () => {
  const accountId = uniqueAccountId();
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'lb-retention-'));
  try {
    const store = new JobStore(stateDir, quietLog());
    const tasks = [{ index: 0, bucket: 'b', key: 'k', rawKey: 'k' }];
    await store.saveJob(record(accountId, 'ended-100-days-ago', 'Complete', { TerminationDate: ago(100) }));
    await store.saveJob(record(accountId, 'ended-10-days-ago', 'Failed', { TerminationDate: ago(10) }));
    await store.saveJob(record(accountId, 'suspended-31-days', 'Suspended', { SuspendedDate: ago(31) }));
    await store.saveTasks('suspended-31-days', tasks);
    await store.saveJob(record(accountId, 'suspended-1-day', 'Suspended', { SuspendedDate: ago(1) }));
    await store.saveTasks('suspended-1-day', tasks);

    await withEngine({ stateDir }, async (_engine, control) => {
      const listed = (await control.send(new ListJobsCommand({ AccountId: accountId }))).Jobs ?? [];
      expect(listed.map((j) => j.JobId).sort()).toEqual(['ended-10-days-ago', 'suspended-1-day', 'suspended-31-days']);
      expect(existsSync(path.join(stateDir, 'jobs', 'ended-100-days-ago'))).toBe(false);

      const kept = (await control.send(new DescribeJobCommand({ AccountId: accountId, JobId: 'ended-10-days-ago' })))
        .Job;
      expect(kept).toMatchObject({
        Status: 'Failed',
        ProgressSummary: { TotalNumberOfTasks: 3, NumberOfTasksSucceeded: 2, NumberOfTasksFailed: 1 },
      });
      const describe = async (JobId: string) =>
        (await control.send(new DescribeJobCommand({ AccountId: accountId, JobId }))).Job!;
      for (let i = 0; i < 100 && (await describe('suspended-31-days')).Status !== 'Failed'; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await describe('suspended-31-days')).toMatchObject({
        Status: 'Failed',
        FailureReasons: [
          { FailureCode: 'SuspendedTooLong', FailureReason: expect.stringMatching(/more than 30 days/) },
        ],
      });
      expect((await describe('suspended-1-day')).Status).toBe('Suspended');
    });

    // A shorter retention drops the job that ended 10 days ago too.
    await withEngine({ stateDir, retentionDays: 5 }, async (_engine, control) => {
      const listed = (await control.send(new ListJobsCommand({ AccountId: accountId }))).Jobs ?? [];
      expect(listed.map((j) => j.JobId).sort()).toEqual(['suspended-1-day', 'suspended-31-days']);
    });
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});
