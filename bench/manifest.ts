/**
 * Inventory → manifest throughput against DuckDB, on synthetic inventories of several shapes, in the same run.
 *
 *   npm run bench:manifest                                 # every shape below, CSV (gzip)
 *   node dist/bench/manifest.js --shapes baseline,long-keys --rounds 5
 *   node dist/bench/manifest.js --shapes baseline --rows 1000000 --formats csv,parquet
 *   node dist/bench/manifest.js --profile                  # adds where the CPU goes, stage by stage, per shape
 *
 * Each shape (see SHAPES: key lengths from 10 to 1,000 bytes, heavily URL-encoded keys, every inventory column of a
 * versioned inventory, 8 or 32 data files of 10k to 2.5M rows) is generated once, deterministically, into
 * `$TMPDIR/s3c-bench-manifest-<shape>-<rows>x<files>/` and reused by later runs. Each round runs the project's
 * generator in a child process (so its peak RSS is its own, workers included) and DuckDB's
 * `COPY (SELECT bucket, key[, version id] FROM read_csv(…) WHERE storage_class IN ('GLACIER','DEEP_ARCHIVE')) TO …`
 * (every column's type given, DuckDB's fastest) in this one, alternately; the best time of each is compared. Both
 * sides must write the same rows, byte for byte (checked by MD5). The Parquet copy (`--formats csv,parquet`) is
 * written by DuckDB (Snappy, S3's snake_case column names); the generator reads it with its own embedded DuckDB, so
 * that comparison is against its own floor.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';

import { S3Client } from '@aws-sdk/client-s3';

import { buildManifests } from '../src/inventory';
import { CsvScanner } from '../src/inventory/csv-scanner';
import { INVENTORY_FIELDS, parseFileSchema } from '../src/inventory/fields';
import { NativeGunzip, nativeScanAvailable } from '../src/inventory/native-scan';
import { buildScanPlan } from '../src/inventory/plan';
import { mergeSample, sampleCeiling } from '../src/inventory/scan-output';
import { quietSdkNodeWarningOnNode20 } from '../src/node-support';
import { peakRssMB } from './peak-rss';

quietSdkNodeWarningOnNode20();

const SOURCE_BUCKET = 'bench-source-bucket';
/** Storage class mix: about 35% of rows are GLACIER or DEEP_ARCHIVE, the classes the filter keeps. */
const CLASSES: [string, number][] = [
  ['STANDARD', 0.4],
  ['STANDARD_IA', 0.15],
  ['GLACIER', 0.2],
  ['DEEP_ARCHIVE', 0.15],
  ['INTELLIGENT_TIERING', 0.1],
];
const SELECTED = ['GLACIER', 'DEEP_ARCHIVE'];

/** The columns of the project's original benchmark inventory. */
const BASIC_SCHEMA = ['Bucket', 'Key', 'Size', 'LastModifiedDate', 'ETag', 'StorageClass'];
/**
 * Every field of an "all versions" inventory with every optional field, in S3's canonical order (reference §7's
 * example fileSchema; LifecycleExpirationDate is left out, its position is unconfirmed).
 */
const ALL_SCHEMA: string[] = INVENTORY_FIELDS.filter((f) => f !== 'LifecycleExpirationDate');

type KeyStyle = 'baseline' | 'short' | 'long' | 'encoded';

/** One inventory shape: its rows are spread evenly over `files` data files. */
interface Shape {
  name: string;
  rows: number;
  files: number;
  keys: KeyStyle;
  columns: 'basic' | 'all';
  /** For the table. */
  about: string;
}

/**
 * The shapes a default run measures (≈ 10 minutes on 2 cores once generated; generating them all takes a few more and
 * about 2.5 GB of $TMPDIR). Row counts are smaller where rows are long, so that every shape takes seconds, not minutes.
 */
