/**
 * The restore-and-copy report's "each object once": tracking rows of objects already named `RestoreFailed:` are left
 * out, with the same rows whether their ids fit in memory at once or are collected range by range of shards.
 */
import fc from 'fast-check';

import { encodeManifestKey } from '../../src/inventory/key-encoding';
import {
  RestoreFailureIds,
  shardRanges,
  type FailedCsvObject,
  type ShardRange,
} from '../../src/restore-tracking/restore-failures';
import type { TrackingRow } from '../../src/restore-tracking/rows';
import { shardOf } from '../../src/restore-tracking/shard-hash';

describe('shardRanges', () => {
  test.each<[string, number[], number, ShardRange[]]>([
    ['no shard', [], 2, []],
    ['all fit', [1, 0, 1], 2, [{ from: 0, to: 3, failures: 2 }]],
    [
      'split at the cap; a heavy shard alone, with the weightless shards after it',
      [0, 3, 1, 1, 0, 2, 5, 0],
      2,
      [
        { from: 0, to: 2, failures: 3 },
        { from: 2, to: 5, failures: 2 },
        { from: 5, to: 6, failures: 2 },
        { from: 6, to: 8, failures: 5 },
      ],
    ],
  ])('%s', (_name, weights, cap, ranges) => {
    expect(shardRanges(weights, cap)).toEqual(ranges);
  });

  test('every shard once, in order; a range over the cap holds one weighted shard', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(5), { maxLength: 40 }), fc.nat(6), (weights, cap) => {
        const ranges = shardRanges(weights, cap);
        let next = 0;
        for (const r of ranges) {
          expect(r.from).toBe(next);
          expect(r.to).toBeGreaterThan(r.from);
          const ws = weights.slice(r.from, r.to);
          expect(r.failures).toBe(ws.reduce((a, b) => a + b, 0));
          if (r.failures > cap) expect(ws.filter((w) => w > 0)).toHaveLength(1);
          next = r.to;
        }
        expect(next).toBe(weights.length);
      }),
    );
  });
});

describe('RestoreFailureIds', () => {
  const SHARDS = 8;
  const row = (bucket: string, key: string, versionId = ''): TrackingRow => ({
    bucket,
    key,
    versionId,
    size: 1,
    storageClass: 'GLACIER',
    state: 'requested',
    requestedAt: '',
    restoredAt: '',
    expiresAt: '',
    wave: undefined,
    note: '',
  });
  const tracked: TrackingRow[] = [
    ...Array.from({ length: 40 }, (_, i) => row('b1', `cold/${i}.txt`)),
    row('b1', 'cold/with space.txt'),
    row('b1', 'cold/plus+sign.txt'),
    row('b1', 'cold/é.txt'),
    row('b2', 'cold/1.txt'),
    row('b2', 'v.txt', 'null'),
    row('b2', 'w.txt', 'v2'),
    row('b2', 'w.txt', 'v1'),
  ];
  const byShard = new Map<number, TrackingRow[]>();
  for (const r of tracked) {
    const s = shardOf(r.bucket, r.key, SHARDS);
    byShard.set(s, [...(byShard.get(s) ?? []), r]);
  }
  const failedCsv = (r: TrackingRow, versionId = r.versionId): FailedCsvObject => ({
    bucket: r.bucket,
    key: encodeManifestKey(r.key),
    versionId,
  });
  const failures: FailedCsvObject[] = [
    ...tracked
      .slice(0, 40)
      .filter((_, i) => i % 3 === 0)
      .map((r) => failedCsv(r)),
    failedCsv(tracked[40]!),
    // A space written as `+` (as inventory CSV and quote_plus write it) is the same key.
    { bucket: 'b1', key: 'cold/with+space.txt', versionId: '' },
    failedCsv(tracked[42]!),
    // The null version is no version.
    failedCsv(tracked[44]!, ''),
    failedCsv(tracked[45]!),
    // Not URL encoding: names no tracked object, and does not stop the report.
    { bucket: 'b1', key: 'cold/%zz', versionId: '' },
    // Not tracked at all.
    { bucket: 'b3', key: 'cold/1.txt', versionId: '' },
  ];
  const kept = (r: TrackingRow) =>
    !(
      (tracked.indexOf(r) < 40 && tracked.indexOf(r) % 3 === 0) ||
      [tracked[40], tracked[42], tracked[44], tracked[45]].includes(r)
    );

  async function run(cap: number, shards = [...byShard.keys()].sort((a, b) => a - b)) {
    const ids = new RestoreFailureIds(SHARDS, cap);
    for (const f of failures) ids.note(f);
    let rereads = 0;
    const read: number[] = [];
    const out: TrackingRow[] = [];
    const dropped: TrackingRow[] = [];
    const again = async function* () {
      rereads += 1;
      yield* failures;
    };
    for await (const { shard, rows, dropped: gone } of ids.trackingRows(
      shards,
      async (s) => {
        read.push(s);
        return byShard.get(s) ?? [];
      },
      again,
    )) {
      expect(shard).toBe(read[read.length - 1]);
      out.push(...rows);
      dropped.push(...gone);
    }
    return { out, rereads, read, dropped };
  }

  test.each([0, 1, 2, 5, 1e9])(
    'cap %d: every tracked row but those of restore failures, in shard order',
    async (cap) => {
      const shards = [...byShard.keys()].sort((a, b) => a - b);
      const { out, read, dropped } = await run(cap);
      expect(read).toEqual(shards);
      const expected = shards.flatMap((s) => byShard.get(s)!.filter(kept));
      expect(out).toEqual(expected);
      expect(expected.length).toBeLessThan(tracked.length - 15);
      expect(dropped).toEqual(shards.flatMap((s) => byShard.get(s)!.filter((r) => !kept(r))));
    },
  );

  test('the ids are streamed again only when they exceed the cap, once per range of shards with failures', async () => {
    expect((await run(1e9)).rereads).toBe(0);
    expect((await run(failures.length)).rereads).toBe(0);
    const small = await run(2);
    expect(small.rereads).toBeGreaterThan(1);
    expect(small.rereads).toBeLessThanOrEqual(SHARDS);
  });

  test('only the shards asked for are read, and filtered the same', async () => {
    const shards = [...byShard.keys()].sort((a, b) => a - b);
    const { out, read } = await run(2, [shards[1]!, shards[3]!]);
    expect(read).toEqual([shards[1], shards[3]]);
    expect(out).toEqual([...byShard.get(shards[1]!)!, ...byShard.get(shards[3]!)!].filter(kept));
  });

  test('nothing noted: rows as they are, nothing streamed again', async () => {
    const ids = new RestoreFailureIds(SHARDS, 0);
    const out: TrackingRow[] = [];
    const again = jest.fn(async function* (): AsyncGenerator<FailedCsvObject> {});
    for await (const { rows } of ids.trackingRows([0, 1, 2], async (s) => byShard.get(s) ?? [], again)) {
      out.push(...rows);
    }
    expect(out).toEqual([0, 1, 2].flatMap((s) => byShard.get(s) ?? []));
    expect(again).not.toHaveBeenCalled();
  });
});
