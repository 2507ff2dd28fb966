/**
 * The pure parts of restore tracking: the x-amz-restore header, restore events in every shape S3 delivers them, the
 * shard hash, the duration histogram, the request pacer and the shard/event CSV round trip.
 */
import fc from 'fast-check';

import {
  addSample,
  bucketOf,
  emptyHistogram,
  mergeHistogram,
  quantileMs,
  summarize,
} from '../../src/restore-tracking/histogram';
import { parseRestoreMessage, type RestoreFact } from '../../src/restore-tracking/events';
import { TokenBucket } from '../../src/restore-tracking/rate-limit';
import { estimateRestoreExpiry, parseRestoreHeader } from '../../src/restore-tracking/restore-header';
import {
  formatFacts,
  formatShard,
  parseFacts,
  parseShard,
  versionMatches,
  type TrackingRow,
} from '../../src/restore-tracking/rows';
import { objectHash, shardOf } from '../../src/restore-tracking/shard-hash';

async function* chunks(text: string, size = 7): AsyncIterable<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

describe('parseRestoreHeader', () => {
  test.each<[string, string | undefined, ReturnType<typeof parseRestoreHeader>]>([
    ['absent: no restore', undefined, { state: 'none' }],
    ['empty: no restore', '', { state: 'none' }],
    ['running', 'ongoing-request="true"', { state: 'ongoing' }],
    [
      'done, with an RFC 1123 expiry',
      'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"',
      { state: 'restored', expiresAt: new Date('2012-12-21T00:00:00Z') },
    ],
    [
      'done, other spacing and case',
      'Ongoing-Request = "FALSE" ,Expiry-Date="Tue, 08 Dec 2026 04:38:37 GMT"',
      { state: 'restored', expiresAt: new Date('2026-12-08T04:38:37Z') },
    ],
    ['done, no expiry (Intelligent-Tiering)', 'ongoing-request="false"', { state: 'restored' }],
    [
      'done, an unreadable date',
      'ongoing-request="false", expiry-date="someday"',
      { state: 'restored', badDate: 'someday' },
    ],
    ['unreadable: treated as still running', 'garbage', { state: 'ongoing' }],
  ])('%s', (_name, header, expected) => {
    expect(parseRestoreHeader(header)).toEqual(expected);
  });

  test('estimateRestoreExpiry rounds up to the next 00:00 UTC', () => {
    expect(estimateRestoreExpiry(new Date('2026-03-01T13:45:00Z'), 2).toISOString()).toBe('2026-03-04T00:00:00.000Z');
    expect(estimateRestoreExpiry(new Date('2026-03-01T00:00:00Z'), 1).toISOString()).toBe('2026-03-02T00:00:00.000Z');
  });
});

