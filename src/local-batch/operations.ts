/**
 * The task runners: each job operation executed for real on one object with `@aws-sdk/client-s3` (or, for
 * LambdaInvoke, through the local Lambda bridge), and the job-level checks the service makes before any task runs.
 *
 * Runners never throw. An error of the underlying call becomes a failed outcome carrying the S3 error code and HTTP
 * status, which is what the completion report shows for that object.
 */
import {
  CopyObjectCommand,
  type CopyObjectCommandInput,
  DeleteObjectTaggingCommand,
  GetObjectLockConfigurationCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  PutObjectAclCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  PutObjectTaggingCommand,
  RestoreObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

import { createLogger, type Logger } from '../logging';
import { computeObjectChecksum } from './checksum';
import { awsErrorInfo, bucketFromArn, FailureCode, jobFailure } from './failures';
import { type LambdaBridge, LambdaFunctionError, LambdaPayloadError } from './lambda';
import { loadReplicationRules, replicateObject, ReplicationStatusTable } from './replication';
import type { RestoreDeferral } from './restores';
import type { CopyOperation, Grant, JobOperation, PendingRestore, TaskOutcome, TaskRef } from './types';

/** Runs one task. Never throws: every error becomes a failed outcome. */
export type TaskRunner = (task: TaskRef) => Promise<TaskOutcome>;

/** How TemporaryFailure answers of a Lambda function are retried. */
export interface LambdaRetryOptions {
  /** Invocations per task in total, the first included. @default 3 */
  attempts?: number;
  /** Wait before the first retry in milliseconds; doubles after each retry. @default 200 */
  backoffMs?: number;
}

/** What task runners need from the engine. */
export interface RunnerDeps {
  /** S3 client for the endpoint the jobs act on (built and owned by the caller). */
  s3: S3Client;
  /** Local Lambda handlers for LambdaInvoke jobs. */
  lambda: LambdaBridge;
  /** The job's id; LambdaInvoke events carry it. */
  jobId: string;
  /** @default a logger named `local-batch.tasks` */
  log?: Logger;
  /** @default 3 attempts, 200 ms first backoff */
  lambdaRetry?: LambdaRetryOptions;
  /** Restores that take time (restores.ts). @default none: every restore goes to S3 at once */
  restores?: RestoreDeferral;
  /** Where S3ReplicateObject records replication statuses (replication.ts). @default an in-memory table */
  replication?: ReplicationStatusTable;
}

/** S3 cannot copy a larger object in one CopyObject call, and Batch Operations does not split copies. */
export const MAX_COPY_BYTES = 5 * 1024 ** 3;

/** Storage classes whose objects must be restored before they can be read or copied. */
const ARCHIVE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/** Tier speed for the overlapping-restore rule (§8): a task may only upgrade a running restore to a faster tier. */
const TIER_RANK: Record<string, number> = { BULK: 0, STANDARD: 1, EXPEDITED: 2 };

const succeeded = (resultMessage?: string): TaskOutcome => ({ status: 'succeeded', httpStatus: 200, resultMessage });

const failed = (errorCode: string, httpStatus: number, resultMessage?: string): TaskOutcome => ({
  status: 'failed',
  errorCode,
  httpStatus,
  resultMessage,
});

/** Names the SDK gives errors that carry no S3 error code (a network failure, a body it could not parse). */
const UNNAMED_ERRORS = new Set(['Error', 'TypeError', 'SyntaxError']);

/**
 * The S3 code reported for an error answer whose body is no S3 error document (moto answers a key with a line break
 * with an HTML 404): the code S3 itself most often sends with that status, so a 4xx stays permanent and 429/503
 * stay retryable. Other statuses get `InvalidRequest` (4xx) or `InternalError` (5xx).
 */
const CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'InvalidRequest',
  403: 'AccessDenied',
  404: 'NoSuchKey',
  405: 'MethodNotAllowed',
  412: 'PreconditionFailed',
  429: 'SlowDown',
  500: 'InternalError',
  501: 'NotImplemented',
  503: 'ServiceUnavailable',
};

