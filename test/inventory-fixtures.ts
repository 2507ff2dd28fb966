/**
 * Writes S3 Inventory reports for tests, in S3's layout: `<prefix>/<source>/<config>/data/<n>.csv.gz|.parquet`,
 * `<prefix>/<source>/<config>/<YYYY-MM-DDTHH-MMZ>/manifest.json` and `manifest.checksum`, to a local directory or a
 * bucket. CSV is written the way S3 writes it (every value quoted, keys URL-encoded); Parquet through DuckDB.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { snakeCaseField, type InventoryField } from '../src/inventory/fields';
import type { InventoryFilter } from '../src/inventory/types';

/** One inventory row by canonical field; `undefined` is an empty cell. */
export type InventoryRow = Partial<Record<InventoryField, string | number | boolean | undefined>>;

/** How the CSV encodes keys: `%20` for a space (encodeURIComponent style) or `+` (form style). */
export type KeyStyle = 'percent' | 'plus';

export function inventoryEncodeKey(key: string, style: KeyStyle = 'plus'): string {
  const e = encodeURIComponent(key).replace(/%2F/g, '/');
  return style === 'plus' ? e.replace(/%20/g, '+') : e;
}

function cell(field: InventoryField, v: InventoryRow[InventoryField], style: KeyStyle): string {
  if (v === undefined) return '';
  if (field === 'Key') return inventoryEncodeKey(String(v), style);
  return String(v);
}

/** One CSV line as S3 writes it: every value double-quoted (with `""` inside), no header. */
export function csvLine(schema: readonly InventoryField[], row: InventoryRow, style: KeyStyle = 'plus'): string {
  return schema.map((f) => `"${cell(f, row[f], style).replace(/"/g, '""')}"`).join(',') + '\n';
}

export interface InventorySpec {
  format?: 'CSV' | 'Parquet' | 'ORC';
  schema: readonly InventoryField[];
  /** Rows of each data file. */
  files: InventoryRow[][];
  sourceBucket?: string;
  /** The report folder name. @default '2024-05-01T00-00Z' */
  timestamp?: string;
  /** Path prefix inside the destination (`<dest-prefix>`). @default 'inventory' */
  prefix?: string;
  keyStyle?: KeyStyle;
  /** Compress a CSV data file's text differently (its MD5 is taken from the result). @default gzipSync */
  gzip?: (index: number, text: Buffer) => Buffer;
  /** Replace a data file's bytes after its MD5 went into the manifest (corruption tests). */
  corrupt?: (index: number, bytes: Buffer) => Buffer;
  /** Leave data files out (missing-file tests). */
  omitFiles?: number[];
  /** Raw CSV text per file instead of `files` rows (parser edge cases). */
  rawCsv?: string[];
}

export interface WrittenInventory {
  /** Relative paths (= S3 keys) → bytes. */
  objects: Map<string, Buffer>;
  /** manifest.json's key. */
  manifestKey: string;
  /** The destination prefix whose newest report a `…/` inventory argument picks. */
  reportsPrefix: string;
}

const PARQUET_TYPES: Partial<Record<InventoryField, string>> = {
  IsLatest: 'BOOLEAN',
  IsDeleteMarker: 'BOOLEAN',
  IsMultipartUploaded: 'BOOLEAN',
  Size: 'BIGINT',
  LastModifiedDate: 'TIMESTAMP_MS',
};

