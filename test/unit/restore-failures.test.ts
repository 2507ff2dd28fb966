/**
 * The restore-and-copy report's "each object once": tracking rows of objects already named `RestoreFailed:` are left
 * out, with the same rows whether their ids fit in memory or went to local files (one per shard, or per group of
 * shards), and no file left behind.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { decodeManifestKey, encodeManifestKey } from '../../src/inventory/key-encoding';
import { RestoreFailureIds, type FailedCsvObject } from '../../src/restore-tracking/restore-failures';
import type { TrackingRow } from '../../src/restore-tracking/rows';
import { shardOf } from '../../src/restore-tracking/shard-hash';

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
    row('b2', 'line\nend.txt'),
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
    // A key with a line end (in a local file too).
    failedCsv(tracked[47]!),
    // Not URL encoding: names no tracked object, and does not stop the report.
    { bucket: 'b1', key: 'cold/%zz', versionId: '' },
    // Not tracked at all.
    { bucket: 'b3', key: 'cold/1.txt', versionId: '' },
  ];
  const kept = (r: TrackingRow) =>
    !(
      (tracked.indexOf(r) < 40 && tracked.indexOf(r) % 3 === 0) ||
      [tracked[40], tracked[42], tracked[44], tracked[45], tracked[47]].includes(r)
    );

  let tmpDir: string;
  beforeAll(async () => {
    tmpDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'restore-failures-test-'));
  });
  afterAll(() => fsp.rm(tmpDir, { recursive: true, force: true }));

  async function run(cap: number, maxFiles = 1024, shards = [...byShard.keys()].sort((a, b) => a - b)) {
    const ids = new RestoreFailureIds(SHARDS, { cap, tmpDir, maxFiles });
    try {
      for (const f of failures) await ids.note(f);
      const read: number[] = [];
      const out: TrackingRow[] = [];
      const dropped: TrackingRow[] = [];
      const dirs = await fsp.readdir(tmpDir);
      const files = dirs.length === 1 ? await fsp.readdir(path.join(tmpDir, dirs[0]!)) : [];
      for await (const { shard, rows, dropped: gone } of ids.trackingRows(shards, async (s) => {
        read.push(s);
        return byShard.get(s) ?? [];
      })) {
        expect(shard).toBe(read[read.length - 1]);
        out.push(...rows);
        dropped.push(...gone);
      }
      return { out, read, dropped, spilled: ids.spilled, dirs, files };
    } finally {
      await ids.close();
      expect(await fsp.readdir(tmpDir)).toEqual([]);
    }
  }

  test.each<[number, number]>([
    [0, 1024],
    [1, 8],
    [2, 3],
    [5, 1],
    [1e9, 1024],
  ])(
    'cap %d, files at most %s: every tracked row but those of restore failures, in shard order',
    async (cap, maxFiles) => {
      const shards = [...byShard.keys()].sort((a, b) => a - b);
      const { out, read, dropped, spilled, dirs, files } = await run(cap, maxFiles);
      expect(read).toEqual(shards);
      const expected = shards.flatMap((s) => byShard.get(s)!.filter(kept));
      expect(out).toEqual(expected);
      expect(expected.length).toBeLessThan(tracked.length - 15);
      expect(dropped).toEqual(shards.flatMap((s) => byShard.get(s)!.filter((r) => !kept(r))));
      // Past the cap (20 objects noted: one key twice, one not URL encoding), the ids went to local files, one per
      // shard with failures or per group of shards, at most `maxFiles`.
      expect(spilled).toBe(cap < 20);
      expect(dirs).toHaveLength(spilled ? 1 : 0);
      if (spilled) {
        expect(files.length).toBeGreaterThan(0);
        expect(files.length).toBeLessThanOrEqual(Math.min(maxFiles, SHARDS));
      }
    },
  );

  test('only the shards asked for are read, and filtered the same', async () => {
    const shards = [...byShard.keys()].sort((a, b) => a - b);
    const { out, read } = await run(2, undefined, [shards[1]!, shards[3]!]);
    expect(read).toEqual([shards[1], shards[3]]);
    expect(out).toEqual([...byShard.get(shards[1]!)!, ...byShard.get(shards[3]!)!].filter(kept));
  });

  test.each([
    [false, 0],
    [true, 1],
  ])(
    'versioned %s: a failure naming a version drops the row of its key only in a set without versions (%d kept)',
    async (versioned, kept) => {
      const ids = new RestoreFailureIds(SHARDS, { versioned, tmpDir });
      const r = tracked[0]!;
      await ids.note({ ...failedCsv(r), versionId: '3HL4kqtJlcpXroDTDmJ' });
      const shard = shardOf(r.bucket, r.key, SHARDS);
      const out: TrackingRow[] = [];
      for await (const x of ids.trackingRows([shard], async () => [r])) out.push(...x.rows);
      await ids.close();
      expect(out).toHaveLength(kept);
    },
  );

  test('nothing noted: rows as they are, and no file', async () => {
    const { out, spilled } = await (async () => {
      const ids = new RestoreFailureIds(SHARDS, { cap: 0, tmpDir });
      const rows: TrackingRow[] = [];
      for await (const r of ids.trackingRows([0, 1, 2], async (s) => byShard.get(s) ?? [])) rows.push(...r.rows);
      await ids.close();
      return { out: rows, spilled: ids.spilled };
    })();
    expect(out).toEqual([0, 1, 2].flatMap((s) => byShard.get(s) ?? []));
    expect(spilled).toBe(false);
  });
});

describe('RestoreFailureIds.mark: the restore failures of objects that went on, found again in bounded memory', () => {
  const SHARDS = 8;
  const trackingRow = (key: string, state: TrackingRow['state'], versionId = ''): TrackingRow => ({
    bucket: 'b1',
    key,
    versionId,
    size: 1,
    storageClass: 'GLACIER',
    state,
    requestedAt: '',
    restoredAt: '',
    expiresAt: '',
    wave: state === 'queued' ? 1 : undefined,
    note: '',
  });
  // The objects that went on (as the report notes them from the tracking rows): keys of every sort.
  const wentOn = [
    ...Array.from({ length: 30 }, (_, i) => trackingRow(`cold/${i}.txt`, i % 2 ? 'queued' : 'expired')),
    trackingRow('cold/with space.txt', 'queued'),
    trackingRow('cold/é.txt', 'restored'),
    trackingRow('line\nend.txt', 'queued'),
    trackingRow('v.txt', 'queued', 'null'),
  ];
  // failed.csv rows of restore failures: those objects (one twice), and others that did not go on.
  const failures: Array<{ n: number } & FailedCsvObject> = [
    ...wentOn.map((r) => ({ bucket: r.bucket, key: encodeManifestKey(r.key), versionId: r.versionId })),
    { bucket: 'b1', key: 'cold/3.txt', versionId: '' },
    { bucket: 'b1', key: 'cold/with+space.txt', versionId: '' },
    { bucket: 'b1', key: 'v.txt', versionId: '' },
    ...Array.from({ length: 30 }, (_, i) => ({ bucket: 'b1', key: `cold/other-${i}.txt`, versionId: '' })),
    { bucket: 'b1', key: 'cold/%zz', versionId: '' },
    { bucket: 'b2', key: 'cold/1.txt', versionId: '' },
    // The same key in another version is another object.
    { bucket: 'b1', key: 'v.txt', versionId: 'v7' },
  ].map((f, n) => ({ ...f, n }));
  const notedCount = wentOn.length + 3;

  let tmpDir: string;
  beforeAll(async () => {
    tmpDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'went-on-test-'));
  });
  afterAll(() => fsp.rm(tmpDir, { recursive: true, force: true }));

  test.each<[number, number]>([
    [1e9, 1024],
    [0, 1024],
    [1, 8],
    [3, 3],
    [7, 1],
    [20, 2],
  ])('cap %d, files at most %d: each row once, marked by whether its object went on', async (cap, maxFiles) => {
    const ids = new RestoreFailureIds(SHARDS, { cap, maxFiles, tmpDir });
    let reads = 0;
    let spilled: boolean | undefined;
    const marked: Array<{ n: number; noted: boolean }> = [];
    try {
      for (const r of wentOn) await ids.noteRow(r);
      spilled = ids.spilled;
      const source = async function* () {
        reads += 1;
        yield* failures;
      };
      for await (const { item, noted } of ids.mark(source(), (f) => f)) marked.push({ n: item.n, noted });
    } finally {
      await ids.close();
      expect(await fsp.readdir(tmpDir)).toEqual([]);
    }
    // Every row once, whatever the cap.
    expect(marked.map((m) => m.n).sort((a, b) => a - b)).toEqual(failures.map((f) => f.n));
    const notedRows = marked.filter((m) => m.noted).map((m) => m.n);
    expect(notedRows.sort((a, b) => a - b)).toEqual(failures.slice(0, notedCount).map((f) => f.n));
    // The source is read once. In memory, the rows keep its order; past the cap, they come by shard group (the one
    // row whose key is not URL encoding first), and in a group in the source's order.
    expect(reads).toBe(1);
    expect(spilled).toBe(cap < wentOn.length);
    const groupShards = Math.ceil(SHARDS / maxFiles);
    const groupOf = (f: FailedCsvObject) => {
      try {
        return Math.floor(shardOf(f.bucket, decodeManifestKey(f.key), SHARDS) / groupShards);
      } catch {
        return -1;
      }
    };
    const expected = spilled
      ? [...failures].sort((a, b) => groupOf(a) - groupOf(b) || a.n - b.n).map((f) => f.n)
      : failures.map((f) => f.n);
    expect(marked.map((m) => m.n)).toEqual(expected);
  });

  test('versioned false: a row of any version is its key', async () => {
    const ids = new RestoreFailureIds(SHARDS, { versioned: false, tmpDir });
    await ids.noteRow(trackingRow('k.txt', 'queued'));
    const out: boolean[] = [];
    const source = async function* () {
      yield { bucket: 'b1', key: 'k.txt', versionId: 'v9' };
      yield { bucket: 'b1', key: 'j.txt', versionId: '' };
    };
    for await (const { noted } of ids.mark(source(), (f) => f)) out.push(noted);
    await ids.close();
    expect(out).toEqual([true, false]);
  });
});
