/**
 * The requests and checks of a multipart copy, pure: what CreateMultipartUpload gets so that the copy has the same
 * metadata, tags, ACL, class, encryption and lock as the Batch Operations copy of a smaller object
 * (`copyObjectInput`), whether a source can be read, and whether a finished target matches its source.
 */
import { createHash } from 'node:crypto';

import type {
  ChecksumAlgorithm,
  CopyObjectCommandInput,
  CreateMultipartUploadCommandInput,
  HeadObjectOutput,
  Tag,
} from '@aws-sdk/client-s3';

import { isRestored, taggingHeader } from '../local-batch/operations';
import type { CopyOperation } from '../local-batch/types';
import type { LargeCopyVerification } from '../shared/large-copy';

/** Storage classes whose objects must be restored before they can be read. */
const ARCHIVE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/**
 * Why the source cannot be read yet: its archive class or tier when it is archived without a completed restore
 * (`x-amz-restore: ongoing-request="false"`), else undefined. GLACIER_IR and the Archive Instant tier need no restore.
 */
export function unrestoredArchive(head: Pick<HeadObjectOutput, 'StorageClass' | 'ArchiveStatus' | 'Restore'>) {
  const archived = head.ArchiveStatus ?? (ARCHIVE_CLASSES.has(head.StorageClass ?? '') ? head.StorageClass : undefined);
  if (!archived || isRestored(head.Restore)) return undefined;
  return archived;
}

/**
 * Why the source fails the operation's ModifiedSinceConstraint / UnModifiedSinceConstraint (what CopyObject answers
 * with 412), else undefined. Checked once against the HEAD: every part is then pinned to that HEAD's ETag.
 */
export function failedConstraint(op: CopyOperation, lastModified: Date | undefined): string | undefined {
  if (!lastModified) return undefined;
  if (op.ModifiedSinceConstraint && !(lastModified > new Date(op.ModifiedSinceConstraint))) {
    return `not modified since ${op.ModifiedSinceConstraint} (last modified ${lastModified.toISOString()})`;
  }
  if (op.UnModifiedSinceConstraint && lastModified > new Date(op.UnModifiedSinceConstraint)) {
    return `modified since ${op.UnModifiedSinceConstraint} (last modified ${lastModified.toISOString()})`;
  }
  return undefined;
}

/** Checksums S3 can combine from a multipart upload's parts into the checksum of the whole object (FULL_OBJECT). */
export const FULL_OBJECT_ALGORITHMS = ['CRC64NVME', 'CRC32C', 'CRC32'] as const;
export type FullObjectAlgorithm = (typeof FULL_OBJECT_ALGORITHMS)[number];

type ChecksumFields = Partial<Record<`Checksum${FullObjectAlgorithm}`, string>> & { ChecksumType?: string };

const isFullObjectAlgorithm = (a: string | undefined): a is FullObjectAlgorithm =>
  (FULL_OBJECT_ALGORITHMS as readonly string[]).includes(a ?? '');

/**
 * The object's checksum of `algorithm` when it covers the whole object. A composite checksum (of a multipart object's
 * parts: `ChecksumType: COMPOSITE`, or a value ending in `-N`) depends on the part sizes and is never comparable.
 * moto leaves ChecksumType out on single-part objects, whose checksums are full-object ones.
 */
function fullObjectValue(head: ChecksumFields, algorithm: FullObjectAlgorithm): string | undefined {
  const value = head[`Checksum${algorithm}`];
  if (!value || head.ChecksumType === 'COMPOSITE' || /-\d+$/.test(value)) return undefined;
  return value;
}

/** The checksum a multipart copy is created with, and the source value its target must then show. */
export interface ChecksumPlan {
  /** CreateMultipartUpload's ChecksumAlgorithm. Undefined: S3's default (CRC64NVME on AWS). */
  algorithm?: string;
  /** CreateMultipartUpload's ChecksumType: FULL_OBJECT for the CRCs, S3's default (COMPOSITE) for the others. */
  type?: 'FULL_OBJECT';
  /** The source's full-object checksum of `algorithm`: the target's must equal it. */
  expected?: { algorithm: FullObjectAlgorithm; value: string };
}

/**
 * The checksum of the copy. As with CopyObject, the operation's ChecksumAlgorithm wins, and without one the copy keeps
 * the source's algorithm. A CRC (CRC64NVME, CRC32C, CRC32) is created as FULL_OBJECT: S3 combines the parts' CRCs
 * into the CRC of the whole object, the value a single PUT of the same bytes gets, so it can be compared with the
 * source's. That needs the source to carry a full-object checksum of the same algorithm (AWS adds CRC64NVME to every
 * object written since 2025; the SDKs send CRC32 by default); then it is the strongest check short of reading both
 * objects. SHA-1/SHA-256 exist only as COMPOSITE (a checksum of part checksums) and are never comparable.
 */
