/**
 * The local engine's S3 Control API, driven by the unmodified `@aws-sdk/client-s3-control` against the run's engine
 * and moto: every call, idempotency, the confirmation flow, cancelling, listing, and job-level failures. Each test
 * asserts the effect (tags on objects, rows in the report, the jobs that exist), not only the responses.
 */
import { GetObjectTaggingCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateJobCommand,
  DeleteJobTaggingCommand,
  DescribeJobCommand,
  GetJobTaggingCommand,
  type JobListDescriptor,
  ListJobsCommand,
  paginateListJobs,
  PutJobTaggingCommand,
  UpdateJobPriorityCommand,
  UpdateJobStatusCommand,
} from '@aws-sdk/client-s3-control';

import { controlClient, stackEndpoints, uniqueName, withBucket } from '../helpers';
import {
  admin,
  jobInput,
  putManifest,
  putObjects,
  readJobReport,
  uniqueAccountId,
  waitForJob,
} from '../support/engine';

const control = controlClient({ maxAttempts: 1 });
afterAll(() => control.destroy());

async function tagsOf(s3: S3Client, bucket: string, key: string) {
  return (await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet ?? [];
}

async function errorOf(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

describe('a job from CreateJob to Complete', () => {
  test('tags every object, counts every task, times only Active, and writes the report', () =>
    withBucket(async (bucket, s3) => {
      const { accountId } = stackEndpoints();
      const keys = [
        'plain.txt',
        'with space.txt',
        'plus+sign',
        'comma,key',
        'quote"d',
        'ünï/cødé',
        '100%',
        'deep/a/b/c',
      ];
      await putObjects(s3, bucket, keys);
      const manifest = await putManifest(s3, bucket, [...keys, 'missing-object']);
      const { JobId } = await control.send(
        new CreateJobCommand(
          jobInput({ manifest, reportBucket: bucket, reportPrefix: 'batch', description: 'api happy path' }),
        ),
      );
      expect(JobId).toMatch(/^[0-9a-f-]{36}$/);
      const job = await waitForJob(control, accountId, JobId!);

      expect(job).toMatchObject({
        JobId,
        Status: 'Complete',
        JobArn: `arn:aws:s3:${stackEndpoints().region}:${accountId}:job/${JobId}`,
        Description: 'api happy path',
        ConfirmationRequired: false,
        Priority: 10,
        FailureReasons: [],
        ProgressSummary: { TotalNumberOfTasks: 9, NumberOfTasksSucceeded: 8, NumberOfTasksFailed: 1 },
      });
      expect(job.Operation).toEqual({ S3PutObjectTagging: { TagSet: [{ Key: 'done', Value: 'yes' }] } });
      expect(job.ProgressSummary?.Timers?.ElapsedTimeInActiveSeconds).toBeGreaterThanOrEqual(0);
      expect(job.TerminationDate!.getTime()).toBeGreaterThanOrEqual(job.CreationTime!.getTime());
      for (const key of keys) expect(await tagsOf(s3, bucket, key)).toEqual([{ Key: 'done', Value: 'yes' }]);

      const { rows } = await readJobReport(s3, bucket, 'batch', JobId!);
      expect(rows).toHaveLength(9);
      expect(
        rows
          .filter((r) => r.taskStatus === 'succeeded')
          .map((r) => r.decodedKey)
          .sort(),
      ).toEqual([...keys].sort());
      expect(rows.find((r) => r.taskStatus === 'failed')).toMatchObject({
        decodedKey: 'missing-object',
        errorCode: 'NoSuchKey',
        httpStatusCode: 404,
      });
    }));
});

describe('ClientRequestToken idempotency', () => {
  test('the same token and request return the same job; a different request with it is refused', () =>
    withBucket(async (bucket, s3) => {
      const accountId = uniqueAccountId();
      const manifest = await putManifest(s3, bucket, ['a']);
      const input = jobInput({ accountId, manifest, token: 'retry-me', confirmationRequired: true });
      const first = await control.send(new CreateJobCommand(input));
      const again = await control.send(new CreateJobCommand(input));
      expect(again.JobId).toBe(first.JobId);

      const err = await errorOf(control.send(new CreateJobCommand({ ...input, Priority: 11 })));
      expect(err.name).toBe('IdempotencyException');
      expect(err.$metadata?.httpStatusCode).toBe(409);
      expect(err.message).toContain(first.JobId);

      const listed = await control.send(new ListJobsCommand({ AccountId: accountId }));
      expect(listed.Jobs?.map((j) => j.JobId)).toEqual([first.JobId]);

      // The token is per account: another account may use it for its own job.
      const other = await control.send(new CreateJobCommand({ ...input, AccountId: uniqueAccountId() }));
      expect(other.JobId).not.toBe(first.JobId);
    }));
});

describe('confirmation and cancelling', () => {
  test('a job without ConfirmationRequired waits Suspended, runs after Ready, then refuses changes', () =>
    withBucket(async (bucket, s3) => {
      const { accountId } = stackEndpoints();
      await putObjects(s3, bucket, ['x', 'y']);
      const manifest = await putManifest(s3, bucket, ['x', 'y']);
      const input = jobInput({ manifest });
      delete input.ConfirmationRequired;
      const { JobId } = await control.send(new CreateJobCommand(input));
      const suspended = await waitForJob(control, accountId, JobId!, ['Suspended']);
      expect(suspended.ConfirmationRequired).toBe(true);
      expect(suspended.SuspendedDate).toBeInstanceOf(Date);
      expect(suspended.SuspendedCause).toMatch(/requestedJobStatus=Ready/);
      expect(suspended.ProgressSummary?.TotalNumberOfTasks).toBe(2);
      expect(await tagsOf(s3, bucket, 'x')).toEqual([]);

      const ready = await control.send(
        new UpdateJobStatusCommand({
          AccountId: accountId,
          JobId,
          RequestedJobStatus: 'Ready',
          StatusUpdateReason: 'approved by test',
        }),
      );
      expect(ready).toMatchObject({ JobId, Status: 'Ready', StatusUpdateReason: 'approved by test' });
      const done = await waitForJob(control, accountId, JobId!);
      expect(done).toMatchObject({ Status: 'Complete', StatusUpdateReason: 'approved by test' });
      expect(await tagsOf(s3, bucket, 'x')).toEqual([{ Key: 'done', Value: 'yes' }]);

      for (const RequestedJobStatus of ['Ready', 'Cancelled'] as const) {
        const err = await errorOf(
          control.send(new UpdateJobStatusCommand({ AccountId: accountId, JobId, RequestedJobStatus })),
        );
        expect([err.name, err.$metadata?.httpStatusCode]).toEqual(['JobStatusException', 409]);
      }
    }));

  test('Ready is refused for a job that is not Suspended', () =>
    withBucket(async (bucket, s3) => {
      const { accountId } = stackEndpoints();
      const manifest = await putManifest(s3, bucket, ['a']);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a', Body: 'a' }));
      const { JobId } = await control.send(new CreateJobCommand(jobInput({ manifest })));
      const err = await errorOf(
        control.send(new UpdateJobStatusCommand({ AccountId: accountId, JobId, RequestedJobStatus: 'Ready' })),
      );
      expect(err.name).toBe('JobStatusException');
      expect(err.message).toMatch(/only a Suspended job can be set to Ready/);
      await waitForJob(control, accountId, JobId!);
    }));

  test('cancelling a Suspended job ends it at once: no task runs, no report', () =>
    withBucket(async (bucket, s3) => {
      const { accountId } = stackEndpoints();
      await putObjects(s3, bucket, ['a']);
      const manifest = await putManifest(s3, bucket, ['a']);
      const { JobId } = await control.send(
        new CreateJobCommand(jobInput({ manifest, confirmationRequired: true, reportBucket: bucket })),
      );
      await waitForJob(control, accountId, JobId!, ['Suspended']);
      const out = await control.send(
        new UpdateJobStatusCommand({
          AccountId: accountId,
          JobId,
          RequestedJobStatus: 'Cancelled',
          StatusUpdateReason: 'not needed',
        }),
      );
      expect(out.Status).toBe('Cancelled');
      const job = await waitForJob(control, accountId, JobId!);
      expect(job).toMatchObject({ Status: 'Cancelled', StatusUpdateReason: 'not needed' });
      expect(job.TerminationDate).toBeInstanceOf(Date);
      expect(job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 0, NumberOfTasksFailed: 0 });
      expect(await tagsOf(s3, bucket, 'a')).toEqual([]);
      await expect(readJobReport(s3, bucket, 'reports', JobId!)).rejects.toThrow();
    }));

  test('cancelling an Active job goes through Cancelling; finished tasks stay done and are reported', () =>
    withBucket(async (bucket, s3) => {
      const { accountId, engineUrl } = stackEndpoints();
      const description = uniqueName('cancel-active');
      const keys = Array.from({ length: 200 }, (_, i) => `obj-${i}`);
      await putObjects(s3, bucket, keys);
      const manifest = await putManifest(s3, bucket, keys);
      const rule = await admin(engineUrl, 'POST', '/_local/faults', { match: { description }, latencyMs: 250 });
      expect(rule.status).toBe(201);
      try {
        const { JobId } = await control.send(
          new CreateJobCommand(jobInput({ manifest, reportBucket: bucket, description })),
        );
        await waitForJob(control, accountId, JobId!, (j) => (j.ProgressSummary?.NumberOfTasksSucceeded ?? 0) > 0);
        const out = await control.send(
          new UpdateJobStatusCommand({ AccountId: accountId, JobId, RequestedJobStatus: 'Cancelled' }),
        );
        expect(out.Status).toBe('Cancelling');
        const job = await waitForJob(control, accountId, JobId!);
        expect(job.Status).toBe('Cancelled');
        const ran = job.ProgressSummary!.NumberOfTasksSucceeded! + job.ProgressSummary!.NumberOfTasksFailed!;
        expect(ran).toBeGreaterThan(0);
        expect(ran).toBeLessThan(keys.length);

        const { rows } = await readJobReport(s3, bucket, 'reports', JobId!);
        expect(rows).toHaveLength(ran);
        let tagged = 0;
        for (const key of keys) if ((await tagsOf(s3, bucket, key)).length > 0) tagged++;
        expect(tagged).toBe(job.ProgressSummary!.NumberOfTasksSucceeded);
      } finally {
        await admin(engineUrl, 'DELETE', `/_local/faults/${(rule.json as { id: string }).id}`);
      }
    }));
});

describe('ListJobs', () => {
  test('filters by status and pages newest first with nextToken', () =>
    withBucket(async (bucket, s3) => {
      const accountId = uniqueAccountId();
      const manifest = await putManifest(s3, bucket, ['a']);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { JobId } = await control.send(
          new CreateJobCommand(jobInput({ accountId, manifest, confirmationRequired: true, description: `list ${i}` })),
        );
        ids.push(JobId!);
      }
      for (const id of ids) await waitForJob(control, accountId, id, ['Suspended']);
      for (const id of ids.slice(0, 2)) {
        await control.send(
          new UpdateJobStatusCommand({ AccountId: accountId, JobId: id, RequestedJobStatus: 'Cancelled' }),
        );
      }

      const suspended = await control.send(new ListJobsCommand({ AccountId: accountId, JobStatuses: ['Suspended'] }));
      expect(suspended.Jobs?.map((j) => j.JobId).sort()).toEqual(ids.slice(2).sort());
      expect(suspended.Jobs?.[0]).toMatchObject({ Operation: 'S3PutObjectTagging', Priority: 10, Status: 'Suspended' });
      expect(suspended.Jobs?.[0]?.ProgressSummary?.TotalNumberOfTasks).toBe(1);
      const both = await control.send(
        new ListJobsCommand({ AccountId: accountId, JobStatuses: ['Cancelled', 'Suspended'] }),
      );
      expect(both.Jobs).toHaveLength(5);

      const pages: JobListDescriptor[][] = [];
      for await (const page of paginateListJobs({ client: control, pageSize: 2 }, { AccountId: accountId })) {
        pages.push(page.Jobs ?? []);
      }
      expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
      const listed = pages.flat();
      expect(listed.map((j) => j.JobId)).toEqual([...ids].reverse());
      const times = listed.map((j) => j.CreationTime!.getTime());
      expect([...times].sort((a, b) => b - a)).toEqual(times);

      const elsewhere = await control.send(new ListJobsCommand({ AccountId: uniqueAccountId() }));
      expect(elsewhere.Jobs ?? []).toEqual([]);
    }));
});