/**
 * An SDK error as a failed outcome: its S3 code and HTTP status. An error answer without a readable code is
 * classified by its status, which it keeps; an error without any answer (network) counts as 500 InternalError.
 */
export function outcomeFromError(err: unknown): TaskOutcome {
  const e = awsErrorInfo(err);
  const status = e.httpStatus && e.httpStatus >= 300 ? e.httpStatus : undefined;
  if (!UNNAMED_ERRORS.has(e.name)) return failed(e.name, status ?? 500, e.message);
  if (status === undefined) return failed('InternalError', 500, e.message);
  const code = CODE_BY_STATUS[status] ?? (status < 500 ? 'InvalidRequest' : 'InternalError');
  const detail = e.message.split('\n', 1)[0];
  return failed(code, status, `HTTP ${status} without an S3 error code in its body (${detail})`);
}

/**
 * Job-level checks, made before any task runs, as the service makes them.
 * - S3PutObjectCopy: the target bucket exists; all sources are in one bucket; grants are valid for objects.
 * - S3PutObjectLegalHold / S3PutObjectRetention: every bucket of the manifest has Object Lock enabled.
 * - S3ReplicateObject: every bucket of the manifest has a replication configuration.
 * A LambdaInvoke function without a local handler is not a job failure: as on AWS, where a function that cannot be
 * invoked fails each task, its tasks fail at run time.
 * @throws JobFailure naming the bucket at fault.
 */
export async function prepareOperation(op: JobOperation, tasks: readonly TaskRef[], deps: RunnerDeps): Promise<void> {
  const buckets = new Set<string>();
  for (const t of tasks) buckets.add(t.bucket);
  switch (op.type) {
    case 'S3PutObjectCopy': {
      const target = bucketFromArn(op.TargetResource);
      if (!target) {
        throw jobFailure(FailureCode.InvalidOperation, `Copy TargetResource ${op.TargetResource} is not a bucket ARN`);
      }
      if (buckets.size > 1) {
        const names = [...buckets].slice(0, 3).join(', ');
        throw jobFailure(
          FailureCode.InvalidOperation,
          `S3PutObjectCopy needs all source objects in one bucket; the manifest names ${buckets.size} (${names})`,
        );
      }
      if (op.AccessControlGrants?.some((g) => g.Permission === 'WRITE')) {
        throw jobFailure(
          FailureCode.InvalidOperation,
          'S3PutObjectCopy AccessControlGrants: WRITE is not valid on objects',
        );
      }
      await checkBucket(deps.s3, target, 'Copy target bucket');
      return;
    }
    case 'S3PutObjectLegalHold':
    case 'S3PutObjectRetention':
      for (const b of buckets) await checkObjectLock(deps.s3, b, op.type);
      return;
    case 'S3ReplicateObject':
      await loadReplicationRules(deps.s3, buckets);
      return;
    default:
      return;
  }
}

async function checkBucket(s3: S3Client, bucket: string, what: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const e = awsErrorInfo(err);
    const why = e.httpStatus === 404 ? 'does not exist' : e.httpStatus === 403 ? 'is not accessible (403)' : e.message;
    throw jobFailure(FailureCode.BucketNotAccessible, `${what} ${bucket} ${why}`);
  }
}

async function checkObjectLock(s3: S3Client, bucket: string, operation: string): Promise<void> {
  let enabled: string | undefined;
  try {
    const out = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
    enabled = out.ObjectLockConfiguration?.ObjectLockEnabled;
  } catch (err) {
    const e = awsErrorInfo(err);
    if (e.name === 'NoSuchBucket') {
      throw jobFailure(FailureCode.BucketNotAccessible, `Bucket ${bucket} of the manifest does not exist`);
    }
    if (e.name !== 'ObjectLockConfigurationNotFoundError') {
      throw jobFailure(
        FailureCode.BucketNotAccessible,
        `Reading the Object Lock configuration of bucket ${bucket} failed: ${e.name}: ${e.message}`,
      );
    }
  }
  if (enabled !== 'Enabled') {
    throw jobFailure(
      FailureCode.ObjectLockNotEnabled,
      `Bucket ${bucket} does not have Object Lock enabled; ${operation} needs versioning and Object Lock on the bucket`,
    );
  }
}

