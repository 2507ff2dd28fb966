/**
 * Parquet inventory data files, read one row group at a time with hyparquet (pure JavaScript; Snappy through
 * hyparquet-compressors' WebAssembly decoder) so memory stays at one row group of the columns the plan needs. Keys
 * in Parquet reports are raw, so they are URL-encoded here.
 */
import { parquetMetadataAsync, parquetRead, type AsyncBuffer, type DecodedArray } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

import { InventoryDataError } from './csv-scanner';
import { keyPredicate, type ScanPlan } from './plan';
import { murmur3, OutputBuffer, ScanStats, type EmitChunk } from './scan-output';

type Cell = string | number | bigint | boolean | Date | Uint8Array | null | undefined;

const utf8 = new TextDecoder();

function toNumber(v: Cell): number {
  if (v === null || v === undefined || v === '') return 0;
  if (v instanceof Date) return v.getTime();
  return Number(v);
}

function toText(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Uint8Array) return utf8.decode(v);
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** Bytes `encodeURIComponent` leaves as they are, plus `/`. */
const KEEP: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()/") t[c.charCodeAt(0)] = 1;
  return t;
})();
const HEX = Buffer.from('0123456789ABCDEF', 'latin1');

/** Writes the manifest encoding of a UTF-8 key (`encodeURIComponent` but `/`) at `pos`; returns the new end. */
function writeEncodedKey(key: Uint8Array, out: Buffer, pos: number): number {
  for (let i = 0; i < key.length; i++) {
    const b = key[i]!;
    if (KEEP[b]) out[pos++] = b;
    else {
      out[pos++] = 0x25;
      out[pos++] = HEX[b >> 4]!;
      out[pos++] = HEX[b & 15]!;
    }
  }
  return pos;
}

const EMPTY = new Uint8Array(0);

/** Case-insensitive (ASCII) equality of `cell` with any of `values` (upper case). */
function matchesAny(cell: Uint8Array, values: Buffer[]): boolean {
  outer: for (const val of values) {
    if (val.length !== cell.length) continue;
    for (let i = 0; i < val.length; i++) {
      let x = cell[i]!;
      if (x >= 0x61 && x <= 0x7a) x -= 32;
      if (x !== val[i]) continue outer;
    }
    return true;
  }
  return false;
}

function bytesOf(v: Cell): Uint8Array {
  if (v === null || v === undefined) return EMPTY;
  if (v instanceof Uint8Array) return v;
  return Buffer.from(toText(v), 'utf-8');
}

/** Reads the named columns of one row group as arrays indexed from the row group's first row. */
async function readRowGroup(
  file: AsyncBuffer,
  metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>,
  columns: string[],
  rowStart: number,
  rowEnd: number,
): Promise<Map<string, ArrayLike<Cell>>> {
  const pieces = new Map<string, { rowStart: number; data: DecodedArray }[]>();
  await parquetRead({
    file,
    metadata,
    columns,
    rowStart,
    rowEnd,
    compressors,
    // Strings stay UTF-8 bytes: keys are percent-encoded straight from them, with no string per value.
    utf8: false,
    parsers: { timestampFromMilliseconds: (ms: bigint) => Number(ms) },
    onChunk: (c) => {
      const list = pieces.get(c.columnName) ?? [];
      list.push({ rowStart: c.rowStart, data: c.columnData });
      pieces.set(c.columnName, list);
    },
  });
  const out = new Map<string, ArrayLike<Cell>>();
  for (const name of columns) {
    const list = (pieces.get(name) ?? []).sort((a, b) => a.rowStart - b.rowStart);
    const first = list[0];
    if (list.length === 1 && first && first.rowStart <= rowStart && first.rowStart + first.data.length >= rowEnd) {
      const offset = rowStart - first.rowStart;
      out.set(name, offset === 0 ? (first.data as ArrayLike<Cell>) : Array.prototype.slice.call(first.data, offset));
      continue;
    }
    const flat: Cell[] = new Array<Cell>(rowEnd - rowStart);
    for (const p of list) {
      for (let i = 0; i < p.data.length; i++) {
        const r = p.rowStart + i;
        if (r >= rowStart && r < rowEnd) flat[r - rowStart] = (p.data as ArrayLike<Cell>)[i];
      }
    }
    out.set(name, flat);
  }
  return out;
}

/**
 * Scans one Parquet data file (already verified) into manifest rows.
 * @throws InventoryDataError when the file lacks a column the plan needs.
 */