const SHAPES: Shape[] = [
  { name: 'baseline', rows: 5_000_000, files: 8, keys: 'baseline', columns: 'basic', about: 'keys ≈ 50 B, 6 columns' },
  { name: 'short-keys', rows: 5_000_000, files: 8, keys: 'short', columns: 'basic', about: 'keys 10–20 B' },
  { name: 'long-keys', rows: 1_000_000, files: 8, keys: 'long', columns: 'basic', about: 'keys 200–1,000 B' },
  {
    name: 'encoded-keys',
    rows: 5_000_000,
    files: 8,
    keys: 'encoded',
    columns: 'basic',
    about: 'keys 20–300 B, UTF-8, spaces, commas: URL-encoded',
  },
  {
    name: 'all-columns',
    rows: 2_000_000,
    files: 8,
    keys: 'baseline',
    columns: 'all',
    about: 'versioned, all 20 columns',
  },
  { name: 'files-32', rows: 5_000_000, files: 32, keys: 'baseline', columns: 'basic', about: '32 files of 156k rows' },
  { name: 'small-files', rows: 320_000, files: 32, keys: 'baseline', columns: 'basic', about: '32 files of 10k rows' },
  { name: 'big-files', rows: 20_000_000, files: 8, keys: 'baseline', columns: 'basic', about: '8 files of 2.5M rows' },
];

interface Args {
  shapes: Shape[];
  rows: number | undefined;
  rounds: number;
  formats: ('csv' | 'parquet')[];
  profile: boolean;
}

function parseArgs(argv: string[]): Args {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i === -1 ? undefined : argv[i + 1];
  };
  const names = get('--shapes')?.split(',');
  const shapes = names ? names.map((n) => SHAPES.find((s) => s.name === n)) : SHAPES;
  const unknown = names?.filter((_n, i) => shapes[i] === undefined);
  if (unknown && unknown.length > 0) {
    throw new Error(`unknown shape(s) ${unknown.join(', ')}; the shapes are ${SHAPES.map((s) => s.name).join(', ')}`);
  }
  const rows = get('--rows');
  return {
    shapes: shapes as Shape[],
    rows: rows === undefined ? undefined : Number(rows),
    rounds: Number(get('--rounds') ?? 3),
    formats: (get('--formats') ?? 'csv').split(',') as Args['formats'],
    profile: argv.includes('--profile'),
  };
}

/** A small deterministic PRNG (mulberry32): the same inventory on every machine. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'logs',
  'archive',
  'customer',
  'images',
  'raw',
  'export',
  'backup',
  'thumbnails',
  'tenant',
  'year=2023',
  'month=07',
  'part',
  'video',
  'scan',
  'invoice',
  'report',
];
/** Raw key pieces that S3 URL-encodes in an inventory: spaces, UTF-8 (2, 3 and 4 bytes), commas, `+`, `%`, `&`. */
const RAW_PIECES = [
  'Fotos ',
  'été',
  'naïve café',
  '日本語のファイル',
  'Отчёт',
  '😀',
  'a,b',
  'c+d',
  '100%',
  'Q&A (final)',
  'résumé 2023',
  ' ',
];

/** S3 Inventory's key encoding: like encodeURIComponent with `/` kept and spaces as `+` (key-encoding.ts decodes both). */
function s3EncodeKey(raw: string): string {
  return encodeURIComponent(raw).replace(/%2F/g, '/').replace(/%20/g, '+');
}