/** Builds the runner that performs `op` on one object. */
export function createTaskRunner(op: JobOperation, deps: RunnerDeps): TaskRunner {
  const log = deps.log ?? createLogger('local-batch.tasks');
  const run = runnerFor(op, deps, log.child({ jobId: deps.jobId, operation: op.type }));
  return async (task) => {
    if (task.versionId === '') {
      // What the service does with an empty version id in a manifest row (e.g. null versions in an all-versions
      // inventory): the task fails; `null` is the way to name a null version.
      return failed(
        'InvalidRequest',
        400,
        'The manifest row has an empty version ID; write null-version objects as the literal null',
      );
    }
    try {
      return await run(task);
    } catch (err) {
      return outcomeFromError(err);
    }
  };
}

function runnerFor(op: JobOperation, deps: RunnerDeps, log: Logger): TaskRunner {
  const { s3 } = deps;
  switch (op.type) {
    case 'S3PutObjectTagging':
      return async (t) => {
        await s3.send(
          new PutObjectTaggingCommand({
            Bucket: t.bucket,
            Key: t.key,
            VersionId: t.versionId,
            Tagging: { TagSet: op.TagSet.map((x) => ({ Key: x.Key, Value: x.Value })) },
          }),
        );
        return succeeded();
      };
    case 'S3DeleteObjectTagging':
      return async (t) => {
        try {
          await s3.send(new DeleteObjectTaggingCommand({ Bucket: t.bucket, Key: t.key, VersionId: t.versionId }));
          return succeeded();
        } catch (err) {
          return explainServerError(s3, t, err);
        }
      };
    case 'S3PutObjectAcl':
      return async (t) => {
        const policy = op.AccessControlPolicy;
        if (policy.CannedAccessControlList) {
          await s3.send(
            new PutObjectAclCommand({
              Bucket: t.bucket,
              Key: t.key,
              VersionId: t.versionId,
              ACL: policy.CannedAccessControlList,
            }),
          );
          return succeeded();
        }
        // The grant headers say exactly what an AccessControlPolicy body says (the object keeps its owner), and
        // moto applies only the headers form: it ignores the XML body.
        await s3.send(
          new PutObjectAclCommand({
            Bucket: t.bucket,
            Key: t.key,
            VersionId: t.versionId,
            ...grantHeaders(policy.AccessControlList?.Grants ?? []),
          }),
        );
        return succeeded();
      };
    case 'S3PutObjectLegalHold':
      return async (t) => {
        await s3.send(
          new PutObjectLegalHoldCommand({
            Bucket: t.bucket,
            Key: t.key,
            VersionId: t.versionId,
            LegalHold: { Status: op.LegalHold.Status },
          }),
        );
        return succeeded();
      };
    case 'S3PutObjectRetention':
      return async (t) => {
        const r = op.Retention;
        await s3.send(
          new PutObjectRetentionCommand({
            Bucket: t.bucket,
            Key: t.key,
            VersionId: t.versionId,
            BypassGovernanceRetention: op.BypassGovernanceRetention || undefined,
            // Neither mode nor date: the retention is removed (an empty <Retention/>).
            Retention: {
              Mode: r.Mode,
              RetainUntilDate: r.RetainUntilDate ? new Date(r.RetainUntilDate) : undefined,
            },
          }),
        );
        return succeeded();
      };
    case 'S3InitiateRestoreObject':
      return (t) => restoreObject(s3, op, t, deps.restores);
    case 'S3PutObjectCopy':
      return (t) => copyObject(s3, op, t, log);
    case 'LambdaInvoke':
      return (t) => invokeLambda(op, t, deps, log);
    case 'S3ComputeObjectChecksum':
      return (t) => computeObjectChecksum(s3, op, t);
    case 'S3ReplicateObject': {
      const statuses = deps.replication ?? ReplicationStatusTable.inMemory(log);
      // Read once per job run (the check in Preparing already proved each bucket has a configuration).
      const rules = new Map<string, ReturnType<typeof loadReplicationRules>>();
      return (t) =>
        replicateObject(t, {
          s3,
          statuses,
          log,
          outcomeFromError,
          rules: async (bucket) => {
            let loaded = rules.get(bucket);
            if (!loaded) rules.set(bucket, (loaded = loadReplicationRules(s3, [bucket])));
            return (await loaded).get(bucket) ?? [];
          },
        });
    }
  }
}

