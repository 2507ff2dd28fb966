/**
 * Batch Operations job activities: create (idempotent by ClientRequestToken), describe, and change status
 * (idempotent: a retried call that finds the change already made reports it instead of failing).
 */
import {
  CreateJobCommand,
  DescribeJobCommand,
  type JobManifestGenerator,
  type JobManifestGeneratorFilter,
  type ObjectEncryptionFilter,
  type ReplicationStatus,
  type S3ControlClient,
  type S3StorageClass,
  UpdateJobStatusCommand,
} from '@aws-sdk/client-s3-control';
import { log } from '@temporalio/activity';

import { toApplicationFailure } from '../aws/errors';
import { toJobOperation } from '../campaign/operation';
import type {
  CreateBatchJobInput,
  CreateBatchJobResult,
  DescribeBatchJobsInput,
  JobSnapshot,
  UpdateBatchJobStatusInput,
  UpdateBatchJobStatusResult,
} from '../shared/activity-types';
import type { GeneratedManifestRequest } from '../shared/campaign';

const TERMINAL = new Set(['Complete', 'Failed', 'Cancelled']);

/**
 * CreateJob's ManifestGenerator for a bucket source with `generator: "s3"`: S3 lists the source bucket with the
 * mapped filter and writes the generated manifest under the campaign's folder (EnableManifestOutput), where the
 * analysis of the round reads it back like any other manifest.
 */
export function manifestGenerator(outputBucket: string, g: GeneratedManifestRequest): JobManifestGenerator {
  const f = g.filter;
  const filter: JobManifestGeneratorFilter | undefined = f && {
    ...(f.KeyNameConstraint ? { KeyNameConstraint: f.KeyNameConstraint } : {}),
    ...(f.ObjectSizeGreaterThanBytes !== undefined ? { ObjectSizeGreaterThanBytes: f.ObjectSizeGreaterThanBytes } : {}),
    ...(f.ObjectSizeLessThanBytes !== undefined ? { ObjectSizeLessThanBytes: f.ObjectSizeLessThanBytes } : {}),
    ...(f.CreatedAfter !== undefined ? { CreatedAfter: new Date(f.CreatedAfter) } : {}),
    ...(f.CreatedBefore !== undefined ? { CreatedBefore: new Date(f.CreatedBefore) } : {}),
    ...(f.MatchAnyStorageClass ? { MatchAnyStorageClass: f.MatchAnyStorageClass as S3StorageClass[] } : {}),
    ...(f.ObjectReplicationStatuses
      ? { ObjectReplicationStatuses: f.ObjectReplicationStatuses as ReplicationStatus[] }
      : {}),
    ...(f.MatchAnyObjectEncryption
      ? {
          MatchAnyObjectEncryption: f.MatchAnyObjectEncryption.map(
            (name) => ({ [name]: {} }) as unknown as ObjectEncryptionFilter,
          ),
        }
      : {}),
  };
  return {
    S3JobManifestGenerator: {
      SourceBucket: `arn:aws:s3:::${g.sourceBucket}`,
      EnableManifestOutput: true,
      ManifestOutputLocation: {
        Bucket: `arn:aws:s3:::${outputBucket}`,
        ManifestPrefix: g.outputPrefix,
        ManifestFormat: 'S3InventoryReport_CSV_20211130',
      },
      ...(filter ? { Filter: filter } : {}),
    },
  };
}
/** Statuses a job is in once it has been approved (UpdateJobStatus Ready took effect). */
const PAST_APPROVAL = new Set(['Ready', 'Active', 'Pausing', 'Paused', 'Completing', 'Complete', 'Failing', 'Failed']);

