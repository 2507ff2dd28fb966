/**
 * The inventory → manifest contract: the input (with the filter a campaign spec embeds), the progress a Temporal
 * activity heartbeats and resumes from, and the summary it returns. Schemas are zod; types are derived from them.
 */
import { z } from 'zod';

import { INVENTORY_FILTER_VALUES } from '../shared/s3-enums';

/** A list of one column's known values: a typo is an error that lists them, never a filter that selects nothing. */
const valuesOf = (field: keyof typeof INVENTORY_FILTER_VALUES) => {
  const known: readonly string[] = INVENTORY_FILTER_VALUES[field];
  return z
    .array(
      z.string().refine((v) => known.includes(v), {
        error: (iss) => `${JSON.stringify(iss.input)} is not one of ${known.join(', ')} (upper case)`,
      }),
    )
    .min(1);
};

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), {
  message: 'must be an ISO-8601 time such as 2024-01-31T00:00:00Z',
});

/**
 * Which inventory rows become manifest rows. Every condition is optional; all given conditions must hold. A condition
 * on a column the inventory does not have is an error before any data is read.
 */
export const InventoryFilterSchema = z
  .object({
    /** Keep keys that start with any of these (decoded keys). Needs `Key`. */
    keyPrefixes: z.array(z.string().min(1)).min(1).optional(),
    /** Keep keys that end with any of these (decoded keys). */
    keySuffixes: z.array(z.string().min(1)).min(1).optional(),
    /** Keep keys matching this JavaScript regular expression (decoded keys; `u` flag; unanchored). */
    keyRegex: z
      .string()
      .min(1)
      .refine(
        (s) => {
          try {
            new RegExp(s, 'u');
            return true;
          } catch {
            return false;
          }
        },
        { message: 'keyRegex is not a valid regular expression' },
      )
      .optional(),
    /** Keep these storage classes (`GLACIER`, `DEEP_ARCHIVE`, …). Needs `StorageClass`. */
    storageClasses: valuesOf('storageClasses').optional(),
    /** Keep objects of at least this many bytes (inclusive). Needs `Size`. */
    minSize: z.number().int().nonnegative().optional(),
    /** Keep objects of at most this many bytes (inclusive). Needs `Size`. */
    maxSize: z.number().int().nonnegative().optional(),
    /** Keep objects last modified at or after this time (inclusive). Needs `LastModifiedDate`. */
    modifiedAfter: isoTime.optional(),
    /** Keep objects last modified before this time (exclusive, so consecutive ranges never overlap). */
    modifiedBefore: isoTime.optional(),
    /** Keep only current versions (`IsLatest = true`). Needs `IsLatest` (an "all versions" inventory). */
    latestOnly: z.boolean().optional(),
    /** Drop delete markers (`IsDeleteMarker = true`). Needs `IsDeleteMarker`. */
    skipDeleteMarkers: z.boolean().optional(),
    /** Keep these encryption statuses (`SSE-S3`, `SSE-KMS`, `DSSE-KMS`, `SSE-C`, `NOT-SSE`). */
    encryptionStatuses: valuesOf('encryptionStatuses').optional(),
    /** Keep these Object Lock modes (`GOVERNANCE`, `COMPLIANCE`, `NONE` for unlocked). */
    objectLockModes: valuesOf('objectLockModes').optional(),
    /** Keep these legal hold statuses (`ON`, `OFF`; `NONE` matches an empty cell). */
    objectLockLegalHoldStatuses: valuesOf('objectLockLegalHoldStatuses').optional(),
    /** Keep these replication statuses (`PENDING`, `COMPLETED`, `FAILED`, `REPLICA`, `NONE` for not replicated). */
    replicationStatuses: valuesOf('replicationStatuses').optional(),
    /** Keep these Intelligent-Tiering access tiers (`FREQUENT`, `INFREQUENT`, `ARCHIVE`, `DEEP_ARCHIVE`, …). */
    intelligentTieringAccessTiers: valuesOf('intelligentTieringAccessTiers').optional(),
  })
  .strict()
  .refine((f) => f.minSize === undefined || f.maxSize === undefined || f.minSize <= f.maxSize, {
    message: 'minSize must not exceed maxSize',
  })
  .refine(
    (f) =>
      f.modifiedAfter === undefined ||
      f.modifiedBefore === undefined ||
      Date.parse(f.modifiedAfter) < Date.parse(f.modifiedBefore),
    { message: 'modifiedAfter must be before modifiedBefore' },
  );