function keyMaker(style: KeyStyle, rand: () => number, seed: number): () => string {
  const hex = () =>
    Math.floor(rand() * 0xffffffff)
      .toString(16)
      .padStart(8, '0');
  const pick = <T>(a: readonly T[]) => a[Math.floor(rand() * a.length)]!;
  switch (style) {
    case 'baseline':
      return () => {
        const day = String(1 + Math.floor(rand() * 28)).padStart(2, '0');
        const customer = String(Math.floor(rand() * 100000)).padStart(6, '0');
        // e.g. logs/2023/07/14/customer-004211/event-0f3a9c1b-2e.json.gz (≈ 50 characters)
        return `logs/2023/07/${day}/customer-${customer}/event-${hex()}-${seed % 100}.json.gz`;
      };
    case 'short':
      // 10 to 20 bytes: `p/` and a random tail, e.g. `k3/0f3a9c1b2e`.
      return () => `${pick(['a', 'k3', 'img', 'x'])}/${hex()}${hex()}`.slice(0, 10 + Math.floor(rand() * 11));
    case 'long':
      // 200 to 1,000 bytes of path segments (words and hex, as deep prefixes and long generated names are).
      return () => {
        const target = 200 + Math.floor(rand() * 801);
        let k = '';
        while (k.length < target) k += `${pick(WORDS)}-${hex()}/`;
        return k.slice(0, target - 5) + '.json';
      };
    case 'encoded':
      // Raw keys of 10 to ~120 characters with URL-encoded pieces: 20–300 bytes once encoded.
      return () => {
        let raw = `${pick(WORDS)}/`;
        const n = 1 + Math.floor(rand() * 6);
        for (let i = 0; i < n; i++) raw += `${pick(RAW_PIECES)}${rand() < 0.5 ? '/' : ' '}`;
        return s3EncodeKey(`${raw}${hex()}.jpg`);
      };
  }
}

/** A base64 ObjectAccessControlList, as S3 writes it (reference §7), for one of a few owners. */
function aclFor(owner: string): string {
  const acl = {
    version: '2022-11-10',
    status: 'AVAILABLE',
    grants: [{ type: 'CanonicalUser', canonicalId: owner, permission: 'FULL_CONTROL' }],
  };
  return Buffer.from(JSON.stringify(acl)).toString('base64');
}

function rowMaker(shape: Shape, rand: () => number, seed: number): () => string {
  const hex = () =>
    Math.floor(rand() * 0xffffffff)
      .toString(16)
      .padStart(8, '0');
  const key = keyMaker(shape.keys, rand, seed);
  const storageClass = () => {
    const r = rand();
    let acc = 0;
    for (const [name, p] of CLASSES) {
      acc += p;
      if (r < acc) return name;
    }
    return CLASSES[0]![0];
  };
  const common = () => {
    const day = String(1 + Math.floor(rand() * 28)).padStart(2, '0');
    const k = key();
    const size = Math.floor(rand() * 10_000_000);
    const modified = `2023-07-${day}T${String(Math.floor(rand() * 24)).padStart(2, '0')}:15:42.000Z`;
    return { k, size, modified, etag: `${hex()}${hex()}${hex()}${hex()}`, cls: storageClass() };
  };
  if (shape.columns === 'basic') {
    return () => {
      const r = common();
      return `"${SOURCE_BUCKET}","${r.k}","${r.size}","${r.modified}","${r.etag}","${r.cls}"
`;
    };
  }
  const owners = Array.from({ length: 4 }, () => `${hex()}${hex()}${hex()}${hex()}${hex()}${hex()}${hex()}${hex()}`);
  const acls = owners.map(aclFor);
  const versionChars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._';
  return () => {
    const r = common();
    // About 10% null versions (empty VersionId), 5% delete markers (no size, class, …), 70% latest.
    let version = '';
    if (rand() >= 0.1) for (let i = 0; i < 32; i++) version += versionChars[Math.floor(rand() * versionChars.length)];
    const marker = rand() < 0.05;
    const latest = rand() < 0.7;
    const o = Math.floor(rand() * owners.length);
    const it = r.cls === 'INTELLIGENT_TIERING' ? 'FREQUENT' : '';
    const locked = rand() < 0.1;
    const values = marker
      ? [
          SOURCE_BUCKET,
          r.k,
          version,
          String(latest),
          'true',
          '',
          r.modified,
          // A delete marker has no ETag, storage class, lock, … : every column up to its owner is empty.
          ...new Array<string>(ALL_SCHEMA.length - 8).fill(''),
          owners[o]!,
        ]
      : [
          SOURCE_BUCKET,
          r.k,
          version,
          String(latest),
          'false',
          String(r.size),
          r.modified,
          r.etag,
          r.cls,
          String(rand() < 0.2),
          rand() < 0.3 ? 'COMPLETED' : '',
          rand() < 0.5 ? 'SSE-S3' : 'SSE-KMS',
          locked ? '2030-01-01T00:00:00.000Z' : '',
          locked ? 'GOVERNANCE' : '',
          'OFF',
          it,
          rand() < 0.5 ? 'ENABLED' : 'DISABLED',
          rand() < 0.4 ? 'CRC64NVME' : '',
          acls[o]!,
          owners[o]!,
        ];
    return `"${values.join('","')}"
`;
  };
}