/**
 * Some S3 implementations answer an error with a 5xx and no parsable body (moto does for DeleteObjectTagging on a
 * missing key). Ask HeadObject whether the object exists so that the report says NoSuchKey as S3 would.
 */
async function explainServerError(s3: S3Client, t: TaskRef, err: unknown): Promise<TaskOutcome> {
  const first = outcomeFromError(err);
  if (first.httpStatus < 500) return first;
  try {
    await s3.send(new HeadObjectCommand({ Bucket: t.bucket, Key: t.key, VersionId: t.versionId }));
  } catch (headErr) {
    const h = awsErrorInfo(headErr);
    if (h.httpStatus === 404) {
      return t.versionId
        ? failed('NoSuchVersion', 404, 'The specified version does not exist.')
        : failed('NoSuchKey', 404, 'The specified key does not exist.');
    }
  }
  return first;
}

type GrantParams = Pick<CopyObjectCommandInput, 'GrantRead' | 'GrantReadACP' | 'GrantWriteACP' | 'GrantFullControl'> & {
  GrantWrite?: string;
};

/** Grants as `x-amz-grant-*` header values: `id="…", uri="…", emailAddress="…"` per permission. */
export function grantHeaders(grants: readonly Grant[]): GrantParams {
  const by: Record<string, string[]> = {};
  for (const g of grants) {
    const id = g.Grantee?.Identifier;
    const type = g.Grantee?.TypeIdentifier ?? 'id';
    if (!id || !g.Permission) continue;
    (by[g.Permission] ??= []).push(`${type}="${id}"`);
  }
  const join = (p: string) => (by[p] ? by[p].join(', ') : undefined);
  return {
    GrantRead: join('READ'),
    GrantWrite: join('WRITE'),
    GrantReadACP: join('READ_ACP'),
    GrantWriteACP: join('WRITE_ACP'),
    GrantFullControl: join('FULL_CONTROL'),
  };
}

async function headObject(s3: S3Client, t: TaskRef): Promise<HeadObjectCommandOutput | undefined> {
  try {
    return await s3.send(new HeadObjectCommand({ Bucket: t.bucket, Key: t.key, VersionId: t.versionId }));
  } catch (err) {
    // A HEAD error has no body, so it cannot tell NoSuchKey from NoSuchBucket or NoSuchVersion; the real call that
    // follows will fail with the precise code.
    if (awsErrorInfo(err).httpStatus === 404) return undefined;
    throw err;
  }
}

/** `x-amz-restore` says the restored copy is available. */
export function isRestored(restore: string | undefined): boolean {
  return !!restore && /ongoing-request="false"/.test(restore);
}

function isRestoring(restore: string | undefined): boolean {
  return !!restore && /ongoing-request="true"/.test(restore);
}

/**
 * S3InitiateRestoreObject. The task succeeds once the restore is initiated (202) or the object is already restored
 * (200, the expiry is extended). For an overlapping restore the service's rule (§8) applies: a restore still running
 * fails the task with RestoreAlreadyInProgress unless this job asks for a faster tier; S3 itself answers 409 for a
 * request that is not a tier upgrade. moto never answers 409 (its restores complete at once unless its state manager
 * is told otherwise, and a repeated request just resets the expiry), so the engine checks `x-amz-restore` first.
 *
 * With `restores` (a latency above 0) a restore of an archived object that is neither restored nor restoring is not
 * sent to S3: it is recorded as pending and completes at its due time (restores.ts). A pending restore is a running
 * one for the rule above, and since the table knows its days and tier, the whole rule applies.
 */
