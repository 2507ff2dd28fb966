/**
 * The campaign spec: the campaign workflow's single input, typed by people into the Temporal UI's "Start workflow"
 * form or passed to `s3-campaigns start` as a file. Plain JSON with defaults; every error names the field.
 *
 * Imported by workflow code: keep it free of Node built-ins and the AWS SDK.
 */
import { z } from 'zod';

import { InventoryFilterSchema } from '../inventory/types';

import { bucketSourceProblems } from './bucket-source';
import { CANNED_ACLS, CHECKSUM_ALGORITHMS, COMPOSITE_ALGORITHMS } from './s3-enums';
import { unknownFields } from './suggest';

const S3_URI = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.*)$/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Temporal/`ms`-style durations: `90s`, `5m`, `72h`, `7d`, or plain milliseconds. */
const DURATION = /^\d+(\.\d+)?\s*(ms|s|m|h|d)$|^\d+$/;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a duration string that passed the DURATION pattern. */
export function durationMs(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new Error(`not a duration: ${value}`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!);
}

/** The shortest spelling of a duration: 86400000 → `1d`, 5400000 → `90m`, 1500 → `1500ms`, 0 → `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * A duration field with a documented range: a value outside it is a spec error, never a hot loop (`"0"`) or a timer
 * so far away that the workflow can no longer compute its deadline (`"99999999999d"`).
 */
const duration = (what: string, min: number, max: number) =>
  z
    .string()
    .regex(DURATION, `${what} must be a duration such as "90s", "5m", "72h" or "7d"`)
    .refine(
      (v) => {
        // A value that is no duration at all is reported by the pattern above.
        if (!DURATION.test(v)) return true;
        const ms = durationMs(v);
        return ms >= min && ms <= max;
      },
      `${what} must be between ${formatDuration(min)} and ${formatDuration(max)}`,
    );

/** `pollInterval: "auto"`: the workflow adapts the wait to the jobs (src/campaign/poll-interval.ts). */
export const AUTO_POLL_INTERVAL = 'auto';
/** What `"auto"` meant before it adapted: histories of earlier releases replay with this fixed interval. */
export const LEGACY_POLL_INTERVAL = '60s';

/** The ranges of the spec's durations, in milliseconds (README: "Campaign spec"). */
export const DURATION_RANGES = {
  /** Faster than once a second only fills the history; slower than hourly hides a job's end for too long. */
  pollInterval: { min: 1000, max: 3_600_000 },
  /** Up to 30 days, the time S3 keeps a job Suspended before failing it. */
  approvalTimeout: { min: 1000, max: 30 * 86_400_000 },
  /** No wait at all up to a week. */
  retryDelay: { min: 0, max: 7 * 86_400_000 },
  /** restore-and-copy: seconds for tests; a wave held longer than a day only risks the restored copies expiring. */
  waveMaxWait: { min: 1000, max: 86_400_000 },
  /** restore-and-copy: seconds for tests; a day at most, so a restore is never noticed more than a day late. */
  sweepInterval: { min: 1000, max: 86_400_000 },
  /** restore-and-copy: none at all up to 2 days, Deep Archive Bulk's longest restore. */
  firstSweepAfter: { min: 0, max: 2 * 86_400_000 },
  /** restore-and-copy: seconds for tests; a day at most, as sweeps. */
  eventInterval: { min: 1000, max: 86_400_000 },
  /** restore-and-copy: at least a second; the upper bound is `expirationDays` (checked on the operation). */
  expiryMargin: { min: 1000, max: 30 * 86_400_000 },
} as const;

/** Sizes: `5GB`, `512MiB`, `6291456` (bytes). S3 spells its limits in binary units, so `5GB` is 5 GiB, as in S3's. */
const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?$/;
const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 2 ** 10,
  KiB: 2 ** 10,
  MB: 2 ** 20,
  MiB: 2 ** 20,
  GB: 2 ** 30,
  GiB: 2 ** 30,
  TB: 2 ** 40,
  TiB: 2 ** 40,
};

/** Bytes of a size string: `5GB` → 5368709120 (binary units, as S3's limits), `6291456` → 6291456. */
export function sizeBytes(value: string): number {
  const m = SIZE.exec(value.trim());
  if (!m) throw new Error(`not a size: ${value}`);
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2] ?? 'B']!);
}

/** A size field with a documented range, like the durations: errors name the field and the range. */
const size = (what: string, min: number, max: number, minText: string, maxText: string) =>
  z
    .string()
    .regex(SIZE, `${what} must be a size such as "5GB", "512MiB" or a number of bytes`)
    .refine((v) => {
      if (!SIZE.test(v.trim())) return true;
      const b = sizeBytes(v);
      return b >= min && b <= max;
    }, `${what} must be between ${minText} and ${maxText}`);