async function writeCsvFile(file: string, shape: Shape, rows: number, seed: number): Promise<void> {
  const rand = rng(seed);
  const row = rowMaker(shape, rand, seed);
  const gzip = createGzip();
  const out = pipeline(gzip, createWriteStream(file));
  let batch: string[] = [];
  for (let i = 0; i < rows; i++) {
    batch.push(row());
    if (batch.length === 10_000) {
      if (!gzip.write(batch.join(''))) await new Promise((r) => gzip.once('drain', r));
      batch = [];
    }
  }
  gzip.end(batch.join(''));
  await out;
}

function md5File(file: string): string {
  return createHash('md5').update(readFileSync(file)).digest('hex');
}

function writeManifest(dir: string, format: 'CSV' | 'Parquet', files: string[], fileSchema: string): string {
  const reportDir = path.join(dir, '2024-05-01T00-00Z');
  mkdirSync(reportDir, { recursive: true });
  const manifest = {
    sourceBucket: SOURCE_BUCKET,
    destinationBucket: 'arn:aws:s3:::bench-inventory',
    version: '2016-11-30',
    creationTimestamp: '1714521600000',
    fileFormat: format,
    fileSchema,
    files: files.map((f) => ({ key: `data/${path.basename(f)}`, size: statSync(f).size, MD5checksum: md5File(f) })),
  };
  const p = path.join(reportDir, 'manifest.json');
  writeFileSync(p, JSON.stringify(manifest));
  return p;
}

interface Inventory {
  manifest: string;
  files: string[];
  /** Rows in the data files. */
  rows: number;
  /** Compressed bytes of the data files. */
  bytes: number;
}

function schemaOf(shape: Shape): string[] {
  return shape.columns === 'all' ? ALL_SCHEMA : BASIC_SCHEMA;
}

/** Bumped when a generator changes, so that caches of the old data are not reused. */
const GENERATOR_VERSION = 2;

async function prepareCsv(root: string, shape: Shape): Promise<Inventory> {
  const dir = path.join(root, 'csv');
  const done = path.join(dir, `READY-${GENERATOR_VERSION}`);
  const files = Array.from({ length: shape.files }, (_, i) => path.join(dir, 'data', `part-${i}.csv.gz`));
  if (!existsSync(done)) {
    console.log(`generating ${shape.rows.toLocaleString('en-US')} rows of shape ${shape.name} in ${dir} (cached)…`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    const per = Math.ceil(shape.rows / shape.files);
    // Two files at a time: generation is CPU-bound, and the machine may be shared.
    for (let i = 0; i < files.length; i += 2) {
      await Promise.all(
        files
          .slice(i, i + 2)
          .map((f, j) => writeCsvFile(f, shape, Math.min(per, shape.rows - per * (i + j)), 1000 + i + j)),
      );
    }
    writeManifest(dir, 'CSV', files, schemaOf(shape).join(', '));
    writeFileSync(done, '');
  }
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  return { manifest: path.join(dir, '2024-05-01T00-00Z', 'manifest.json'), files, rows: shape.rows, bytes };
}

async function duck(): Promise<{ run: (sql: string) => Promise<void>; close: () => void }> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  return {
    run: async (sql) => {
      await conn.run(sql);
    },
    close: () => {
      conn.closeSync();
      db.closeSync();
    },
  };
}

