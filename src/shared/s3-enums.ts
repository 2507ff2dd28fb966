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