async function restoreObject(
  s3: S3Client,
  op: Extract<JobOperation, { type: 'S3InitiateRestoreObject' }>,
  t: TaskRef,
  restores: RestoreDeferral | undefined,
): Promise<TaskOutcome> {
  const head = await headObject(s3, t);
  const tier = op.GlacierJobTier ?? 'STANDARD';
  const days = op.ExpirationInDays ?? '-';
  if (head) {
    const cls = head.StorageClass ?? 'STANDARD';
    if (ARCHIVE_CLASSES.has(cls) && !op.ExpirationInDays) {
      return failed('InvalidArgument', 400, `ExpirationInDays must be at least 1 to restore a ${cls} object`);
    }
    if (cls === 'INTELLIGENT_TIERING' && op.ExpirationInDays !== undefined) {
      return failed(
        'InvalidArgument',
        400,
        'ExpirationInDays must be left out to restore an object from the Intelligent-Tiering archive tiers',
      );
    }
    const pending = isRestored(head.Restore)
      ? undefined
      : restores?.get(t.bucket, t.key, t.versionId ?? head.VersionId);
    if (pending) return overlapPending(pending, op, restores!);
    // Only BULK and STANDARD exist for Batch Operations, and the running restore's tier is not observable, so a BULK
    // request can never be the faster one; a STANDARD request is left to S3, which accepts genuine upgrades.
    if (isRestoring(head.Restore) && (TIER_RANK[tier] ?? 0) <= TIER_RANK.BULK!) {
      return failed(
        'RestoreAlreadyInProgress',
        409,
        `Object restore is already in progress (x-amz-restore: ${head.Restore}); a ${tier} request is not a faster tier`,
      );
    }
    if (restores && restores.latencyMs > 0 && ARCHIVE_CLASSES.has(cls) && !head.Restore) {
      const { persisted } = restores.defer({
        bucket: t.bucket,
        key: t.key,
        ...((t.versionId ?? head.VersionId) !== undefined ? { versionId: t.versionId ?? head.VersionId } : {}),
        tier,
        days: op.ExpirationInDays!,
      });
      await persisted;
      return succeeded(`Restore initiated (${tier}, ${days} days)`);
    }
  }
  const out = await s3.send(
    new RestoreObjectCommand({
      Bucket: t.bucket,
      Key: t.key,
      VersionId: t.versionId,
      RestoreRequest: {
        Days: op.ExpirationInDays,
        GlacierJobParameters: { Tier: tier === 'BULK' ? 'Bulk' : 'Standard' },
      },
    }),
  );
  if (isRestoring(head?.Restore)) return succeeded(`Restore already in progress; upgraded to the ${tier} tier`);
  if (out.$metadata.httpStatusCode === 200 || isRestored(head?.Restore)) {
    return succeeded(`Object already restored; restore expiry set to ${days} days from now`);
  }
  return succeeded(`Restore initiated (${tier}, ${days} days)`);
}

/**
 * A restore task on an object whose restore the engine holds pending: the service's rule for an overlapping restore
 * (§8). The same days and a faster tier upgrade the pending restore; anything else fails with
 * RestoreAlreadyInProgress, as it would while S3 runs the restore. The due time stays: the latency is one figure.
 */
async function overlapPending(
  pending: PendingRestore,
  op: Extract<JobOperation, { type: 'S3InitiateRestoreObject' }>,
  restores: RestoreDeferral,
): Promise<TaskOutcome> {
  const tier = op.GlacierJobTier ?? 'STANDARD';
  const running = `a ${pending.tier} restore for ${pending.days} days requested ${new Date(pending.requestedAt).toISOString()}`;
  if (op.ExpirationInDays !== pending.days) {
    return failed(
      'RestoreAlreadyInProgress',
      409,
      `Object restore is already in progress (${running}); a request with ExpirationInDays ${String(op.ExpirationInDays)} cannot join it`,
    );
  }
  if ((TIER_RANK[tier] ?? 0) <= (TIER_RANK[pending.tier] ?? 0)) {
    return failed(
      'RestoreAlreadyInProgress',
      409,
      `Object restore is already in progress (${running}); a ${tier} request is not a faster tier`,
    );
  }
  await restores.upgrade(pending, tier);
  return succeeded(`Restore already in progress; upgraded to the ${tier} tier`);
}