/** S3PutObjectCopy (and CopyObject) copy objects up to 5 GiB; UploadPartCopy parts are at least 5 MiB. */
export const LARGE_OBJECT_THRESHOLD_RANGE = { min: 5 * 2 ** 20, max: 5 * 2 ** 30 } as const;

const s3Uri = (what: string) => z.string().regex(S3_URI, `${what} must be an s3://bucket/key URI`);

const bucketName = z
  .string()
  .regex(BUCKET_NAME, 'must be an S3 bucket name (3–63 lower-case letters, digits, dots, hyphens)');

/**
 * Why a key prefix is unsafe, or undefined when it is fine: no `.` or `..` segment (tools that sync S3 to a file
 * system resolve them, and they read as path traversal), no empty segment (`a//b`), no leading `/`, no control
 * characters. A trailing `/` is allowed where the field allows it.
 */
export function keyPrefixProblem(value: string, allowTrailingSlash: boolean): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'must not contain control characters';
  if (value.startsWith('/')) return 'must not start with "/"';
  const segments = (allowTrailingSlash && value.endsWith('/') ? value.slice(0, -1) : value).split('/');
  if (segments.some((seg) => seg === '.' || seg === '..')) return 'must not contain "." or ".." segments';
  if (value !== '' && segments.some((seg) => seg === '')) return 'must not contain empty segments ("//")';
  return undefined;
}

const keyPrefix = (what: string, allowTrailingSlash: boolean) =>
  z.string().superRefine((v, ctx) => {
    const problem = keyPrefixProblem(v, allowTrailingSlash);
    if (problem) ctx.addIssue({ code: 'custom', message: `${what} ${problem}` });
  });

/**
 * An IAM role ARN with IAM's path and name rules: the path is `/` or `/segment/…/` (at most 512 characters), the
 * name 1–64 of letters, digits and `+=,.@_-`. Segments `.` and `..` are refused, though IAM's own pattern would let
 * them through: they only ever appear in traversal attempts.
 */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role(\/(?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,64})$/;

function isRoleArn(value: string): boolean {
  const m = ROLE_ARN.exec(value);
  if (!m) return false;
  const rolePath = m[1]!;
  return rolePath.length <= 512 && !rolePath.split('/').some((seg) => seg === '.' || seg === '..');
}

export { STORAGE_CLASSES } from './s3-enums';

const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

const tagSet = z
  .record(
    z.string().regex(TAG_KEY, 'tag keys are 1–128 letters, digits, spaces or _.:/=+-@'),
    z.string().regex(TAG_VALUE, 'tag values are 0–256 letters, digits, spaces or _.:/=+-@'),
  )
  .refine((t) => Object.keys(t).length <= 10, 'S3 objects take at most 10 tags');

// ---------------------------------------------------------------------------------------------------------------
// Source
// ---------------------------------------------------------------------------------------------------------------

export const SourceSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('inventory'),
      /** `s3://bucket/…/manifest.json` of one S3 Inventory report. */
      manifest: s3Uri('source.manifest').refine(
        (v) => v.endsWith('manifest.json'),
        'source.manifest must name an inventory manifest.json',
      ),
    })
    .strict(),
  z
    .object({
      type: z.literal('inventory-latest'),
      /** An inventory destination prefix, `s3://bucket/prefix/source-bucket/config-id/`: the newest report under it. */
      destination: s3Uri('source.destination'),
    })
    .strict(),
  z
    .object({
      type: z.literal('csv'),
      /** An existing Batch Operations CSV manifest, `s3://bucket/key.csv` (`bucket,key[,versionId]`, URL-encoded keys). */
      manifest: s3Uri('source.manifest'),
    })
    .strict(),
  z
    .object({
      type: z.literal('keys'),
      bucket: bucketName,
      /** Object keys as they are (not URL-encoded). For small campaigns; use an inventory beyond 10,000 keys. */
      keys: z
        .array(z.string().min(1, 'keys must not be empty strings').max(1024, 'S3 keys are at most 1024 bytes'))
        .min(1, 'source.keys needs at least one key')
        .max(10_000, 'source.keys takes at most 10,000 keys: use an inventory or a CSV manifest for more'),
    })
    .strict(),
  z
    .object({
      type: z.literal('bucket'),
      /** The bucket whose objects the campaign takes: listed, no S3 Inventory needed. */
      bucket: bucketName,
      /** Only keys that start with this prefix (as they are, not URL-encoded). @default "" (the whole bucket) */
      prefix: z.string().max(1024, 'source.prefix is at most 1024 characters').optional(),
      /** Every version and delete marker (ListObjectVersions) instead of the current objects. @default false */
      versions: z.boolean().default(false),
      /**
       * Who lists the bucket: `list`, the worker (in parallel, resumable); or `s3`, S3 itself (CreateJob's
       * ManifestGenerator, which the local engine implements too; only the filters it can express). @default "list"
       */
      generator: z.enum(['list', 's3']).default('list'),
    })
    .strict(),
  z
    .object({
      type: z.literal('campaign-failures'),
      /** The id (workflow id) of the campaign whose failures run again: its folder holds the failed.csv. */
      campaignId: z.string().min(1, 'source.campaignId must not be empty'),
      /** Only the failures with one of these error codes (as in failed.csv's errorCode column). @default every failure */
      errorCodes: z
        .array(z.string().min(1, 'source.errorCodes must not hold empty strings'))
        .min(1, 'source.errorCodes needs at least one code (leave it out for every failure)')
        .optional(),
      /**
       * Where that campaign wrote its folder, when it is not where this spec's `report` says:
       * `<bucket>/<prefix>/<campaignId>/failed.csv`. @default this spec's report bucket and prefix
       */
      report: z
        .object({
          bucket: bucketName,
          prefix: z.string().min(1, 'source.report.prefix must not be empty').optional(),
        })
        .strict()
        .optional(),
    })
    .strict(),
]);
export type CampaignSource = z.infer<typeof SourceSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Filter (inventory sources)
// ---------------------------------------------------------------------------------------------------------------