/** Which inventory rows become manifest rows. */
export type InventoryFilter = z.infer<typeof InventoryFilterSchema>;

/**
 * Batch Operations accepts any number of tasks per job, but one job per 10 million objects keeps each job's
 * completion report, retries and cost approval at a size a person can reason about.
 */
export const DEFAULT_MAX_OBJECTS_PER_JOB = 10_000_000;

/** What `buildManifests` reads, keeps and writes. */
export const BuildManifestsInputSchema = z
  .object({
    /**
     * The inventory report: `s3://bucket/…/manifest.json`, a local path to a `manifest.json`, or an inventory
     * destination prefix ending in `/` (`s3://bucket/prefix/` or a local directory) whose newest
     * `YYYY-MM-DDTHH-MMZ/manifest.json` is used.
     */
    inventory: z.string().min(1),
    /** Which rows to keep. @default {} (every row) */
    filter: InventoryFilterSchema.default({}),
    /**
     * Where manifests go: `s3://bucket/prefix` (objects `prefix/manifest-00001.csv`, …) or a local directory (files
     * `manifest-00001.csv`, …). The prefix should belong to this one build: stale uploads under it are aborted.
     */
    output: z.string().min(1),
    /** Rows per manifest; a new manifest (shard) starts after this many. @default 10000000 */
    maxObjectsPerJob: z.number().int().positive().default(DEFAULT_MAX_OBJECTS_PER_JOB),
    /**
     * Whether manifests carry a `VersionId` column: `auto` when the inventory has one, `include` (an error if it has
     * none) or `omit`. With the column, every row has a value; null-version objects get the literal `null`.
     * @default 'auto'
     */
    versionIds: z.enum(['auto', 'include', 'omit']).default('auto'),
    /** How many selected keys the summary's `sampleKeys` holds. @default 10 */
    sampleSize: z.number().int().min(0).max(100).default(10),
    /**
     * Threads that parse data files in parallel: worker threads, at most one per file; when every data file is at most
     * 2 MiB (`MAIN_THREAD_SCAN_BYTES`), one of them is the main thread (and always at least one worker).
     * @default os.availableParallelism()
     */
    concurrency: z.number().int().min(1).max(64).optional(),
    /**
     * Manifests at most: a campaign's jobs-per-round limit (one job per manifest). The build fails with a
     * non-retryable `InvalidInput` naming `maxObjectsPerJob` as soon as the rows selected need more, without reading
     * the rest of the inventory, and nothing is published. @default no limit
     */
    maxManifests: z.number().int().positive().optional(),
  })
  .strict();

/** What `buildManifests` reads, keeps and writes (input form: defaults may be omitted). */
export type BuildManifestsInput = z.input<typeof BuildManifestsInputSchema>;
/** The input after validation, defaults applied. */
export type BuildManifestsSpec = z.output<typeof BuildManifestsInputSchema>;

/** Per-storage-class totals of the selected rows. */
export type StorageClassTotals = Record<string, number>;

/** Running totals; all counts are of whole data files. */
export const ManifestTotalsSchema = z.object({
  /** Inventory rows read. */
  rowsScanned: z.number(),
  /** Rows that passed the filter (manifest rows). */
  rowsSelected: z.number(),
  /** Sum of `Size` of selected rows, by storage class (`UNKNOWN` when the inventory lacks one of the columns). */
  bytesByStorageClass: z.record(z.string(), z.number()),
  /** Selected rows by storage class. */
  rowsByStorageClass: z.record(z.string(), z.number()),
  /** The deterministic sample so far: `[hash, decodedKey]`, smallest hashes first. */
  sample: z.array(z.tuple([z.number(), z.string()])),
});
export type ManifestTotals = z.infer<typeof ManifestTotalsSchema>;

