/**
 * The two per-object S3 calls of restore tracking, reduced to what the tracking engine decides on: HEAD (is the
 * object there, is it restored, until when) and RestoreObject (extend a restored copy, or ask again).
 */
import { HeadObjectCommand, RestoreObjectCommand, type S3Client, type Tier } from '@aws-sdk/client-s3';

import { parseRestoreHeader, type RestoreStatus } from './restore-header';

/** Storage classes whose objects must be restored before they can be read (reference §8). */
const ARCHIVE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

export type HeadOutcome =
  | { missing: true }
  | {
      missing: false;
      restore: RestoreStatus;
      size: number | undefined;
      storageClass: string;
      /** Whether the object needs a restore to be read (an archive class, or an Intelligent-Tiering archive tier). */
      archived: boolean;
    };

export interface ObjectRef {
  bucket: string;
  key: string;
  /** '' for none. */
  versionId: string;
}

const statusOf = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const nameOf = (err: unknown) => (err as { name?: string }).name;

export async function headObject(s3: S3Client, o: ObjectRef, signal?: AbortSignal): Promise<HeadOutcome> {
  try {
    const out = await s3.send(
      new HeadObjectCommand({ Bucket: o.bucket, Key: o.key, VersionId: o.versionId || undefined }),
      { abortSignal: signal },
    );
    const storageClass = out.StorageClass ?? 'STANDARD';
    return {
      missing: false,
      restore: parseRestoreHeader(out.Restore),
      size: out.ContentLength,
      storageClass,
      archived: ARCHIVE_CLASSES.has(storageClass) || out.ArchiveStatus !== undefined,
    };
  } catch (err) {
    if (statusOf(err) === 404 || nameOf(err) === 'NotFound' || nameOf(err) === 'NoSuchKey') return { missing: true };
    throw err;
  }
}

/**
 * - `started`: 202, a new restore began (the object was not restored);
 * - `restored`: 200, the object was restored already and its expiry is now reset from today;
 * - `in-progress`: 409 RestoreAlreadyInProgress;
 * - `not-archived`: InvalidObjectState, the object is readable without a restore;
 * - `missing`: 404.
 */
export type RestoreOutcome = 'started' | 'restored' | 'in-progress' | 'not-archived' | 'missing';

const TIERS: Record<string, Tier> = { standard: 'Standard', bulk: 'Bulk', expedited: 'Expedited' };

/** The SDK's spelling of a tier given in any case; undefined for an unknown one. */
export function sdkTier(tier: string | undefined): Tier | undefined {
  return tier ? TIERS[tier.toLowerCase()] : undefined;
}

export async function requestRestore(
  s3: S3Client,
  o: ObjectRef,
  days: number,
  tier: Tier | undefined,
  signal?: AbortSignal,
): Promise<RestoreOutcome> {
  try {
    const out = await s3.send(
      new RestoreObjectCommand({
        Bucket: o.bucket,
        Key: o.key,
        VersionId: o.versionId || undefined,
        RestoreRequest: { Days: days, ...(tier ? { GlacierJobParameters: { Tier: tier } } : {}) },
      }),
      { abortSignal: signal },
    );
    return out.$metadata.httpStatusCode === 200 ? 'restored' : 'started';
  } catch (err) {
    const name = nameOf(err);
    if (name === 'RestoreAlreadyInProgress' || statusOf(err) === 409) return 'in-progress';
    if (name === 'InvalidObjectState' || name === 'ObjectNotInActiveTierError') return 'not-archived';
    if (name === 'NoSuchKey' || name === 'NoSuchVersion' || statusOf(err) === 404) return 'missing';
    throw err;
  }
}
