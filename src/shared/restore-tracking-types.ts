/**
 * Inputs and results of the restore-tracking activities (`src/activities/restore-tracking.ts`): the contract with the
 * workflow that will drive a `restore-and-copy` campaign. Small JSON only: locations, counts and ETags; the per-object
 * state lives in S3 (`<prefix>/tracking/…`, see `src/restore-tracking/`).
 */

/** The states a tracked object moves through. */
export const TRACKING_STATES = ['requested', 'restored', 'queued', 'expired', 'failed', 'skipped-restored'] as const;
/**
 * - `requested`: a restore was asked for; not seen restored yet.
 * - `restored`: seen restored (by an event or a HEAD); `expiresAt` is when the temporary copy goes.
 * - `queued`: put into copy wave `wave`; the tracking engine no longer touches it.
 * - `expired`: seen un-restored again after having been restored, before it was queued; may be requested again.
 * - `failed`: will never restore (the object is gone: `NoSuchKey` on HEAD); `note` says why.
 * - `skipped-restored`: already restored with enough lifetime when tracking began; no restore was asked for it.
 */
export type TrackingState = (typeof TRACKING_STATES)[number];

/** Objects per state. Every state is present (0 when none). */
export type TrackingCounts = Record<TrackingState, number>;

/** Where a campaign's tracking set lives: `s3://<bucket>/<prefix>/tracking/…`. */
export interface TrackingLocation {
  bucket: string;
  /** The campaign's folder (`<report.prefix>/<campaignId>`), no trailing slash. */
  prefix: string;
}

/** A CSV manifest (`bucket,key[,versionId]`, URL-encoded keys, no header) listing objects a restore was asked for. */
export interface TrackingManifest {
  bucket: string;
  key: string;
}

export interface CreateRestoreTrackingInput {
  tracking: TrackingLocation;
  /** The manifests of the restore job(s): every object in them is tracked (duplicates once). */
  manifests: TrackingManifest[];
  /** When the restores were asked for (ISO 8601): the start of every restore duration. @default now */
  requestedAt?: string;
  /** The restore tier asked for (`STANDARD`, `BULK`), for the duration statistics. */
  tier?: string;
  /** Objects per shard at most. @default 50000 */
  maxObjectsPerShard?: number;
  /**
   * HEAD every object before any restore is asked for: objects already restored with at least `minLifetimeMs` left
   * become `skipped-restored`, missing ones `failed`, and only the rest are `requested` and written to the restore
   * manifests (`restoreManifestPrefix-<n>.csv`, at most `maxObjectsPerManifest` rows each) returned in the result.
   * Costs one HEAD per object. @default no check: every object is `requested`
   */
  precheck?: {
    minLifetimeMs: number;
    /** Key prefix of the restore manifests, in the tracking bucket. */
    restoreManifestPrefix: string;
    /** @default 1000000 */
    maxObjectsPerManifest?: number;
    /** HEAD requests in flight at most. @default 32 */
    headConcurrency?: number;
    /** HEAD requests per second at most. @default 500 */
    headRatePerSecond?: number;
  };
}

export interface CreateRestoreTrackingResult {
  objects: number;
  shards: number;
  /** Rows listed twice in the manifests (tracked once). */
  duplicates: number;
  counts: TrackingCounts;
  /** ETag of `index.json` after creation. */
  indexETag: string;
  /** With `precheck`: the manifests of the objects that still need a restore (none when every object was skipped). */
  restoreManifests?: { bucket: string; key: string; etag: string; rows: number; versioned?: boolean }[];
  /** HEAD requests made (precheck). */
  headRequests: number;
  /** True when the tracking set already existed for the same manifests (a retried or repeated call). */
  existed: boolean;
}

/** Where restore events are read from: an SQS queue fed by S3 event notifications or an EventBridge rule. */
export interface RestoreEventsQueue {
  queueUrl: string;
}