export function createJobActivities(deps: { s3control: S3ControlClient }) {
  const describe = async (accountId: string, jobId: string): Promise<JobSnapshot> => {
    try {
      const { Job: job } = await deps.s3control.send(new DescribeJobCommand({ AccountId: accountId, JobId: jobId }));
      if (!job?.Status) throw new Error(`DescribeJob ${jobId} returned no status`);
      const p = job.ProgressSummary;
      return {
        jobId,
        status: job.Status,
        totalTasks: p?.TotalNumberOfTasks,
        succeededTasks: p?.NumberOfTasksSucceeded,
        failedTasks: p?.NumberOfTasksFailed,
        elapsedActiveSeconds: p?.Timers?.ElapsedTimeInActiveSeconds,
        failureReasons: (job.FailureReasons ?? []).map((f) => ({
          code: f.FailureCode ?? '',
          reason: f.FailureReason ?? '',
        })),
        statusUpdateReason: job.StatusUpdateReason,
        terminationDate: job.TerminationDate?.toISOString(),
      };
    } catch (err) {
      throw toApplicationFailure(err, `describing Batch Operations job ${jobId} in account ${accountId}`);
    }
  };

  return {
    async createBatchJob(input: CreateBatchJobInput): Promise<CreateBatchJobResult> {
      const m = input.manifest;
      try {
        const res = await deps.s3control.send(
          new CreateJobCommand({
            AccountId: input.accountId,
            // Always explicit: a missing flag has been seen to mean "true"; we want every job held for approval.
            ConfirmationRequired: true,
            ClientRequestToken: input.clientRequestToken,
            Operation: toJobOperation(input.operation),
            ...(m.generator
              ? { ManifestGenerator: manifestGenerator(m.bucket, m.generator) }
              : {
                  Manifest: {
                    Spec: {
                      Format: 'S3BatchOperations_CSV_20180820',
                      Fields: m.versioned ? ['Bucket', 'Key', 'VersionId'] : ['Bucket', 'Key'],
                    },
                    Location: { ObjectArn: `arn:aws:s3:::${m.bucket}/${m.key}`, ETag: m.etag },
                  },
                }),
            Report: {
              Enabled: true,
              Bucket: `arn:aws:s3:::${input.report.bucket}`,
              Format: 'Report_CSV_20180820',
              Prefix: input.report.prefix,
              // All tasks: the retry manifest needs the succeeded ones too (a failed or cancelled job leaves tasks
              // that never ran, and only "manifest − succeeded − permanent" finds them).
              ReportScope: 'AllTasks',
            },
            Priority: input.priority,
            RoleArn: input.roleArn,
            Description: input.description,
            Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
          }),
        );
        if (!res.JobId) throw new Error('CreateJob returned no JobId');
        const what = m.generator
          ? `the objects S3 lists in s3://${m.generator.sourceBucket}`
          : `s3://${m.bucket}/${m.key}`;
        log.info('job created', { jobId: res.JobId, manifest: what, rows: m.rows });
        return { jobId: res.JobId };
      } catch (err) {
        const what = m.generator ? `the objects of s3://${m.generator.sourceBucket}` : `s3://${m.bucket}/${m.key}`;
        throw toApplicationFailure(err, `creating a Batch Operations job for ${what}`);
      }
    },

    async describeBatchJobs(input: DescribeBatchJobsInput): Promise<JobSnapshot[]> {
      const out: JobSnapshot[] = [];
      for (const id of input.jobIds) out.push(await describe(input.accountId, id));
      return out;
    },

    async updateBatchJobStatus(input: UpdateBatchJobStatusInput): Promise<UpdateBatchJobStatusResult> {
      try {
        const res = await deps.s3control.send(
          new UpdateJobStatusCommand({
            AccountId: input.accountId,
            JobId: input.jobId,
            RequestedJobStatus: input.status,
            StatusUpdateReason: input.reason.slice(0, 256) || undefined,
          }),
        );
        log.info('job status updated', { jobId: input.jobId, requested: input.status, status: res.Status });
        return { status: res.Status ?? input.status, changed: true };
      } catch (err) {
        if ((err as { name?: string }).name === 'JobStatusException') {
          // Retried after success, or the job moved on by itself: that is not an error if the change is moot.
          const now = await describe(input.accountId, input.jobId);
          const moot =
            input.status === 'Cancelled'
              ? TERMINAL.has(now.status) || now.status === 'Cancelling'
              : PAST_APPROVAL.has(now.status);
          if (moot) return { status: now.status, changed: false };
        }
        throw toApplicationFailure(err, `setting Batch Operations job ${input.jobId} to ${input.status}`);
      }
    },
  };
}