const isoDate = (what: string) =>
  z
    .string()
    .refine((v) => !Number.isNaN(Date.parse(v)), `${what} must be an ISO-8601 date such as 2024-01-31T00:00:00Z`);

/**
 * The inventory filter is the inventory module's own schema (one definition for the CLI, the activity and the
 * spec): keyPrefixes, keySuffixes, keyRegex, storageClasses, minSize/maxSize, modifiedAfter/modifiedBefore,
 * latestOnly, skipDeleteMarkers, encryptionStatuses, objectLockModes, objectLockLegalHoldStatuses,
 * replicationStatuses, intelligentTieringAccessTiers.
 */
export const FilterSchema = InventoryFilterSchema;
export type CampaignFilter = z.infer<typeof FilterSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Operation
// ---------------------------------------------------------------------------------------------------------------

/** Batch Operations restores take BULK or STANDARD only. */
const RESTORE_TIER = z.enum(['BULK', 'STANDARD']);

/** The fields of a copy, shared by `copy` and `restore-and-copy` (whose copy waves are `copy` operations). */
const COPY_FIELDS = {
  targetBucket: bucketName,
  /** Prepended to each key in the target bucket, e.g. "dr/". */
  targetKeyPrefix: keyPrefix('operation.targetKeyPrefix', true)
    .pipe(z.string().max(512, 'operation.targetKeyPrefix is at most 512 characters'))
    .optional(),
  storageClass: z
    .enum(['STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'GLACIER', 'INTELLIGENT_TIERING', 'DEEP_ARCHIVE', 'GLACIER_IR'])
    .optional(),
  /** COPY keeps the source metadata; REPLACE uses `metadata`. @default "COPY" */
  metadataDirective: z.enum(['COPY', 'REPLACE']).default('COPY'),
  metadata: z
    .object({
      contentType: z.string().optional(),
      cacheControl: z.string().optional(),
      contentDisposition: z.string().optional(),
      contentEncoding: z.string().optional(),
      contentLanguage: z.string().optional(),
      userMetadata: z.record(z.string(), z.string()).optional(),
    })
    .strict()
    .optional(),
  /** Tags of the copies: absent copies the source tags; a map replaces them. */
  tags: tagSet.optional(),
  cannedAcl: z.enum(CANNED_ACLS).optional(),
};

const metadataNeedsReplace = {
  check: (o: { metadata?: unknown; metadataDirective: 'COPY' | 'REPLACE' }) =>
    o.metadata === undefined || o.metadataDirective === 'REPLACE',
  issue: { message: 'operation.metadata needs operation.metadataDirective "REPLACE"', path: ['metadata'] },
};

/**
 * The pacing knobs of a `restore-and-copy` campaign. Defaults suit a 10-million-object campaign: waves of 100,000
 * objects (100 copy jobs' worth of fees spread over a campaign, none idling for hours), HEAD sweeps paced to the tier.
 */
export const RestoreAndCopySchema = z
  .object({
    type: z.literal('restore-and-copy'),
    /** Restore tier of the Batch Operations restore jobs (and of extensions). @default "BULK" */
    tier: RESTORE_TIER.default('BULK'),
    /** Days each restored copy stays available; the expiry guard extends it while the copy waits. @default 7 */
    expirationDays: z.number().int().min(1).max(30_000).default(7),
    ...COPY_FIELDS,
    /**
     * Objects above this size are copied by the worker (multipart UploadPartCopy) instead of by a Batch copy job.
     * 5 MiB – 5 GiB. @default "5GB" (S3PutObjectCopy's limit, 5 GiB)
     */
    largeObjectThreshold: size(
      'operation.largeObjectThreshold',
      LARGE_OBJECT_THRESHOLD_RANGE.min,
      LARGE_OBJECT_THRESHOLD_RANGE.max,
      '5MiB',
      '5GiB',
    ).default('5GB'),
    waves: z
      .object({
        /** A wave starts once this many restored objects wait … @default 100000 */
        minObjects: z.number().int().min(1, 'operation.waves.minObjects must be at least 1').default(100_000),
        /** … or once the oldest waiting one has waited this long (1 s – 1 d). @default "2h" */
        maxWait: duration(
          'operation.waves.maxWait',
          DURATION_RANGES.waveMaxWait.min,
          DURATION_RANGES.waveMaxWait.max,
        ).default('2h'),
        /** Copy waves running at once at most (1–100). @default 4 */
        maxConcurrent: z
          .number()
          .int()
          .min(1, 'operation.waves.maxConcurrent must be between 1 and 100')
          .max(100, 'operation.waves.maxConcurrent must be between 1 and 100')
          .default(4),
      })
      .strict()
      .default({ minObjects: 100_000, maxWait: '2h', maxConcurrent: 4 }),
    tracking: z
      .object({
        /**
         * Time between HEAD sweeps (1 s – 1 d, at most `expiryMargin`: a copy restored just after a sweep is then
         * seen before it is within the margin). @default by tier: STANDARD "30m", BULK "2h" (at most `expiryMargin`)
         */
        sweepInterval: duration(
          'operation.tracking.sweepInterval',
          DURATION_RANGES.sweepInterval.min,
          DURATION_RANGES.sweepInterval.max,
        ).optional(),
        /** Wait before the first sweep (0 – 2 d). @default by tier: STANDARD "3h", BULK "5h" (no restore is faster) */
        firstSweepAfter: duration(
          'operation.tracking.firstSweepAfter',
          DURATION_RANGES.firstSweepAfter.min,
          DURATION_RANGES.firstSweepAfter.max,
        ).optional(),
        /** HEAD (and extension) requests per second at most, 1–10,000. @default 500 */
        headRatePerSecond: z
          .number()
          .int()
          .min(1, 'operation.tracking.headRatePerSecond must be between 1 and 10000')
          .max(10_000, 'operation.tracking.headRatePerSecond must be between 1 and 10000')
          .default(500),
        /** HEAD requests in flight at most, 1–256. @default 32 */
        headConcurrency: z
          .number()
          .int()
          .min(1, 'operation.tracking.headConcurrency must be between 1 and 256')
          .max(256, 'operation.tracking.headConcurrency must be between 1 and 256')
          .default(32),
        /**
         * With `queueUrl`: how often restore events are read and applied between sweeps (1 s – 1 d). Such a step
         * reads and rewrites only the shards that got events. @default "5m"
         */
        eventInterval: duration(
          'operation.tracking.eventInterval',
          DURATION_RANGES.eventInterval.min,
          DURATION_RANGES.eventInterval.max,
        ).optional(),
        /** An SQS queue fed by `s3:ObjectRestore:Completed` notifications; sweeps still run. @default none */
        queueUrl: z
          .string()
          .regex(
            /^https?:\/\/[^\s/]+\/\d{12}\/[A-Za-z0-9_-]{1,80}(\.fifo)?$/,
            'operation.tracking.queueUrl must be an SQS queue URL, https://sqs.<region>.amazonaws.com/<account>/<name>',
          )
          .optional(),
      })
      .strict()
      .default({ headRatePerSecond: 500, headConcurrency: 32 }),
    /** Extend a restored, not yet copied object whose copy expires within this margin. @default "12h" */
    expiryMargin: duration(
      'operation.expiryMargin',
      DURATION_RANGES.expiryMargin.min,
      DURATION_RANGES.expiryMargin.max,
    ).default('12h'),
    largeObjects: z
      .object({
        /** Large objects copied at once (each with its own parallel parts), 1–64. @default 4 */
        concurrency: z
          .number()
          .int()
          .min(1, 'operation.largeObjects.concurrency must be between 1 and 64')
          .max(64, 'operation.largeObjects.concurrency must be between 1 and 64')
          .default(4),
        /**
         * Bytes of each UploadPartCopy part (5 MiB – 5 GiB; raised when an object would need more than 10,000 parts):
         * a retried copy re-copies at most the parts in flight when it died. @default "256MiB"
         */
        partSize: size(
          'operation.largeObjects.partSize',
          LARGE_OBJECT_THRESHOLD_RANGE.min,
          LARGE_OBJECT_THRESHOLD_RANGE.max,
          '5MiB',
          '5GiB',
        ).optional(),
      })
      .strict()
      .default({ concurrency: 4 }),
  })
  .strict()
  .refine(metadataNeedsReplace.check, metadataNeedsReplace.issue)
  .refine((o) => !DURATION.test(o.expiryMargin) || durationMs(o.expiryMargin) < o.expirationDays * 86_400_000, {
    message: 'operation.expiryMargin must be less than operation.expirationDays (in hours: expirationDays × 24h)',
    path: ['expiryMargin'],
  })
  .refine(
    (o) =>
      o.tracking.sweepInterval === undefined ||
      !DURATION.test(o.tracking.sweepInterval) ||
      !DURATION.test(o.expiryMargin) ||
      durationMs(o.tracking.sweepInterval) <= durationMs(o.expiryMargin),
    {
      message:
        'operation.tracking.sweepInterval must be at most operation.expiryMargin: a copy restored just after a sweep must be seen before it is within the margin',
      path: ['tracking', 'sweepInterval'],
    },
  );
export type RestoreAndCopyOperation = z.infer<typeof RestoreAndCopySchema>;

/** The tracking schedule of a restore-and-copy operation, tier defaults filled in. */
export function trackingSchedule(op: RestoreAndCopyOperation): {
  sweepIntervalMs: number;
  firstSweepAfterMs: number;
  /** Infinity without a queue. */
  eventIntervalMs: number;
} {
  const standard = op.tier === 'STANDARD';
  return {
    sweepIntervalMs:
      op.tracking.sweepInterval !== undefined
        ? durationMs(op.tracking.sweepInterval)
        : Math.min(durationMs(standard ? '30m' : '2h'), durationMs(op.expiryMargin)),
    firstSweepAfterMs: durationMs(op.tracking.firstSweepAfter ?? (standard ? '3h' : '5h')),
    eventIntervalMs: op.tracking.queueUrl ? durationMs(op.tracking.eventInterval ?? '5m') : Infinity,
  };
}

export const OperationSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('restore'),
      /** Batch Operations allows BULK and STANDARD only. @default "BULK" */
      tier: RESTORE_TIER.default('BULK'),
      /** Days the restored copy stays available (GLACIER/DEEP_ARCHIVE). @default 7 */
      expirationDays: z.number().int().min(1).max(30_000).default(7),
    })
    .strict(),
  z
    .object({ type: z.literal('copy'), ...COPY_FIELDS })
    .strict()
    .refine(metadataNeedsReplace.check, metadataNeedsReplace.issue),
  RestoreAndCopySchema,
  z.object({ type: z.literal('put-tags'), /** Replaces each object's whole tag set. */ tags: tagSet }).strict(),
  z.object({ type: z.literal('delete-tags') }).strict(),
  z.object({ type: z.literal('acl'), cannedAcl: z.enum(CANNED_ACLS) }).strict(),
  z.object({ type: z.literal('legal-hold'), status: z.enum(['ON', 'OFF']) }).strict(),
  z
    .object({
      type: z.literal('retention'),
      /** Leave out both mode and retainUntil to remove retention. */
      mode: z.enum(['GOVERNANCE', 'COMPLIANCE']).optional(),
      retainUntil: isoDate('operation.retainUntil').optional(),
      bypassGovernance: z.boolean().optional(),
    })
    .strict()
    .refine((o) => (o.mode === undefined) === (o.retainUntil === undefined), {
      message: 'operation.mode and operation.retainUntil go together (leave out both to remove retention)',
      path: ['mode'],
    }),
  z
    .object({
      type: z.literal('lambda'),
      functionArn: z
        .string()
        .regex(
          /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$/,
          'operation.functionArn must be a Lambda function ARN',
        ),
      /** 2.0 is needed for userArguments. @default "2.0" */
      schemaVersion: z.enum(['1.0', '2.0']).default('2.0'),
      /** Passed to the function in job.userArguments (schema 2.0); 1–10 entries. Never put secrets here. */
      userArguments: z.record(z.string().min(1).max(64), z.string().max(1024)).optional(),
    })
    .strict()
    .refine((o) => o.userArguments === undefined || o.schemaVersion === '2.0', {
      message: 'operation.userArguments needs operation.schemaVersion "2.0"',
      path: ['userArguments'],
    })
    .refine(
      (o) =>
        o.userArguments === undefined ||
        (Object.keys(o.userArguments).length >= 1 && Object.keys(o.userArguments).length <= 10),
      {
        message: 'operation.userArguments takes 1 to 10 entries',
        path: ['userArguments'],
      },
    ),
  z.object({ type: z.literal('replicate') }).strict(),
  z
    .object({
      type: z.literal('compute-checksum'),
      /** Every algorithm of the S3 Control model. */
      algorithm: z.enum(CHECKSUM_ALGORITHMS),
      /** COMPOSITE: a checksum of the parts' checksums (multipart objects), as S3 computes it at upload. */
      checksumType: z.enum(['FULL_OBJECT', 'COMPOSITE']).default('FULL_OBJECT'),
    })
    .strict()
    .refine((o) => o.checksumType === 'FULL_OBJECT' || COMPOSITE_ALGORITHMS.has(o.algorithm), {
      message:
        'operation.checksumType COMPOSITE is not defined for this algorithm: CRC64NVME is full-object only, and AWS ' +
        'documents no composite form of SHA512 or the XXHASH ones (use FULL_OBJECT)',
      path: ['checksumType'],
    }),
]);
export type CampaignOperation = z.infer<typeof OperationSchema>;
export type OperationType = CampaignOperation['type'];