async function parquetBytes(schema: readonly InventoryField[], rows: InventoryRow[]): Promise<Buffer> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-parquet-'));
  try {
    const json = path.join(dir, 'rows.json');
    writeFileSync(
      json,
      rows
        .map((r) =>
          JSON.stringify(Object.fromEntries(schema.map((f) => [snakeCaseField(f), r[f] === undefined ? null : r[f]]))),
        )
        .join('\n') + '\n',
    );
    const columns = schema.map(
      (f) =>
        `'${snakeCaseField(f)}': '${PARQUET_TYPES[f] === 'TIMESTAMP_MS' ? 'VARCHAR' : (PARQUET_TYPES[f] ?? 'VARCHAR')}'`,
    );
    const select = schema
      .map((f) => {
        const c = snakeCaseField(f);
        return PARQUET_TYPES[f] === 'TIMESTAMP_MS' ? `CAST(${c} AS TIMESTAMP_MS) AS ${c}` : c;
      })
      .join(', ');
    const out = path.join(dir, 'data.parquet');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    await conn.run(
      `COPY (SELECT ${select} FROM read_json('${json}', format='newline_delimited', columns={${columns.join(', ')}})) ` +
        `TO '${out}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 1000)`,
    );
    conn.closeSync();
    db.closeSync();
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parquetSchema(schema: readonly InventoryField[]): string {
  const type = (f: InventoryField) =>
    PARQUET_TYPES[f] === 'BOOLEAN'
      ? 'boolean'
      : PARQUET_TYPES[f] === 'BIGINT'
        ? 'int64'
        : PARQUET_TYPES[f] === 'TIMESTAMP_MS'
          ? 'int64'
          : 'binary';
  return `message s3.inventory { ${schema.map((f) => `optional ${type(f)} ${snakeCaseField(f)};`).join(' ')} }`;
}

/** Builds the report's objects in memory (small fixtures only). */
export async function buildInventory(spec: InventorySpec): Promise<WrittenInventory> {
  const format = spec.format ?? 'CSV';
  const source = spec.sourceBucket ?? 'source-bucket';
  const base = `${spec.prefix ?? 'inventory'}/${source}/config-1`;
  const objects = new Map<string, Buffer>();
  const files: { key: string; size: number; MD5checksum: string }[] = [];
  const count = spec.rawCsv ? spec.rawCsv.length : spec.files.length;
  for (let i = 0; i < count; i++) {
    let bytes: Buffer;
    let ext: string;
    if (format === 'Parquet') {
      bytes = await parquetBytes(spec.schema, spec.files[i]!);
      ext = 'parquet';
    } else {
      const text = spec.rawCsv
        ? spec.rawCsv[i]!
        : spec.files[i]!.map((r) => csvLine(spec.schema, r, spec.keyStyle)).join('');
      bytes = (spec.gzip ?? ((_i, t) => gzipSync(t)))(i, Buffer.from(text, 'utf-8'));
      ext = format === 'ORC' ? 'orc' : 'csv.gz';
    }
    const key = `${base}/data/${String(i).padStart(4, '0')}-file.${ext}`;
    files.push({ key, size: bytes.length, MD5checksum: createHash('md5').update(bytes).digest('hex') });
    if (spec.corrupt) bytes = spec.corrupt(i, bytes);
    if (!spec.omitFiles?.includes(i)) objects.set(key, bytes);
  }
  const manifest = {
    sourceBucket: source,
    destinationBucket: 'arn:aws:s3:::destination-bucket',
    version: '2016-11-30',
    creationTimestamp: '1714521600000',
    fileFormat: format,
    fileSchema:
      format === 'Parquet'
        ? parquetSchema(spec.schema)
        : format === 'ORC'
          ? `struct<${spec.schema.map((f) => `${snakeCaseField(f)}:string`).join(',')}>`
          : spec.schema.join(', '),
    files,
  };
  const manifestText = Buffer.from(JSON.stringify(manifest));
  const manifestKey = `${base}/${spec.timestamp ?? '2024-05-01T00-00Z'}/manifest.json`;
  objects.set(manifestKey, manifestText);
  objects.set(
    manifestKey.replace(/json$/, 'checksum'),
    Buffer.from(createHash('md5').update(manifestText).digest('hex')),
  );
  return { objects, manifestKey, reportsPrefix: `${base}/` };
}

/** Writes a report under `dir`; returns the manifest.json path. */
export async function writeInventoryDir(dir: string, spec: InventorySpec): Promise<string> {
  const inv = await buildInventory(spec);
  for (const [key, bytes] of inv.objects) {
    mkdirSync(path.dirname(path.join(dir, key)), { recursive: true });
    writeFileSync(path.join(dir, key), bytes);
  }
  return path.join(dir, inv.manifestKey);
}

/** Uploads a report to `bucket`; the manifest's destinationBucket is rewritten to `bucket`. */
export async function uploadInventory(s3: S3Client, bucket: string, spec: InventorySpec): Promise<WrittenInventory> {
  const inv = await buildInventory(spec);
  const manifestText = inv.objects.get(inv.manifestKey)!.toString().replace('destination-bucket', bucket);
  inv.objects.set(inv.manifestKey, Buffer.from(manifestText));
  inv.objects.set(
    inv.manifestKey.replace(/json$/, 'checksum'),
    Buffer.from(createHash('md5').update(manifestText).digest('hex')),
  );
  for (const [key, bytes] of inv.objects) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
  }
  return inv;
}

/** Rows named by their key, with the values each filter looks at. */
export const FILTER_ROWS: InventoryRow[] = [
  {
    Key: 'logs/2019/a.gz',
    Size: 100,
    StorageClass: 'GLACIER',
    LastModifiedDate: '2019-03-01T00:00:00.000Z',
    IsLatest: true,
    IsDeleteMarker: false,
    EncryptionStatus: 'SSE-S3',
    ReplicationStatus: 'COMPLETED',
    ObjectLockMode: 'GOVERNANCE',
    ObjectLockLegalHoldStatus: 'ON',
    IntelligentTieringAccessTier: '',
  },
  {
    Key: 'logs/2019/b.txt',
    Size: 0,
    StorageClass: 'DEEP_ARCHIVE',
    LastModifiedDate: '2019-12-31T23:59:59.999Z',
    IsLatest: false,
    IsDeleteMarker: false,
    EncryptionStatus: 'SSE-KMS',
    ReplicationStatus: '',
    ObjectLockMode: '',
    ObjectLockLegalHoldStatus: 'OFF',
  },
  {
    Key: 'logs/2020/c.gz',
    Size: 5_000_000_000,
    StorageClass: 'STANDARD',
    LastModifiedDate: '2020-01-01T00:00:00.000Z',
    IsLatest: true,
    IsDeleteMarker: false,
    EncryptionStatus: 'NOT-SSE',
    ReplicationStatus: 'FAILED',
    ObjectLockMode: 'COMPLIANCE',
    ObjectLockLegalHoldStatus: 'OFF',
  },
  {
    Key: 'data/d e.gz',
    Size: 1,
    StorageClass: 'INTELLIGENT_TIERING',
    LastModifiedDate: '2021-06-15T12:00:00.000Z',
    IsLatest: true,
    IsDeleteMarker: true,
    EncryptionStatus: 'SSE-S3',
    ReplicationStatus: 'REPLICA',
    ObjectLockMode: '',
    ObjectLockLegalHoldStatus: '',
    IntelligentTieringAccessTier: 'ARCHIVE',
  },
  {
    Key: 'data/f+g.csv',
    Size: 2048,
    StorageClass: 'GLACIER',
    LastModifiedDate: '2022-01-01T00:00:00.000Z',
    IsLatest: true,
    IsDeleteMarker: false,
    EncryptionStatus: 'DSSE-KMS',
    ReplicationStatus: 'PENDING',
    ObjectLockMode: 'governance',
    ObjectLockLegalHoldStatus: 'On',
    IntelligentTieringAccessTier: 'FREQUENT',
  },
].map((r, i) => ({ Bucket: 'src', VersionId: `v${i}`, ETag: 'e', ...r }));

