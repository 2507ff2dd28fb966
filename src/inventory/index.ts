/**
 * Inventory → manifests: turn an S3 Inventory report (CSV or Parquet) into S3 Batch Operations CSV manifests,
 * filtered, sharded, exact and resumable. See `buildManifests`.
 */
export { buildManifests, type BuildManifestsDeps } from './build-manifests';
export { INVENTORY_FIELDS, type InventoryField } from './fields';
export { decodeManifestKey, encodeManifestKey } from './key-encoding';
export { shardName } from './sink';
export {
  BuildManifestsInputSchema,
  DEFAULT_MAX_OBJECTS_PER_JOB,
  InventoryFilterSchema,
  ManifestProgressSchema,
  type BuildManifestsInput,
  type BuildManifestsSpec,
  type InventoryFilter,
  type ManifestProgress,
  type ManifestShard,
  type ManifestSummary,
  type ManifestTotals,
  type ResumePoint,
  type ShardState,
} from './types';