// ---------------------------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------------------------

/**
 * Error codes retried by default: throttling, timeouts and server faults of the underlying S3 call, and Lambda's
 * TemporaryFailure. Any failed task whose HTTP status is 5xx is retried too.
 */
export const DEFAULT_RETRYABLE_ERROR_CODES = [
  'SlowDown',
  'RequestTimeout',
  'InternalError',
  'ServiceUnavailable',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'TemporaryFailure',
  'OperationAborted',
];

export const ApprovalSchema = z
  .object({
    /** Hold every job until a person approves it. @default true */
    required: z.boolean().default(true),
    /** How long to wait for a decision before cancelling the job. @default "72h" */
    timeout: duration(
      'approval.timeout',
      DURATION_RANGES.approvalTimeout.min,
      DURATION_RANGES.approvalTimeout.max,
    ).default('72h'),
    /** Whether retry jobs need their own approval. @default false */
    retryJobsRequireApproval: z.boolean().default(false),
  })
  .strict();

export const RetrySchema = z
  .object({
    /** Retry jobs at most, after the first round. @default 3 */
    maxRetryJobs: z.number().int().min(0).max(20).default(3),
    /** Wait between a job's end and its retry job. @default "1m" */
    delay: duration('retry.delay', DURATION_RANGES.retryDelay.min, DURATION_RANGES.retryDelay.max).default('1m'),
    /** Error codes in completion reports that are worth retrying. Tasks with a 5xx HTTP status always are. */
    retryableErrorCodes: z.array(z.string().min(1)).default(DEFAULT_RETRYABLE_ERROR_CODES),
  })
  .strict();

