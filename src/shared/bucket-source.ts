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
  versions?: boolean;
  generator?: 'list' | 's3';
}

export interface SpecProblem {
  path: (string | number)[];
  message: string;
}

/** Why this spec's filter cannot run on its bucket source: one problem per field; none for other sources. */
export function bucketSourceProblems(source: SourceLike, filter: InventoryFilter | undefined): SpecProblem[] {
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
