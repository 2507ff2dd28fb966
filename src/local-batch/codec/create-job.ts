/**
 * CreateJobRequest (and the tag sets of PutJobTaggingRequest): the wire schema, and its decoding into the engine's
 * {@link CreateJobSpec}. Limits and patterns come from the S3 Control model (reference §1, §2, §10).
 */
import { createHash } from 'node:crypto';

import { z } from 'zod';

import { CANNED_ACLS } from '../../shared/s3-enums';
import { COMPOSITE_ALGORITHMS } from '../checksum';
import type { CreateJobSpec, JobManifest, JobOperation, JobReport, OperationName, S3Tag } from '../types';
import { CHECKSUM_ALGORITHMS, SUPPORTED_OPERATIONS } from '../types';
import type { XmlValue } from '../xml';
import { ApiError, badRequest, invalidRequest } from './errors';
import { manifestGeneratorSchema } from './manifest-generator';
import { bool, int, list, map, parseWire, struct, text, timestamp } from './wire-schema';

/** Largest value of the model's `JobPriority` (a Java int). */
export const MAX_PRIORITY = 2147483647;
/** At most this many tags per job (reference §10). */
export const MAX_JOB_TAGS = 50;
/** S3 allows at most 10 tags on one object; a longer TagSet would fail every task. */
const MAX_OBJECT_TAGS = 10;

/** Operations of the model that this engine cannot perform, with the reason users see. */
export const UNSUPPORTED_OPERATIONS: Record<string, string> = {
  S3UpdateObjectEncryption: 'in-place encryption changes need KMS, which the local stack does not provide',
};

const ROLE_ARN = /^arn:[^:]+:iam::\d{12}:role\/.+$/;
const BUCKET_NAME = '[a-z0-9][a-z0-9.\\-]{1,61}[a-z0-9]';
const BUCKET_ARN = new RegExp(`^arn:[^:]+:s3:::${BUCKET_NAME}$`);
const OBJECT_ARN = new RegExp(`^arn:[^:]+:s3:::${BUCKET_NAME}/.+$`, 's');
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

const jobTag = struct({
  Key: text(1, 128).refine((s) => TAG_CHARS.test(s), 'may contain only letters, digits, spaces and _.:/=+-@'),
  Value: text(0, 256).refine((s) => TAG_CHARS.test(s), 'may contain only letters, digits, spaces and _.:/=+-@'),
});

const uniqueKeys = (tags: { Key: string }[]) => new Set(tags.map((t) => t.Key)).size === tags.length;

/** A job's tag set: at most 50, unique keys. */
export const jobTagSet = list(jobTag)
  .refine((tags) => tags.length <= MAX_JOB_TAGS, `must have at most ${MAX_JOB_TAGS} tags`)
  .refine(uniqueKeys, 'must not repeat a tag key');

const objectTag = struct({ Key: text(1, 128), Value: text(0, 256) });
const objectTagSet = list(objectTag)
  .refine((tags) => tags.length <= MAX_OBJECT_TAGS, `must have at most ${MAX_OBJECT_TAGS} tags (the S3 object limit)`)
  .refine(uniqueKeys, 'must not repeat a tag key');

const grant = struct({
  Grantee: struct({
    TypeIdentifier: z.enum(['id', 'emailAddress', 'uri']).optional(),
    Identifier: text(1, 1024).optional(),
    DisplayName: text(1, 1024).optional(),
  }).optional(),
  Permission: z.enum(['FULL_CONTROL', 'READ', 'WRITE', 'READ_ACP', 'WRITE_ACP']).optional(),
});
const cannedAcl = z.enum(CANNED_ACLS);
const bucketArn = text(1, 128).refine((s) => BUCKET_ARN.test(s), 'must be a bucket ARN like arn:aws:s3:::bucket-name');

