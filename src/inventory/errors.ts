/**
 * Failures of an inventory build, as `ApplicationFailure`s with a type from the shared list. Bad input, a corrupt or
 * unsupported report and a filter the report cannot answer are permanent (non-retryable); AWS errors go through the
 * project's one AWS mapping.
 */
import { ApplicationFailure } from '@temporalio/common';

import { toApplicationFailure } from '../aws/errors';
import { FailureType } from '../shared/errors';

/** A permanent problem with the input or the report, e.g. an unknown schema field or an MD5 mismatch. */
export function invalidInventory(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, FailureType.InvalidInput);
}

/** A data file or report that does not exist. */
export function inventoryNotFound(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, FailureType.NotFound);
}

/** Any error from S3 while doing `context` (e.g. `reading s3://b/k`). */
export function s3Failure(err: unknown, context: string): ApplicationFailure {
  return toApplicationFailure(err, context);
}