/** The destination key of a copy: `<TargetKeyPrefix>/<key>` (one `/` between them), or the key itself. */
export function copyTargetKey(prefix: string | undefined, key: string): string {
  if (!prefix) return key;
  return prefix.endsWith('/') ? prefix + key : `${prefix}/${key}`;
}

/** `x-amz-copy-source`: bucket, then the key percent-encoded segment by segment, then the version. */
export function copySource(t: TaskRef): string {
  const key = t.key.split('/').map(encodeURIComponent).join('/');
  return `${t.bucket}/${key}` + (t.versionId ? `?versionId=${encodeURIComponent(t.versionId)}` : '');
}

/** Tags as the `x-amz-tagging` query string. */
export function taggingHeader(tags: readonly { Key: string; Value: string }[]): string {
  return tags.map((t) => `${encodeURIComponent(t.Key)}=${encodeURIComponent(t.Value)}`).join('&');
}

/** CopyObject input for `op` on task `t` (pure; exported for tests). */
export function copyObjectInput(op: CopyOperation, t: TaskRef): CopyObjectCommandInput {
  const target = bucketFromArn(op.TargetResource) ?? op.TargetResource;
  const md = op.NewObjectMetadata ?? {};
  // "If you don't provide [NewObjectMetadata], Amazon S3 copies all the metadata from the original objects": so
  // metadata given without a directive replaces the source's; an explicit COPY keeps the source's.
  const givesMetadata = Object.entries(md).some(([name, v]) => name !== 'SSEAlgorithm' && v !== undefined);
  const replace = op.MetadataDirective === 'REPLACE' || (op.MetadataDirective === undefined && givesMetadata);
  const input: CopyObjectCommandInput = {
    Bucket: target,
    Key: copyTargetKey(op.TargetKeyPrefix, t.key),
    CopySource: copySource(t),
    MetadataDirective: replace ? 'REPLACE' : op.MetadataDirective,
    StorageClass: op.StorageClass as CopyObjectCommandInput['StorageClass'],
    ACL: op.CannedAccessControlList,
    ...(op.AccessControlGrants ? grantHeaders(op.AccessControlGrants) : {}),
    ServerSideEncryption: md.SSEAlgorithm === 'KMS' ? 'aws:kms' : md.SSEAlgorithm,
    SSEKMSKeyId: op.SSEAwsKmsKeyId,
    BucketKeyEnabled: op.BucketKeyEnabled,
    ChecksumAlgorithm: op.ChecksumAlgorithm as CopyObjectCommandInput['ChecksumAlgorithm'],
    ObjectLockLegalHoldStatus: op.ObjectLockLegalHoldStatus,
    ObjectLockMode: op.ObjectLockMode,
    ObjectLockRetainUntilDate: op.ObjectLockRetainUntilDate ? new Date(op.ObjectLockRetainUntilDate) : undefined,
    CopySourceIfModifiedSince: op.ModifiedSinceConstraint ? new Date(op.ModifiedSinceConstraint) : undefined,
    CopySourceIfUnmodifiedSince: op.UnModifiedSinceConstraint ? new Date(op.UnModifiedSinceConstraint) : undefined,
    WebsiteRedirectLocation: op.RedirectLocation,
    RequestPayer: op.RequesterPays ? 'requester' : undefined,
  };
  if (replace) {
    Object.assign(input, {
      CacheControl: md.CacheControl,
      ContentDisposition: md.ContentDisposition,
      ContentEncoding: md.ContentEncoding,
      ContentLanguage: md.ContentLanguage,
      ContentType: md.ContentType,
      Expires: md.HttpExpiresDate ? new Date(md.HttpExpiresDate) : undefined,
      Metadata: md.UserMetadata ?? {},
    });
  }
  if (op.NewObjectTagging !== undefined) {
    // Present, even empty: the copy gets exactly these tags. Absent: S3 copies the source's tags.
    input.TaggingDirective = 'REPLACE';
    input.Tagging = taggingHeader(op.NewObjectTagging);
  }
  return input;
}