/** snake_case column names as S3's Parquet spells them. */
function snake(field: string): string {
  return field
    .replace(/([a-z])([A-Z])|([A-Z])([A-Z][a-z])/g, (_m, a, b, c, d) => (a ? `${a}_${b}` : `${c}_${d}`))
    .toLowerCase();
}

/** Every column with its type: DuckDB's fastest read (no sniffing, no type detection). */
function csvColumns(shape: Shape): string {
  return `{${schemaOf(shape)
    .map((f) => `'${snake(f)}': '${f === 'Size' ? 'BIGINT' : 'VARCHAR'}'`)
    .join(', ')}}`;
}

/** What DuckDB selects: the manifest's columns, a null version written as `null` like the generator does. */
function duckSelect(shape: Shape): string {
  return shape.columns === 'all' ? `bucket, key, coalesce(nullif(version_id, ''), 'null')` : 'bucket, key';
}

function sqlList(files: string[]): string {
  return `[${files.map((f) => `'${f}'`).join(', ')}]`;
}

async function prepareParquet(root: string, shape: Shape, csv: Inventory): Promise<Inventory> {
  const dir = path.join(root, 'parquet');
  const done = path.join(dir, `READY-${GENERATOR_VERSION}`);
  const files = csv.files.map((_f, i) => path.join(dir, 'data', `part-${i}.parquet`));
  if (!existsSync(done)) {
    console.log(`converting shape ${shape.name} to Parquet (Snappy, as S3 writes it) in ${dir}…`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    const db = await duck();
    const names = schemaOf(shape).map(snake);
    const select = names.map((n) => (n === 'last_modified_date' ? `CAST(${n} AS TIMESTAMP_MS) AS ${n}` : n)).join(', ');
    for (const [i, f] of csv.files.entries()) {
      await db.run(
        `COPY (SELECT ${select} FROM read_csv('${f}', header=false, quote='"', columns=${csvColumns(shape)})) ` +
          `TO '${files[i]}' (FORMAT parquet, COMPRESSION snappy)`,
      );
    }
    db.close();
    const field = (n: string) =>
      n === 'size'
        ? 'optional int64 size;'
        : n === 'last_modified_date'
          ? 'optional int64 last_modified_date (TIMESTAMP(MILLIS,true));'
          : `${n === 'bucket' || n === 'key' ? 'required' : 'optional'} binary ${n} (STRING);`;
    writeManifest(dir, 'Parquet', files, `message s3.inventory { ${names.map(field).join(' ')} }`);
    writeFileSync(done, '');
  }
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  return { manifest: path.join(dir, '2024-05-01T00-00Z', 'manifest.json'), files, rows: csv.rows, bytes };
}

interface ChildResult {
  seconds: number;
  /** CPU time of the build, every thread of the process (workers, zlib's thread pool) included. */
  cpuSeconds: number;
  rowsScanned: number;
  rowsSelected: number;
  maxRssMB: number;
}

/** MD5 of the concatenation of `files`, streamed (a big output is longer than a buffer can be). */
async function md5Concat(files: string[]): Promise<string> {
  const hash = createHash('md5');
  for (const f of files)
    for await (const c of createReadStream(f, { highWaterMark: 1 << 20 })) hash.update(c as Buffer);
  return hash.digest('hex');
}

/** The generator's manifests in order (`manifest-00001.csv`, …). */
function manifestFiles(outDir: string): string[] {
  return readdirSync(outDir)
    .filter((n) => /^manifest-\d{5}\.csv$/.test(n))
    .sort()
    .map((n) => path.join(outDir, n));
}

/** One run of the project's generator in a fresh process. */
function runOurs(manifest: string, outDir: string): ChildResult {
  rmSync(outDir, { recursive: true, force: true });
  const stdout = execFileSync(process.execPath, [__filename, '--child', manifest, outDir], {
    encoding: 'utf-8',
    env: { ...process.env, S3C_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(stdout) as ChildResult;
}

async function child(manifest: string, outDir: string): Promise<void> {
  const s3 = new S3Client({ region: 'us-east-1' });
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const summary = await buildManifests(
    { inventory: manifest, output: outDir, filter: { storageClasses: SELECTED } },
    { s3 },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const result: ChildResult = {
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    rowsScanned: summary.rowsScanned,
    rowsSelected: summary.rowsSelected,
    maxRssMB: peakRssMB(),
  };
  process.stdout.write(JSON.stringify(result));
}

async function runDuck(
  db: Awaited<ReturnType<typeof duck>>,
  shape: Shape,
  format: 'csv' | 'parquet',
  files: string[],
  out: string,
): Promise<{ seconds: number; rows: number }> {
  rmSync(out, { force: true });
  const source =
    format === 'csv'
      ? `read_csv(${sqlList(files)}, header=false, quote='"', columns=${csvColumns(shape)})`
      : `read_parquet(${sqlList(files)})`;
  const started = process.hrtime.bigint();
  await db.run(
    `COPY (SELECT ${duckSelect(shape)} FROM ${source} WHERE storage_class IN (${SELECTED.map((c) => `'${c}'`).join(', ')})) ` +
      `TO '${out}' (HEADER false)`,
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // Counted in the bytes: the output of a large inventory is longer than a string can be.
  let rows = 0;
  for await (const c of createReadStream(out, { highWaterMark: 1 << 20 })) {
    const b = c as Buffer;
    for (let i = b.indexOf(0x0a); i !== -1; i = b.indexOf(0x0a, i + 1)) rows++;
  }
  return { seconds, rows };
}

/** CPU seconds of each stage of the CSV pipeline, measured one at a time on this thread (see `profile`). */
interface StageSeconds {
  md5In: number;
  inflate: number;
  scanNative: number;
  scanJs: number;
  md5Out: number;
  write: number;
  /** Share of rows the native scanner read itself (the rest went to JavaScript). */
  nativeShare: number;
}

/**
 * Where the CPU of a CSV build goes, stage by stage: each data file is read and hashed (the input MD5), inflated alone,
 * then inflated again and scanned (native scanner, then JavaScript alone), the scan's output hashed (the manifests'
 * ETag MD5) and written to a file. Only the stage's own work is timed (a scan's `push` calls, minus the output work
 * they call back), on this thread, one file after another; the real build runs the same stages on worker threads and
 * the main thread at once.
 */
async function profile(inv: Inventory, outDir: string): Promise<StageSeconds> {
  const report = JSON.parse(readFileSync(inv.manifest, 'utf-8')) as { fileSchema: string };
  const plan = buildScanPlan('CSV', parseFileSchema('CSV', report.fileSchema), {
    filter: { storageClasses: SELECTED },
    versionIds: 'auto',
    sampleSize: 10,
  });
  const t = { md5In: 0, inflate: 0, scanNative: 0, scanJs: 0, md5Out: 0, write: 0, nativeShare: 0 };
  const now = () => Number(process.hrtime.bigint()) / 1e9;
  let nativeRows = 0;
  const kept: Record<string, [number, string][]> = { true: [], false: [] };
  let rows = 0;
  mkdirSync(outDir, { recursive: true });
  const sinkPath = path.join(outDir, 'profile-out.csv');
  // As the scan workers inflate: natively into one reused buffer when the addon has it, else node:zlib's stream.
  async function* inflated(file: string): AsyncGenerator<Buffer> {
    const gunzip = NativeGunzip.create();
    if (!gunzip) {
      for await (const c of createReadStream(file, { highWaterMark: 1 << 20 }).pipe(
        createGunzip({ chunkSize: 256 << 10 }),
      ))
        yield c as Buffer;
      return;
    }
    const out = Buffer.allocUnsafeSlow(1 << 20);
    for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) {
      const input = c as Buffer;
      for (let pos = 0; pos < input.length;) {
        const [next, written] = gunzip.inflate(input, pos, input.length, out);
        pos = next;
        if (written > 0) yield out.subarray(0, written);
      }
    }
    gunzip.finish();
  }
  for (const file of inv.files) {
    let s = now();
    const hash = createHash('md5');
    for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(c as Buffer);
    hash.digest();
    t.md5In += now() - s;
    s = now();
    let inflatedBytes = 0;
    for await (const c of inflated(file)) inflatedBytes += c.length;
    if (inflatedBytes === 0) throw new Error(`${file} inflates to nothing`);
    t.inflate += now() - s;
    for (const native of [true, false]) {
      const out = createWriteStream(sinkPath);
      const etag = createHash('md5');
      let outSeconds = 0;
      const scanner = new CsvScanner(
        plan,
        (chunk) => {
          const a = now();
          etag.update(chunk);
          const b = now();
          out.write(Buffer.from(chunk));
          const c = now();
          outSeconds += c - a;
          if (native) {
            t.md5Out += b - a;
            t.write += c - b;
          }
        },
        // As a scanner thread does: the sample of its earlier files bounds which keys it offers (see sampleCeiling).
        { native, sampleCeiling: sampleCeiling(kept[String(native)]!, plan.sampleSize) },
      );
      let scan = 0;
      for await (const c of inflated(file)) {
        const a = now();
        scanner.push(c);
        scan += now() - a;
      }
      const a = now();
      scanner.end();
      scan += now() - a;
      await new Promise((r) => out.end(r));
      kept[String(native)] = mergeSample(kept[String(native)]!, scanner.stats.sample, plan.sampleSize);
      if (native) {
        t.scanNative += scan - outSeconds;
        nativeRows += scanner.nativeRows;
        rows += scanner.stats.rowsScanned;
      } else t.scanJs += scan - outSeconds;
    }
  }
  rmSync(sinkPath, { force: true });
  t.nativeShare = rows === 0 ? 0 : nativeRows / rows;
  return t;
}

interface ShapeResult {
  shape: Shape;
  format: 'csv' | 'parquet';
  inv: Inventory;
  ours: ChildResult[];
  theirs: { seconds: number; rows: number }[];
  profile?: StageSeconds;
}

function fmtRows(n: number): string {
  return n >= 1e6 ? `${+(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${+(n / 1e3).toFixed(0)}k` : String(n);
}

function printTable(results: ShapeResult[]): void {
  const head = [
    'shape',
    'format',
    'rows',
    'files',
    'gzip MB',
    'ours s',
    'ours CPU s',
    'DuckDB s',
    'ratio',
    'peak RSS MB',
    'selected',
  ];
  const lines = results.map((r) => {
    const fastest = r.ours.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const best = fastest.seconds;
    const duckBest = Math.min(...r.theirs.map((o) => o.seconds));
    return [
      r.shape.name,
      r.format,
      fmtRows(r.inv.rows),
      String(r.shape.files),
      (r.inv.bytes / 1e6).toFixed(0),
      best.toFixed(2),
      fastest.cpuSeconds.toFixed(2),
      duckBest.toFixed(2),
      `${(duckBest / best).toFixed(2)}×`,
      Math.max(...r.ours.map((o) => o.maxRssMB)).toFixed(0),
      r.ours[0]!.rowsSelected.toLocaleString('en-US'),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${fmt(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const l of lines) console.log(fmt(l));
  const profiled = results.filter((r) => r.profile);
  if (profiled.length === 0) return;
  const phead = [
    'shape',
    'MD5 in',
    'inflate',
    'scan',
    'native rows',
    'scan (JS only)',
    'MD5 out',
    'write',
    'sum',
    'build CPU',
  ];
  const plines = profiled.map((r) => {
    const p = r.profile!;
    const per = (x: number) => `${((x / r.inv.rows) * 1e6).toFixed(3)}`;
    const fastest = r.ours.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    return [
      r.shape.name,
      per(p.md5In),
      per(p.inflate),
      per(p.scanNative),
      `${(p.nativeShare * 100).toFixed(1)}%`,
      per(p.scanJs),
      per(p.md5Out),
      per(p.write),
      per(p.md5In + p.inflate + p.scanNative + p.md5Out + p.write),
      per(fastest.cpuSeconds),
    ];
  });
  const pw = phead.map((h, i) => Math.max(h.length, ...plines.map((l) => l[i]!.length)));
  const pfmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(pw[i]!)).join(' | ')} |`;
  console.log(
    '\nCPU seconds per million rows, by stage (one thread, one stage at a time; see profile() in bench/manifest.ts):',
  );
  console.log(`${pfmt(phead)}\n|${pw.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const l of plines) console.log(pfmt(l));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    await child(argv[1]!, argv[2]!);
    return;
  }
  const args = parseArgs(argv);
  const work = path.join(os.tmpdir(), `s3c-bench-manifest-out-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const db = await duck();
  const threads = os.availableParallelism();
  console.log(
    `${args.shapes.length} shape(s), ${threads} cores, ${args.rounds} rounds each (best time counts); CSV rows are scanned ${
      nativeScanAvailable()
        ? 'by the native scanner (native/)'
        : 'in JavaScript only (no native scanner: S3C_NATIVE=off, or not built)'
    }`,
  );
  const results: ShapeResult[] = [];
  try {
    for (const base of args.shapes) {
      const shape = args.rows === undefined ? base : { ...base, rows: args.rows };
      const root = path.join(os.tmpdir(), `s3c-bench-manifest-${shape.name}-${shape.rows}x${shape.files}`);
      const csv = await prepareCsv(root, shape);
      for (const format of args.formats) {
        if (format === 'parquet' && shape.keys === 'encoded') {
          // Parquet inventories hold raw keys, which both sides would have to URL-encode alike; DuckDB's COPY does not.
          console.log(`${shape.name}: no Parquet comparison (raw keys that need encoding; see the comment here)`);
          continue;
        }
        const inv = format === 'csv' ? csv : await prepareParquet(root, shape, csv);
        const ours: ChildResult[] = [];
        const theirs: { seconds: number; rows: number }[] = [];
        const duckOut = path.join(work, 'duck.csv');
        const ourOut = path.join(work, 'ours');
        for (let r = 0; r < args.rounds; r++) {
          ours.push(runOurs(inv.manifest, ourOut));
          theirs.push(await runDuck(db, shape, format, inv.files, duckOut));
        }
        const selected = new Set([...ours.map((o) => o.rowsSelected), ...theirs.map((t) => t.rows)]);
        if (selected.size !== 1) {
          throw new Error(
            `${shape.name}: rows selected differ: ours ${ours.map((o) => o.rowsSelected).join(', ')}, DuckDB ${theirs.map((t) => t.rows).join(', ')}`,
          );
        }
        const [ourMd5, duckMd5] = [await md5Concat(manifestFiles(ourOut)), await md5Concat([duckOut])];
        if (ourMd5 !== duckMd5) {
          throw new Error(`${shape.name}: the manifests differ from DuckDB's output (MD5 ${ourMd5} vs ${duckMd5})`);
        }
        const result: ShapeResult = { shape, format, inv, ours, theirs };
        if (args.profile && format === 'csv') result.profile = await profile(inv, work);
        results.push(result);
        const best = Math.min(...ours.map((o) => o.seconds));
        const duckBest = Math.min(...theirs.map((o) => o.seconds));
        console.log(
          `${shape.name} (${shape.about}) ${format}: ours [${ours.map((o) => o.seconds.toFixed(2)).join(', ')}] s, ` +
            `DuckDB [${theirs.map((o) => o.seconds.toFixed(2)).join(', ')}] s, ${(duckBest / best).toFixed(2)}×, ` +
            `peak RSS ${Math.max(...ours.map((o) => o.maxRssMB)).toFixed(0)} MB, same ${ours[0]!.rowsSelected.toLocaleString('en-US')} rows (MD5 ${ourMd5.slice(0, 8)})`,
        );
      }
    }
    printTable(results);
    console.log(
      `\nload average: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(', ')}`,
    );
  } finally {
    db.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
