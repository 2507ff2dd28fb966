/**
 * Restore tracking for `restore-and-copy` campaigns: which of millions of archived objects are really restored, and
 * until when, kept in S3 (a sharded, generation-versioned tracking set under `<prefix>/tracking/`), advanced one
 * checkpointed step at a time from restore events (SQS) and HEAD sweeps, feeding copy waves.
 *
 * - `create.ts`: the tracking set from the restore job manifests.
 * - `advance.ts`: one step over every shard (events, sweep, expiry guard, wave).
 * - `consume.ts`: restore events from SQS into durable per-shard event files.
 * - `store.ts`: the S3 layout and its conditional writes.
 */
export { advanceTracking, StaleWriterError, TrackingNotFoundError, type AdvanceCheckpoint } from './advance';
export { consumeRestoreEvents, ConsumeInputError } from './consume';
export { createTracking, TrackingExistsError, TrackingInputError, DEFAULT_MAX_OBJECTS_PER_SHARD } from './create';
export { parseRestoreMessage, type RestoreFact } from './events';
export { parseRestoreHeader, estimateRestoreExpiry } from './restore-header';
export { objectHash, shardOf } from './shard-hash';
export { TrackingStore, trackingKeys, type TrackingIndex } from './store';