export interface AdvanceRestoreTrackingInput {
  tracking: TrackingLocation;
  /**
   * Identifies this step across retries (derive it from the workflow id and the step's ordinal). A shard already
   * advanced by this step is not advanced again; a step already finished returns its recorded result. Each new call
   * of the activity (not a retry of one) needs a new id: attempts of one id are ordered by Temporal's attempt number.
   */
  stepId: string;
  /** HEAD the `requested` objects (and restored ones of unknown expiry) in this step. @default false */
  sweep?: boolean;
  /**
   * A `restored` (or `skipped-restored`) object whose temporary copy expires within this many ms is extended with a
   * RestoreObject of `expirationDays` (after a HEAD confirms it still needs it). @default 2 days
   */
  expiryMarginMs?: number;
  /** Days asked for by extensions (and re-requests). @default 7 */
  expirationDays?: number;
  /** Tier of extensions and re-requests: `Standard`, `Bulk` or `Expedited` (any case). @default Standard */
  tier?: string;
  /** HEAD and RestoreObject requests in flight at most. @default 32 */
  headConcurrency?: number;
  /** HEAD and RestoreObject requests per second at most (a token bucket); 0 for no limit. @default 500 */
  headRatePerSecond?: number;
  /** Ask again (RestoreObject) for objects in state `expired`; they become `requested`. @default false */
  reRequestExpired?: boolean;
  /**
   * Copy waves still running (their copies may not have read their sources yet): the expiry guard protects their
   * `queued` objects too, so that nothing expires between its wave's manifest and its copy. An object queued in a
   * wave not listed here is left alone (its copy ended). A queued object the guard finds not restored any more stays
   * `queued` (with a note): its copy fails as not restored and the campaign sends it back to waiting (`requeue`).
   * @default none: only `restored` and `skipped-restored` objects are guarded
   */
  activeWaves?: number[];
  /**
   * The window of `expiringSoon`, ms: a waiting copy whose restored copy expires within it counts. @default twice
   * `expiryMarginMs`
   */
  expiringWithinMs?: number;
  /**
   * Copy failures of wave `waveId` to send back to waiting: each row of `failures` (a failed.csv: bucket, URL-encoded
   * key, versionId, errorCode, …; a header row is skipped) whose errorCode is one of `errorCodes` and whose object is
   * still `queued` in that wave becomes `requested` again (`requestedAt` now). A HEAD checks it first: a missing object
   * becomes `failed`, and an archived one with no restore running is asked for again (RestoreObject), so the campaign
   * never waits for a restore nobody started. A later sweep sees it restored and a later wave copies it. The step
   * holds the matching rows' keys in memory (one wave's failures of those codes: a tracking bug's symptom, few).
   */
  requeue?: {
    waveId: number;
    failures: { bucket: string; key: string };
    /** @default UNRESTORED_COPY_ERROR_CODES */
    errorCodes?: string[];
  };
  /** Move restored objects into a copy wave: a Batch Operations CSV manifest of at most `maxObjects` rows. */
  wave?: {
    maxObjects: number;
    /** Key of the wave manifest in the tracking bucket. */
    manifestKey: string;
    /**
     * Objects larger than this (bytes, when known) stay `restored` and are counted in `tooLargeForWave` (Batch copy
     * stops at 5 GB; larger objects need a multipart copy). @default no limit
     */
    maxObjectSize?: number;
    /**
     * Only objects of a known size above this (bytes) go into the wave: a wave of the objects `maxObjectSize` left
     * out, for the worker's multipart copies. @default no limit
     */
    minObjectSize?: number;
  };
}

/**
 * Copy failures that mean "the source is not restored": `InvalidObjectState` and `ObjectNotInActiveTierError` from a
 * Batch copy task, `NotRestored` from the worker's multipart copy. A campaign sends their objects back to waiting
 * (`AdvanceRestoreTrackingInput.requeue`) instead of failing them.
 */
export const UNRESTORED_COPY_ERROR_CODES = ['InvalidObjectState', 'ObjectNotInActiveTierError', 'NotRestored'];

/** p50/p95/max of restore durations (restoredAt − requestedAt) for one storage class and tier. */
export interface RestoreDurationSummary {
  /** `<storage class>/<tier>`, e.g. `GLACIER/STANDARD`. */
  group: string;
  count: number;
  /** Upper bound of the histogram bucket holding the median (buckets are ~9% wide), ms. */
  p50Ms: number;
  p95Ms: number;
  /** Exact. */
  maxMs: number;
}

