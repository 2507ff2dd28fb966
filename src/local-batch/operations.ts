import type { S3Client } from '@aws-sdk/client-s3';
import type { LambdaBridge } from './lambda';
import type { JobOperation, TaskOutcome, TaskRef } from './types';

/** Runs one task. Never throws: every error becomes a failed outcome. */
export type TaskRunner = (task: TaskRef) => Promise<TaskOutcome>;

/** What task runners need from the engine. */
export interface RunnerDeps {
  /** S3 client for the endpoint the jobs act on. */
  s3: S3Client;
  /** Local Lambda handlers for LambdaInvoke jobs. */
  lambda: LambdaBridge;
  /** The job's id (LambdaInvoke events carry it). */
  jobId: string;
}

/** Job-level checks before any task runs. @throws JobFailure */
export async function prepareOperation(op: JobOperation, tasks: readonly TaskRef[], deps: RunnerDeps): Promise<void> {
  void op;
  void tasks;
  void deps;
}

/** Builds the runner that performs `op` on one object. */
export function createTaskRunner(op: JobOperation, deps: RunnerDeps): TaskRunner {
  void deps;
  return async () => ({
    status: 'failed',
    httpStatus: 501,
    errorCode: 'NotImplemented',
    resultMessage: `${op.type} is not implemented yet`,
  });
}
