/**
 * CreateJob's `ManifestGenerator` (`S3JobManifestGenerator`): the wire schema with the model's limits (reference §4),
 * and its encoding back into DescribeJob. Two list shapes differ from the rest of the API: `MatchAnyObjectEncryption`
 * names its items `<ObjectEncryption>` (not `<member>`), and each `KeyNameConstraint` list holds exactly one string.
 */
import { z } from 'zod';

import type { GeneratedManifestDescriptor, ManifestGeneratorSpec } from '../types';
import type { XmlOut } from '../xml';
import { bool, int, list, struct, text, timestamp } from './wire-schema';

/** The only format a generated manifest can have. */
export const GENERATED_MANIFEST_FORMAT = 'S3InventoryReport_CSV_20211130';

/** `S3StorageClass` of the S3 Control model: the classes `MatchAnyStorageClass` may name. */
export const GENERATOR_STORAGE_CLASSES = [
  'STANDARD',
  'STANDARD_IA',
  'ONEZONE_IA',
  'GLACIER',
  'INTELLIGENT_TIERING',
  'DEEP_ARCHIVE',
  'GLACIER_IR',
] as const;

/** `ReplicationStatus` of the S3 Control model (no PENDING: a generated manifest cannot select it). */
export const GENERATOR_REPLICATION_STATUSES = ['COMPLETED', 'FAILED', 'REPLICA', 'NONE'] as const;

/** The members of `ObjectEncryptionFilter`, as they appear on the wire. */
export const GENERATOR_ENCRYPTIONS = ['SSE-S3', 'SSE-KMS', 'DSSE-KMS', 'SSE-C', 'NOT-SSE'] as const;

const BUCKET_ARN = /^arn:[^:]+:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const bucketArn = text(1, 128).refine((s) => BUCKET_ARN.test(s), 'must be a bucket ARN like arn:aws:s3:::bucket-name');
const accountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit account id');

/** A list whose items are named `item` instead of `member`. */
function namedList<T extends z.ZodType>(item: string, schema: T) {
  return z.preprocess(
    (v) => {
      if (typeof v === 'string' && v.trim() === '') return [];
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        const keys = Object.keys(o);
        if (keys.length === 1 && keys[0] === item) return Array.isArray(o[item]) ? o[item] : [o[item]];
      }
      return v;
    },
    z.array(schema, { error: `must be a list of <${item}> elements` }),
  );
}

/** Each KeyNameConstraint list: "Fixed number of 1 item" in the model. */
const oneString = list(text(1, 1024)).refine((l) => l.length === 1, 'must hold exactly one string');

const objectEncryption = struct({
  'SSE-S3': struct({}).optional(),
  'SSE-KMS': struct({ KmsKeyArn: text(1, 2000).optional(), BucketKeyEnabled: bool.optional() }).optional(),
  'DSSE-KMS': struct({ KmsKeyArn: text(1, 2000).optional() }).optional(),
  'SSE-C': struct({}).optional(),
  'NOT-SSE': struct({}).optional(),
}).refine((e) => Object.keys(e).length === 1, `must contain exactly one of ${GENERATOR_ENCRYPTIONS.join(', ')}`);

const filterSchema = struct({
  EligibleForReplication: bool.optional(),
  CreatedAfter: timestamp.optional(),
  CreatedBefore: timestamp.optional(),
  ObjectReplicationStatuses: list(z.enum(GENERATOR_REPLICATION_STATUSES)).optional(),
  KeyNameConstraint: struct({
    MatchAnyPrefix: oneString.optional(),
    MatchAnySuffix: oneString.optional(),
    MatchAnySubstring: oneString.optional(),
  }).optional(),
  ObjectSizeGreaterThanBytes: int(0, Number.MAX_SAFE_INTEGER).optional(),
  ObjectSizeLessThanBytes: int(0, Number.MAX_SAFE_INTEGER).optional(),
  MatchAnyStorageClass: list(z.enum(GENERATOR_STORAGE_CLASSES)).optional(),
  MatchAnyObjectEncryption: namedList('ObjectEncryption', objectEncryption)
    .refine((l) => l.length === 1, 'must hold exactly one ObjectEncryption')
    .optional(),
})
  .refine((f) => !f.CreatedAfter || !f.CreatedBefore || f.CreatedAfter < f.CreatedBefore, {
    message: 'must be after CreatedAfter',
    path: ['CreatedBefore'],
  })
  .refine(
    (f) =>
      f.ObjectSizeGreaterThanBytes === undefined ||
      f.ObjectSizeLessThanBytes === undefined ||
      f.ObjectSizeGreaterThanBytes < f.ObjectSizeLessThanBytes,
    { message: 'must be greater than ObjectSizeGreaterThanBytes', path: ['ObjectSizeLessThanBytes'] },
  );