export const FailureToleranceSchema = z
  .object({
    /** Cancel the job once more than this share of its finished tasks failed, in percent (0–100). */
    maxFailedPercent: z.number().min(0).max(100),
    /** …but only after this many tasks have finished. @default 100 */
    minTasks: z.number().int().min(1).default(100),
  })
  .strict();

export const IncrementalSchema = z
  .object({
    /**
     * Names the watermark file `<report.prefix>/incremental/<stateKey>.json`. @default the schedule id for
     * `schedule create`, else the campaign name in kebab case
     */
    stateKey: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,200}$/, 'incremental.stateKey is 1–200 letters, digits, dots, underscores or hyphens')
      .optional(),
    /** First run only: take objects modified at or after this time. @default everything */
    since: isoDate('incremental.since').optional(),
  })
  .strict();

export const ReportSchema = z
  .object({
    /** Bucket for manifests, job completion reports and the campaign's own report. */
    bucket: bucketName,
    /** Key prefix under which each campaign gets a folder named after its workflow id. @default "s3-campaigns" */
    prefix: z
      .string()
      .min(1, 'report.prefix must not be empty')
      .max(400, 'report.prefix is at most 400 characters')
      .regex(/^[^/][\s\S]*[^/]$|^[^/]$/, 'report.prefix must not start or end with "/"')
      .pipe(keyPrefix('report.prefix', false))
      .default('s3-campaigns'),
  })
  .strict();

