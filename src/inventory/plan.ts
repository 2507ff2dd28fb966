/**
 * Turns a filter and a report's columns into a `ScanPlan`: plain data (it crosses into worker threads) that says which
 * columns to read, what to compare them with and what to write. Every filter condition is checked against the
 * report's schema here, before any data file is opened.
 */
import type { InventoryColumns, InventoryField, InventoryFileFormat } from './fields';
import type { BuildManifestsSpec, InventoryFilter } from './types';

/** An "any of these values" condition on one column; `''` stands for an empty cell (the filter's `NONE`). */
export interface EnumCondition {
  column: number;
  field: InventoryField;
  values: string[];
}

/** Everything a scanner needs to turn data files into manifest rows. */
export interface ScanPlan {
  format: Exclude<InventoryFileFormat, 'ORC'>;
  /** Column names as the report spells them (Parquet reads by name). */
  names: string[];
  /** Column index of each field used; -1 when not used. */
  bucket: number;
  key: number;
  /** -1 when manifests carry no VersionId. */
  versionId: number;
  size: number;
  storageClass: number;
  lastModified: number;
  /** Only when `latestOnly`. */
  isLatest: number;
  /** Only when `skipDeleteMarkers`. */
  isDeleteMarker: number;
  enums: EnumCondition[];
  keyPrefixes?: string[];
  keySuffixes?: string[];
  keyRegex?: string;
  minSize?: number;
  maxSize?: number;
  /** Canonical ISO (`toISOString`), inclusive. */
  modifiedAfter?: string;
  /** Canonical ISO, exclusive. */
  modifiedBefore?: string;
  sampleSize: number;
}

/** Filter conditions and the inventory field each needs. */
export const FILTER_NEEDS: Readonly<Record<keyof InventoryFilter, InventoryField>> = {
  keyPrefixes: 'Key',
  keySuffixes: 'Key',
  keyRegex: 'Key',
  storageClasses: 'StorageClass',
  minSize: 'Size',
  maxSize: 'Size',
  modifiedAfter: 'LastModifiedDate',
  modifiedBefore: 'LastModifiedDate',
  latestOnly: 'IsLatest',
  skipDeleteMarkers: 'IsDeleteMarker',
  encryptionStatuses: 'EncryptionStatus',
  objectLockModes: 'ObjectLockMode',
  objectLockLegalHoldStatuses: 'ObjectLockLegalHoldStatus',
  replicationStatuses: 'ReplicationStatus',
  intelligentTieringAccessTiers: 'IntelligentTieringAccessTier',
};

const ENUM_FILTERS = [
  'storageClasses',
  'encryptionStatuses',
  'objectLockModes',
  'objectLockLegalHoldStatuses',
  'replicationStatuses',
  'intelligentTieringAccessTiers',
] as const;

/** A filter or output option the report cannot satisfy; the message says which field is missing. */
export class PlanError extends Error {
  override name = 'PlanError';
}

/**
 * Builds the scan plan.
 * @throws PlanError when a filter condition (or `versionIds: 'include'`) needs a field the report lacks.
 */
export function buildScanPlan(
  format: Exclude<InventoryFileFormat, 'ORC'>,
  columns: InventoryColumns,
  spec: Pick<BuildManifestsSpec, 'filter' | 'versionIds' | 'sampleSize'>,
): ScanPlan {
  const col = (f: InventoryField) => columns.index.get(f) ?? -1;
  const filter = spec.filter;
  const missing: string[] = [];
  for (const [name, value] of Object.entries(filter) as [keyof InventoryFilter, unknown][]) {
    if (value === undefined || value === false) continue;
    const field = FILTER_NEEDS[name];
    if (col(field) === -1) missing.push(`${name} needs the field ${field}`);
  }
  if (spec.versionIds === 'include' && col('VersionId') === -1) {
    missing.push(`versionIds "include" needs the field VersionId (an inventory of all versions)`);
  }
  if (missing.length > 0) {
    throw new PlanError(
      `the inventory has no such column: ${missing.join('; ')}. Its fileSchema is ${JSON.stringify(
        columns.names.join(', '),
      )}; add the field to the inventory configuration or drop the condition`,
    );
  }
  const enums: EnumCondition[] = [];
  for (const name of ENUM_FILTERS) {
    const values = filter[name];
    if (!values) continue;
    const field = FILTER_NEEDS[name];
    enums.push({ column: col(field), field, values: [...new Set(values.map((v) => (v === 'NONE' ? '' : v)))] });
  }
  const iso = (s: string | undefined) => (s === undefined ? undefined : new Date(Date.parse(s)).toISOString());
  return {
    format,
    names: [...columns.names],
    bucket: col('Bucket'),
    key: col('Key'),
    versionId: spec.versionIds === 'omit' ? -1 : col('VersionId'),
    size: col('Size'),
    storageClass: col('StorageClass'),
    lastModified:
      filter.modifiedAfter !== undefined || filter.modifiedBefore !== undefined ? col('LastModifiedDate') : -1,
    isLatest: filter.latestOnly ? col('IsLatest') : -1,
    isDeleteMarker: filter.skipDeleteMarkers ? col('IsDeleteMarker') : -1,
    enums,
    keyPrefixes: filter.keyPrefixes,
    keySuffixes: filter.keySuffixes,
    keyRegex: filter.keyRegex,
    minSize: filter.minSize,
    maxSize: filter.maxSize,
    modifiedAfter: iso(filter.modifiedAfter),
    modifiedBefore: iso(filter.modifiedBefore),
    sampleSize: spec.sampleSize,
  };
}

/** The key conditions as one predicate on a decoded key, or undefined when there are none. */
export function keyPredicate(plan: ScanPlan): ((key: string) => boolean) | undefined {
  const { keyPrefixes: pre, keySuffixes: suf } = plan;
  const re = plan.keyRegex === undefined ? undefined : new RegExp(plan.keyRegex, 'u');
  if (!pre && !suf && !re) return undefined;
  return (key) =>
    (!pre || pre.some((p) => key.startsWith(p))) && (!suf || suf.some((s) => key.endsWith(s))) && (!re || re.test(key));
}