const OPERATION_SCHEMAS = {
  LambdaInvoke: struct({
    FunctionArn: text(1, 1024),
    InvocationSchemaVersion: z.enum(['1.0', '2.0']).optional(),
    UserArguments: map(text(1, 64), text(0, 1024), { min: 1, max: 10 }).optional(),
  }).refine((op) => op.UserArguments === undefined || op.InvocationSchemaVersion === '2.0', {
    message: 'must be 2.0 when UserArguments are given',
    path: ['InvocationSchemaVersion'],
  }),
  S3PutObjectCopy: struct({
    TargetResource: bucketArn,
    CannedAccessControlList: cannedAcl.optional(),
    AccessControlGrants: list(grant).optional(),
    MetadataDirective: z.enum(['COPY', 'REPLACE']).optional(),
    ModifiedSinceConstraint: timestamp.optional(),
    NewObjectMetadata: struct({
      CacheControl: text(1, 1024).optional(),
      ContentDisposition: text(1, 1024).optional(),
      ContentEncoding: text(1, 1024).optional(),
      ContentLanguage: text(1, 1024).optional(),
      UserMetadata: map(text(1, 1024), text(0, 1024), { min: 0, max: 1000 }).optional(),
      // Deprecated in the model and ignored by the service; accepted so older clients still work.
      ContentLength: int(0, Number.MAX_SAFE_INTEGER).optional(),
      ContentMD5: text(1, 1024).optional(),
      RequesterCharged: bool.optional(),
      ContentType: text(1, 1024).optional(),
      HttpExpiresDate: timestamp.optional(),
      SSEAlgorithm: z.enum(['AES256', 'KMS']).optional(),
    })
      .transform(({ ContentLength, ContentMD5, RequesterCharged, ...kept }) => {
        void ContentLength;
        void ContentMD5;
        void RequesterCharged;
        return kept;
      })
      .optional(),
    NewObjectTagging: objectTagSet.optional(),
    RedirectLocation: text(1, 2048).optional(),
    RequesterPays: bool.optional(),
    StorageClass: z
      .enum(['STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'GLACIER', 'INTELLIGENT_TIERING', 'DEEP_ARCHIVE', 'GLACIER_IR'])
      .optional(),
    UnModifiedSinceConstraint: timestamp.optional(),
    SSEAwsKmsKeyId: text(1, 2000).optional(),
    TargetKeyPrefix: text(1, 1024).optional(),
    ObjectLockLegalHoldStatus: z.enum(['ON', 'OFF']).optional(),
    ObjectLockMode: z.enum(['COMPLIANCE', 'GOVERNANCE']).optional(),
    ObjectLockRetainUntilDate: timestamp.optional(),
    BucketKeyEnabled: bool.optional(),
    ChecksumAlgorithm: z
      .enum(['CRC32', 'CRC32C', 'SHA1', 'SHA256', 'CRC64NVME', 'SHA512', 'MD5', 'XXHASH64', 'XXHASH3', 'XXHASH128'])
      .optional(),
  }),
  S3PutObjectAcl: struct({
    AccessControlPolicy: struct({
      AccessControlList: struct({
        Owner: struct({ ID: text(1, 1024).optional(), DisplayName: text(1, 1024).optional() }),
        Grants: list(grant).optional(),
      }).optional(),
      CannedAccessControlList: cannedAcl.optional(),
    }).refine(
      (p) => (p.AccessControlList === undefined) !== (p.CannedAccessControlList === undefined),
      'must have exactly one of AccessControlList and CannedAccessControlList',
    ),
  }),
  S3PutObjectTagging: struct({ TagSet: objectTagSet.optional() }).transform((op) => ({ TagSet: op.TagSet ?? [] })),
  S3DeleteObjectTagging: struct({}),
  S3InitiateRestoreObject: struct({
    ExpirationInDays: int(0, MAX_PRIORITY).optional(),
    GlacierJobTier: z
      .enum(['BULK', 'STANDARD'], { error: 'must be BULK or STANDARD (Batch Operations has no EXPEDITED)' })
      .optional(),
  }),
  S3PutObjectLegalHold: struct({ LegalHold: struct({ Status: z.enum(['ON', 'OFF']) }) }),
  S3PutObjectRetention: struct({
    Retention: struct({
      RetainUntilDate: timestamp.optional(),
      Mode: z.enum(['COMPLIANCE', 'GOVERNANCE']).optional(),
    }).refine(
      (r) => (r.Mode === undefined) === (r.RetainUntilDate === undefined),
      'must have both Mode and RetainUntilDate, or neither (which removes retention)',
    ),
    BypassGovernanceRetention: bool.optional(),
  }),
  S3ReplicateObject: struct({}),
  S3ComputeObjectChecksum: struct({
    ChecksumAlgorithm: z.enum(CHECKSUM_ALGORITHMS).optional(),
    ChecksumType: z.enum(['FULL_OBJECT', 'COMPOSITE']).optional(),
  }).refine((op) => op.ChecksumType !== 'COMPOSITE' || COMPOSITE_ALGORITHMS.has(op.ChecksumAlgorithm ?? 'CRC64NVME'), {
    message: `COMPOSITE is defined only for ${[...COMPOSITE_ALGORITHMS].join(', ')}; use FULL_OBJECT`,
    path: ['ChecksumType'],
  }),
} satisfies Record<OperationName, z.ZodType>;

const isOperationName = (name: string): name is OperationName =>
  (SUPPORTED_OPERATIONS as readonly string[]).includes(name);

/** Decodes the one member of `<Operation>`. @throws ApiError InvalidRequest */
export function decodeOperation(value: XmlValue | undefined): JobOperation {
  if (value === undefined) throw invalidRequest('Operation is required');
  const members =
    typeof value === 'string' ? (value.trim() === '' ? [] : null) : Array.isArray(value) ? null : Object.keys(value);
  if (members === null) throw invalidRequest('Operation must contain exactly one operation element');
  const [name] = members;
  if (members.length !== 1 || name === undefined) {
    throw invalidRequest(
      `Operation must contain exactly one operation element, found ${members.length === 0 ? 'none' : members.join(', ')}`,
    );
  }
  const reason = UNSUPPORTED_OPERATIONS[name];
  if (reason !== undefined) {
    throw invalidRequest(`Operation ${name} is not supported by this local engine: ${reason}`);
  }
  if (!isOperationName(name)) {
    throw invalidRequest(
      `Operation ${name} is not a known operation; expected one of ${SUPPORTED_OPERATIONS.join(', ')}`,
    );
  }
  const params = (value as Record<string, XmlValue>)[name];
  const res = parseWire(OPERATION_SCHEMAS[name], params, `Operation.${name}`);
  if (!res.ok) throw invalidRequest(res.message);
  return { type: name, ...res.value } as JobOperation;
}

const manifestSchema = struct({
  Spec: struct({
    Format: z.enum(['S3BatchOperations_CSV_20180820', 'S3InventoryReport_CSV_20161130'], {
      error:
        'must be S3BatchOperations_CSV_20180820 or S3InventoryReport_CSV_20161130 (other formats are not supported)',
    }),
    Fields: list(z.enum(['Ignore', 'Bucket', 'Key', 'VersionId'])).optional(),
  }),
  Location: struct({
    ObjectArn: text(1, 2000).refine(
      (s) => OBJECT_ARN.test(s),
      'must be an object ARN like arn:aws:s3:::bucket-name/manifest.csv',
    ),
    ObjectVersionId: text(1, 2000).optional(),
    ETag: text(1, 1024),
  }),
}).superRefine((m, ctx) => {
  if (m.Spec.Format !== 'S3BatchOperations_CSV_20180820') return;
  const fields = m.Spec.Fields;
  const count = (f: string) => fields?.filter((x) => x === f).length ?? 0;
  if (!fields || count('Bucket') !== 1 || count('Key') !== 1 || count('VersionId') > 1) {
    ctx.addIssue({
      code: 'custom',
      path: ['Spec', 'Fields'],
      message: 'must name the CSV columns, with Bucket and Key exactly once and VersionId at most once',
    });
  }
});

const reportSchema = struct({
  Enabled: bool,
  Bucket: bucketArn.optional(),
  Format: z.enum(['Report_CSV_20180820']).optional(),
  Prefix: text(1, 512).optional(),
  ReportScope: z.enum(['AllTasks', 'FailedTasksOnly']).optional(),
  ExpectedBucketOwner: z
    .string()
    .regex(/^\d{12}$/, 'must be a 12-digit account id')
    .optional(),
})
  .refine((r) => !r.Enabled || r.Bucket !== undefined, {
    message: 'is required when the report is enabled',
    path: ['Bucket'],
  })
  .transform((r): JobReport => (r.Enabled ? { Format: 'Report_CSV_20180820', ReportScope: 'AllTasks', ...r } : r));

const createJobSchema = struct({
  ConfirmationRequired: bool.optional(),
  Operation: z.custom<XmlValue>((v) => v !== undefined, { message: 'is required' }),
  Report: reportSchema,
  ClientRequestToken: text(1, 64),
  Manifest: manifestSchema.optional(),
  Description: text(1, 256).optional(),
  Priority: int(0, MAX_PRIORITY),
  RoleArn: text(1, 2048).refine(
    (s) => ROLE_ARN.test(s),
    'must be an IAM role ARN like arn:aws:iam::123456789012:role/BatchOperationsRole',
  ),
  Tags: jobTagSet.optional(),
  ManifestGenerator: manifestGeneratorSchema.optional(),
});

/**
 * Decodes and validates a CreateJobRequest body (already parsed from XML). An absent `ConfirmationRequired` means
 * `true`, as the real service has been observed to behave.
 *
 * @throws ApiError InvalidRequest naming the field that is wrong.
 */
export function decodeCreateJob(root: string, body: XmlValue, accountId: string): CreateJobSpec {
  if (root !== 'CreateJobRequest') throw invalidRequest(`expected a CreateJobRequest document, got ${root}`);
  const res = parseWire(createJobSchema, body);
  if (!res.ok) throw invalidRequest(res.message);
  const req = res.value;
  if (req.ManifestGenerator !== undefined && req.Manifest !== undefined) {
    throw invalidRequest('Manifest and ManifestGenerator cannot both be given: a job takes one or the other');
  }
  if (req.Manifest === undefined && req.ManifestGenerator === undefined) {
    throw invalidRequest('Manifest or ManifestGenerator is required');
  }
  const manifest: JobManifest | undefined = req.Manifest;
  return {
    AccountId: accountId,
    ConfirmationRequired: req.ConfirmationRequired ?? true,
    Operation: decodeOperation(req.Operation),
    Report: req.Report,
    ClientRequestToken: req.ClientRequestToken,
    ...(manifest !== undefined ? { Manifest: manifest } : {}),
    ...(req.ManifestGenerator !== undefined ? { ManifestGenerator: req.ManifestGenerator } : {}),
    ...(req.Description !== undefined ? { Description: req.Description } : {}),
    Priority: req.Priority,
    RoleArn: req.RoleArn,
    ...(req.Tags !== undefined ? { Tags: req.Tags } : {}),
  };
}

/** Decodes a PutJobTaggingRequest body into its tag set. @throws ApiError (TooManyTagsException past 50 tags) */
export function decodePutJobTagging(root: string, body: XmlValue): S3Tag[] {
  if (root !== 'PutJobTaggingRequest') throw badRequest(`expected a PutJobTaggingRequest document, got ${root}`);
  const shape = parseWire(struct({ Tags: list(z.unknown()) }), body);
  if (!shape.ok) throw badRequest(shape.message);
  if (shape.value.Tags.length > MAX_JOB_TAGS) {
    throw new ApiError(
      'TooManyTagsException',
      `Tags has ${shape.value.Tags.length} tags; a job may have at most ${MAX_JOB_TAGS}`,
    );
  }
  const tags = parseWire(jobTagSet, (body as Record<string, XmlValue>).Tags, 'Tags');
  if (!tags.ok) throw badRequest(tags.message);
  return tags.value;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * A hash of everything a CreateJob request asks for, so that a retried request (same ClientRequestToken) can be told
 * apart from a different request reusing the token. Element order and tag order do not matter.
 */
export function createJobRequestHash(spec: CreateJobSpec): string {
  const tags = [...(spec.Tags ?? [])].sort((a, b) => (a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : 0));
  return createHash('sha256')
    .update(canonicalJson({ ...spec, Tags: tags }))
    .digest('hex');
}