// ---------------------------------------------------------------------------------------------------------------
// The spec
// ---------------------------------------------------------------------------------------------------------------

export const CampaignSpecSchema = z
  .object({
    /** A human name, shown in the UI and reports. */
    name: z.string().min(1, 'name must not be empty').max(100, 'name is at most 100 characters'),
    /** The AWS account that owns the jobs (12 digits). */
    accountId: z.string().regex(/^\d{12}$/, 'accountId must be 12 digits'),
    /** The Region where jobs are created (for copies: the destination's Region). */
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'region must be an AWS Region such as us-east-1'),
    /** The IAM role Batch Operations assumes to run the jobs. */
    roleArn: z
      .string()
      .refine(
        isRoleArn,
        'roleArn must be an IAM role ARN, arn:aws:iam::123456789012:role/Name or …:role/path/Name (no "." or ".." segments)',
      ),
    source: SourceSchema,
    filter: FilterSchema.optional(),
    operation: OperationSchema,
    approval: ApprovalSchema.default(ApprovalSchema.parse({})),
    retry: RetrySchema.default(RetrySchema.parse({})),
    failureTolerance: FailureToleranceSchema.optional(),
    report: ReportSchema,
    /** Batch Operations job priority; higher runs first. @default 10 */
    priority: z.number().int().min(0).max(2_147_483_647).default(10),
    /** Shard the manifest into several jobs above this many objects. @default 10000000 */
    maxObjectsPerJob: z.number().int().min(1).max(20_000_000_000).default(10_000_000),
    /**
     * How often to describe the campaign's jobs: `"auto"` adapts the wait to each job (5 s while a job is preparing,
     * just started or changing status, up to 10 min for a job that will run for hours, from its progress); a
     * duration polls at that fixed interval, as every spec did before `"auto"` existed. @default "auto"
     */
    pollInterval: z
      .string()
      .refine(
        (v) => v === AUTO_POLL_INTERVAL || DURATION.test(v),
        'pollInterval must be "auto" or a duration such as "90s", "5m", "72h" or "7d"',
      )
      .refine(
        (v) => {
          if (v === AUTO_POLL_INTERVAL || !DURATION.test(v)) return true;
          const ms = durationMs(v);
          return ms >= DURATION_RANGES.pollInterval.min && ms <= DURATION_RANGES.pollInterval.max;
        },
        `pollInterval must be between ${formatDuration(DURATION_RANGES.pollInterval.min)} and ${formatDuration(DURATION_RANGES.pollInterval.max)}`,
      )
      .default(AUTO_POLL_INTERVAL),
    /**
     * Take only objects new or changed since the last successful run of this campaign (inventory sources; for
     * recurring campaigns on a Schedule).
     */
    incremental: IncrementalSchema.optional(),
    /**
     * Start a new workflow run (continue-as-new, carrying all state) after this many history events: 0, or 50 (a
     * run's own start takes a few dozen events; fewer would continue as new at every poll) to 50,000 (Temporal
     * terminates a workflow past 51,200 events).
     * @default 0 — when Temporal suggests it
     */
    historyEventLimit: z
      .number()
      .int()
      .refine(
        (n) => n === 0 || (n >= 50 && n <= 50_000),
        'historyEventLimit must be 0 (when Temporal suggests it) or between 50 and 50000',
      )
      .default(0),
  })
  .strict()
  .refine(
    (s) =>
      s.filter === undefined ||
      s.source.type === 'inventory' ||
      s.source.type === 'inventory-latest' ||
      s.source.type === 'bucket',
    {
      message:
        'filter applies to inventory and bucket sources only; a csv, keys or campaign-failures source is taken as it is',
      path: ['filter'],
    },
  )
  .superRefine((s, ctx) => {
    for (const p of bucketSourceProblems(s.source, s.filter, s.operation.type)) ctx.addIssue({ code: 'custom', ...p });
  })
  .refine((s) => s.incremental === undefined || s.source.type === 'inventory-latest', {
    message: 'incremental needs an inventory-latest source (each run reads the newest report)',
    path: ['incremental'],
  });