export function planChecksum(opAlgorithm: string | undefined, source: ChecksumFields): ChecksumPlan {
  if (opAlgorithm) {
    if (!isFullObjectAlgorithm(opAlgorithm)) return { algorithm: opAlgorithm };
    const value = fullObjectValue(source, opAlgorithm);
    return {
      algorithm: opAlgorithm,
      type: 'FULL_OBJECT',
      ...(value ? { expected: { algorithm: opAlgorithm, value } } : {}),
    };
  }
  for (const algorithm of FULL_OBJECT_ALGORITHMS) {
    const value = fullObjectValue(source, algorithm);
    if (value) return { algorithm, type: 'FULL_OBJECT', expected: { algorithm, value } };
  }
  return {};
}

/**
 * CreateMultipartUpload for the copy CopyObject would make with `copy` (built by `copyObjectInput`). Multipart copies
 * carry no metadata and no tags of their own, so with the COPY directive (or none) they come from the source's HEAD,
 * and without NewObjectTagging from the source's tags, exactly what CopyObject would have copied.
 */
export function createMultipartUploadInput(
  copy: CopyObjectCommandInput,
  source: HeadObjectOutput,
  sourceTags: readonly Tag[],
  checksum: ChecksumPlan,
): CreateMultipartUploadCommandInput {
  const md =
    copy.MetadataDirective === 'REPLACE'
      ? copy
      : {
          ...source,
          // The SDK's Expires is undefined for a header that is no HTTP date; ExpiresString keeps it.
          Expires: source.ExpiresString ? validDate(source.ExpiresString) : undefined,
        };
  const tags =
    copy.TaggingDirective === 'REPLACE'
      ? copy.Tagging
      : taggingHeader(sourceTags.map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' })));
  return {
    Bucket: copy.Bucket,
    Key: copy.Key,
    ContentType: md.ContentType,
    CacheControl: md.CacheControl,
    ContentDisposition: md.ContentDisposition,
    ContentEncoding: md.ContentEncoding,
    ContentLanguage: md.ContentLanguage,
    Expires: md.Expires,
    Metadata: md.Metadata && Object.keys(md.Metadata).length > 0 ? md.Metadata : undefined,
    Tagging: tags || undefined,
    StorageClass: copy.StorageClass,
    ACL: copy.ACL,
    GrantFullControl: copy.GrantFullControl,
    GrantRead: copy.GrantRead,
    GrantReadACP: copy.GrantReadACP,
    GrantWriteACP: copy.GrantWriteACP,
    ServerSideEncryption: copy.ServerSideEncryption,
    SSEKMSKeyId: copy.SSEKMSKeyId,
    BucketKeyEnabled: copy.BucketKeyEnabled,
    ObjectLockLegalHoldStatus: copy.ObjectLockLegalHoldStatus,
    ObjectLockMode: copy.ObjectLockMode,
    ObjectLockRetainUntilDate: copy.ObjectLockRetainUntilDate,
    WebsiteRedirectLocation: copy.WebsiteRedirectLocation,
    RequestPayer: copy.RequestPayer,
    ChecksumAlgorithm: checksum.algorithm as ChecksumAlgorithm | undefined,
    ChecksumType: checksum.type,
  };
}

function validDate(text: string): Date | undefined {
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The ETag S3 gives a multipart object made of parts with these ETags, in order: MD5(part MD5s)-N, unquoted. */
export function multipartETag(partETags: readonly string[]): string {
  const md5 = createHash('md5');
  for (const etag of partETags) md5.update(Buffer.from(unquote(etag), 'hex'));
  return `${md5.digest('hex')}-${partETags.length}`;
}

export const unquote = (etag: string): string => etag.replace(/^"|"$/g, '');

/** What the target's HEAD (ChecksumMode ENABLED) is checked against. */
export interface TargetExpectation {
  bytes: number;
  checksum: ChecksumPlan;
  /** The ETags of the parts completed, in order; undefined when the upload was completed by an earlier attempt. */
  partETags?: readonly string[];
}

/**
 * Compares a finished target with its source: the size always, the full-object checksum when `expect.checksum` has
 * one, and the ETag against the completed parts unless the target is SSE-KMS encrypted (its part ETags are no MD5s).
 * @returns what was compared, or why the target does not match.
 */
export function verifyTarget(
  target: Pick<HeadObjectOutput, 'ContentLength' | 'ETag' | 'ServerSideEncryption'> & ChecksumFields,
  expect: TargetExpectation,
): { ok: true; verification: LargeCopyVerification } | { ok: false; reason: string } {
  if (target.ContentLength !== expect.bytes) {
    return { ok: false, reason: `the target has ${target.ContentLength} bytes, the source ${expect.bytes}` };
  }
  const expected = expect.checksum.expected;
  if (expected) {
    const actual = target[`Checksum${expected.algorithm}`];
    if (actual !== expected.value) {
      return {
        ok: false,
        reason: `the target's ${expected.algorithm} is ${actual ?? 'missing'}, the source's ${expected.value}`,
      };
    }
  }
  const kms = (target.ServerSideEncryption ?? '').startsWith('aws:kms');
  const partETags = !!expect.partETags && !kms;
  if (partETags) {
    const want = multipartETag(expect.partETags!);
    if (unquote(target.ETag ?? '') !== want) {
      return { ok: false, reason: `the target's ETag is ${target.ETag}, its parts make "${want}"` };
    }
  }
  return { ok: true, verification: { size: true, checksum: expected?.algorithm, partETags } };
}