/** Each filter condition on `FILTER_ROWS`, with the keys a person picks by hand. */
export const FILTER_CASES: [string, InventoryFilter, string[]][] = [
  [
    'no filter keeps everything',
    {},
    ['logs/2019/a.gz', 'logs/2019/b.txt', 'logs/2020/c.gz', 'data/d e.gz', 'data/f+g.csv'],
  ],
  [
    'key prefixes (any of)',
    { keyPrefixes: ['logs/2019/', 'data/d'] },
    ['logs/2019/a.gz', 'logs/2019/b.txt', 'data/d e.gz'],
  ],
  ['key suffixes match decoded keys', { keySuffixes: ['e.gz', '+g.csv'] }, ['data/d e.gz', 'data/f+g.csv']],
  ['key regex', { keyRegex: '^logs/20(19|20)/[ac]\\.' }, ['logs/2019/a.gz', 'logs/2020/c.gz']],
  [
    'storage classes',
    { storageClasses: ['GLACIER', 'DEEP_ARCHIVE'] },
    ['logs/2019/a.gz', 'logs/2019/b.txt', 'data/f+g.csv'],
  ],
  ['minimum size (inclusive)', { minSize: 2048 }, ['logs/2020/c.gz', 'data/f+g.csv']],
  ['maximum size (inclusive)', { maxSize: 1 }, ['logs/2019/b.txt', 'data/d e.gz']],
  ['size range', { minSize: 1, maxSize: 100 }, ['logs/2019/a.gz', 'data/d e.gz']],
  [
    'modified after (inclusive)',
    { modifiedAfter: '2020-01-01T00:00:00Z' },
    ['logs/2020/c.gz', 'data/d e.gz', 'data/f+g.csv'],
  ],
  ['modified before (exclusive)', { modifiedBefore: '2020-01-01T00:00:00Z' }, ['logs/2019/a.gz', 'logs/2019/b.txt']],
  [
    'modified range, date only',
    { modifiedAfter: '2019-06-01', modifiedBefore: '2021-06-15T12:00:00.001Z' },
    ['logs/2019/b.txt', 'logs/2020/c.gz', 'data/d e.gz'],
  ],
  ['latest only', { latestOnly: true }, ['logs/2019/a.gz', 'logs/2020/c.gz', 'data/d e.gz', 'data/f+g.csv']],
  [
    'skip delete markers',
    { skipDeleteMarkers: true },
    ['logs/2019/a.gz', 'logs/2019/b.txt', 'logs/2020/c.gz', 'data/f+g.csv'],
  ],
  ['encryption statuses', { encryptionStatuses: ['SSE-KMS', 'DSSE-KMS'] }, ['logs/2019/b.txt', 'data/f+g.csv']],
  ['object lock modes (case-insensitive)', { objectLockModes: ['GOVERNANCE'] }, ['logs/2019/a.gz', 'data/f+g.csv']],
  ['object lock mode NONE is an empty cell', { objectLockModes: ['NONE'] }, ['logs/2019/b.txt', 'data/d e.gz']],
  ['legal hold', { objectLockLegalHoldStatuses: ['ON'] }, ['logs/2019/a.gz', 'data/f+g.csv']],
  ['replication statuses', { replicationStatuses: ['FAILED', 'NONE'] }, ['logs/2019/b.txt', 'logs/2020/c.gz']],
  [
    'intelligent-tiering access tier',
    { intelligentTieringAccessTiers: ['ARCHIVE', 'FREQUENT'] },
    ['data/d e.gz', 'data/f+g.csv'],
  ],
  [
    'all conditions together',
    { keyPrefixes: ['logs/'], storageClasses: ['GLACIER', 'DEEP_ARCHIVE'], latestOnly: true, minSize: 1 },
    ['logs/2019/a.gz'],
  ],
];