/** A campaign name in kebab case (`Nightly DR copy!` → `nightly-dr-copy`), for ids and file names. */
export function kebabName(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'campaign'
  );
}

/** `20261125T120000Z`: a UTC time that sorts and reads well inside ids. */
export function compactTimestamp(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Temporal's default `limit.maxIDLength`: its frontend refuses a longer workflow id (counted in bytes). */
export const MAX_WORKFLOW_ID_BYTES = 1000;
/** S3's limit on a key's length, in bytes (UTF-8). */
const MAX_S3_KEY_BYTES = 1024;
/** The longest key tail below a campaign's folder: `/reports/job-<36-char job id>/results/<40 hex>.csv`. */
const LONGEST_FOLDER_TAIL_BYTES = '/reports/job-'.length + 36 + '/results/'.length + 40 + '.csv'.length;

function utf8Bytes(text: string): number {
  return new TextEncoder().encode(text).length;
}

/**
 * Why a campaign id (the workflow id) cannot name the campaign's folder `<report.prefix>/<id>/`, or undefined: it must
 * be non-empty, within Temporal's id length, one path segment (`f5/manifests` would land inside campaign f5's
 * folder), free of control characters, and short enough for every key the campaign writes below its folder. The
 * message follows the id's name (`--id "x" …`, `the workflow id "x" …`).
 */
export function campaignIdProblem(id: string, report: { bucket: string; prefix: string }): string | undefined {
  if (id.trim() === '') return 'must not be empty';
  const idBytes = utf8Bytes(id);
  if (idBytes > MAX_WORKFLOW_ID_BYTES) {
    return `is ${idBytes} bytes long; Temporal accepts workflow ids of at most ${MAX_WORKFLOW_ID_BYTES} bytes (its default limit.maxIDLength)`;
  }
  if (id.includes('/')) {
    return (
      `${JSON.stringify(id)} contains "/": the id names the campaign's folder ` +
      `s3://${report.bucket}/${report.prefix}/<id>/, so it must be a single path segment`
    );
  }
  if (id === '.' || id === '..') return `${JSON.stringify(id)} cannot name a folder`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(id))
    return `${JSON.stringify(id)} contains control characters; it becomes part of S3 keys`;
  const folder = `${report.prefix}/${id}`;
  const longestKey = utf8Bytes(folder) + LONGEST_FOLDER_TAIL_BYTES;
  if (longestKey > MAX_S3_KEY_BYTES) {
    return (
      `is too long for this spec: keys under s3://${report.bucket}/${folder}/ would be up to ${longestKey} ` +
      `bytes long; S3 keys are at most ${MAX_S3_KEY_BYTES} bytes (shorten the id or report.prefix)`
    );
  }
  return undefined;
}