const outputLocation = struct({
  Bucket: bucketArn,
  ManifestFormat: z.enum([GENERATED_MANIFEST_FORMAT], { error: `must be ${GENERATED_MANIFEST_FORMAT}` }),
  ManifestPrefix: text(1, 512).optional(),
  ManifestEncryption: struct({
    'SSE-S3': struct({}).optional(),
    'SSE-KMS': struct({ KeyId: text(1, 2000) }).optional(),
  })
    .refine((e) => Object.keys(e).length === 1, 'must contain exactly one of SSE-S3, SSE-KMS')
    .optional(),
  ExpectedManifestBucketOwner: accountId.optional(),
});

const s3JobManifestGenerator = struct({
  ExpectedBucketOwner: accountId.optional(),
  SourceBucket: bucketArn,
  ManifestOutputLocation: outputLocation.optional(),
  Filter: filterSchema.optional(),
  EnableManifestOutput: bool,
}).refine((g) => !g.EnableManifestOutput || g.ManifestOutputLocation !== undefined, {
  message: 'is required when EnableManifestOutput is true',
  path: ['ManifestOutputLocation'],
});

/** `<ManifestGenerator>`: a union whose only member is `S3JobManifestGenerator`. */
export const manifestGeneratorSchema = struct({ S3JobManifestGenerator: s3JobManifestGenerator }).transform(
  (g) => g.S3JobManifestGenerator as ManifestGeneratorSpec,
);

/** The generator as DescribeJob shows it, in wire form (`<ObjectEncryption>` items, `<member>` lists). */
export function encodeManifestGenerator(g: ManifestGeneratorSpec): XmlOut {
  const members = (l: readonly string[] | undefined) => (l === undefined ? undefined : { member: [...l] });
  const f = g.Filter;
  const k = f?.KeyNameConstraint;
  const enc = g.ManifestOutputLocation?.ManifestEncryption;
  return {
    S3JobManifestGenerator: {
      ExpectedBucketOwner: g.ExpectedBucketOwner,
      SourceBucket: g.SourceBucket,
      ManifestOutputLocation: g.ManifestOutputLocation && {
        ExpectedManifestBucketOwner: g.ManifestOutputLocation.ExpectedManifestBucketOwner,
        Bucket: g.ManifestOutputLocation.Bucket,
        ManifestPrefix: g.ManifestOutputLocation.ManifestPrefix,
        ManifestEncryption: enc && {
          ...(enc['SSE-S3'] ? { 'SSE-S3': '' } : {}),
          ...(enc['SSE-KMS'] ? { 'SSE-KMS': { KeyId: enc['SSE-KMS'].KeyId } } : {}),
        },
        ManifestFormat: g.ManifestOutputLocation.ManifestFormat,
      },
      Filter: f && {
        EligibleForReplication: f.EligibleForReplication,
        CreatedAfter: f.CreatedAfter,
        CreatedBefore: f.CreatedBefore,
        ObjectReplicationStatuses: members(f.ObjectReplicationStatuses),
        KeyNameConstraint: k && {
          MatchAnyPrefix: members(k.MatchAnyPrefix),
          MatchAnySuffix: members(k.MatchAnySuffix),
          MatchAnySubstring: members(k.MatchAnySubstring),
        },
        ObjectSizeGreaterThanBytes: f.ObjectSizeGreaterThanBytes,
        ObjectSizeLessThanBytes: f.ObjectSizeLessThanBytes,
        MatchAnyStorageClass: members(f.MatchAnyStorageClass),
        MatchAnyObjectEncryption: f.MatchAnyObjectEncryption && {
          ObjectEncryption: f.MatchAnyObjectEncryption.map((e) => {
            const [name, params] = Object.entries(e)[0] as [string, Record<string, unknown>];
            const out: Record<string, XmlOut> = {};
            for (const [pk, pv] of Object.entries(params ?? {})) {
              if (pv !== undefined) out[pk] = pv as XmlOut;
            }
            return { [name]: Object.keys(out).length === 0 ? '' : out };
          }),
        },
      },
      EnableManifestOutput: g.EnableManifestOutput,
    },
  };
}

/** `<GeneratedManifestDescriptor>`. */
export function encodeGeneratedManifestDescriptor(d: GeneratedManifestDescriptor): XmlOut {
  return { Format: d.Format, Location: { ObjectArn: d.Location.ObjectArn, ETag: d.Location.ETag } };
}