describe('parseRestoreMessage', () => {
  const s3Event = (record: Record<string, unknown>) => JSON.stringify({ Records: [record] });
  const completed = (key: string, extra: Record<string, unknown> = {}) => ({
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    eventTime: '2026-05-01T10:00:00.000Z',
    eventName: 'ObjectRestore:Completed',
    s3: { bucket: { name: 'src-bucket' }, object: { key, size: 42, versionId: 'v1' } },
    glacierEventData: {
      restoreEventData: {
        lifecycleRestorationExpiryTime: '2026-05-09T00:00:00.000Z',
        lifecycleRestoreStorageClass: 'DEEP_ARCHIVE',
      },
    },
    ...extra,
  });

  test('an S3 ObjectRestore:Completed notification, key decoded (+ is a space, %2B a plus, %XX UTF-8)', () => {
    const parsed = parseRestoreMessage(s3Event(completed('logs/a+b%2Bc%2F%C3%BC.txt')));
    expect(parsed).toEqual({
      kind: 'facts',
      ignored: 0,
      facts: [
        {
          kind: 'completed',
          bucket: 'src-bucket',
          key: 'logs/a b+c/ü.txt',
          versionId: 'v1',
          eventTime: '2026-05-01T10:00:00.000Z',
          expiresAt: '2026-05-09T00:00:00.000Z',
          storageClass: 'DEEP_ARCHIVE',
          size: 42,
        },
      ],
    });
  });

  test('moto\'s shape: "s3:" may lead the name, no glacierEventData, no versionId', () => {
    const record = completed('k%20one', { eventName: 's3:ObjectRestore:Completed' });
    delete (record as { glacierEventData?: unknown }).glacierEventData;
    (record.s3 as { object: Record<string, unknown> }).object = { key: 'k%20one' };
    const parsed = parseRestoreMessage(s3Event(record));
    expect(parsed.kind === 'facts' && parsed.facts[0]).toMatchObject({
      key: 'k one',
      versionId: '',
      expiresAt: '',
      storageClass: '',
    });
  });

  test('ObjectRestore:Delete is an expiry; Post (initiated) and ObjectCreated are ignored records', () => {
    const body = JSON.stringify({
      Records: [
        completed('gone', { eventName: 'ObjectRestore:Delete' }),
        completed('x', { eventName: 'ObjectRestore:Post' }),
        completed('y', { eventName: 'ObjectCreated:Put' }),
      ],
    });
    const parsed = parseRestoreMessage(body);
    expect(parsed).toMatchObject({
      kind: 'facts',
      ignored: 2,
      facts: [{ kind: 'expired', key: 'gone', expiresAt: '' }],
    });
  });

  test('an EventBridge "Object Restore Completed" event: key as is (a + stays a +)', () => {
    const body = JSON.stringify({
      version: '0',
      id: 'e1',
      'detail-type': 'Object Restore Completed',
      source: 'aws.s3',
      account: '111122223333',
      time: '2021-11-12T00:00:00Z',
      region: 'ca-central-1',
      resources: ['arn:aws:s3:::src-bucket'],
      detail: {
        version: '0',
        bucket: { name: 'src-bucket' },
        object: { key: 'a+b c.txt', size: 5, etag: 'b1946ac92492d2347c6235b4d2611184', 'version-id': 'KKsj' },
        'request-id': '189F19CB7FB1B6A4',
        requester: 's3.amazonaws.com',
        'restore-expiry-time': '2021-11-13T00:00:00Z',
        'source-storage-class': 'GLACIER',
      },
    });
    expect(parseRestoreMessage(body)).toEqual({
      kind: 'facts',
      ignored: 0,
      facts: [
        {
          kind: 'completed',
          bucket: 'src-bucket',
          key: 'a+b c.txt',
          versionId: 'KKsj',
          eventTime: '2021-11-12T00:00:00.000Z',
          expiresAt: '2021-11-13T00:00:00.000Z',
          storageClass: 'GLACIER',
          size: 5,
        },
      ],
    });
  });

  test('EventBridge: Object Restore Expired is an expiry; other detail types are ignored', () => {
    const eb = (type: string) =>
      JSON.stringify({
        'detail-type': type,
        source: 'aws.s3',
        time: '2021-11-20T00:00:00Z',
        detail: { bucket: { name: 'b' }, object: { key: 'k' } },
      });
    expect(parseRestoreMessage(eb('Object Restore Expired'))).toMatchObject({ facts: [{ kind: 'expired', key: 'k' }] });
    expect(parseRestoreMessage(eb('Object Restore Initiated')).kind).toBe('ignored');
    expect(parseRestoreMessage(eb('Object Created')).kind).toBe('ignored');
  });

  test('an S3 event wrapped in an SNS notification', () => {
    const body = JSON.stringify({ Type: 'Notification', Message: s3Event(completed('in%20sns')) });
    expect(parseRestoreMessage(body)).toMatchObject({ kind: 'facts', facts: [{ key: 'in sns' }] });
  });

  test.each<[string, string | undefined, string]>([
    [
      'the s3:TestEvent S3 sends on configuration',
      '{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}',
      'test-event',
    ],
    ['not JSON', 'hello', 'malformed'],
    ['no body', undefined, 'malformed'],
    ['JSON of another shape', '{"hello":1}', 'malformed'],
    [
      'a record without a key',
      JSON.stringify({ Records: [{ eventName: 'ObjectRestore:Completed', s3: {} }] }),
      'malformed',
    ],
    ['a key that is not URL encoding', s3Event(completed('bad%zz')), 'malformed'],
  ])('%s', (_name, body, kind) => {
    expect(parseRestoreMessage(body).kind).toBe(kind);
  });
});