describe('priority and job tags', () => {
  test('UpdateJobPriority and Put/Get/DeleteJobTagging change what Describe and List show', () =>
    withBucket(async (bucket, s3) => {
      const accountId = uniqueAccountId();
      const manifest = await putManifest(s3, bucket, ['a']);
      const { JobId } = await control.send(
        new CreateJobCommand(
          jobInput({ accountId, manifest, confirmationRequired: true, tags: [{ Key: 'team', Value: 'storage' }] }),
        ),
      );
      expect((await control.send(new GetJobTaggingCommand({ AccountId: accountId, JobId }))).Tags).toEqual([
        { Key: 'team', Value: 'storage' },
      ]);

      const prio = await control.send(
        new UpdateJobPriorityCommand({ AccountId: accountId, JobId, Priority: 2147483647 }),
      );
      expect(prio).toMatchObject({ JobId, Priority: 2147483647 });
      expect((await control.send(new DescribeJobCommand({ AccountId: accountId, JobId }))).Job?.Priority).toBe(
        2147483647,
      );
      expect((await control.send(new ListJobsCommand({ AccountId: accountId }))).Jobs?.[0]?.Priority).toBe(2147483647);

      const tags = [
        { Key: 'campaign', Value: 'spring restore' },
        { Key: 'cost-centre', Value: '' },
      ];
      await control.send(new PutJobTaggingCommand({ AccountId: accountId, JobId, Tags: tags }));
      expect((await control.send(new GetJobTaggingCommand({ AccountId: accountId, JobId }))).Tags).toEqual(tags);
      await control.send(new DeleteJobTaggingCommand({ AccountId: accountId, JobId }));
      expect((await control.send(new GetJobTaggingCommand({ AccountId: accountId, JobId }))).Tags ?? []).toEqual([]);

      const tooMany = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
      const err = await errorOf(control.send(new PutJobTaggingCommand({ AccountId: accountId, JobId, Tags: tooMany })));
      expect(err.name).toBe('TooManyTagsException');
      await control.send(new UpdateJobStatusCommand({ AccountId: accountId, JobId, RequestedJobStatus: 'Cancelled' }));
    }));
});

