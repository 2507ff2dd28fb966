/**
 * S3ComputeObjectChecksum's hashing: every algorithm against published check values, independence from how the
 * stream is chunked, S3's composite form over parts, and the report's result message.
 */
import { createHash } from 'node:crypto';

import {
  checksumOfStream,
  checksumResultMessage,
  checksumRequest,
  type ChecksumValue,
} from '../../src/local-batch/checksum';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from '../../src/local-batch/types';

async function* chunks(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

const hex = (v: ChecksumValue) => Buffer.from(v.digest).toString('hex');
const full = async (alg: ChecksumAlgorithm, data: Buffer, chunk = 7) =>
  hex(await checksumOfStream(chunks(data, chunk), alg, 'FULL_OBJECT'));

/**
 * Published check values: the CRC catalogue's "check" over the ASCII string 123456789 (CRC-32/ISO-HDLC, CRC-32C,
 * CRC-64/NVME), RFC 1321 / FIPS 180 digests, and the xxHash reference values for the empty input and "abc".
 */
const VECTORS: Array<[ChecksumAlgorithm, string, string]> = [
  ['CRC32', '123456789', 'cbf43926'],
  ['CRC32C', '123456789', 'e3069283'],
  ['CRC64NVME', '123456789', 'ae8b14860a799888'],
  ['MD5', 'abc', '900150983cd24fb0d6963f7d28e17f72'],
  ['SHA1', 'abc', 'a9993e364706816aba3e25717850c26c9cd0d89d'],
  ['SHA256', 'abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  [
    'SHA512',
    'abc',
    'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
  ],
  ['XXHASH64', '', 'ef46db3751d8e999'],
  ['XXHASH64', 'abc', '44bc2cf5ad770999'],
  ['XXHASH3', '', '2d06800538d394c2'],
  ['XXHASH128', '', '99aa06d3014798d86001c324468d497f'],
];

test.each(VECTORS)('%s(%j) is the published value', async (alg, input, expected) => {
  expect(await full(alg, Buffer.from(input, 'ascii'))).toBe(expected);
});

test('every algorithm of the model has a vector', () => {
  expect(new Set(VECTORS.map(([a]) => a))).toEqual(new Set(CHECKSUM_ALGORITHMS));
});

describe('streaming', () => {
  // 1 MiB + 3 bytes of varied data: crosses every implementation's internal block size.
  const data = Buffer.from(Array.from({ length: 1024 * 1024 + 3 }, (_, i) => (i * 131 + (i >> 9)) & 0xff));

  // Byte by byte over 64 KiB + 3 (still many blocks of every implementation): over the whole MiB that was a million
  // chunks per algorithm, and in a CI Jest worker whose heap had filled up, minutes of garbage collection.
  const head = data.subarray(0, 64 * 1024 + 3);

  test.each([...CHECKSUM_ALGORITHMS])('%s does not depend on how the bytes are chunked', async (alg) => {
    const whole = await full(alg, data, data.length);
    expect(await full(alg, data, 65_537)).toBe(whole);
    expect(await full(alg, data, 4093)).toBe(whole);
    expect(await full(alg, head, 1)).toBe(await full(alg, head, head.length));
  });

  test('SHA256 and MD5 agree with node:crypto over a large input', async () => {
    expect(await full('SHA256', data, 4096)).toBe(createHash('sha256').update(data).digest('hex'));
    expect(await full('MD5', data, 4096)).toBe(createHash('md5').update(data).digest('hex'));
  });
});

describe('COMPOSITE', () => {
  const data = Buffer.from('a'.repeat(10) + 'b'.repeat(6));

  test('is the algorithm over the concatenated part digests, with the part count', async () => {
    const p1 = createHash('sha256').update(data.subarray(0, 10)).digest();
    const p2 = createHash('sha256').update(data.subarray(10)).digest();
    const expected = createHash('sha256')
      .update(Buffer.concat([p1, p2]))
      .digest('hex');
    const v = await checksumOfStream(chunks(data, 3), 'SHA256', 'COMPOSITE', [10, 6]);
    expect(hex(v)).toBe(expected);
    expect(v.parts).toBe(2);
    expect(JSON.parse(checksumResultMessage(v, 'etag-1')) as unknown).toEqual({
      checksum_base64: `${Buffer.from(expected, 'hex').toString('base64')}-2`,
      etag: 'etag-1',
      checksumAlgorithm: 'SHA256',
      checksumType: 'COMPOSITE',
      checksum_hex: expected,
    });
  });

  test('an object uploaded in one part is its full-object checksum', async () => {
    const v = await checksumOfStream(chunks(data, 5), 'CRC32', 'COMPOSITE');
    expect(hex(v)).toBe(await full('CRC32', data));
    expect(v.parts).toBeUndefined();
  });

  test('a stream that does not add up to its parts is an error', async () => {
    await expect(checksumOfStream(chunks(data, 4), 'MD5', 'COMPOSITE', [10, 5])).rejects.toThrow(/longer/);
    await expect(checksumOfStream(chunks(data, 4), 'MD5', 'COMPOSITE', [10, 7])).rejects.toThrow(/shorter/);
  });
});

test('a job that names no algorithm or type gets CRC64NVME, FULL_OBJECT', () => {
  expect(checksumRequest({})).toEqual({ algorithm: 'CRC64NVME', type: 'FULL_OBJECT' });
});