describe('shard hash', () => {
  /** The definition, byte by byte: FNV-1a over UTF-8 of bucket, \n, key, then fmix32. */
  function reference(bucket: string, key: string): number {
    let h = 0x811c9dc5;
    for (const b of Buffer.from(`${bucket}\n${key}`, 'utf8')) h = Math.imul(h ^ b, 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  }

  test('is stable: these values are in S3 (shard numbers of existing tracking sets) and must never change', () => {
    expect(objectHash('bucket', 'key')).toBe(reference('bucket', 'key'));
    expect([objectHash('b', ''), objectHash('src', 'logs/2024/ü é.txt'), objectHash('src', '😀+%')]).toEqual([
      reference('b', ''),
      reference('src', 'logs/2024/ü é.txt'),
      reference('src', '😀+%'),
    ]);
    expect(objectHash('bucket', 'key')).toBe(1390197959);
    expect(shardOf('bucket', 'key', 200)).toBe(1390197959 % 200);
  });

  test('hashes the UTF-8 bytes (any string, lone surrogates included)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (b, k) => {
        expect(objectHash(b, k)).toBe(reference(b, k));
      }),
      { numRuns: 500 },
    );
  });

  test('spreads keys that differ only in their last characters evenly', () => {
    const shards = 64;
    const n = 64_000;
    const counts = new Array<number>(shards).fill(0);
    for (let i = 0; i < n; i++) counts[shardOf('bkt', `logs/2024/object-${i}`, shards)]! += 1;
    // Expected 1000 per shard, standard deviation ~31: 6 sigma either way.
    expect(Math.max(...counts)).toBeLessThan(1190);
    expect(Math.min(...counts)).toBeGreaterThan(810);
  });

  test('one shard takes everything', () => {
    expect(shardOf('b', 'anything', 1)).toBe(0);
  });
});

describe('duration histogram', () => {
  test('quantiles are the upper bound of their bucket: never below the truth, at most ~9% above', () => {
    const h = emptyHistogram();
    const samples = Array.from({ length: 1000 }, (_, i) => (i + 1) * 60_000); // 1 min .. 1000 min
    for (const s of samples) addSample(h, s);
    const p50 = quantileMs(h, 0.5);
    const p95 = quantileMs(h, 0.95);
    expect(p50).toBeGreaterThanOrEqual(500 * 60_000);
    expect(p50).toBeLessThanOrEqual(500 * 60_000 * 1.0906);
    expect(p95).toBeGreaterThanOrEqual(950 * 60_000);
    expect(p95).toBeLessThanOrEqual(950 * 60_000 * 1.0906);
    expect(quantileMs(h, 1)).toBe(1000 * 60_000);
    expect(h.maxMs).toBe(1000 * 60_000);
  });

  test('stays bounded: a million samples over 5 orders of magnitude use at most 193 counters', () => {
    const h = emptyHistogram();
    for (let i = 0; i < 1_000_000; i++) addSample(h, 10 ** (3 + (i % 1000) / 200));
    expect(Object.keys(h.b).length).toBeLessThanOrEqual(193);
    expect(h.n).toBe(1_000_000);
  });

  test('edge samples: under a second, negative (clock skew), beyond the last bucket', () => {
    expect(bucketOf(-5)).toBe(0);
    expect(bucketOf(999)).toBe(0);
    expect(bucketOf(1000)).toBe(1);
    expect(bucketOf(1e15)).toBe(192);
  });

  test('merging equals adding; summaries are per group, sorted, rounded', () => {
    const a = emptyHistogram();
    const b = emptyHistogram();
    const both = emptyHistogram();
    for (let i = 1; i <= 100; i++) {
      addSample(i % 2 ? a : b, i * 1000);
      addSample(both, i * 1000);
    }
    mergeHistogram(a, b);
    expect(a).toEqual(both);
    const s = summarize({ 'GLACIER/STANDARD': a, 'DEEP_ARCHIVE/BULK': emptyHistogram() });
    expect(s.map((x) => x.group)).toEqual(['DEEP_ARCHIVE/BULK', 'GLACIER/STANDARD']);
    expect(s[0]).toEqual({ group: 'DEEP_ARCHIVE/BULK', count: 0, p50Ms: 0, p95Ms: 0, maxMs: 0 });
    expect(s[1]).toMatchObject({ count: 100, maxMs: 100_000 });
  });
});