export async function scanParquet(file: AsyncBuffer, plan: ScanPlan, emit: EmitChunk): Promise<ScanStats> {
  const stats = new ScanStats(plan.sampleSize);
  const out = new OutputBuffer(emit);
  const metadata = await parquetMetadataAsync(file);
  const present = new Set(metadata.schema.slice(1).map((s) => s.name));
  const wanted = new Map<number, string>();
  const need = (col: number) => {
    if (col < 0) return;
    const name = plan.names[col]!;
    if (!present.has(name)) {
      throw new InventoryDataError(`the file has no column ${name} (it has ${[...present].join(', ')})`);
    }
    wanted.set(col, name);
  };
  for (const c of [plan.bucket, plan.key, plan.versionId, plan.size, plan.storageClass, plan.lastModified]) need(c);
  need(plan.isLatest);
  need(plan.isDeleteMarker);
  for (const e of plan.enums) need(e.column);
  const keyTest = keyPredicate(plan);
  const afterMs = plan.modifiedAfter === undefined ? -Infinity : Date.parse(plan.modifiedAfter);
  const beforeMs = plan.modifiedBefore === undefined ? Infinity : Date.parse(plan.modifiedBefore);
  const enumSets = plan.enums.map((e) => ({ column: e.column, values: e.values.map((v) => Buffer.from(v, 'latin1')) }));
  let groupStart = 0;
  for (const group of metadata.row_groups) {
    const groupEnd = groupStart + Number(group.num_rows);
    const cols = await readRowGroup(file, metadata, [...new Set(wanted.values())], groupStart, groupEnd);
    const get = (col: number): ArrayLike<Cell> | undefined => (col < 0 ? undefined : cols.get(plan.names[col]!));
    const buckets = get(plan.bucket)!;
    const keys = get(plan.key)!;
    const versions = get(plan.versionId);
    const sizes = get(plan.size);
    const classes = get(plan.storageClass);
    const modified = get(plan.lastModified);
    const latest = get(plan.isLatest);
    const deleteMarkers = get(plan.isDeleteMarker);
    const enums = enumSets.map((e) => ({ data: get(e.column)!, values: e.values }));
    const rows = groupEnd - groupStart;
    rows: for (let r = 0; r < rows; r++) {
      stats.rowsScanned++;
      if (deleteMarkers && deleteMarkers[r] === true) continue;
      if (latest && latest[r] !== true) continue;
      for (const e of enums) if (!matchesAny(bytesOf(e.data[r]), e.values)) continue rows;
      const size = sizes ? toNumber(sizes[r]) : 0;
      if (plan.minSize !== undefined && size < plan.minSize) continue;
      if (plan.maxSize !== undefined && size > plan.maxSize) continue;
      if (modified) {
        const v = modified[r];
        if (v === null || v === undefined) continue;
        const ms = typeof v === 'string' ? Date.parse(v) : toNumber(v);
        if (!(ms >= afterMs && ms < beforeMs)) continue;
      }
      const keyBytes = bytesOf(keys[r]);
      let key: string | undefined;
      if (keyTest) {
        key = utf8.decode(keyBytes);
        if (!keyTest(key)) continue;
      }
      const bucket = bytesOf(buckets[r]);
      const version = versions ? bytesOf(versions[r]) : undefined;
      stats.rowsSelected++;
      if (classes) {
        const c = bytesOf(classes[r]);
        stats.addClassBytes(c, 0, c.length, size);
      } else stats.addClassBytes(keyBytes, 0, 0, size);
      out.reserve(bucket.length + 3 * keyBytes.length + (version ? version.length + 6 : 0) + 2);
      const o = out.buf;
      let p = out.pos;
      for (let i = 0; i < bucket.length; i++) o[p++] = bucket[i]!;
      o[p++] = 0x2c;
      const keyStart = p;
      p = writeEncodedKey(keyBytes, o, p);
      const keyEnd = p;
      if (version) {
        o[p++] = 0x2c;
        if (version.length === 0) p += o.write('null', p, 'latin1');
        else for (let i = 0; i < version.length; i++) o[p++] = version[i]!;
      }
      o[p++] = 0x0a;
      out.pos = p;
      out.rows++;
      const h = murmur3(o, keyStart, keyEnd);
      if (stats.wantsSample(h)) stats.offerSample(h, key ?? utf8.decode(keyBytes));
    }
    groupStart = groupEnd;
  }
  out.flush();
  return stats;
}
