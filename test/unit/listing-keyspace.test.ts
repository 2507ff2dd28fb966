/**
 * The bucket lister's keyspace split, without servers: split points fall strictly inside their range and start with
 * the prefix, and for any keys (no "/", one huge prefix, many tiny ones, unicode beyond the BMP, control characters)
 * the parallel lister returns every key and version exactly once, splitting only where there are keys. S3 is a small
 * in-memory fake that answers ListObjectsV2 / ListObjectVersions as S3 documents them (UTF-8 byte order, StartAfter
 * and KeyMarker exclusive, MaxKeys pages).
 */
import { ListObjectsV2Command, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';

import { compareKeys, KeyAlphabet, listBucket, splitPoints } from '../../src/listing';
import { PRINTABLE } from '../../src/listing/keyspace';

/** Versions of one key, newest first. */
type Bucket = Map<string, string[]>;

/** A fake S3 client over `bucket` that counts the list requests it answers. */
function fakeS3(bucket: Bucket): { s3: S3Client; requests: () => number; maxInFlight: () => number } {
  const sorted = [...bucket.keys()].sort(compareKeys);
  let requests = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const send = async (cmd: unknown) => {
    requests++;
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    await new Promise((r) => setImmediate(r));
    inFlight--;
    if (cmd instanceof ListObjectsV2Command) {
      const { Prefix = '', StartAfter, MaxKeys = 1000 } = cmd.input;
      const keys = sorted.filter(
        (k) => k.startsWith(Prefix) && (StartAfter === undefined || compareKeys(k, StartAfter) > 0),
      );
      const page = keys.slice(0, MaxKeys);
      return {
        Contents: page.map((Key) => ({ Key, Size: 1, StorageClass: 'STANDARD', LastModified: new Date(0) })),
        IsTruncated: keys.length > MaxKeys,
      };
    }
    if (cmd instanceof ListObjectVersionsCommand) {
      const { Prefix = '', KeyMarker, VersionIdMarker, MaxKeys = 1000 } = cmd.input;
      const all = sorted
        .filter((k) => k.startsWith(Prefix))
        .flatMap((k) => bucket.get(k)!.map((v, i) => ({ Key: k, VersionId: v, IsLatest: i === 0 })));
      let from = 0;
      if (KeyMarker !== undefined) {
        from = all.findIndex((e) =>
          VersionIdMarker === undefined
            ? compareKeys(e.Key, KeyMarker) > 0
            : compareKeys(e.Key, KeyMarker) > 0 || (e.Key === KeyMarker && e.VersionId === VersionIdMarker),
        );
        if (from < 0) from = all.length;
        else if (VersionIdMarker !== undefined && all[from]!.Key === KeyMarker) from++;
      }
      const page = all.slice(from, from + MaxKeys);
      const last = page[page.length - 1];
      const truncated = from + MaxKeys < all.length;
      return {
        Versions: page.map((e) => ({ ...e, Size: 1, StorageClass: 'STANDARD', LastModified: new Date(0) })),
        IsTruncated: truncated,
        NextKeyMarker: truncated ? last?.Key : undefined,
        NextVersionIdMarker: truncated ? last?.VersionId : undefined,
      };
    }
    throw new Error('unexpected command');
  };
  return { s3: { send } as unknown as S3Client, requests: () => requests, maxInFlight: () => maxInFlight };
}

async function listAll(
  bucket: Bucket,
  opts: { prefix?: string; versions?: boolean; concurrency: number; pageSize: number },
): Promise<{ listed: string[]; requests: number; ranges: number; maxInFlight: number }> {
  const { s3, requests, maxInFlight } = fakeS3(bucket);
  const listed: string[] = [];
  let ranges = 1;
  await listBucket({
    s3,
    bucket: 'b',
    ...opts,
    onPage: async (_range, page) => {
      for (const e of page.entries) listed.push(opts.versions ? `${e.key}#${e.versionId}` : e.key);
    },
    onSplit: (_range, added) => (ranges += added.length),
  });
  return { listed, requests: requests(), ranges, maxInFlight: maxInFlight() };
}

const expected = (bucket: Bucket, prefix: string, versions: boolean) =>
  [...bucket.entries()]
    .filter(([k]) => k.startsWith(prefix))
    .flatMap(([k, vs]) => (versions ? vs.map((v) => `${k}#${v}`) : [k]))
    .sort();

const bucketOf = (keys: string[], versions = 1): Bucket =>
  new Map(keys.map((k) => [k, Array.from({ length: versions }, (_, i) => `v${versions - i}`)]));

describe('splitPoints', () => {
  test.each<[string, string, string | undefined, string, number]>([
    ['after a hex key, open above', 'logs/0a3f', undefined, 'logs/', 3],
    ['between two keys of one directory', 'logs/a93', 'logs/b', 'logs/', 4],
    ['after the last possible byte at its position', 'logs/zzz', 'logs/zzzz~', 'logs/', 2],
    ['no prefix, a key with unicode', 'é/ü', undefined, '', 5],
  ])('%s: points ascend strictly inside (lo, hi) and start with the prefix', (_name, lo, hi, prefix, n) => {
    const alphabet = new KeyAlphabet();
    alphabet.learn('0123456789abcdef/', 0);
    const points = splitPoints(lo, hi, prefix, n, alphabet.bytes());
    expect(points.length).toBeGreaterThan(0);
    expect(points.length).toBeLessThanOrEqual(n);
    let prev = lo;
    for (const p of points) {
      expect(p.startsWith(prefix)).toBe(true);
      expect(compareKeys(p, prev)).toBeGreaterThan(0);
      prev = p;
    }
    if (hi !== undefined) expect(compareKeys(prev, hi)).toBeLessThan(0);
  });

  test('hex keys are cut among the hex digits seen, evenly', () => {
    const alphabet = new KeyAlphabet();
    alphabet.learn('p/0123456789abcdef', 2);
    expect(splitPoints('p/0a3f', undefined, 'p/', 3, alphabet.bytes())).toEqual(['p/4', 'p/8', 'p/c']);
  });

  test('no room between two adjacent keys: no split point', () => {
    expect(splitPoints('a', 'a ', '', 4, PRINTABLE)).toEqual([]);
  });
});

/** Keys of the shapes the brief names, and awkward characters. */
const keyArb = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'b', 'z', '0', '9', '/', ' ', '+', ',', '%'), maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
  fc.constantFrom('', 'é', '😀', '\u0001', '\uffff', 'a\u0000', '~~~~'),
);

