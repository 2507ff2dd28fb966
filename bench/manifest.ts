/**
 * Inventory → manifest throughput against DuckDB, on the same synthetic inventory in the same run.
 *
 *   npm run bench:manifest                 # 5,000,000 rows in 8 gzip CSV files (and the same as Parquet)
 *   node dist/bench/manifest.js --rows 1000000 --rounds 3 --formats csv
 *
 * The inventory (schema `Bucket, Key, Size, LastModifiedDate, ETag, StorageClass`, keys of about 50 characters) is
 * generated once into `$TMPDIR/s3c-bench-manifest-<rows>/` and reused by later runs. Each round runs the project's
 * generator in a child process (so its peak RSS is its own, workers included) and DuckDB's
 * `COPY (SELECT bucket, key FROM read_csv(…) WHERE storage_class IN ('GLACIER','DEEP_ARCHIVE')) TO …` in this one,
 * alternately; the best time of each is compared. The Parquet copy is written by DuckDB (Snappy, S3's snake_case
 * column names); the generator reads it with its own embedded DuckDB, so that comparison is against its own floor.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

import { S3Client } from '@aws-sdk/client-s3';

import { buildManifests } from '../src/inventory';
import { nativeScanAvailable } from '../src/inventory/native-scan';
import { quietSdkNodeWarningOnNode20 } from '../src/node-support';
import { peakRssMB } from './peak-rss';

quietSdkNodeWarningOnNode20();

const SCHEMA = ['Bucket', 'Key', 'Size', 'LastModifiedDate', 'ETag', 'StorageClass'];
const FILES = 8;
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

interface Args {
  rows: number;
  rounds: number;
  formats: ('csv' | 'parquet')[];
}

function parseArgs(argv: string[]): Args {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i === -1 ? undefined : argv[i + 1];
  };
  return {
    rows: Number(get('--rows') ?? 5_000_000),
    rounds: Number(get('--rounds') ?? 3),
    formats: (get('--formats') ?? 'csv,parquet').split(',') as Args['formats'],
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

async function writeCsvFile(file: string, rows: number, seed: number): Promise<void> {
  const rand = rng(seed);
  const gzip = createGzip();
  const out = pipeline(gzip, createWriteStream(file));
  const hex = () =>
    Math.floor(rand() * 0xffffffff)
      .toString(16)
      .padStart(8, '0');
  let batch: string[] = [];
  for (let i = 0; i < rows; i++) {
    const r = rand();
    let acc = 0;
    let cls = CLASSES[0]![0];
    for (const [name, p] of CLASSES) {
      acc += p;
      if (r < acc) {
        cls = name;
        break;
      }
    }
    const day = 1 + Math.floor(rand() * 28);
    const customer = String(Math.floor(rand() * 100000)).padStart(6, '0');
    // e.g. logs/2023/07/14/customer-004211/event-0f3a9c1b-2e.json.gz (≈ 50 characters)
    const key = `logs/2023/07/${String(day).padStart(2, '0')}/customer-${customer}/event-${hex()}-${seed % 100}.json.gz`;
    const size = Math.floor(rand() * 10_000_000);
    const modified = `2023-07-${String(day).padStart(2, '0')}T${String(Math.floor(rand() * 24)).padStart(2, '0')}:15:42.000Z`;
    batch.push(`"${SOURCE_BUCKET}","${key}","${size}","${modified}","${hex()}${hex()}${hex()}${hex()}","${cls}"\n`);
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
}

async function prepareCsv(root: string, rows: number): Promise<Inventory> {
  const dir = path.join(root, 'csv');
  const done = path.join(dir, 'READY');
  const files = Array.from({ length: FILES }, (_, i) => path.join(dir, 'data', `part-${i}.csv.gz`));
  if (!existsSync(done)) {
    console.log(`generating ${rows.toLocaleString('en-US')} rows of CSV inventory in ${dir} (cached for later runs)…`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    const per = Math.ceil(rows / FILES);
    await Promise.all(files.map((f, i) => writeCsvFile(f, Math.min(per, rows - per * i), 1000 + i)));
    writeManifest(dir, 'CSV', files, SCHEMA.join(', '));
    writeFileSync(done, '');
  }
  return { manifest: path.join(dir, '2024-05-01T00-00Z', 'manifest.json'), files };
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

const CSV_COLUMNS =
  "{'bucket': 'VARCHAR', 'key': 'VARCHAR', 'size': 'BIGINT', 'last_modified_date': 'VARCHAR', 'e_tag': 'VARCHAR', 'storage_class': 'VARCHAR'}";

function sqlList(files: string[]): string {
  return `[${files.map((f) => `'${f}'`).join(', ')}]`;
}

async function prepareParquet(root: string, csv: Inventory): Promise<Inventory> {
  const dir = path.join(root, 'parquet');
  const done = path.join(dir, 'READY');
  const files = csv.files.map((_f, i) => path.join(dir, 'data', `part-${i}.parquet`));
  if (!existsSync(done)) {
    console.log(`converting the inventory to Parquet (Snappy, as S3 writes it) in ${dir}…`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    const db = await duck();
    for (const [i, f] of csv.files.entries()) {
      await db.run(
        `COPY (SELECT bucket, key, size, CAST(last_modified_date AS TIMESTAMP_MS) AS last_modified_date, e_tag, storage_class ` +
          `FROM read_csv('${f}', header=false, quote='"', columns=${CSV_COLUMNS})) TO '${files[i]}' (FORMAT parquet, COMPRESSION snappy)`,
      );
    }
    db.close();
    const schema =
      'message s3.inventory { required binary bucket (STRING); required binary key (STRING); optional int64 size; ' +
      'optional int64 last_modified_date (TIMESTAMP(MILLIS,true)); optional binary e_tag (STRING); optional binary storage_class (STRING); }';
    writeManifest(dir, 'Parquet', files, schema);
    writeFileSync(done, '');
  }
  return { manifest: path.join(dir, '2024-05-01T00-00Z', 'manifest.json'), files };
}

interface ChildResult {
  seconds: number;
  rowsScanned: number;
  rowsSelected: number;
  maxRssMB: number;
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
  const summary = await buildManifests(
    { inventory: manifest, output: outDir, filter: { storageClasses: SELECTED } },
    { s3 },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const result: ChildResult = {
    seconds,
    rowsScanned: summary.rowsScanned,
    rowsSelected: summary.rowsSelected,
    maxRssMB: peakRssMB(),
  };
  process.stdout.write(JSON.stringify(result));
}

async function runDuck(
  db: Awaited<ReturnType<typeof duck>>,
  format: 'csv' | 'parquet',
  files: string[],
  out: string,
): Promise<{ seconds: number; rows: number }> {
  rmSync(out, { force: true });
  const source =
    format === 'csv'
      ? `read_csv(${sqlList(files)}, header=false, quote='"', columns=${CSV_COLUMNS})`
      : `read_parquet(${sqlList(files)})`;
  const started = process.hrtime.bigint();
  await db.run(
    `COPY (SELECT bucket, key FROM ${source} WHERE storage_class IN (${SELECTED.map((c) => `'${c}'`).join(', ')})) ` +
      `TO '${out}' (HEADER false)`,
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // Counted in the bytes: the output of a large inventory is longer than a string can be.
  const bytes = readFileSync(out);
  let rows = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) rows++;
  return { seconds, rows };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    await child(argv[1]!, argv[2]!);
    return;
  }
  const args = parseArgs(argv);
  const root = path.join(os.tmpdir(), `s3c-bench-manifest-${args.rows}`);
  const work = path.join(os.tmpdir(), `s3c-bench-manifest-out-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const csv = await prepareCsv(root, args.rows);
  const inventories: Record<'csv' | 'parquet', Inventory | undefined> = {
    csv,
    parquet: args.formats.includes('parquet') ? await prepareParquet(root, csv) : undefined,
  };
  const db = await duck();
  const threads = os.availableParallelism();
  console.log(
    `\n${args.rows.toLocaleString('en-US')} rows, ${FILES} files, ${threads} cores, ${args.rounds} rounds each (best time counts)`,
  );
  console.log(
    `CSV rows are scanned ${nativeScanAvailable() ? 'by the native scanner (native/)' : 'in JavaScript only (no native scanner: S3C_NATIVE=off, or not built)'}`,
  );
  try {
    for (const format of args.formats) {
      const inv = inventories[format]!;
      const ours: ChildResult[] = [];
      const theirs: { seconds: number; rows: number }[] = [];
      for (let r = 0; r < args.rounds; r++) {
        ours.push(runOurs(inv.manifest, path.join(work, 'ours')));
        theirs.push(await runDuck(db, format, inv.files, path.join(work, 'duck.csv')));
      }
      const best = ours.reduce((a, b) => (b.seconds < a.seconds ? b : a));
      const duckBest = theirs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
      const peak = Math.max(...ours.map((o) => o.maxRssMB));
      if (best.rowsSelected !== duckBest.rows) {
        throw new Error(`row counts differ: ours ${best.rowsSelected}, DuckDB ${duckBest.rows}`);
      }
      const rate = (s: number) => `${(best.rowsScanned / s / 1e6).toFixed(2)} M rows/s`;
      console.log(`\n${format.toUpperCase()}  (${best.rowsSelected.toLocaleString('en-US')} rows selected)`);
      console.log(
        `  s3-campaigns  ${best.seconds.toFixed(2)} s  ${rate(best.seconds)}  peak RSS ${peak.toFixed(0)} MB   [${ours.map((o) => o.seconds.toFixed(2)).join(', ')}]`,
      );
      console.log(
        `  DuckDB        ${duckBest.seconds.toFixed(2)} s  ${rate(duckBest.seconds)}   [${theirs.map((o) => o.seconds.toFixed(2)).join(', ')}]`,
      );
      console.log(`  ratio         ${(duckBest.seconds / best.seconds).toFixed(2)}× DuckDB's throughput`);
    }
  } finally {
    db.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
