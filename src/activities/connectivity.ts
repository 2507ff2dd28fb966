import { ListBucketsCommand, type S3Client } from '@aws-sdk/client-s3';
import { ListJobsCommand, type S3ControlClient } from '@aws-sdk/client-s3-control';

import { toApplicationFailure } from '../aws/errors';
import type { CheckAwsAccessInput, CheckAwsAccessResult } from '../shared/activity-types';

/** Proves the worker reaches S3 and S3 Control with its credentials: one read-only call to each. */
export function createConnectivityActivities(deps: { s3: S3Client; s3control: S3ControlClient }) {
  return {
    async checkAwsAccess(input: CheckAwsAccessInput): Promise<CheckAwsAccessResult> {
      try {
        const buckets = await deps.s3.send(new ListBucketsCommand({}));
        const jobs = await deps.s3control.send(new ListJobsCommand({ AccountId: input.accountId, MaxResults: 100 }));
        return { bucketCount: buckets.Buckets?.length ?? 0, jobCount: jobs.Jobs?.length ?? 0 };
      } catch (err) {
        throw toApplicationFailure(err, 'checking access to S3 and S3 Control');
      }
    },
  };
}
