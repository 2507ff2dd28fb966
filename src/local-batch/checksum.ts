/**
 * S3ComputeObjectChecksum: the checksum algorithms of the S3 Control model over an object's bytes, streamed (never
 * the whole object in memory), as a full-object or a composite checksum, and the completion report's result message.
 *
 * The implementations are the AWS SDK's own (`@aws-sdk/checksums`, the package the S3 client uses for its flexible
 * checksums): CRC32 and the SHAs/MD5 on `node:zlib` / `node:crypto`, CRC32C, CRC64NVME and the XXHASH family in JS.
 */
import { Crc32, Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import { Md5 } from '@aws-sdk/checksums/md5';
import { Sha1, Sha256, Sha512 } from '@aws-sdk/checksums/sha';
import { Xxh3_128, Xxh3_64, Xxh64 } from '@aws-sdk/checksums/xxh';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { awsErrorInfo, missingObjectOutcome, unquoteETag } from './failures';
import { COMPOSITE_ALGORITHMS } from '../shared/s3-enums';
import type { ChecksumAlgorithm, ChecksumOperation, TaskOutcome, TaskRef } from './types';

/** The algorithm when a job names none: CRC64NVME, S3's own default checksum (our choice; AWS does not document it). */
export const DEFAULT_CHECKSUM_ALGORITHM: ChecksumAlgorithm = 'CRC64NVME';

export { COMPOSITE_ALGORITHMS };

/** The incremental interface every implementation here follows (Smithy's `Checksum`). */
interface Hasher {
  update(chunk: Uint8Array): void;
  digest(): Promise<Uint8Array>;
}

/** A fresh hasher for `algorithm`. */
export function newHasher(algorithm: ChecksumAlgorithm): Hasher {
  switch (algorithm) {
    case 'CRC32':
      return new Crc32();
    case 'CRC32C':
      return new Crc32c();
    case 'CRC64NVME':
      return new Crc64Nvme();
    case 'MD5':
      return new Md5();
    case 'SHA1':
      return new Sha1();
    case 'SHA256':
      return new Sha256();
    case 'SHA512':
      return new Sha512();
    case 'XXHASH64':
      return new Xxh64();
    case 'XXHASH3':
      return new Xxh3_64();
    case 'XXHASH128':
      return new Xxh3_128();
  }
}

/** A computed checksum: the digest bytes, and for a composite one over N parts the `-N` S3 appends. */
export interface ChecksumValue {
  algorithm: ChecksumAlgorithm;
  type: 'FULL_OBJECT' | 'COMPOSITE';
  digest: Uint8Array;
  /** Parts a composite checksum was computed over. */
  parts?: number;
}

/**
 * Hashes a stream of bytes. With `partSizes` (bytes of each part of a multipart object, in order, summing to the
 * object's size) and type COMPOSITE it is S3's composite checksum: the algorithm over the concatenated digests of the
 * parts. Without part sizes a COMPOSITE request is the full-object checksum: an object uploaded in one PUT is one
 * part, and S3 reports its checksum without a `-N` suffix.
 *
 * @throws Error when the stream's length does not match `partSizes`.
 */
export async function checksumOfStream(
  body: AsyncIterable<Uint8Array>,
  algorithm: ChecksumAlgorithm,
  type: 'FULL_OBJECT' | 'COMPOSITE',
  partSizes?: readonly number[],
): Promise<ChecksumValue> {
  if (type === 'FULL_OBJECT' || !partSizes || partSizes.length === 0) {
    const h = newHasher(algorithm);
    for await (const chunk of body) h.update(chunk);
    return { algorithm, type, digest: await h.digest() };
  }
  const partDigests: Uint8Array[] = [];
  let part = 0;
  let left = partSizes[0]!;
  let h = newHasher(algorithm);
  for await (const chunk of body) {
    let at = 0;
    while (at < chunk.length) {
      while (left === 0) {
        if (part >= partSizes.length - 1) throw new Error('the object is longer than its parts');
        partDigests.push(await h.digest());
        h = newHasher(algorithm);
        left = partSizes[++part]!;
      }
      const take = Math.min(left, chunk.length - at);
      h.update(chunk.subarray(at, at + take));
      at += take;
      left -= take;
    }
  }
  if (left !== 0 || part !== partSizes.length - 1) throw new Error('the object is shorter than its parts');
  partDigests.push(await h.digest());
  const outer = newHasher(algorithm);
  for (const d of partDigests) outer.update(d);
  return { algorithm, type, digest: await outer.digest(), parts: partDigests.length };
}

/** The algorithm and type a job asks for, with the engine's defaults filled in. */
export function checksumRequest(op: ChecksumOperation): {
  algorithm: ChecksumAlgorithm;
  type: 'FULL_OBJECT' | 'COMPOSITE';
} {
  return { algorithm: op.ChecksumAlgorithm ?? DEFAULT_CHECKSUM_ALGORITHM, type: op.ChecksumType ?? 'FULL_OBJECT' };
}

/**
 * The ResultMessage of a succeeded task: a JSON object with `checksum_base64`, `etag`, `checksumAlgorithm`,
 * `checksumType` and `checksum_hex`, the fields of AWS's example Compute checksum report (a composite value carries
 * S3's `-N` part-count suffix in `checksum_base64`; `checksum_hex` is the digest alone).
 */
export function checksumResultMessage(value: ChecksumValue, etag: string | undefined): string {
  const b64 = Buffer.from(value.digest).toString('base64');
  return JSON.stringify({
    checksum_base64: value.parts !== undefined ? `${b64}-${value.parts}` : b64,
    etag: etag ?? '',
    checksumAlgorithm: value.algorithm,
    checksumType: value.type,
    checksum_hex: Buffer.from(value.digest).toString('hex'),
  });
}

/** Storage classes whose bytes moto refuses to serve until the object is restored. */
const ARCHIVE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/**
 * The part sizes of a multipart object, from HEAD `partNumber=N` (S3 and moto answer with that part's length and
 * `x-amz-mp-parts-count`); undefined for an object uploaded in one PUT.
 */
async function partSizesOf(s3: S3Client, t: TaskRef, versionId: string | undefined): Promise<number[] | undefined> {
  // No If-Match here: moto answers a part HEAD with the part's own ETag. The GetObject that follows is pinned to the
  // object's ETag, and a stream whose length differs from the parts' sum fails the task.
  const first = await s3.send(
    new HeadObjectCommand({ Bucket: t.bucket, Key: t.key, VersionId: versionId, PartNumber: 1 }),
  );
  const count = first.PartsCount;
  if (count === undefined) return undefined;
  const sizes = [first.ContentLength ?? 0];
  for (let n = 2; n <= count; n++) {
    const part = await s3.send(
      new HeadObjectCommand({ Bucket: t.bucket, Key: t.key, VersionId: versionId, PartNumber: n }),
    );
    sizes.push(part.ContentLength ?? 0);
  }
  return sizes;
}

/**
 * S3ComputeObjectChecksum on one task: streams the object (pinned to the ETag its HEAD returned, so that a concurrent
 * overwrite fails the task instead of mixing two objects) through the hasher. Errors propagate to the task runner,
 * which reports their S3 code.
 */
export async function computeObjectChecksum(s3: S3Client, op: ChecksumOperation, t: TaskRef): Promise<TaskOutcome> {
  const { algorithm, type } = checksumRequest(op);
  let head;
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: t.bucket, Key: t.key, VersionId: t.versionId }));
  } catch (err) {
    if (awsErrorInfo(err).httpStatus !== 404) throw err;
    return missingObjectOutcome(t.versionId);
  }
  const cls = head.StorageClass ?? 'STANDARD';
  if (ARCHIVE_CLASSES.has(cls) && !/ongoing-request="false"/.test(head.Restore ?? '')) {
    return {
      status: 'failed',
      httpStatus: 403,
      errorCode: 'InvalidObjectState',
      resultMessage: `The object is in ${cls} and not restored: the local S3 cannot read it (AWS can)`,
    };
  }
  const versionId = t.versionId ?? head.VersionId;
  const parts = type === 'COMPOSITE' ? await partSizesOf(s3, t, versionId) : undefined;
  const got = await s3.send(
    new GetObjectCommand({ Bucket: t.bucket, Key: t.key, VersionId: versionId, IfMatch: head.ETag }),
  );
  const body = got.Body as AsyncIterable<Uint8Array> | undefined;
  if (!body) throw new Error('GetObject returned no body');
  const value = await checksumOfStream(body, algorithm, type, parts);
  return { status: 'succeeded', httpStatus: 200, resultMessage: checksumResultMessage(value, unquoteETag(head.ETag)) };
}
