/** S3 enumerations shared by the campaign spec and the local engine's codec (one list each). Workflow-safe. */

/** Canned ACLs S3 and Batch Operations accept. */
export const CANNED_ACLS = [
  'private',
  'public-read',
  'public-read-write',
  'aws-exec-read',
  'authenticated-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
] as const;
export type CannedAclName = (typeof CANNED_ACLS)[number];

/**
 * Storage classes as inventories and Batch Operations name them. The FSx classes are newer than most inventories; a
 * class S3 adds later needs one line here before a filter can name it.
 */
export const STORAGE_CLASSES = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'GLACIER_IR',
  'OUTPOSTS',
  'SNOW',
  'EXPRESS_ONEZONE',
  'FSX_OPENZFS',
  'FSX_ONTAP',
] as const;

/**
 * The values an inventory filter may name, per column; `NONE` matches an empty cell. A misspelt value (`GLACIERR`)
 * would select nothing without a word, so filters are checked against these.
 */
export const INVENTORY_FILTER_VALUES = {
  storageClasses: [...STORAGE_CLASSES, 'NONE'],
  encryptionStatuses: ['SSE-S3', 'SSE-C', 'SSE-KMS', 'DSSE-KMS', 'NOT-SSE', 'NONE'],
  objectLockModes: ['GOVERNANCE', 'COMPLIANCE', 'NONE'],
  objectLockLegalHoldStatuses: ['ON', 'OFF', 'NONE'],
  replicationStatuses: ['PENDING', 'COMPLETED', 'COMPLETE', 'FAILED', 'REPLICA', 'NONE'],
  intelligentTieringAccessTiers: [
    'FREQUENT',
    'INFREQUENT',
    'ARCHIVE_INSTANT_ACCESS',
    'ARCHIVE',
    'DEEP_ARCHIVE',
    'NONE',
  ],
} as const;

/** The algorithms of S3 Control's `ComputeObjectChecksumAlgorithm` (S3ComputeObjectChecksum). */
export const CHECKSUM_ALGORITHMS = [
  'CRC32',
  'CRC32C',
  'CRC64NVME',
  'MD5',
  'SHA1',
  'SHA256',
  'SHA512',
  'XXHASH64',
  'XXHASH3',
  'XXHASH128',
] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/**
 * Algorithms for which AWS documents a COMPOSITE checksum ("Checking object integrity": CRC64NVME is full-object
 * only). For SHA512 and the XXHASH family the documentation defines no composite form: the spec and the local engine
 * both refuse it rather than invent one.
 */
export const COMPOSITE_ALGORITHMS: ReadonlySet<ChecksumAlgorithm> = new Set([
  'CRC32',
  'CRC32C',
  'SHA1',
  'SHA256',
  'MD5',
]);