async function copyObject(s3: S3Client, op: CopyOperation, t: TaskRef, log: Logger): Promise<TaskOutcome> {
  const head = await headObject(s3, t);
  if (head) {
    const cls = head.StorageClass ?? 'STANDARD';
    if ((ARCHIVE_CLASSES.has(cls) && !isRestored(head.Restore)) || head.ArchiveStatus) {
      return failed(
        'InvalidObjectState',
        403,
        `The operation is not valid for the object's storage class ${head.ArchiveStatus ?? cls}: restore it before copying`,
      );
    }
    if ((head.ContentLength ?? 0) > MAX_COPY_BYTES) {
      return failed(
        'InvalidRequest',
        400,
        `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_BYTES}`,
      );
    }
  }
  const input = copyObjectInput(op, t);
  let out;
  try {
    out = await s3.send(new CopyObjectCommand(input));
  } catch (err) {
    // moto wants Content-MD5 or a checksum header on a CopyObject that sets Object Lock fields, which real S3 does not
    // ask of a copy. Copy first, then set the lock on the new version: the same end state, in two calls.
    if (awsErrorInfo(err).name !== 'MissingUploadObjectWithObjectLockHeaders') throw err;
    log.debug('copy with Object Lock fields refused; applying the lock after the copy', { key: t.key });
    const { ObjectLockLegalHoldStatus, ObjectLockMode, ObjectLockRetainUntilDate, ...plain } = input;
    out = await s3.send(new CopyObjectCommand(plain));
    const target = { Bucket: input.Bucket, Key: input.Key, VersionId: out.VersionId };
    if (ObjectLockLegalHoldStatus) {
      await s3.send(new PutObjectLegalHoldCommand({ ...target, LegalHold: { Status: ObjectLockLegalHoldStatus } }));
    }
    if (ObjectLockMode || ObjectLockRetainUntilDate) {
      await s3.send(
        new PutObjectRetentionCommand({
          ...target,
          Retention: { Mode: ObjectLockMode, RetainUntilDate: ObjectLockRetainUntilDate },
        }),
      );
    }
  }
  return succeeded(
    JSON.stringify({
      TargetKey: input.Key,
      ...(out.CopySourceVersionId ? { CopySourceVersionId: out.CopySourceVersionId } : {}),
      ...(out.VersionId ? { VersionId: out.VersionId } : {}),
      ETag: out.CopyObjectResult?.ETag,
    }),
  );
}

/** Result codes of a Lambda response's `results[]` and `treatMissingKeysAs`. */
const RESULT_CODES = new Set(['Succeeded', 'TemporaryFailure', 'PermanentFailure']);

/** The invocation event of schema 1.0 or 2.0 for one task (exported for tests and tooling). */
export function lambdaEvent(
  op: Extract<JobOperation, { type: 'LambdaInvoke' }>,
  jobId: string,
  t: TaskRef,
  attempt: number,
): Record<string, unknown> {
  const version = op.InvocationSchemaVersion ?? '1.0';
  const taskId = Buffer.from(`${jobId}:${t.index}`).toString('base64url');
  const invocationId = Buffer.from(`${jobId}:${t.index}:${attempt}`).toString('base64url');
  if (version === '2.0') {
    return {
      invocationSchemaVersion: '2.0',
      invocationId,
      job: { id: jobId, userArguments: op.UserArguments ?? {} },
      tasks: [{ taskId, s3Key: t.rawKey, s3VersionId: t.versionId ?? null, s3Bucket: t.bucket }],
    };
  }
  return {
    invocationSchemaVersion: '1.0',
    invocationId,
    job: { id: jobId },
    tasks: [{ taskId, s3Key: t.rawKey, s3VersionId: t.versionId ?? null, s3BucketArn: `arn:aws:s3:::${t.bucket}` }],
  };
}

