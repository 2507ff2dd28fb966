/**
 * `buildManifests` end to end on local files (worker threads, no servers): determinism, sharding boundaries, spilling,
 * resume after a failed attempt, Parquet, newest-report discovery and the errors a user sees.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';

import {
  buildManifests,
  decodeManifestKey,
  type BuildManifestsInput,
  type InventoryFilter,
  type ManifestProgress,
} from '../../src/inventory';
import type { BuildManifestsDeps } from '../../src/inventory/build-manifests';
import { EarlyScanWorker } from '../../src/inventory/scan-pool';
import { murmur3 } from '../../src/inventory/scan-output';
import { FailureType } from '../../src/shared/errors';
import { FILTER_CASES, FILTER_ROWS, writeInventoryDir, type InventoryRow } from '../inventory-fixtures';

const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 's3c-inv-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));
afterAll(() => s3.destroy());

const CLASSES = ['STANDARD', 'GLACIER', 'DEEP_ARCHIVE'];

/** `files` data files of `perFile` rows; every third row is GLACIER. */
function rows(files: number, perFile: number): InventoryRow[][] {
  return Array.from({ length: files }, (_, f) =>
    Array.from({ length: perFile }, (_, i) => ({
      Bucket: 'src-bucket',
      Key: `f${f}/obj ${String(i).padStart(5, '0')}+x.bin`,
      Size: i * 10,
      StorageClass: CLASSES[i % 3],
    })),
  );
}

function build(input: Partial<BuildManifestsInput> & { inventory: string }, deps: Partial<BuildManifestsDeps> = {}) {
  return buildManifests({ output: path.join(dir, 'out'), ...input }, { s3, log: quiet, ...deps });
}

