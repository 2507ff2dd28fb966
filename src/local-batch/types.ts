/**
 * The local S3 Batch Operations engine's internal model.
 *
 * The control plane (HTTP server, XML codec, store, scheduler) turns S3 Control wire requests into these types;
 * the data plane (manifest reader, operation runners, Lambda bridge, completion reports, fault injection) works on
 * them. Everything here is plain JSON so that it can be persisted under `--state-dir` as it is.
 */

/** Every status of the S3 Control `JobStatus` enum. */
export const JOB_STATUSES = [
  'Active',
  'Cancelled',
  'Cancelling',
  'Complete',
  'Completing',
  'Failed',
  'Failing',
  'New',
  'Paused',
  'Pausing',
  'Preparing',
  'Ready',
  'Suspended',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Statuses a job never leaves. */
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['Complete', 'Failed', 'Cancelled']);

export interface S3Tag {
  Key: string;
  Value: string;
}

export interface Grantee {
  TypeIdentifier?: 'id' | 'emailAddress' | 'uri';
  Identifier?: string;
  DisplayName?: string;
}

export interface Grant {
  Grantee?: Grantee;
  Permission?: 'FULL_CONTROL' | 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP';
}

export type CannedAcl =
  | 'private'
  | 'public-read'
  | 'public-read-write'
  | 'aws-exec-read'
  | 'authenticated-read'
  | 'bucket-owner-read'
  | 'bucket-owner-full-control';

/** `S3PutObjectCopy` parameters, named as on the wire. */
export interface CopyOperation {
  TargetResource: string;
  TargetKeyPrefix?: string;
  StorageClass?: string;
  MetadataDirective?: 'COPY' | 'REPLACE';
  CannedAccessControlList?: CannedAcl;
  AccessControlGrants?: Grant[];
  NewObjectMetadata?: {
    CacheControl?: string;
    ContentDisposition?: string;
    ContentEncoding?: string;
    ContentLanguage?: string;
    ContentType?: string;
    HttpExpiresDate?: string;
    SSEAlgorithm?: 'AES256' | 'KMS';
    UserMetadata?: Record<string, string>;
  };
  /** Absent: the source object's tags are copied. Present (even empty): the copy gets exactly these tags. */
  NewObjectTagging?: S3Tag[];
  ModifiedSinceConstraint?: string;
  UnModifiedSinceConstraint?: string;
  RedirectLocation?: string;
  RequesterPays?: boolean;
  SSEAwsKmsKeyId?: string;
  ObjectLockLegalHoldStatus?: 'ON' | 'OFF';
  ObjectLockMode?: 'COMPLIANCE' | 'GOVERNANCE';
  ObjectLockRetainUntilDate?: string;
  BucketKeyEnabled?: boolean;
  ChecksumAlgorithm?: string;
}

/**
 * The one operation of a job. Each variant carries the wire member's name as `type` and its parameters with their
 * wire names, so the codec can echo it back in DescribeJob.
 */
export type JobOperation =
  | {
      type: 'LambdaInvoke';
      FunctionArn: string;
      InvocationSchemaVersion?: '1.0' | '2.0';
      UserArguments?: Record<string, string>;
    }
  | ({ type: 'S3PutObjectCopy' } & CopyOperation)
  | { type: 'S3PutObjectTagging'; TagSet: S3Tag[] }
  | { type: 'S3DeleteObjectTagging' }
  | {
      type: 'S3PutObjectAcl';
      AccessControlPolicy: {
        CannedAccessControlList?: CannedAcl;
        AccessControlList?: { Owner: { ID?: string; DisplayName?: string }; Grants?: Grant[] };
      };
    }
  | { type: 'S3InitiateRestoreObject'; ExpirationInDays?: number; GlacierJobTier?: 'BULK' | 'STANDARD' }
  | { type: 'S3PutObjectLegalHold'; LegalHold: { Status: 'ON' | 'OFF' } }
  | {
      type: 'S3PutObjectRetention';
      Retention: { RetainUntilDate?: string; Mode?: 'COMPLIANCE' | 'GOVERNANCE' };
      BypassGovernanceRetention?: boolean;
    }
  | { type: 'S3ReplicateObject' }
  | ({ type: 'S3ComputeObjectChecksum' } & ChecksumOperation);