interface LambdaResult {
  code: 'Succeeded' | 'TemporaryFailure' | 'PermanentFailure';
  message?: string;
}

/**
 * Reads the function's response for task `taskId`. A result missing from `results[]` takes `treatMissingKeysAs`
 * (PermanentFailure when absent: the documented examples always send that, and the default is unconfirmed).
 */
export function lambdaResultFor(payload: unknown, taskId: string): LambdaResult | { invalid: string } {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    return { invalid: 'the payload is not a JSON object' };
  }
  const p = payload as { results?: unknown; treatMissingKeysAs?: unknown };
  if (!Array.isArray(p.results)) return { invalid: 'the payload has no results array' };
  const entry = (p.results as unknown[]).find(
    (r): r is { taskId: unknown; resultCode?: unknown; resultString?: unknown } =>
      !!r && typeof r === 'object' && (r as { taskId?: unknown }).taskId === taskId,
  );
  const str = (v: unknown) =>
    v === undefined || v === null ? undefined : typeof v === 'string' ? v : JSON.stringify(v);
  if (!entry) {
    const missing = typeof p.treatMissingKeysAs === 'string' ? p.treatMissingKeysAs : 'PermanentFailure';
    if (!RESULT_CODES.has(missing))
      return { invalid: `treatMissingKeysAs ${JSON.stringify(missing)} is not a result code` };
    return {
      code: missing as LambdaResult['code'],
      message: `No result for task ${taskId} (treatMissingKeysAs ${missing})`,
    };
  }
  if (typeof entry.resultCode !== 'string' || !RESULT_CODES.has(entry.resultCode)) {
    return {
      invalid: `resultCode ${JSON.stringify(entry.resultCode)} is not Succeeded, TemporaryFailure or PermanentFailure`,
    };
  }
  return { code: entry.resultCode as LambdaResult['code'], message: str(entry.resultString) };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function invokeLambda(
  op: Extract<JobOperation, { type: 'LambdaInvoke' }>,
  t: TaskRef,
  deps: RunnerDeps,
  log: Logger,
): Promise<TaskOutcome> {
  const attempts = Math.max(1, deps.lambdaRetry?.attempts ?? 3);
  let backoff = deps.lambdaRetry?.backoffMs ?? 200;
  if (!deps.lambda.has(op.FunctionArn)) {
    // What Lambda's Invoke answers for a function that does not exist; the engine knows no other functions.
    return failed(
      'ResourceNotFoundException',
      404,
      `Function not found: ${op.FunctionArn} (no local handler is registered: start the engine with --lambda ${op.FunctionArn}=<handler>)`,
    );
  }
  let last: TaskOutcome = failed('TemporaryFailure', 200);
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const event = lambdaEvent(op, deps.jobId, t, attempt);
    const taskId = (event.tasks as Array<{ taskId: string }>)[0]!.taskId;
    let payload: unknown;
    try {
      payload = await deps.lambda.invoke(op.FunctionArn, event);
    } catch (err) {
      if (err instanceof LambdaFunctionError) {
        return failed('PermanentFailure', 200, `Lambda returned function error: ${err.toPayload()}`);
      }
      if (err instanceof LambdaPayloadError) {
        return failed('PermanentFailure', 200, `Invalid JSON returned in Lambda payload: ${err.message}`);
      }
      throw err;
    }
    const result = lambdaResultFor(payload, taskId);
    if ('invalid' in result) {
      return failed('PermanentFailure', 200, `Invalid JSON returned in Lambda payload: ${result.invalid}`);
    }
    if (result.code === 'Succeeded') return succeeded(result.message);
    if (result.code === 'PermanentFailure') return failed('PermanentFailure', 200, result.message);
    last = failed('TemporaryFailure', 200, result.message);
    if (attempt < attempts) {
      log.debug('lambda TemporaryFailure, retrying', { key: t.key, attempt, backoffMs: backoff });
      await sleep(backoff);
      backoff *= 2;
    }
  }
  return last;
}
