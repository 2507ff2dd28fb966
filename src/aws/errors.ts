/**
 * AWS SDK errors → `ApplicationFailure`, in one place: by `err.name` first, then by HTTP status. Permanent faults
 * become non-retryable failures whose message names the resource; throttling and 5xx stay retryable.
 */
import { ApplicationFailure } from '@temporalio/common';

import { FailureType, NON_RETRYABLE_FAILURE_TYPES, type FailureTypeName } from '../shared/errors';

const BY_NAME: Record<string, FailureTypeName> = {
  AccessDenied: FailureType.AccessDenied,
  AccessDeniedException: FailureType.AccessDenied,
  Forbidden: FailureType.AccessDenied,
  InvalidAccessKeyId: FailureType.AccessDenied,
  SignatureDoesNotMatch: FailureType.AccessDenied,
  ExpiredToken: FailureType.AccessDenied,
  NoSuchBucket: FailureType.NotFound,
  NoSuchKey: FailureType.NotFound,
  NotFound: FailureType.NotFound,
  NotFoundException: FailureType.NotFound,
  NoSuchJob: FailureType.NotFound,
  NoSuchJobException: FailureType.NotFound,
  InvalidRequest: FailureType.BadRequest,
  InvalidRequestException: FailureType.BadRequest,
  BadRequestException: FailureType.BadRequest,
  InvalidArgument: FailureType.BadRequest,
  InvalidBucketName: FailureType.BadRequest,
  JobStatusException: FailureType.InvalidJobState,
  IdempotencyException: FailureType.IdempotencyConflict,
  // Reading or copying an archived object without a completed restore. RestoreObject on a class that needs no restore
  // answers InvalidObjectState too, but no activity restores objects itself (Batch Operations jobs do).
  InvalidObjectState: FailureType.NotRestored,
  ObjectNotInActiveTierError: FailureType.NotRestored,
  TooManyRequestsException: FailureType.Transient,
  SlowDown: FailureType.Transient,
  Throttling: FailureType.Transient,
  ThrottlingException: FailureType.Transient,
  RequestLimitExceeded: FailureType.Transient,
  RequestTimeout: FailureType.Transient,
  InternalError: FailureType.Transient,
  InternalServiceException: FailureType.Transient,
  ServiceUnavailable: FailureType.Transient,
  TimeoutError: FailureType.Transient,
  // A completion report S3 wrote that we cannot parse will not parse on a retry either.
  ReportParseError: FailureType.InvalidInput,
};

/** Names AWS uses for "too many requests, slow down" (S3 Control, S3, STS): the caller should send fewer calls. */
const THROTTLING_NAMES = new Set([
  'TooManyRequestsException',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

/**
 * True for an answer that asks the caller to slow down: a throttling error name, HTTP 429, or 503 (S3's SlowDown;
 * a 503 that is an outage is also best met with fewer calls). Such errors are `Transient` in `toApplicationFailure`.
 */
export function isThrottlingError(err: unknown): boolean {
  const e = (err ?? {}) as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return (e.name !== undefined && THROTTLING_NAMES.has(e.name)) || status === 429 || status === 503;
}

function classify(err: { name?: string; $metadata?: { httpStatusCode?: number } }): FailureTypeName {
  const byName = err.name ? BY_NAME[err.name] : undefined;
  if (byName) return byName;
  const status = err.$metadata?.httpStatusCode;
  if (status === 403) return FailureType.AccessDenied;
  if (status === 404) return FailureType.NotFound;
  if (status === 409) return FailureType.InvalidJobState;
  if (status === 400) return FailureType.BadRequest;
  if (status === 429 || (status !== undefined && status >= 500)) return FailureType.Transient;
  return FailureType.Unknown;
}

/**
 * Maps any error thrown by an AWS call to an ApplicationFailure. `context` says what was being done to which
 * resource, e.g. `reading s3://bucket/manifest.json`; it leads the message.
 */
export function toApplicationFailure(err: unknown, context: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = (err ?? {}) as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const type = classify(e);
  const status = e.$metadata?.httpStatusCode;
  const message = `${context}: ${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`;
  return NON_RETRYABLE_FAILURE_TYPES.includes(type)
    ? ApplicationFailure.nonRetryable(message, type)
    : ApplicationFailure.retryable(message, type);
}