/** One manifest shard as it is being written (S3: an open multipart upload; local: a partial file). */
export const ShardStateSchema = z.object({
  /** Rows durably written (uploaded parts / bytes in the partial file). */
  rows: z.number(),
  /** Bytes durably written. */
  bytes: z.number(),
  /** S3 only: the multipart upload. */
  uploadId: z.string().optional(),
  /** S3 only: the ETag of each uploaded part, part 1 first. */
  parts: z.array(z.string()).optional(),
});
export type ShardState = z.infer<typeof ShardStateSchema>;

/** Where a resumed build starts: data file `file`, after its first `skipRows` selected rows. */
export const ResumePointSchema = z.object({
  /** Index into the inventory's `files`. */
  file: z.number().int().min(0),
  /** Selected rows of that file that are already durable in a shard. */
  skipRows: z.number().int().min(0),
  /** Totals of the files before `file`. */
  totals: ManifestTotalsSchema,
  /** Every shard begun so far, the last one open. */
  shards: z.array(ShardStateSchema),
});
export type ResumePoint = z.infer<typeof ResumePointSchema>;

/**
 * Small JSON progress, fit for Temporal heartbeat details. Pass the last one back as `resumeFrom` when the activity
 * is retried: the build continues from `resume` (at most one unfinished part behind the last finished data file)
 * instead of starting over. Any older progress of the same build is valid too.
 */
export const ManifestProgressSchema = z.object({
  /** Format of this object. */
  version: z.literal(1),
  /** Identifies the input (inventory, files, filter, output, sharding); progress of another build is ignored. */
  fingerprint: z.string(),
  /** Data files in the inventory. */
  filesTotal: z.number(),
  /** Data files whose rows have all gone through to the manifests. */
  filesDone: z.number(),
  /** Rows read so far (whole files). */
  rowsScanned: z.number(),
  /** Manifest rows written so far (including ones not yet durable). */
  rowsSelected: z.number(),
  /** Where a retry resumes. */
  resume: ResumePointSchema,
});
export type ManifestProgress = z.infer<typeof ManifestProgressSchema>;

/** One finished manifest. */
export interface ManifestShard {
  /** S3 key (S3 output) or absolute file path (local output). */
  key: string;
  /** The object's ETag without quotes (what a Batch Operations job's manifest `ETag` wants); MD5 hex locally. */
  etag: string;
  /** Rows (objects) in this manifest. */
  rows: number;
  /** Size in bytes. */
  bytes: number;
}

/** What a build produced. */
export interface ManifestSummary {
  /** The inventory report that was read. */
  inventory: {
    /** `s3://…/manifest.json` or a local path. */
    manifest: string;
    sourceBucket: string;
    fileFormat: string;
    /** Epoch milliseconds (from `creationTimestamp`). */
    creationTimestamp: number;
    /** Data files read. */
    files: number;
  };
  /** Always `S3BatchOperations_CSV_20180820`. */
  format: 'S3BatchOperations_CSV_20180820';
  /** The manifest columns, for the job's `Spec.Fields`. */
  fields: ['Bucket', 'Key'] | ['Bucket', 'Key', 'VersionId'];
  /** Where the manifests are: `{ bucket, prefix }` for S3, `{ dir }` for a local directory. */
  output: { bucket: string; prefix: string } | { dir: string };
  /** The manifests, in order; empty when no row was selected. */
  shards: ManifestShard[];
  /** Inventory rows read. */
  rowsScanned: number;
  /** Rows written to manifests. */
  rowsSelected: number;
  /** Sum of `Size` of the selected rows by storage class. */
  bytesByStorageClass: StorageClassTotals;
  /** Selected rows by storage class. */
  rowsByStorageClass: StorageClassTotals;
  /** Up to `sampleSize` selected keys (decoded), picked by a hash of the key: the same on every run. */
  sampleKeys: string[];
  /** True when this run continued from `resumeFrom`. */
  resumed: boolean;
}
