/**
 * Job-level failure codes the data plane raises, and S3 helpers shared by the manifest reader, the task runners and
 * the report writer. AWS does not document its `FailureCode` values, so these are the engine's own names; the
 * reasons follow the style seen from the service ("Reading the manifest is forbidden: 403 Forbidden") and always
 * name the object or bucket involved.
 */
import { JobFailure, type TaskOutcome } from './types';

export const FailureCode = {
  /** The manifest object (or an inventory data file) does not exist. */
  ManifestNotFound: 'ManifestNotFound',
  /** Reading the manifest was refused (403). */
  ManifestAccessDenied: 'ManifestAccessDenied',
  /** Reading the manifest failed for another reason (5xx, archived object, network). */
  ManifestReadFailed: 'ManifestReadFailed',
  /** The manifest's ETag differs from `Manifest.Location.ETag`. */
  ManifestETagMismatch: 'ManifestETagMismatch',
  /** An inventory data file's MD5 differs from its `MD5checksum` in manifest.json. */
  ManifestChecksumMismatch: 'ManifestChecksumMismatch',
  /** The manifest's content is invalid: a bad row, an empty manifest, a bad inventory manifest.json. */
  InvalidManifest: 'InvalidManifest',
  /** The manifest's format cannot be used (e.g. an ORC or Parquet inventory). */
  UnsupportedManifestFormat: 'UnsupportedManifestFormat',
  /** S3PutObjectLegalHold / S3PutObjectRetention on a bucket without Object Lock. */
  ObjectLockNotEnabled: 'ObjectLockNotEnabled',
  /** A bucket the job needs (copy target, object bucket) does not exist or cannot be reached. */
  BucketNotAccessible: 'BucketNotAccessible',
  /** S3ReplicateObject on a bucket that has no replication configuration. */
  ReplicationNotConfigured: 'ReplicationConfigurationNotFound',
  /** S3ReplicateObject on moto when its model dump (which holds the rules' filters) cannot be read. */
  ReplicationRulesUnreadable: 'ReplicationRulesUnreadable',
  /** The operation's parameters cannot be executed (e.g. a WRITE grant on a copy, a copy across buckets). */
  InvalidOperation: 'InvalidOperation',
} as const;

export type FailureCodeName = (typeof FailureCode)[keyof typeof FailureCode];

/** The S3 Control model caps `FailureReason` at 256 characters. */
const MAX_FAILURE_REASON = 256;

/** A JobFailure whose reason fits the model's 256-character limit. */
export function jobFailure(code: FailureCodeName, reason: string): JobFailure {
  const r = reason.length > MAX_FAILURE_REASON ? reason.slice(0, MAX_FAILURE_REASON - 1) + '…' : reason;
  return new JobFailure(code, r);
}

/** `arn:aws:s3:::bucket/key` → bucket and raw key (the key is not URL-decoded: ObjectArn carries it as is). */
export function parseObjectArn(arn: string): { bucket: string; key: string } | undefined {
  const m = /^arn:[^:]+:s3:::([^/]+)\/(.+)$/s.exec(arn);
  if (!m) return undefined;
  return { bucket: m[1]!, key: m[2]! };
}

/** `arn:aws:s3:::bucket` → bucket; a plain bucket name is returned as it is. */
export function bucketFromArn(arnOrName: string): string | undefined {
  if (!arnOrName.startsWith('arn:')) return arnOrName.length > 0 && !arnOrName.includes('/') ? arnOrName : undefined;
  const m = /^arn:[^:]+:s3:::([^/]+)\/?$/.exec(arnOrName);
  return m?.[1];
}

/** `s3://bucket/key` for messages. */
export function s3Url(bucket: string, key?: string): string {
  return key === undefined ? `s3://${bucket}` : `s3://${bucket}/${key}`;
}

/** The parts of an AWS SDK error this package looks at. */
export interface AwsErrorInfo {
  name: string;
  httpStatus: number | undefined;
  message: string;
}

/** Reads an AWS SDK (or any) error's code, HTTP status and message without assuming its class. */
export function awsErrorInfo(err: unknown): AwsErrorInfo {
  const e = (err ?? {}) as {
    name?: unknown;
    Code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const code = typeof e.Code === 'string' && e.Code ? e.Code : typeof e.name === 'string' && e.name ? e.name : 'Error';
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  return { name: code, httpStatus: status, message };
}

/** `403 Forbidden`-style text for a status, as the service words its manifest failures. */
export function statusText(status: number | undefined): string {
  if (status === undefined) return 'no response';
  const TEXT: Record<number, string> = {
    400: 'Bad Request',
    403: 'Forbidden',
    404: 'Not Found',
    409: 'Conflict',
    412: 'Precondition Failed',
    500: 'Internal Server Error',
    503: 'Service Unavailable',
  };
  return TEXT[status] ? `${status} ${TEXT[status]}` : String(status);
}

/** Strips the quotes (and a weak `W/` prefix) S3 puts around ETags. */
export function unquoteETag(etag: string | undefined): string {
  return (etag ?? '')
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
}

/**
 * The failed task of an object a HEAD did not find (a HEAD error has no body): what S3's GetObject would say,
 * NoSuchVersion for a version, NoSuchKey otherwise.
 */
export function missingObjectOutcome(versionId: string | undefined): TaskOutcome {
  return versionId
    ? {
        status: 'failed',
        httpStatus: 404,
        errorCode: 'NoSuchVersion',
        resultMessage: 'The specified version does not exist.',
      }
    : { status: 'failed', httpStatus: 404, errorCode: 'NoSuchKey', resultMessage: 'The specified key does not exist.' };
}