import type { ChecksumAlgorithm } from '../shared/s3-enums';

export { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from '../shared/s3-enums';

/** `S3ComputeObjectChecksum` parameters. Both are optional in the model; see checksum.ts for the defaults. */
export interface ChecksumOperation {
  ChecksumAlgorithm?: ChecksumAlgorithm;
  ChecksumType?: 'FULL_OBJECT' | 'COMPOSITE';
}

export type OperationName = JobOperation['type'];

/** Operations this engine executes. Others from the model (S3UpdateObjectEncryption) are refused at CreateJob. */
export const SUPPORTED_OPERATIONS: readonly OperationName[] = [
  'LambdaInvoke',
  'S3PutObjectCopy',
  'S3PutObjectTagging',
  'S3DeleteObjectTagging',
  'S3PutObjectAcl',
  'S3InitiateRestoreObject',
  'S3PutObjectLegalHold',
  'S3PutObjectRetention',
  'S3ReplicateObject',
  'S3ComputeObjectChecksum',
];

export type ManifestFormat = 'S3BatchOperations_CSV_20180820' | 'S3InventoryReport_CSV_20161130';

export interface JobManifest {
  Spec: { Format: ManifestFormat; Fields?: Array<'Bucket' | 'Key' | 'VersionId' | 'Ignore'> };
  Location: { ObjectArn: string; ObjectVersionId?: string; ETag: string };
}

export interface JobReport {
  Enabled: boolean;
  /** Bucket ARN, `arn:aws:s3:::name`. Required when enabled. */
  Bucket?: string;
  Format?: 'Report_CSV_20180820';
  Prefix?: string;
  ReportScope?: 'AllTasks' | 'FailedTasksOnly';
  /** Account id the report bucket must belong to; accepted and echoed, not checked locally. */
  ExpectedBucketOwner?: string;
}

/** One `MatchAnyObjectEncryption` item (`ObjectEncryptionFilter`): exactly one member. */
export type ObjectEncryptionFilter =
  | { 'SSE-S3': Record<string, never> }
  | { 'SSE-KMS': { KmsKeyArn?: string; BucketKeyEnabled?: boolean } }
  | { 'DSSE-KMS': { KmsKeyArn?: string } }
  | { 'SSE-C': Record<string, never> }
  | { 'NOT-SSE': Record<string, never> };

/** `JobManifestGeneratorFilter`: every given condition must hold. */
export interface ManifestGeneratorFilter {
  EligibleForReplication?: boolean;
  CreatedAfter?: string;
  CreatedBefore?: string;
  ObjectReplicationStatuses?: Array<'COMPLETED' | 'FAILED' | 'REPLICA' | 'NONE'>;
  KeyNameConstraint?: { MatchAnyPrefix?: string[]; MatchAnySuffix?: string[]; MatchAnySubstring?: string[] };
  ObjectSizeGreaterThanBytes?: number;
  ObjectSizeLessThanBytes?: number;
  MatchAnyStorageClass?: string[];
  MatchAnyObjectEncryption?: ObjectEncryptionFilter[];
}

/** `S3JobManifestGenerator`: the job lists `SourceBucket` itself instead of reading a manifest. */
export interface ManifestGeneratorSpec {
  /** Bucket ARN, `arn:aws:s3:::name`. */
  SourceBucket: string;
  EnableManifestOutput: boolean;
  /** Accepted and echoed, not checked locally. */
  ExpectedBucketOwner?: string;
  ManifestOutputLocation?: {
    /** Bucket ARN. */
    Bucket: string;
    ManifestFormat: 'S3InventoryReport_CSV_20211130';
    ManifestPrefix?: string;
    ManifestEncryption?: { 'SSE-S3'?: Record<string, never>; 'SSE-KMS'?: { KeyId: string } };
    ExpectedManifestBucketOwner?: string;
  };
  Filter?: ManifestGeneratorFilter;
}

/** Where a generated manifest was written (`GeneratedManifestDescriptor`). */
export interface GeneratedManifestDescriptor {
  Format: 'S3InventoryReport_CSV_20211130';
  /** `ObjectArn` names the manifest.json; `ETag` is its ETag, unquoted. */
  Location: { ObjectArn: string; ETag: string };
}

/** A validated CreateJob request. */
export interface CreateJobSpec {
  AccountId: string;
  /** Already defaulted: an absent element means `true`, as the service has been observed to behave. */
  ConfirmationRequired: boolean;
  Operation: JobOperation;
  Report: JobReport;
  ClientRequestToken: string;
  /** Exactly one of `Manifest` and `ManifestGenerator` is set. */
  Manifest?: JobManifest;
  /** The job generates its task list by listing a bucket (wire: `ManifestGenerator.S3JobManifestGenerator`). */
  ManifestGenerator?: ManifestGeneratorSpec;
  Description?: string;
  Priority: number;
  RoleArn: string;
  Tags?: S3Tag[];
}

export interface FailureReason {
  FailureCode: string;
  FailureReason: string;
}

export interface ProgressSummary {
  TotalNumberOfTasks: number;
  NumberOfTasksSucceeded: number;
  NumberOfTasksFailed: number;
  Timers: { ElapsedTimeInActiveSeconds: number };
}

/** One job as persisted in `<state-dir>/jobs/<id>/job.json`. Dates are ISO-8601 strings. */
export interface JobRecord {
  JobId: string;
  JobArn: string;
  /** A hash of the canonical CreateJob request, for ClientRequestToken idempotency. */
  requestHash: string;
  spec: CreateJobSpec;
  Status: JobStatus;
  Priority: number;
  Tags: S3Tag[];
  CreationTime: string;
  TerminationDate?: string;
  SuspendedDate?: string;
  SuspendedCause?: string;
  StatusUpdateReason?: string;
  FailureReasons: FailureReason[];
  ProgressSummary?: ProgressSummary;
  /** Set once a ManifestGenerator job has written its generated manifest (EnableManifestOutput). */
  GeneratedManifestDescriptor?: GeneratedManifestDescriptor;
  /** Milliseconds spent in Active before the current Active period (restart-safe timer). */
  activeMsBefore: number;
  /** When the current Active period began, if Active. */
  activeSince?: string;
}

/** One object of a job, in manifest order. `index` is its 0-based line in the manifest. */
export interface TaskRef {
  index: number;
  bucket: string;
  /** The decoded key, as S3 APIs take it. */
  key: string;
  /** The key exactly as the manifest wrote it (URL-encoded); completion reports echo this form. */
  rawKey: string;
  versionId?: string;
}

/** What one task ended with; one row of the completion report. */
export interface TaskOutcome {
  status: 'succeeded' | 'failed';
  httpStatus: number;
  /** S3 error code (`NoSuchKey`, `AccessDenied`, …) or `PermanentFailure`/`TemporaryFailure` for Lambda. */
  errorCode?: string;
  resultMessage?: string;
}

/** A failure of the whole job (not of one task): the job goes Failing → Failed with this reason. */
export class JobFailure extends Error {
  constructor(
    readonly failureCode: string,
    readonly failureReason: string,
  ) {
    super(`${failureCode}: ${failureReason}`);
    this.name = 'JobFailure';
  }
}

/** The Glacier retrieval tiers an S3InitiateRestoreObject job may ask for. */
export type RestoreTier = 'BULK' | 'STANDARD';

/**
 * A restore the engine has accepted but not yet passed on to S3 (engine option `restoreLatencyMs` > 0): until
 * `dueAt` the object stays archived; at `dueAt` the engine calls RestoreObject and sends the completion event.
 */
export interface PendingRestore {
  /** Engine-wide sequence number; the restore log refers to the record by it. */
  id: number;
  bucket: string;
  /** The decoded key. */
  key: string;
  /** The version the task named, else the version HEAD resolved (absent in an unversioned bucket). */
  versionId?: string;
  /** The fastest tier requested so far (a STANDARD task may upgrade a BULK restore). */
  tier: RestoreTier;
  /** `ExpirationInDays` of the request that started the restore. */
  days: number;
  /** When the restore was requested (ms since the epoch). */
  requestedAt: number;
  /** When it completes: `requestedAt` + the latency in force then (ms since the epoch). */
  dueAt: number;
}