/** The manifest files of a local output directory, in order, with their text. */
function manifests(out = path.join(dir, 'out')): { name: string; text: string }[] {
  return readdirSync(out)
    .sort()
    .map((name) => ({ name, text: readFileSync(path.join(out, name), 'latin1') }));
}

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('buildManifests (local)', () => {
  test('writes the selected rows in inventory order, byte-identical whatever the threads and spilling', async () => {
    const inventory = await writeInventoryDir(dir, {
      schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
      files: rows(5, 300),
    });
    const filter = { storageClasses: ['GLACIER', 'DEEP_ARCHIVE'] };
    const first = await build({ inventory, filter, concurrency: 1 });
    const expected = rows(5, 300)
      .flat()
      .filter((r) => r.StorageClass !== 'STANDARD')
      .map((r) => `src-bucket,${encodeURIComponent(String(r.Key)).replace(/%2F/g, '/').replace(/%20/g, '+')}\n`)
      .join('');
    expect(manifests()).toEqual([{ name: 'manifest-00001.csv', text: expected }]);
    expect(first).toMatchObject({
      rowsScanned: 1500,
      rowsSelected: 1000,
      fields: ['Bucket', 'Key'],
      shards: [{ rows: 1000, bytes: expected.length }],
      rowsByStorageClass: { GLACIER: 500, DEEP_ARCHIVE: 500 },
    });
    // here: 0 = worker threads scan every file; by default the main thread scans these small files too.
    for (const opts of [
      { concurrency: 2 },
      { concurrency: 3, spill: 1 },
      { concurrency: 2, spill: 4096 },
      { concurrency: 1, here: 0 },
      { concurrency: 2, here: 0, spill: 1 },
    ]) {
      const out = path.join(dir, `out-${opts.concurrency}-${opts.spill ?? 0}-${opts.here ?? 'default'}`);
      const again = await build(
        { inventory, filter, concurrency: opts.concurrency, output: out },
        { spillAfterBytes: opts.spill, mainThreadScanBytes: opts.here },
      );
      expect(manifests(out)).toEqual([{ name: 'manifest-00001.csv', text: expected }]);
      expect({ ...again, output: undefined, shards: again.shards.map((s) => s.etag) }).toEqual({
        ...first,
        output: undefined,
        shards: first.shards.map((s) => s.etag),
      });
    }
  });

  test.each([
    [1000, '1000', [1000]],
    [999, '999, 1', [999, 1]],
    [1001, '1000', [1000]],
    [250, '4 × 250', [250, 250, 250, 250]],
    [300, '300, 300, 300, 100', [300, 300, 300, 100]],
    [1, '1000 × 1', Array.from({ length: 1000 }, () => 1)],
  ])('maxObjectsPerJob %i gives shards of %s rows that add up to the whole', async (max, _label, sizes) => {
    const inventory = await writeInventoryDir(dir, {
      schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
      files: rows(4, 250),
    });
    const summary = await build({ inventory, maxObjectsPerJob: max });
    expect(summary.shards.map((s) => s.rows)).toEqual(sizes);
    const files = manifests();
    expect(files.map((f) => f.name)).toEqual(sizes.map((_s, i) => `manifest-${String(i + 1).padStart(5, '0')}.csv`));
    expect(files.map((f) => f.text.split('\n').length - 1)).toEqual(sizes);
    const whole = await build({ inventory, output: path.join(dir, 'whole') });
    expect(files.map((f) => f.text).join('')).toBe(manifests(path.join(dir, 'whole'))[0]!.text);
    expect(whole.rowsSelected).toBe(1000);
  });

  test('selects nothing: no manifests, zero totals', async () => {
    const inventory = await writeInventoryDir(dir, {
      schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
      files: rows(2, 10),
    });
    const summary = await build({ inventory, filter: { keyPrefixes: ['nope/'] } });
    expect(summary).toMatchObject({ shards: [], rowsScanned: 20, rowsSelected: 0, sampleKeys: [] });
    expect(manifests()).toEqual([]);
  });

  test('a versioned inventory writes every row with a version id, null for null versions', async () => {
    const inventory = await writeInventoryDir(dir, {
      schema: ['Bucket', 'Key', 'VersionId', 'IsLatest', 'IsDeleteMarker', 'Size'],
      files: [
        [
          { Bucket: 'b', Key: 'k1', VersionId: 'v-1', IsLatest: true, IsDeleteMarker: false, Size: 1 },
          { Bucket: 'b', Key: 'k1', VersionId: 'v-0', IsLatest: false, IsDeleteMarker: false, Size: 1 },
          { Bucket: 'b', Key: 'k2', VersionId: '', IsLatest: true, IsDeleteMarker: false, Size: 1 },
          { Bucket: 'b', Key: 'k3', VersionId: 'dm', IsLatest: true, IsDeleteMarker: true, Size: undefined },
        ],
      ],
    });
    const all = await build({ inventory });
    expect(all.fields).toEqual(['Bucket', 'Key', 'VersionId']);
    expect(manifests()[0]!.text).toBe('b,k1,v-1\nb,k1,v-0\nb,k2,null\nb,k3,dm\n');
    await build({ inventory, output: path.join(dir, 'latest'), filter: { latestOnly: true, skipDeleteMarkers: true } });
    expect(manifests(path.join(dir, 'latest'))[0]!.text).toBe('b,k1,v-1\nb,k2,null\n');
    const omitted = await build({ inventory, output: path.join(dir, 'omit'), versionIds: 'omit' });
    expect(omitted.fields).toEqual(['Bucket', 'Key']);
    expect(manifests(path.join(dir, 'omit'))[0]!.text).toBe('b,k1\nb,k1\nb,k2\nb,k3\n');
  });

  test('resumes after a failed attempt from its last checkpoint (or any older one) with the same manifests', async () => {
    const data = rows(6, 200);
    const inventory = await writeInventoryDir(dir, { schema: ['Bucket', 'Key', 'Size', 'StorageClass'], files: data });
    const input = { inventory, maxObjectsPerJob: 170, filter: { storageClasses: ['GLACIER', 'DEEP_ARCHIVE'] } };
    await build({ ...input, output: path.join(dir, 'clean') });
    const clean = manifests(path.join(dir, 'clean'));
    expect(clean.map((m) => m.text.split('\n').length - 1)).toEqual([170, 170, 170, 170, 118]);

    // Attempt 1 fails on data file 4 (a directory where the file should be: a retryable read error).
    const file4 = path.join(path.dirname(inventory), '..', 'data', '0004-file.csv.gz');
    const bytes = readFileSync(file4);
    rmSync(file4);
    mkdirSync(file4);
    const progress: ManifestProgress[] = [];
    const err = await build(
      { ...input, concurrency: 1 },
      { onProgress: (p) => progress.push(structuredClone(p)) },
    ).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/0004-file\.csv\.gz could not be read/);
    expect(err instanceof ApplicationFailure && err.nonRetryable).toBe(false);
    const last = progress[progress.length - 1]!;
    expect(last.filesDone).toBe(4);
    expect(last.resume.file).toBeGreaterThan(0);
    expect(existsSync(path.join(dir, 'out', 'manifest-00001.csv'))).toBe(false);

    rmSync(file4, { recursive: true });
    writeFileSync(file4, bytes);
    const resumed = await build(input, { resumeFrom: last });
    expect(resumed.resumed).toBe(true);
    expect(resumed.rowsSelected).toBe(798);
    expect(manifests()).toEqual(clean);

    // A stale heartbeat (Temporal may deliver an older one) resumes just as well.
    const stale = progress.find((p) => p.filesDone === 2)!;
    rmSync(path.join(dir, 'out'), { recursive: true });
    mkdirSync(path.join(dir, 'out'));
    const partial = path.join(dir, 'out');
    // Rebuild the partial files attempt 1 had written by the stale checkpoint, then resume from it.
    for (const [i, s] of stale.resume.shards.entries()) {
      writeFileSync(
        path.join(partial, `.manifest-${String(i + 1).padStart(5, '0')}.csv.partial`),
        clean[i]!.text.slice(0, s.bytes),
      );
    }
    const fromStale = await build(input, { resumeFrom: stale });
    expect(fromStale.resumed).toBe(true);
    expect(manifests()).toEqual(clean);
  });

  test('progress of another build is ignored and the build starts over', async () => {
    const inventory = await writeInventoryDir(dir, {
      schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
      files: rows(2, 10),
    });
    const progress: ManifestProgress[] = [];
    await build({ inventory }, { onProgress: (p) => progress.push(p) });
    const other = await build(
      { inventory, output: path.join(dir, 'other'), filter: { minSize: 1 } },
      { resumeFrom: progress[progress.length - 1] },
    );
    expect(other.resumed).toBe(false);
    expect(other.rowsSelected).toBe(18);
    expect((await build({ inventory, output: path.join(dir, 'junk') }, { resumeFrom: { junk: true } })).resumed).toBe(
      false,
    );
  });

  test('the sample is the selected keys of smallest hash over the whole inventory, whichever thread read which file', async () => {
    const inventory = await writeInventoryDir(dir, {
      schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
      files: rows(12, 400),
    });
    const filter = { storageClasses: ['GLACIER', 'DEEP_ARCHIVE'] };
    for (const sampleSize of [1, 10, 100]) {
      // Every selected key as the manifest writes it, hashed the way the sample hashes it, with its decoded form.
      const out = path.join(dir, `out-${sampleSize}`);
      const reference = await build(
        { inventory, filter, sampleSize, concurrency: 1, output: out },
        { mainThreadScanBytes: 0 },
      );
      const all = manifests(out)
        .flatMap((m) => m.text.split('\n').filter(Boolean))
        .map((l) => l.slice(l.indexOf(',') + 1))
        .map((k) => [murmur3(Buffer.from(k, 'latin1'), 0, k.length), decodeManifestKey(k)] as const);
      const expected = [...all]
        .sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
        .slice(0, sampleSize)
        .map(([, k]) => k);
      expect(reference.sampleKeys).toEqual(expected);
      for (const [concurrency, mainThreadScanBytes] of [
        [2, 0],
        [3, 0],
        [2, undefined],
        [3, undefined],
      ] as const) {
        const s = await build(
          {
            inventory,
            filter,
            sampleSize,
            concurrency,
            output: path.join(dir, `o-${sampleSize}-${concurrency}-${mainThreadScanBytes}`),
          },
          { mainThreadScanBytes },
        );
        expect(s.sampleKeys).toEqual(expected);
      }
    }
  });

  test('a CSV and a Parquet report of the same objects give the same summary: totals, sample and ETags', async () => {
    const data = rows(3, 40).map((file) =>
      file.map((r, i) => ({ ...r, Key: `${String(r.Key)}/${['é', ' ', '+', ',', '%'][i % 5]}` })),
    );
    const schema = ['Bucket', 'Key', 'Size', 'StorageClass'] as const;
    // Keys percent-encoded like the Parquet path encodes them (a CSV report's `+` for a space passes through as is).
    const csv = await writeInventoryDir(path.join(dir, 'csv'), { schema, files: data, keyStyle: 'percent' });
    const pq = await writeInventoryDir(path.join(dir, 'pq'), { format: 'Parquet', schema, files: data });
    const pick = (s: Awaited<ReturnType<typeof build>>) => ({
      rowsSelected: s.rowsSelected,
      bytesByStorageClass: s.bytesByStorageClass,
      rowsByStorageClass: s.rowsByStorageClass,
      sampleKeys: s.sampleKeys,
      etags: s.shards.map((x) => x.etag),
    });
    const input = { filter: { storageClasses: ['GLACIER', 'STANDARD'] }, sampleSize: 7, maxObjectsPerJob: 30 };
    const fromCsv = pick(await build({ ...input, inventory: csv, output: path.join(dir, 'out-csv') }));
    const fromParquet = pick(await build({ ...input, inventory: pq, output: path.join(dir, 'out-pq') }));
    expect(fromParquet).toEqual(fromCsv);
    expect(fromCsv.sampleKeys).toHaveLength(7);
    expect(fromCsv.etags).toHaveLength(3);
  });

  test('reads Parquet inventories: raw keys are URL-encoded, same rows as the CSV report', async () => {
    const data: InventoryRow[][] = [
      [
        {
          Bucket: 'b',
          Key: 'a b/c,d',
          VersionId: 'v1',
          Size: 5,
          StorageClass: 'GLACIER',
          LastModifiedDate: '2024-01-02T03:04:05.000Z',
        },
        {
          Bucket: 'b',
          Key: 'ünï/😀+%',
          VersionId: undefined,
          Size: 7,
          StorageClass: 'STANDARD',
          LastModifiedDate: '2023-01-01T00:00:00.000Z',
        },
      ],
      [
        {
          Bucket: 'b',
          Key: 'dir/',
          VersionId: 'v3',
          Size: 0,
          StorageClass: 'DEEP_ARCHIVE',
          LastModifiedDate: '2024-06-01T00:00:00.000Z',
        },
      ],
    ];
    const schema = ['Bucket', 'Key', 'VersionId', 'Size', 'LastModifiedDate', 'StorageClass'] as const;
    const pq = await writeInventoryDir(path.join(dir, 'pq'), { format: 'Parquet', schema, files: data });
    const summary = await build({ inventory: pq });
    expect(summary.inventory.fileFormat).toBe('Parquet');
    expect(manifests()[0]!.text).toBe('b,a%20b/c%2Cd,v1\nb,%C3%BCn%C3%AF/%F0%9F%98%80%2B%25,null\nb,dir/,v3\n');
    expect(summary.bytesByStorageClass).toEqual({ GLACIER: 5, STANDARD: 7, DEEP_ARCHIVE: 0 });
    const filtered = await build({
      inventory: pq,
      output: path.join(dir, 'pq-out'),
      filter: { storageClasses: ['GLACIER', 'DEEP_ARCHIVE'], modifiedAfter: '2024-01-01', keySuffixes: ['/', ',d'] },
    });
    expect(manifests(path.join(dir, 'pq-out'))[0]!.text).toBe('b,a%20b/c%2Cd,v1\nb,dir/,v3\n');
    expect(filtered.rowsSelected).toBe(2);
    // A key regex (JavaScript semantics) takes the hyparquet reader: same encoding, same rows.
    const byRegex = await build({
      inventory: pq,
      output: path.join(dir, 'pq-regex'),
      filter: { keyRegex: '^(a b|ünï)', storageClasses: ['GLACIER', 'STANDARD'] },
    });
    expect(manifests(path.join(dir, 'pq-regex'))[0]!.text).toBe(
      'b,a%20b/c%2Cd,v1\nb,%C3%BCn%C3%AF/%F0%9F%98%80%2B%25,null\n',
    );
    expect(byRegex.bytesByStorageClass).toEqual({ GLACIER: 5, STANDARD: 7 });
    const csv = await writeInventoryDir(path.join(dir, 'csv'), { schema, files: data });
    await build({ inventory: csv, output: path.join(dir, 'csv-out') });
    const decoded = (text: string) =>
      text.split('\n').map((l) => l.split(',').map((v, i) => (i === 1 ? decodeManifestKey(v) : v)));
    expect(decoded(manifests(path.join(dir, 'csv-out'))[0]!.text)).toEqual(decoded(manifests()[0]!.text));
  });

  test('a destination prefix picks the newest complete report', async () => {
    const schema = ['Bucket', 'Key'] as const;
    await writeInventoryDir(dir, { schema, timestamp: '2024-05-01T00-00Z', files: [[{ Bucket: 'b', Key: 'old' }]] });
    const newest = await writeInventoryDir(dir, {
      schema,
      timestamp: '2024-05-02T00-00Z',
      files: [[{ Bucket: 'b', Key: 'new' }]],
    });
    // A delivery in progress: its folder exists, its manifest.json not yet.
    mkdirSync(path.join(path.dirname(newest), '..', '2024-05-03T00-00Z'));
    const summary = await build({ inventory: path.join(path.dirname(newest), '..') + '/' });
    expect(summary.inventory.manifest).toBe(newest);
    expect(manifests()[0]!.text).toBe('b,new\n');
  });

  test.each([
    ['a CSV build', 'CSV', true],
    ['a Parquet build (the early worker is not used)', 'Parquet', true],
    ['a build that fails before its scan starts', 'CSV', false],
  ] as const)('the scan worker started ahead of the manifest is ended with %s', async (_name, format, ok) => {
    const started = new Set<EarlyScanWorker>();
    const release = EarlyScanWorker.prototype.release;
    const spy = jest.spyOn(EarlyScanWorker.prototype, 'release').mockImplementation(function (this: EarlyScanWorker) {
      started.add(this);
      return release.call(this);
    });
    try {
      const inventory = await writeInventoryDir(path.join(dir, 'inv'), {
        format,
        schema: ['Bucket', 'Key'],
        files: [[{ Bucket: 'b', Key: 'k' }]],
      });
      const p = build({ inventory: ok ? inventory : path.join(dir, 'nowhere', 'manifest.json') });
      if (ok) expect((await p).rowsSelected).toBe(1);
      else await failure(p);
    } finally {
      spy.mockRestore();
    }
    expect(started.size).toBe(1);
    // A thread that has ended has no id any more.
    expect([...started].map((w) => w.worker.threadId)).toEqual([-1]);
  });

  test('two builds at once in one process (both scanning on the main thread) each write their own rows', async () => {
    const inventories = await Promise.all(
      [0, 1].map((n) =>
        writeInventoryDir(path.join(dir, `inv-${n}`), {
          schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
          files: rows(6, 2000).map((f) => f.map((r) => ({ ...r, Bucket: `bucket-${n}` }))),
        }),
      ),
    );
    const filter = { storageClasses: ['GLACIER', 'DEEP_ARCHIVE'] };
    const alone = await build({ inventory: inventories[0]!, filter, output: path.join(dir, 'alone') });
    const both = await Promise.all(
      inventories.map((inventory, n) => build({ inventory, filter, output: path.join(dir, `both-${n}`) })),
    );
    expect(both.map((b) => b.rowsSelected)).toEqual([7998, 7998]);
    expect(both[0]!.shards.map((s) => s.etag)).toEqual(alone.shards.map((s) => s.etag));
    expect(manifests(path.join(dir, 'both-1'))[0]!.text).toBe(
      manifests(path.join(dir, 'alone'))[0]!.text.replace(/^bucket-0,/gm, 'bucket-1,'),
    );
  });

  test.each([
    [
      'an MD5 mismatch names the file',
      { corrupt: (i: number, b: Buffer) => (i === 1 ? Buffer.concat([b, Buffer.from('x')]) : b) },
      FailureType.InvalidInput,
      /inventory data file inventory\/source-bucket\/config-1\/data\/0001-file\.csv\.gz is corrupt: its MD5 is [0-9a-f]{32}, the manifest says [0-9a-f]{32}/,
    ],
    ['a missing data file', { omitFiles: [2] }, FailureType.NotFound, /0002-file\.csv\.gz does not exist/],
    [
      'a malformed row names the file and row',
      { rawCsv: ['"b","k1"\n', '"b","k2"\n"b"\n'] },
      FailureType.InvalidInput,
      /0001-file\.csv\.gz is malformed: row 2: 1 values, but the fileSchema names 2 columns/,
    ],
  ])('%s; nothing is left in the output', async (_name, extra, type, message) => {
    const inventory = await writeInventoryDir(dir, {
      schema: ['Bucket', 'Key'],
      files: [[{ Bucket: 'b', Key: 'k' }], [{ Bucket: 'b', Key: 'k' }], [{ Bucket: 'b', Key: 'k' }]],
      ...extra,
    });
    // Scanned on the main thread (small files, by default) or on a worker thread: the same error.
    for (const mainThreadScanBytes of [undefined, 0]) {
      const err = await failure(build({ inventory, concurrency: 1 }, { mainThreadScanBytes }));
      expect(err.type).toBe(type);
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toMatch(message);
      expect(existsSync(path.join(dir, 'out')) ? readdirSync(path.join(dir, 'out')) : []).toEqual([]);
    }
  });

  // The native inflater (scan workers, with the addon) and node:zlib's stream (S3C_NATIVE=off) must agree on every
  // gzip file, good or bad; the MD5s match here, so what a file holds is the inflater's business alone.
  const twoMembers = (_i: number, t: Buffer) => Buffer.concat([gzipSync(t.subarray(0, 5)), gzipSync(t.subarray(5))]);
  describe.each(['auto', 'off'])('with S3C_NATIVE=%s', (native) => {
    let saved: string | undefined;
    beforeEach(() => {
      saved = process.env.S3C_NATIVE;
      process.env.S3C_NATIVE = native;
    });
    afterEach(() => {
      if (saved === undefined) delete process.env.S3C_NATIVE;
      else process.env.S3C_NATIVE = saved;
    });

    test('a data file of several gzip members gives the rows of every member', async () => {
      const inventory = await writeInventoryDir(path.join(dir, 'inv'), {
        schema: ['Bucket', 'Key'],
        files: [
          [
            { Bucket: 'b', Key: 'k1' },
            { Bucket: 'b', Key: 'k2' },
          ],
          [{ Bucket: 'b', Key: 'k3' }],
        ],
        gzip: twoMembers,
      });
      await build({ inventory });
      expect(manifests()[0]!.text).toBe('b,k1\nb,k2\nb,k3\n');
    });

    test('a data file padded with zero bytes after its gzip member gives its rows, as gunzip does', async () => {
      const inventory = await writeInventoryDir(path.join(dir, 'inv'), {
        schema: ['Bucket', 'Key'],
        files: [[{ Bucket: 'b', Key: 'k1' }], [{ Bucket: 'b', Key: 'k2' }]],
        gzip: (_i, t) => Buffer.concat([gzipSync(t), Buffer.alloc(1024)]),
      });
      await build({ inventory });
      expect(manifests()[0]!.text).toBe('b,k1\nb,k2\n');
    });

    test.each([
      ['cut short', (_i: number, t: Buffer) => gzipSync(t).subarray(0, 20), /is malformed: unexpected end of file/],
      [
        'followed by garbage',
        (_i: number, t: Buffer) => Buffer.concat([gzipSync(t), Buffer.from('xyz')]),
        /is malformed: incorrect header check/,
      ],
      ['not gzip', (_i: number, t: Buffer) => t, /is malformed: incorrect header check/],
    ])('a gzip file %s (its MD5 right) is malformed, permanently', async (_name, gzip, message) => {
      const inventory = await writeInventoryDir(path.join(dir, 'inv'), {
        schema: ['Bucket', 'Key'],
        files: [[{ Bucket: 'b', Key: 'k1' }], [{ Bucket: 'b', Key: 'k2' }]],
        gzip: (i, t) => (i === 1 ? gzip(i, t) : gzipSync(t)),
      });
      const err = await failure(build({ inventory }));
      expect(err).toMatchObject({ type: FailureType.InvalidInput, nonRetryable: true });
      expect(err.message).toMatch(/0001-file\.csv\.gz is malformed/);
      expect(err.message).toMatch(message);
    });
  });

  test('a bad S3C_NATIVE is a clear, permanent error before anything is written', async () => {
    const inventory = await writeInventoryDir(path.join(dir, 'inv'), { schema: ['Bucket', 'Key'], files: rows(1, 3) });
    const saved = process.env.S3C_NATIVE;
    process.env.S3C_NATIVE = 'fast';
    try {
      const err = await failure(build({ inventory }));
      expect(err).toMatchObject({ type: FailureType.InvalidInput, nonRetryable: true });
      expect(err.message).toMatch(/S3C_NATIVE must be auto, on or off, not "fast"/);
    } finally {
      if (saved === undefined) delete process.env.S3C_NATIVE;
      else process.env.S3C_NATIVE = saved;
    }
    expect(existsSync(path.join(dir, 'out'))).toBe(false);
  });

  test.each<[string, { format?: 'ORC' }, RegExp, InventoryFilter]>([
    [
      'ORC',
      { format: 'ORC' },
      /ORC inventories are not supported yet, choose CSV or Parquet in the inventory configuration/,
      {},
    ],
    [
      'a filter on a field the inventory lacks',
      {},
      /storageClasses needs the field StorageClass/,
      { storageClasses: ['GLACIER'] },
    ],
  ])('%s fails before any data file is read', async (_name, extra, message, filter) => {
    const inventory = await writeInventoryDir(dir, {
      schema: ['Bucket', 'Key'],
      files: [[{ Bucket: 'b', Key: 'k' }]],
      omitFiles: [0],
      ...extra,
    });
    const err = await failure(build({ inventory, filter }));
    expect(err.type).toBe(FailureType.InvalidInput);
    expect(err.message).toMatch(message);
  });

  test.each([
    [
      'a flipped byte',
      (b: Buffer) => Buffer.concat([b.subarray(0, 100), Buffer.from([b[100]! ^ 0xff]), b.subarray(101)]),
    ],
    ['a truncated file', (b: Buffer) => b.subarray(0, b.length - 10)],
  ])('a Parquet data file with %s is reported as corrupt, with no rows written', async (_name, damage) => {
    const inventory = await writeInventoryDir(dir, {
      format: 'Parquet',
      schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
      files: rows(2, 50),
      corrupt: (i, b) => (i === 1 ? damage(b) : b),
    });
    const err = await failure(build({ inventory }));
    expect(err.type).toBe(FailureType.InvalidInput);
    expect(err.message).toMatch(/data\/0001-file\.parquet is corrupt: its MD5 is [0-9a-f]{32}, the manifest says/);
    expect(existsSync(path.join(dir, 'out')) ? readdirSync(path.join(dir, 'out')) : []).toEqual([]);
  });

  test('a manifest.json that does not match manifest.checksum, or is not an inventory manifest, is rejected', async () => {
    const inventory = await writeInventoryDir(dir, { schema: ['Bucket', 'Key'], files: [[{ Bucket: 'b', Key: 'k' }]] });
    writeFileSync(inventory.replace(/json$/, 'checksum'), '00000000000000000000000000000000');
    expect((await failure(build({ inventory }))).message).toMatch(/does not match its manifest\.checksum/);
    rmSync(inventory.replace(/json$/, 'checksum'));
    writeFileSync(inventory, JSON.stringify({ sourceBucket: 'b', fileFormat: 'CSV', files: [] }));
    expect((await failure(build({ inventory }))).message).toMatch(/not a valid S3 Inventory manifest: fileSchema/);
  });

  describe('every filter on a Parquet inventory (SQL in DuckDB; keyRegex through hyparquet)', () => {
    const schema = [
      'Bucket',
      'Key',
      'VersionId',
      'IsLatest',
      'IsDeleteMarker',
      'Size',
      'LastModifiedDate',
      'StorageClass',
      'ReplicationStatus',
      'EncryptionStatus',
      'ObjectLockMode',
      'ObjectLockLegalHoldStatus',
      'IntelligentTieringAccessTier',
    ] as const;
    let pqDir: string;
    let inventory: string;
    beforeAll(async () => {
      pqDir = mkdtempSync(path.join(os.tmpdir(), 's3c-inv-pq-'));
      inventory = await writeInventoryDir(pqDir, {
        format: 'Parquet',
        schema,
        files: [FILTER_ROWS.slice(0, 2), FILTER_ROWS.slice(2)],
      });
    });
    afterAll(() => rmSync(pqDir, { recursive: true, force: true }));

    test.each(FILTER_CASES)('%s', async (_name, filter, expected) => {
      const summary = await build({ inventory, filter, versionIds: 'omit' });
      const text = summary.shards.length === 0 ? '' : manifests()[0]!.text;
      const keys =
        text === ''
          ? []
          : text
              .slice(0, -1)
              .split('\n')
              .map((l) => decodeManifestKey(l.split(',')[1]!));
      expect(keys).toEqual(expected);
      expect(summary.rowsSelected).toBe(expected.length);
    });
  });
});
