/**
 * The one list of `ApplicationFailure` types this project raises. Workflows, activities, the CLI and tests refer to
 * these constants, never to string literals. Non-retryable types are permanent faults: retrying cannot help.
 */
export const FailureType = {
  /** The campaign spec or another input failed validation. Non-retryable. */
  InvalidInput: 'InvalidInput',
  /** The caller's credentials may not do this (AccessDenied, 403). Non-retryable. */
  AccessDenied: 'AccessDenied',
  /** A bucket, object or job named in the request does not exist. Non-retryable. */
  NotFound: 'NotFound',
  /** The request was malformed for the service (InvalidRequest, BadRequest, bad ARN). Non-retryable. */
  BadRequest: 'BadRequest',
  /** The job is in a state that does not allow this change (JobStatusException). Non-retryable. */
  InvalidJobState: 'InvalidJobState',
  /** The same idempotency token was used for a different request. Non-retryable. */
  IdempotencyConflict: 'IdempotencyConflict',
  /**
   * What this run would create already belongs to someone else: a campaign id reused while the earlier campaign's
   * files are still in its folder. Non-retryable.
   */
  AlreadyExists: 'AlreadyExists',
  /**
   * The source is archived (GLACIER, DEEP_ARCHIVE, an Intelligent-Tiering archive tier) and has no completed restore,
   * so it cannot be read or copied yet. Non-retryable: retrying does not restore it. A workflow that sees this type
   * restores the object (or waits for its restore) and calls the activity again.
   */
  NotRestored: 'NotRestored',
  /**
   * The source did not meet the copy's `ModifiedSinceConstraint` / `UnModifiedSinceConstraint` (S3 answers a copy
   * with 412 PreconditionFailed). Non-retryable: the object is skipped, as the Batch Operations task would fail.
   */
  PreconditionFailed: 'PreconditionFailed',
  /**
   * A copy's target did not match its source (size, checksum or parts), or the source changed during the copy. The
   * activity retries: the next attempt starts the copy over from the source as it is then.
   */
  CopyVerificationFailed: 'CopyVerificationFailed',
  /** Throttling or a 5xx from AWS; the activity retries. */
  Transient: 'Transient',
  /** Anything not classified above; retried, as unknown errors usually are transient. */
  Unknown: 'Unknown',
  /**
   * A conditional write found that another writer (a newer attempt, or another step) has taken over the object this
   * activity was updating, e.g. a restore-tracking index. This attempt must stop. Non-retryable.
   */
  StaleWriter: 'StaleWriter',
} as const;

export type FailureTypeName = (typeof FailureType)[keyof typeof FailureType];

/** The types a workflow must not retry. */
export const NON_RETRYABLE_FAILURE_TYPES: readonly FailureTypeName[] = [
  FailureType.InvalidInput,
  FailureType.AccessDenied,
  FailureType.NotFound,
  FailureType.BadRequest,
  FailureType.InvalidJobState,
  FailureType.IdempotencyConflict,
  FailureType.AlreadyExists,
  FailureType.NotRestored,
  FailureType.PreconditionFailed,
  FailureType.StaleWriter,
];