describe('job-level failures end in Failed with a reason', () => {
  test.each([
    ['the manifest object is missing', 'missing-manifest', /ManifestNotFound/],
    ['the manifest ETag does not match', 'etag', /ManifestETagMismatch/],
    ['the report bucket does not exist', 'report-bucket', /ReportBucketNotAccessible/],
  ])('%s', (_name, kind, code) =>
    withBucket(async (bucket, s3) => {
      const { accountId } = stackEndpoints();
      await putObjects(s3, bucket, ['a']);
      const manifest = await putManifest(s3, bucket, ['a']);
      if (kind === 'missing-manifest') manifest.Location!.ObjectArn = `arn:aws:s3:::${bucket}/no/such/manifest.csv`;
      if (kind === 'etag') manifest.Location!.ETag = '00000000000000000000000000000000';
      const reportBucket = kind === 'report-bucket' ? uniqueName('no-such-bucket') : undefined;
      const { JobId } = await control.send(new CreateJobCommand(jobInput({ manifest, reportBucket })));
      const job = await waitForJob(control, accountId, JobId!);
      expect(job.Status).toBe('Failed');
      expect(job.FailureReasons).toHaveLength(1);
      expect(job.FailureReasons?.[0]?.FailureCode).toMatch(code);
      expect(job.FailureReasons?.[0]?.FailureReason?.length).toBeGreaterThan(0);
      expect(job.ProgressSummary).toMatchObject({ NumberOfTasksSucceeded: 0, NumberOfTasksFailed: 0 });
      expect(await tagsOf(s3, bucket, 'a')).toEqual([]);
    }),
  );
});
