/**
 * The pure half of the large-object copy: part planning within S3's limits, the checksum a copy is created with and
 * compared by, the CreateMultipartUpload request (the Batch Operations copy's metadata and tag rules), the archive
 * check, and the verdict on a finished target.
 */
import { copyObjectInput } from '../../src/local-batch/operations';
import type { CopyOperation } from '../../src/local-batch/types';
import {
  DEFAULT_PART_BYTES,
  MAX_PART_BYTES,
  MAX_PARTS,
  MIN_PART_BYTES,
  partBytes,
  partRange,
  planParts,
} from '../../src/large-copy/parts';
import {
  createMultipartUploadInput,
  failedConstraint,
  multipartETag,
  planChecksum,
  unrestoredArchive,
  verifyTarget,
} from '../../src/large-copy/requests';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const TiB = 1024 ** 4;

describe('planParts', () => {
  test.each<[string, number, number | undefined, number, number, number]>([
    // name, object bytes, requested part bytes, part size, count, last part bytes
    ['12 MiB in 5 MiB parts: a short last part', 12 * MiB, 5 * MiB, 5 * MiB, 3, 2 * MiB],
    ['an exact multiple: the last part is full', 10 * MiB, 5 * MiB, 5 * MiB, 2, 5 * MiB],
    ['smaller than one part: one part of the whole object', 3 * MiB, 5 * MiB, 5 * MiB, 1, 3 * MiB],
    [
      '5 GB at the default size',
      5 * 1000 ** 3,
      undefined,
      DEFAULT_PART_BYTES,
      19,
      5 * 1000 ** 3 - 18 * DEFAULT_PART_BYTES,
    ],
    ['an empty object: one empty part', 0, 5 * MiB, 5 * MiB, 1, 0],
    ['exactly 10,000 parts: no raise', 10_000 * 5 * MiB, 5 * MiB, 5 * MiB, 10_000, 5 * MiB],
    [
      'one byte over 10,000 parts: raised to the next whole MiB',
      10_000 * 5 * MiB + 1,
      5 * MiB,
      6 * MiB,
      8334,
      2 * MiB + 1,
    ],
  ])('%s', (_name, bytes, requested, size, count, last) => {
    const plan = planParts(bytes, requested);
    expect(plan).toEqual({ objectBytes: bytes, partSizeBytes: size, count });
    expect(partBytes(plan, count)).toBe(last);
    let total = 0;
    for (let n = 1; n <= count; n++) total += partBytes(plan, n);
    expect(total).toBe(bytes);
  });

  test('5 TiB (S3’s largest object) at the default size is raised to fit 10,000 parts of whole MiB', () => {
    const plan = planParts(5 * TiB);
    expect(plan.count).toBeLessThanOrEqual(MAX_PARTS);
    expect(plan.partSizeBytes % MiB).toBe(0);
    expect(plan.partSizeBytes).toBe(525 * MiB);
    expect(plan.partSizeBytes * (plan.count - 1)).toBeLessThan(5 * TiB);
  });

  test.each([
    ['below 5 MiB', 10 * MiB, MIN_PART_BYTES - 1, /below S3's minimum/],
    ['above 5 GiB', 10 * MiB, MAX_PART_BYTES + 1, /above S3's maximum/],
    ['not whole', 10 * MiB, 5 * MiB + 0.5, /not a whole number/],
    ['an object that 10,000 parts of 5 GiB cannot hold', 10_000 * 5 * GiB + 1, 5 * MiB, /does not fit/],
  ])('refuses %s', (_name, bytes, requested, message) => {
    expect(() => planParts(bytes, requested)).toThrow(message);
  });

  test('ranges are inclusive, contiguous and end at the last byte; an empty object has none', () => {
    const plan = planParts(12 * MiB, 5 * MiB);
    expect([1, 2, 3].map((n) => partRange(plan, n))).toEqual([
      `bytes=0-${5 * MiB - 1}`,
      `bytes=${5 * MiB}-${10 * MiB - 1}`,
      `bytes=${10 * MiB}-${12 * MiB - 1}`,
    ]);
    expect(partRange(planParts(0, 5 * MiB), 1)).toBeUndefined();
  });
});

describe('planChecksum', () => {
  test.each<[string, string | undefined, Record<string, string>, object]>([
    [
      'no algorithm asked: the source’s full-object CRC is kept and compared',
      undefined,
      { ChecksumCRC32: 'AAAAAQ==' },
      { algorithm: 'CRC32', type: 'FULL_OBJECT', expected: { algorithm: 'CRC32', value: 'AAAAAQ==' } },
    ],
    [
      'CRC64NVME (AWS’s default) is preferred when the HEAD shows several',
      undefined,
      { ChecksumCRC32: 'AAAAAQ==', ChecksumCRC64NVME: 'AAAAAAAAAAE=', ChecksumType: 'FULL_OBJECT' },
      { algorithm: 'CRC64NVME', type: 'FULL_OBJECT', expected: { algorithm: 'CRC64NVME', value: 'AAAAAAAAAAE=' } },
    ],
    ['a source without checksum: S3’s default, nothing to compare', undefined, {}, {}],
    [
      'a composite source checksum (a multipart source) is not comparable',
      undefined,
      { ChecksumCRC32: 'AAAAAQ==-3', ChecksumType: 'COMPOSITE' },
      {},
    ],
    [
      'the operation’s CRC wins; compared when the source has the same one',
      'CRC32C',
      { ChecksumCRC32C: 'AAAAAg==' },
      { algorithm: 'CRC32C', type: 'FULL_OBJECT', expected: { algorithm: 'CRC32C', value: 'AAAAAg==' } },
    ],
    [
      'the operation’s CRC differs from the source’s: full-object, not compared',
      'CRC64NVME',
      { ChecksumCRC32: 'AAAAAQ==' },
      { algorithm: 'CRC64NVME', type: 'FULL_OBJECT' },
    ],
    [
      'SHA-256 exists only as COMPOSITE: left to S3, not compared',
      'SHA256',
      { ChecksumCRC32: 'AAAAAQ==' },
      { algorithm: 'SHA256' },
    ],
  ])('%s', (_name, opAlgorithm, head, plan) => {
    expect(planChecksum(opAlgorithm, head)).toEqual(plan);
  });
});

describe('createMultipartUploadInput', () => {
  const task = { index: 0, bucket: 'src', key: 'big/a.bin', rawKey: 'big/a.bin' };
  const base: CopyOperation = { TargetResource: 'arn:aws:s3:::dst', StorageClass: 'STANDARD_IA' };
  const head = {
    ContentType: 'application/x-src',
    CacheControl: 'max-age=60',
    ContentDisposition: 'attachment',
    ContentEncoding: 'identity',
    ContentLanguage: 'en',
    ExpiresString: 'Wed, 01 Jan 2031 00:00:00 GMT',
    Metadata: { origin: 'source' },
  };
  const sourceTags = [{ Key: 'team', Value: 'a b' }];

  test.each<[string, Partial<CopyOperation>, object]>([
    [
      'no directive, no metadata, no tags given: the source’s metadata and tags',
      {},
      {
        ContentType: 'application/x-src',
        CacheControl: 'max-age=60',
        ContentDisposition: 'attachment',
        ContentEncoding: 'identity',
        ContentLanguage: 'en',
        Expires: new Date('2031-01-01T00:00:00Z'),
        Metadata: { origin: 'source' },
        Tagging: 'team=a%20b',
      },
    ],
    [
      'REPLACE: exactly the new metadata (none of the source’s), and NewObjectTagging',
      {
        MetadataDirective: 'REPLACE',
        NewObjectMetadata: { ContentType: 'text/plain', UserMetadata: { k: 'v' } },
        NewObjectTagging: [{ Key: 'x', Value: 'y' }],
      },
      {
        ContentType: 'text/plain',
        CacheControl: undefined,
        Expires: undefined,
        Metadata: { k: 'v' },
        Tagging: 'x=y',
      },
    ],
    [
      'metadata given without a directive replaces',
      { NewObjectMetadata: { CacheControl: 'no-store' } },
      { ContentType: undefined, CacheControl: 'no-store', Metadata: undefined, Tagging: 'team=a%20b' },
    ],
    [
      'an explicit COPY keeps the source’s metadata though metadata is given',
      { MetadataDirective: 'COPY', NewObjectMetadata: { ContentType: 'text/plain' } },
      { ContentType: 'application/x-src', Metadata: { origin: 'source' } },
    ],
    ['an empty NewObjectTagging: no tags at all', { NewObjectTagging: [] }, { Tagging: undefined }],
    [
      'ACL, grants, encryption, lock and redirect map as for CopyObject',
      {
        CannedAccessControlList: 'bucket-owner-full-control',
        AccessControlGrants: [{ Grantee: { TypeIdentifier: 'id', Identifier: 'abc' }, Permission: 'READ' }],
        NewObjectMetadata: { SSEAlgorithm: 'KMS' },
        SSEAwsKmsKeyId: 'arn:aws:kms:us-east-1:1:key/k',
        BucketKeyEnabled: true,
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: '2030-01-01T00:00:00Z',
        ObjectLockLegalHoldStatus: 'ON',
        RedirectLocation: '/elsewhere',
        RequesterPays: true,
      },
      {
        ACL: 'bucket-owner-full-control',
        GrantRead: 'id="abc"',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'arn:aws:kms:us-east-1:1:key/k',
        BucketKeyEnabled: true,
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: new Date('2030-01-01T00:00:00Z'),
        ObjectLockLegalHoldStatus: 'ON',
        WebsiteRedirectLocation: '/elsewhere',
        RequestPayer: 'requester',
        // SSE alone does not replace the metadata.
        ContentType: 'application/x-src',
      },
    ],
  ])('%s', (_name, extra, expected) => {
    const copy = copyObjectInput({ ...base, ...extra }, task);
    const input = createMultipartUploadInput(copy, head, sourceTags, { algorithm: 'CRC32', type: 'FULL_OBJECT' });
    expect(input).toMatchObject({
      Bucket: 'dst',
      Key: 'big/a.bin',
      StorageClass: 'STANDARD_IA',
      ChecksumAlgorithm: 'CRC32',
      ChecksumType: 'FULL_OBJECT',
      ...expected,
    });
  });

  test('TargetKeyPrefix prefixes the key as the job would', () => {
    const copy = copyObjectInput({ ...base, TargetKeyPrefix: 'copies' }, task);
    expect(createMultipartUploadInput(copy, head, [], {}).Key).toBe('copies/big/a.bin');
  });
});

describe('unrestoredArchive', () => {
  test.each<[string, object, string | undefined]>([
    ['GLACIER, never restored', { StorageClass: 'GLACIER' }, 'GLACIER'],
    [
      'DEEP_ARCHIVE, restore running',
      { StorageClass: 'DEEP_ARCHIVE', Restore: 'ongoing-request="true"' },
      'DEEP_ARCHIVE',
    ],
    [
      'GLACIER, restored',
      { StorageClass: 'GLACIER', Restore: 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"' },
      undefined,
    ],
    [
      'Intelligent-Tiering archive tier',
      { StorageClass: 'INTELLIGENT_TIERING', ArchiveStatus: 'ARCHIVE_ACCESS' },
      'ARCHIVE_ACCESS',
    ],
    ['GLACIER_IR needs no restore', { StorageClass: 'GLACIER_IR' }, undefined],
    ['STANDARD (no class header)', {}, undefined],
  ])('%s', (_name, head, expected) => {
    expect(unrestoredArchive(head)).toBe(expected);
  });
});

test('failedConstraint: ModifiedSince needs a later LastModified, UnModifiedSince a not later one', () => {
  const at = new Date('2025-06-01T00:00:00Z');
  const op = (c: Partial<CopyOperation>): CopyOperation => ({ TargetResource: 'arn:aws:s3:::dst', ...c });
  expect(failedConstraint(op({ ModifiedSinceConstraint: '2025-05-01T00:00:00Z' }), at)).toBeUndefined();
  expect(failedConstraint(op({ ModifiedSinceConstraint: '2025-06-01T00:00:00Z' }), at)).toMatch(/^not modified since/);
  expect(failedConstraint(op({ UnModifiedSinceConstraint: '2025-06-01T00:00:00Z' }), at)).toBeUndefined();
  expect(failedConstraint(op({ UnModifiedSinceConstraint: '2025-05-01T00:00:00Z' }), at)).toMatch(/^modified since/);
});

describe('verifyTarget', () => {
  const parts = ['"0cc175b9c0f1b6a831c399e269772661"', '"92eb5ffee6ae2fec3ad71c777531578f"'];
  const etag = `"${multipartETag(parts)}"`;
  const checksum = {
    algorithm: 'CRC32',
    type: 'FULL_OBJECT' as const,
    expected: { algorithm: 'CRC32' as const, value: 'AAAAAQ==' },
  };

  test('size, checksum and part ETags compared', () => {
    expect(
      verifyTarget(
        { ContentLength: 10, ETag: etag, ChecksumCRC32: 'AAAAAQ==' },
        { bytes: 10, checksum, partETags: parts },
      ),
    ).toEqual({
      ok: true,
      verification: { size: true, checksum: 'CRC32', partETags: true },
    });
  });

  test.each<[string, object, RegExp]>([
    ['another size', { ContentLength: 11, ETag: etag, ChecksumCRC32: 'AAAAAQ==' }, /11 bytes, the source 10/],
    ['another checksum', { ContentLength: 10, ETag: etag, ChecksumCRC32: 'AAAAAg==' }, /CRC32 is AAAAAg==/],
    ['no checksum', { ContentLength: 10, ETag: etag }, /CRC32 is missing/],
    [
      'an ETag the parts do not make',
      { ContentLength: 10, ETag: '"abc-2"', ChecksumCRC32: 'AAAAAQ==' },
      /its parts make/,
    ],
  ])('fails on %s', (_name, target, reason) => {
    const check = verifyTarget(target, { bytes: 10, checksum, partETags: parts });
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toMatch(reason);
  });

  test('an SSE-KMS target’s ETag is not compared (its part ETags are no MD5s)', () => {
    const check = verifyTarget(
      { ContentLength: 10, ETag: '"abc-2"', ServerSideEncryption: 'aws:kms' },
      { bytes: 10, checksum: {}, partETags: parts },
    );
    expect(check).toEqual({ ok: true, verification: { size: true, checksum: undefined, partETags: false } });
  });

  test('multipartETag is MD5 of the binary part MD5s, then -N', () => {
    // md5(md5("a") ‖ md5("b")) computed independently.
    expect(multipartETag(parts)).toMatch(/^[0-9a-f]{32}-2$/);
    expect(multipartETag(['"' + '00'.repeat(16) + '"'])).toBe('4ae71336e44bf9bf79d2752e234818a5-1');
  });
});