/** The watermark name of an incremental campaign: its stateKey, else the name in kebab case. */
export function incrementalStateKey(spec: Pick<CampaignSpec, 'name' | 'incremental'>): string {
  return spec.incremental?.stateKey ?? kebabName(spec.name);
}

/** The spec as users write it (defaults optional). */
export type CampaignSpecInput = z.input<typeof CampaignSpecSchema>;
/** The spec with every default filled in. */
export type CampaignSpec = z.output<typeof CampaignSpecSchema>;

/** Why a spec is invalid: one line per problem, each naming the field. */
export class SpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid campaign spec: ${problems.join('; ')}`);
    this.name = 'SpecError';
  }
}

function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

/** What a required field holds, for "x is required (…)" messages. */
const REQUIRED_HINTS: Record<string, string> = {
  name: 'a human name, 1–100 characters',
  accountId: '12 digits',
  region: 'an AWS Region such as us-east-1',
  roleArn: 'an IAM role ARN, arn:aws:iam::123456789012:role/Name',
  source: 'an object with type inventory, inventory-latest, csv, keys, bucket or campaign-failures',
  'source.campaignId': 'the id of the campaign whose failed.csv runs again',
  operation: 'an object with a type such as restore, copy or put-tags',
  report: 'an object with the bucket for manifests and reports',
  'report.bucket': 'an S3 bucket name',
  'source.manifest': 'an s3://bucket/key URI',
  'source.destination': 'an s3://bucket/prefix/ URI',
  'source.bucket': 'an S3 bucket name',
  'source.keys': 'a list of object keys',
};

/** `array`, `null`, `number`: how a value that should have been an object reads in a message. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Validates and fills defaults; throws SpecError naming every bad field. Anything that is not a plain object (null,
 * a string, an array — the Temporal UI sends `[ {...} ]` as one array payload) is refused as a whole, before any
 * field is looked at.
 */
export function parseCampaignSpec(input: unknown): CampaignSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    const hint = Array.isArray(input) ? ' (give the spec object itself, not a list around it)' : '';
    throw new SpecError([`expected an object (the campaign spec), received ${kindOf(input)}${hint}`]);
  }
  const res = CampaignSpecSchema.safeParse(input);
  if (res.success) return res.data;
  const problems = res.error.issues.map((i) => {
    const where = issuePath(i.path);
    if (i.code === 'unrecognized_keys') {
      return `${where ? where + ': ' : ''}${unknownFields(CampaignSpecSchema, input, i.path, i.keys)}`;
    }
    if (i.code === 'invalid_union' && where.endsWith('type')) return `${where}: unknown type`;
    if (i.code === 'invalid_type' && / received undefined$/.test(i.message)) {
      const hint = REQUIRED_HINTS[where];
      return `${where} is required${hint ? ` (${hint})` : ''}`;
    }
    return where && !i.message.startsWith(where) ? `${where}: ${i.message}` : i.message;
  });
  throw new SpecError(problems);
}

/** Splits `s3://bucket/key` into its parts. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = S3_URI.exec(uri);
  if (!m) throw new Error(`not an s3://bucket/key URI: ${uri}`);
  return { bucket: m[1]!, key: m[2]! };
}
