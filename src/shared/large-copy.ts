/**
 * Input and result of the large-object copy activities (`src/activities/large-copy.ts`): objects above a campaign's
 * `largeObjectThreshold` are copied by the worker with a multipart copy instead of by a Batch Operations job, with the
 * job's semantics. Small JSON only: no part lists.
 */
import type { CopyOperation } from '../local-batch/types';

/** An object, as S3 names it. */
export interface ObjectLocation {
  bucket: string;
  /** The decoded key. */
  key: string;
}

export interface CopyLargeObjectInput {
  /** The object to copy. Without `versionId` the current version is copied, pinned by its ETag for the whole copy. */
  source: ObjectLocation & { versionId?: string };
  /**
   * Where the copy goes: the bucket of `operation.TargetResource` and `<TargetKeyPrefix>/<source key>`, as the job
   * would write it. When given it must be exactly that (a mismatch is InvalidInput).
   * @default derived from `operation`
   */
  target?: ObjectLocation;
  /** The campaign's S3PutObjectCopy parameters, the ones its jobs get (`toJobOperation` in src/campaign/operation.ts). */
  operation: CopyOperation;
  /**
   * Bytes per part, 5 MiB – 5 GiB. Raised to a whole MiB when the object would need more than 10,000 parts. A retried
   * attempt must be given the same value to resume (it is, since Temporal retries with the same input).
   * @default 268435456 (256 MiB)
   */
  partSizeBytes?: number;
  /** UploadPartCopy requests in flight at once, 1 – 32. @default 8 */
  concurrency?: number;
  /**
   * A restored source whose temporary copy expires within `marginMs` (per its HEAD) gets its restore extended by
   * `days` (RestoreObject, `tier`) before the copy starts: a batch of large copies runs for hours with no tracking
   * step (and so no expiry guard) in between. A failed extension is logged and the copy goes on. @default no extension
   */
  extendRestore?: { marginMs: number; days: number; tier?: string };
}

/** What was compared between the source and the finished target; a mismatch fails with CopyVerificationFailed. */
export interface LargeCopyVerification {
  /** The target's ContentLength equals the source's. Always compared. */
  size: true;
  /**
   * The full-object checksum algorithm whose values were compared equal (HeadObject with ChecksumMode ENABLED on both).
   * Undefined when the source has no full-object CRC, or the operation asks for another algorithm than the source's.
   */
  checksum?: 'CRC64NVME' | 'CRC32C' | 'CRC32';
  /**
   * The target's ETag equals MD5(the parts' MD5s)-N of the parts this attempt completed: S3 assembled exactly the parts
   * that were copied, in order. False when not compared (an SSE-KMS target, whose part ETags are not MD5s, or an upload
   * an earlier attempt completed).
   */
  partETags: boolean;
}

export interface CopyLargeObjectResult {
  /** Bytes copied (the object's size). */
  bytes: number;
  /** Parts of the upload. */
  parts: number;
  /** Bytes per part (the last part may be smaller). */
  partSizeBytes: number;
  /** The target's ETag, `"…-N"`. */
  targetETag: string;
  /** The new version of the target, in a versioned bucket (not the `null` version of an unversioned one). */
  targetVersionId?: string;
  /** Parts an earlier attempt had copied (found with ListParts) that this attempt did not copy again. */
  resumedParts: number;
  /** An earlier attempt had completed the upload before it failed; this one only verified the target. */
  completedEarlier: boolean;
  verification: LargeCopyVerification;
  /** `extendRestore` extended the source's restore before the copy. */
  restoreExtended?: boolean;
}

export interface AbortAbandonedUploadsInput {
  bucket: string;
  /** Only uploads whose key starts with this. An empty prefix means the whole bucket. */
  prefix: string;
  /** ISO-8601 time: uploads initiated before it are aborted, later ones (possibly still running) are kept. */
  olderThan: string;
}

export interface AbortAbandonedUploadsResult {
  /** Uploads aborted. */
  aborted: number;
  /** Uploads under the prefix that were initiated at or after `olderThan` and kept. */
  kept: number;
}
