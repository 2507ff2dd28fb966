/**
 * What a `bucket` source can and cannot filter on. A listing (ListObjectsV2, ListObjectVersions) returns the key,
 * size, last-modified time, storage class and ETag of each object (versions add the version id, IsLatest and delete
 * markers); anything else an inventory carries (encryption, Object Lock, replication, Intelligent-Tiering tier) it
 * cannot answer, so a filter on it is a spec error that says so, not a filter that silently keeps everything.
 */
import type { InventoryFilter } from '../inventory/types';

/** Filter fields a bucket listing cannot answer, with what the listing lacks. */
const NOT_IN_A_LISTING: Partial<Record<keyof InventoryFilter, string>> = {
  encryptionStatuses: 'the encryption status',
  objectLockModes: 'the Object Lock mode',
  objectLockLegalHoldStatuses: 'the legal hold status',
  replicationStatuses: 'the replication status',
  intelligentTieringAccessTiers: 'the Intelligent-Tiering access tier',
};

/** The part of a source this check reads (the spec's source union, structurally). */
interface SourceLike {
  type: string;
  prefix?: string;
  versions?: boolean;
  generator?: 'list' | 's3';
}

export interface SpecProblem {
  path: (string | number)[];
  message: string;
}

/** Why this spec's filter cannot run on its bucket source: one problem per field; none for other sources. */
export function bucketSourceProblems(
  source: SourceLike,
  filter: InventoryFilter | undefined,
  operationType?: string,
): SpecProblem[] {
  if (source.type === 'bucket' && source.generator === 's3') return generatorProblems(source, filter, operationType);
  if (source.type !== 'bucket' || filter === undefined) return [];
  const problems: SpecProblem[] = [];
  if ((source.generator ?? 'list') === 'list') {
    for (const [field, what] of Object.entries(NOT_IN_A_LISTING)) {
      if (filter[field as keyof InventoryFilter] === undefined) continue;
      problems.push({
        path: ['filter', field],
        message:
          `filter.${field}: a bucket listing does not return ${what} of an object; ` +
          'use an inventory source (S3 Inventory has the column) or drop the condition',
      });
    }
    if (!source.versions && filter.skipDeleteMarkers !== undefined) {
      problems.push({
        path: ['filter', 'skipDeleteMarkers'],
        message:
          'filter.skipDeleteMarkers: a listing without source.versions has no delete markers; ' +
          'set source.versions to true or drop the condition',
      });
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// generator: "s3" — S3 lists the bucket itself (CreateJob's ManifestGenerator)
// ---------------------------------------------------------------------------------------------------------------

/** `S3StorageClass` of the S3 Control model: what `MatchAnyStorageClass` may name. */
export const GENERATOR_STORAGE_CLASSES: readonly string[] = [
  'STANDARD',
  'STANDARD_IA',
  'ONEZONE_IA',
  'GLACIER',
  'INTELLIGENT_TIERING',
  'DEEP_ARCHIVE',
  'GLACIER_IR',
];
/** `ObjectReplicationStatuses` values (the model has no PENDING). */
const GENERATOR_REPLICATION_STATUSES: readonly string[] = ['COMPLETED', 'FAILED', 'REPLICA', 'NONE'];

/** Filter fields the generator has no counterpart for, with why. */
const NOT_IN_A_GENERATOR: Partial<Record<keyof InventoryFilter, string>> = {
  keyRegex: 'KeyNameConstraint matches a prefix, a suffix or a substring, not a regular expression',
  objectLockModes: 'its Filter has no Object Lock condition',
  objectLockLegalHoldStatuses: 'its Filter has no legal hold condition',
  intelligentTieringAccessTiers: 'its Filter has no Intelligent-Tiering access tier condition',
  latestOnly: 'it takes current objects only (no version listing to choose from)',
  skipDeleteMarkers: 'it takes current objects only, which are never delete markers',
};

/** The one key prefix a generator job can take: the source prefix and keyPrefixes combined, if they combine. */
function generatorPrefix(source: SourceLike, filter: InventoryFilter | undefined): string | undefined {
  const prefix = source.prefix || undefined;
  const keyPrefixes = filter?.keyPrefixes;
  if (!keyPrefixes) return prefix;
  if (keyPrefixes.length !== 1) return undefined;
  const kp = keyPrefixes[0]!;
  if (prefix === undefined || kp.startsWith(prefix)) return kp;
  if (prefix.startsWith(kp)) return prefix;
  return undefined;
}

function generatorProblems(
  source: SourceLike,
  filter: InventoryFilter | undefined,
  operationType: string | undefined,
): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const refuse = (path: (string | number)[], why: string) =>
    problems.push({ path, message: `${path.join('.')}: S3's manifest generator (source.generator "s3") ${why}` });
  if (source.versions) {
    refuse(['source', 'versions'], 'lists current objects only; use generator "list" for every version');
  }
  if (operationType === 'restore-and-copy') {
    refuse(
      ['operation', 'type'],
      'gives no manifest before its job exists, and restore-and-copy sorts the objects into restore jobs first; ' +
        'use generator "list"',
    );
  }
  if (filter === undefined) return problems;
  for (const [field, why] of Object.entries(NOT_IN_A_GENERATOR)) {
    if (filter[field as keyof InventoryFilter] === undefined) continue;
    refuse(['filter', field], `cannot express it: ${why}; drop the condition or use generator "list"`);
  }
  if (filter.keyPrefixes && filter.keyPrefixes.length > 1) {
    refuse(['filter', 'keyPrefixes'], 'takes exactly one prefix (MatchAnyPrefix holds one string)');
  } else if (filter.keyPrefixes && generatorPrefix(source, filter) === undefined) {
    refuse(
      ['filter', 'keyPrefixes'],
      `takes exactly one prefix, and source.prefix "${source.prefix}" and "${filter.keyPrefixes[0]}" ` +
        'do not combine into one (neither starts with the other)',
    );
  }
  if (filter.keySuffixes && filter.keySuffixes.length > 1) {
    refuse(['filter', 'keySuffixes'], 'takes exactly one suffix (MatchAnySuffix holds one string)');
  }
  if (filter.encryptionStatuses && filter.encryptionStatuses.length > 1) {
    refuse(['filter', 'encryptionStatuses'], 'takes exactly one encryption (MatchAnyObjectEncryption holds one)');
  }
  const outside = (values: readonly string[] | undefined, allowed: readonly string[]) =>
    (values ?? []).filter((v) => !allowed.includes(v));
  const classes = outside(filter.storageClasses, GENERATOR_STORAGE_CLASSES);
  if (classes.length > 0) {
    refuse(
      ['filter', 'storageClasses'],
      `cannot select ${classes.join(', ')}: MatchAnyStorageClass takes ${GENERATOR_STORAGE_CLASSES.join(', ')}`,
    );
  }
  const statuses = outside(filter.replicationStatuses, GENERATOR_REPLICATION_STATUSES);
  if (statuses.length > 0) {
    refuse(
      ['filter', 'replicationStatuses'],
      `cannot select ${statuses.join(', ')}: ObjectReplicationStatuses takes ${GENERATOR_REPLICATION_STATUSES.join(', ')}`,
    );
  }
  return problems;
}

/**
 * The `Filter` of an `S3JobManifestGenerator` for a bucket source with `generator: "s3"`, in the JS SDK's member
 * names, times as ISO strings. Call only for a spec that {@link bucketSourceProblems} passed.
 *
 * - source.prefix / keyPrefixes → `KeyNameConstraint.MatchAnyPrefix` (the longer of the two when both are given)
 * - keySuffixes → `MatchAnySuffix`
 * - minSize / maxSize (inclusive) → `ObjectSizeGreaterThanBytes` minSize − 1 / `ObjectSizeLessThanBytes` maxSize + 1
 * - modifiedAfter (inclusive) → `CreatedAfter` one millisecond earlier; modifiedBefore (exclusive) → `CreatedBefore`
 * - storageClasses → `MatchAnyStorageClass`; replicationStatuses → `ObjectReplicationStatuses`
 * - encryptionStatuses → `MatchAnyObjectEncryption` (one item)
 */
export function generatorFilter(source: SourceLike, filter: InventoryFilter | undefined): GeneratorFilter | undefined {
  const out: GeneratorFilter = {};
  const prefix = generatorPrefix(source, filter);
  const suffix = filter?.keySuffixes?.[0];
  if (prefix !== undefined || suffix !== undefined) {
    out.KeyNameConstraint = {
      ...(prefix !== undefined ? { MatchAnyPrefix: [prefix] } : {}),
      ...(suffix !== undefined ? { MatchAnySuffix: [suffix] } : {}),
    };
  }
  if (filter?.minSize !== undefined && filter.minSize > 0) out.ObjectSizeGreaterThanBytes = filter.minSize - 1;
  if (filter?.maxSize !== undefined) out.ObjectSizeLessThanBytes = filter.maxSize + 1;
  if (filter?.modifiedAfter !== undefined) {
    out.CreatedAfter = new Date(Date.parse(filter.modifiedAfter) - 1).toISOString();
  }
  if (filter?.modifiedBefore !== undefined)
    out.CreatedBefore = new Date(Date.parse(filter.modifiedBefore)).toISOString();
  if (filter?.storageClasses) out.MatchAnyStorageClass = [...filter.storageClasses];
  if (filter?.replicationStatuses) out.ObjectReplicationStatuses = [...filter.replicationStatuses];
  const enc = filter?.encryptionStatuses?.[0];
  if (enc !== undefined) out.MatchAnyObjectEncryption = [ENCRYPTION_MEMBER[enc] ?? enc];
  return Object.keys(out).length === 0 ? undefined : out;
}

/** Inventory encryption status → the JS SDK's `ObjectEncryptionFilter` member name. */
const ENCRYPTION_MEMBER: Record<string, string> = {
  'SSE-S3': 'SSES3',
  'SSE-KMS': 'SSEKMS',
  'DSSE-KMS': 'DSSEKMS',
  'SSE-C': 'SSEC',
  'NOT-SSE': 'NOTSSE',
};

/** A generator `Filter` as plain data (workflow-safe: no SDK types); jobs.ts turns it into the SDK's. */
export interface GeneratorFilter {
  KeyNameConstraint?: { MatchAnyPrefix?: string[]; MatchAnySuffix?: string[] };
  ObjectSizeGreaterThanBytes?: number;
  ObjectSizeLessThanBytes?: number;
  /** ISO-8601. */
  CreatedAfter?: string;
  /** ISO-8601. */
  CreatedBefore?: string;
  MatchAnyStorageClass?: string[];
  ObjectReplicationStatuses?: string[];
  /** One member name of the SDK's ObjectEncryptionFilter union: SSES3, SSEKMS, DSSEKMS, SSEC or NOTSSE. */
  MatchAnyObjectEncryption?: string[];
}
