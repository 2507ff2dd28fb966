/**
 * Inventory columns. A report's `fileSchema` names its columns (CSV: `Bucket, Key, …`; Parquet: a `message` with
 * snake_case names; ORC: a `struct<…>`), and columns are always found by name, never by position.
 */

/** Every field an S3 Inventory report can hold, in S3's canonical column order (reference §7). */
export const INVENTORY_FIELDS = [
  'Bucket',
  'Key',
  'VersionId',
  'IsLatest',
  'IsDeleteMarker',
  'Size',
  'LastModifiedDate',
  'ETag',
  'StorageClass',
  'IsMultipartUploaded',
  'ReplicationStatus',
  'EncryptionStatus',
  'ObjectLockRetainUntilDate',
  'ObjectLockMode',
  'ObjectLockLegalHoldStatus',
  'IntelligentTieringAccessTier',
  'BucketKeyStatus',
  'ChecksumAlgorithm',
  'ObjectAccessControlList',
  'ObjectOwner',
  'LifecycleExpirationDate',
] as const;

/** A canonical inventory field name, as CSV `fileSchema` spells it. */
export type InventoryField = (typeof INVENTORY_FIELDS)[number];

/** The Parquet/ORC spelling of a field: `LastModifiedDate` → `last_modified_date`, `ETag` → `e_tag`. */
export function snakeCaseField(field: InventoryField): string {
  return field
    .replace(/([a-z])([A-Z])|([A-Z])([A-Z][a-z])/g, (_m, a, b, c, d) => (a ? `${a}_${b}` : `${c}_${d}`))
    .toLowerCase();
}

const BY_SNAKE: ReadonlyMap<string, InventoryField> = new Map(INVENTORY_FIELDS.map((f) => [snakeCaseField(f), f]));
const BY_LOWER: ReadonlyMap<string, InventoryField> = new Map(INVENTORY_FIELDS.map((f) => [f.toLowerCase(), f]));

/** The file formats an inventory can be delivered in. */
export type InventoryFileFormat = 'CSV' | 'Parquet' | 'ORC';

/**
 * The columns of a report, by canonical field: `columns.get('Key')` is the column's position in a CSV row or its
 * name in a Parquet file. Unknown columns keep their place (they are counted) but cannot be filtered on.
 */
export interface InventoryColumns {
  /** Column names as the report spells them, in order. */
  readonly names: readonly string[];
  /** Canonical field → index into `names`. */
  readonly index: ReadonlyMap<InventoryField, number>;
}

/**
 * Parses a manifest's `fileSchema` for its format.
 * @throws Error naming what is wrong when the schema cannot be read or lacks Bucket or Key.
 */
export function parseFileSchema(format: InventoryFileFormat, fileSchema: string): InventoryColumns {
  let names: string[];
  if (format === 'CSV') {
    names = fileSchema.split(',').map((s) => s.trim());
  } else if (format === 'Parquet') {
    // `message s3.inventory { required binary bucket (STRING); optional int64 size; … }`
    const body = /\{([\s\S]*)\}/.exec(fileSchema)?.[1] ?? '';
    names = [...body.matchAll(/(?:required|optional|repeated)\s+\w+\s+([A-Za-z0-9_]+)/g)].map((m) => m[1] ?? '');
  } else {
    // `struct<bucket:string,key:string,size:bigint,…>`
    const body = /^\s*struct<([\s\S]*)>\s*$/.exec(fileSchema)?.[1] ?? '';
    names = body.split(',').map((s) => s.split(':')[0]?.trim() ?? '');
  }
  names = names.filter((n) => n.length > 0);
  const index = new Map<InventoryField, number>();
  names.forEach((name, i) => {
    const field = BY_LOWER.get(name.toLowerCase()) ?? BY_SNAKE.get(name.toLowerCase());
    if (field && !index.has(field)) index.set(field, i);
  });
  if (!index.has('Bucket') || !index.has('Key')) {
    throw new Error(`fileSchema must name Bucket and Key columns, got ${JSON.stringify(fileSchema)}`);
  }
  return { names, index };
}