describe('TokenBucket', () => {
  test('over a window, never faster than its rate after the burst', async () => {
    let t = 0;
    const bucket = new TokenBucket(100, 5, () => t);
    const waits: number[] = [];
    // Reservations only: with a frozen clock each take computes its own wait.
    const realSetTimeout = global.setTimeout;
    global.setTimeout = ((fn: () => void, ms: number) => {
      waits.push(ms);
      return realSetTimeout(fn, 0);
    }) as typeof setTimeout;
    try {
      await Promise.all(Array.from({ length: 25 }, () => bucket.take()));
    } finally {
      global.setTimeout = realSetTimeout;
    }
    // 5 go at once, then one every 10 ms: the 25th waits (25 - 5) * 10 = 200 ms.
    expect(waits.length).toBe(20);
    expect(Math.max(...waits)).toBeCloseTo(200, 5);
    t = 10_000;
    waits.length = 0;
    await bucket.take();
    expect(waits.length).toBe(0);
  });

  test('unlimited when the rate is 0 or Infinity', async () => {
    await expect(new TokenBucket(0).take()).resolves.toBeUndefined();
    await expect(new TokenBucket(Infinity).take()).resolves.toBeUndefined();
  });
});

describe('shard and event files', () => {
  const row = (key: string, extra: Partial<TrackingRow> = {}): TrackingRow => ({
    bucket: 'src',
    key,
    versionId: '',
    size: undefined,
    storageClass: '',
    state: 'requested',
    requestedAt: '2026-01-01T00:00:00.000Z',
    restoredAt: '',
    expiresAt: '',
    wave: undefined,
    note: '',
    ...extra,
  });

  test('rows round-trip: awkward keys, a note with commas and quotes, every field', async () => {
    const rows = [
      row('a b+c/ü.txt'),
      row('comma,key "quoted"\nline', { note: 'extended, "twice"', state: 'queued', wave: 3, size: 0 }),
      row('%41', { state: 'restored', expiresAt: 'unknown', storageClass: 'GLACIER', size: 12345, versionId: 'v.1' }),
    ];
    const text = formatShard(rows);
    expect(text.split('\n')[0]).toBe(
      'bucket,key,versionId,size,storageClass,state,requestedAt,restoredAt,expiresAt,wave,note',
    );
    expect(text.split('\n')[1]).toBe('src,a%20b%2Bc/%C3%BC.txt,,,,requested,2026-01-01T00:00:00.000Z,,,,');
    await expect(parseShard(chunks(text), 'x')).resolves.toEqual(rows);
  });

  test('a file without the header or with an unknown state is refused', async () => {
    await expect(parseShard(chunks('src,k,,,,requested,,,,,\n'), 'f')).rejects.toThrow(/header/);
    const bad = formatShard([row('k')]).replace(',requested,', ',sleeping,');
    await expect(parseShard(chunks(bad), 'f')).rejects.toThrow(/unknown state sleeping/);
  });

  test('facts round-trip', async () => {
    const facts: RestoreFact[] = [
      {
        kind: 'completed',
        bucket: 'b',
        key: 'x y+z',
        versionId: '',
        eventTime: '2026-01-01T00:00:00.000Z',
        expiresAt: '2026-01-03T00:00:00.000Z',
        storageClass: 'GLACIER',
        size: 7,
      },
      { kind: 'expired', bucket: 'b', key: 'é', versionId: 'v', eventTime: '', expiresAt: '', storageClass: '' },
    ];
    await expect(parseFacts(chunks(formatFacts(facts)), 'x')).resolves.toEqual(facts);
  });

  test.each<[string, string, boolean]>([
    ['', '', true],
    ['', 'v1', true],
    ['v1', '', true],
    ['v1', 'v1', true],
    ['v1', 'v2', false],
    ['null', '', true],
    ['null', 'v2', false],
  ])('row version %j matches event version %j: %s', (r, e, ok) => {
    expect(versionMatches(r, e)).toBe(ok);
  });
});