describe('listBucket', () => {
  test('lists every key and version exactly once, for any keys, prefix, page size and concurrency', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(keyArb, { maxLength: 120 }),
        fc.constantFrom('', 'a', 'z/'),
        fc.boolean(),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 7 }),
        async (keys, prefix, versions, concurrency, pageSize) => {
          const bucket = bucketOf(
            keys.flatMap((k) => [k, prefix + k]),
            versions ? 2 : 1,
          );
          const { listed } = await listAll(bucket, { prefix, versions, concurrency, pageSize });
          expect([...listed].sort()).toEqual(expected(bucket, prefix, versions));
        },
      ),
      { numRuns: 300 },
    );
  });

  test.each<[string, string[]]>([
    ['no "/" in any key', Array.from({ length: 3000 }, (_, i) => (i * 7919).toString(16).padStart(6, '0'))],
    ['one huge prefix', Array.from({ length: 3000 }, (_, i) => `logs/2019/${String(i).padStart(6, '0')}.gz`)],
    ['very many tiny prefixes', Array.from({ length: 3000 }, (_, i) => `t${String(i).padStart(5, '0')}/only`)],
  ])('%s: split into parallel ranges, about as many requests as pages', async (_name, keys) => {
    const bucket = bucketOf(keys);
    const { listed, requests, ranges, maxInFlight } = await listAll(bucket, { concurrency: 8, pageSize: 100 });
    expect(listed.length).toBe(keys.length);
    expect(new Set(listed).size).toBe(keys.length);
    // Work was spread over parallel ranges, never more than 8 requests at once, and splitting cost little: the keys
    // fill 30 pages; a probe of an empty range costs a request.
    expect(ranges).toBeGreaterThanOrEqual(8);
    expect(maxInFlight).toBe(8);
    expect(requests).toBeLessThan(30 * 1.5 + 8 * 3);
  });

  test('an empty prefix costs one request', async () => {
    const { listed, requests } = await listAll(bucketOf(['a', 'b']), {
      prefix: 'nothing/',
      concurrency: 8,
      pageSize: 10,
    });
    expect(listed).toEqual([]);
    expect(requests).toBe(1);
  });
});