export interface AdvanceRestoreTrackingResult {
  stepId: string;
  counts: TrackingCounts;
  /** Objects that became `restored` in this step (by event or HEAD). */
  restoredInStep: number;
  /** RestoreObject extensions issued in this step. */
  extensionsIssued: number;
  /** Objects that became `expired` in this step. */
  expiredInStep: number;
  /** Objects that became `failed` in this step. */
  failedInStep: number;
  /** Objects `requeue` sent back to waiting in this step. Absent in results of earlier releases. */
  requeued?: number;
  /** Rows of `requeue`'s file (of its error codes) that named no object queued in that wave. */
  requeueUnmatched?: number;
  /** Expired objects asked for again in this step (`reRequestExpired`). */
  reRequested: number;
  /** The wave manifest written by this step; undefined when no object went into a wave. */
  wave?: { bucket: string; key: string; etag: string; rows: number; waveId: number; versioned?: boolean };
  /** Restored objects left out of the wave because of `maxObjectSize`. */
  tooLargeForWave: number;
  /**
   * The earliest expiry (ISO) among the copies the guard protects (restored objects not yet queued, and those queued
   * in an active wave); undefined when none.
   */
  nextEarliestExpiry?: string;
  /**
   * Of the copies the guard protects, those whose restored copy expires within `expiringWithinMs`, after this step's
   * guard ran: each shard's count as of the step that last rewrote it (a sweep rewrites every shard with waiting
   * objects). Absent in results of earlier releases.
   */
  expiringSoon?: number;
  /**
   * Event facts that changed an object's state in this step (made it restored, or expired): a fact told twice (SQS
   * delivers at least once; the local stack's moto adds a message of its own) counts once.
   */
  eventsApplied: number;
  /** Event facts naming an object that is not in the tracking set (or not of this version). */
  eventsUnmatched: number;
  /** HEAD requests made in this step. */
  headRequests: number;
  /** RestoreObject requests made in this step (extensions and re-requests). */
  restoreRequests: number;
  /** Shards this attempt found already advanced by an earlier attempt of the same step. */
  shardsResumed: number;
  /** Cumulative restore durations, per storage class and tier (all steps so far). */
  durations: RestoreDurationSummary[];
}

export interface ListWaveObjectsInput {
  /** A wave manifest (`bucket,key[,versionId]`, URL-encoded keys). */
  bucket: string;
  key: string;
  /** Refuse a manifest with more rows than this: the answer goes into workflow history. */
  maxRows: number;
}

export interface ListWaveObjectsResult {
  /** Decoded keys. */
  objects: Array<{ bucket: string; key: string; versionId?: string }>;
}

export interface ConsumeRestoreEventsInput {
  tracking: TrackingLocation;
  queue: RestoreEventsQueue;
  /** Names the event files this consumer writes (derive it from the workflow id and an ordinal). */
  consumerId: string;
  /** Stop after receiving this many messages. @default 10000 */
  maxMessages?: number;
  /** Stop after this long, ms. @default 300000 */
  maxDurationMs?: number;
  /** Long-poll wait of each ReceiveMessage, s (0-20). @default 20 (less near maxDurationMs) */
  waitTimeSeconds?: number;
  /**
   * Facts are written (then their messages deleted) once this many messages are buffered, or `flushIntervalMs`
   * after the first one. Each flush writes one event file per shard it touches. @default 10000
   */
  flushEveryMessages?: number;
  /** @default 30000 */
  flushIntervalMs?: number;
  /**
   * Visibility timeout asked for on receive, s: must exceed the flush interval so that no buffered message is
   * delivered again before it is written. @default 300
   */
  visibilityTimeoutSeconds?: number;
  /** Stop at the first receive that brings no message (after its long poll). @default false */
  stopWhenEmpty?: boolean;
}

export interface ConsumeRestoreEventsResult {
  /** Messages received. */
  received: number;
  /** Messages deleted after their facts were written (or because they carry none for this tracking set). */
  deleted: number;
  /** Restore facts written to event files. */
  facts: number;
  /** Event files written. */
  files: number;
  /** Messages whose events name buckets this tracking set does not track. */
  notTracked: number;
  /** Messages that are not restore completions or expiries (e.g. `s3:TestEvent`, ObjectCreated, restore initiated). */
  ignored: number;
  /** Messages that are not JSON or not an S3/EventBridge/SNS shape (deleted, logged). */
  malformed: number;
  /** Messages whose delete failed (they will be delivered again; their facts are already written). */
  deleteFailures: number;
  receiveCalls: number;
  deleteCalls: number;
  durationMs: number;
}
