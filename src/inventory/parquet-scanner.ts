/**
 * Parquet inventory data files, read one row group at a time with hyparquet (pure JavaScript; Snappy through
 * hyparquet-compressors' WebAssembly decoder) so memory stays at one row group of the columns the plan needs. Keys
 * in Parquet reports are raw, so they are URL-encoded here.
 */
import { parquetMetadataAsync, parquetRead, type AsyncBuffer, type DecodedArray } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

import { InventoryDataError } from './csv-scanner';
import { encodeManifestKey } from './key-encoding';
import { keyPredicate, type ScanPlan } from './plan';
import { OutputBuffer, ScanStats, fnv1aString, type EmitChunk } from './scan-output';

type Cell = string | number | bigint | boolean | Date | null | undefined;

function toNumber(v: Cell): number {
  if (v === null || v === undefined || v === '') return 0;
  if (v instanceof Date) return v.getTime();
  return Number(v);
}

function toText(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  return String(v);
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
  const enumSets = plan.enums.map((e) => ({ column: e.column, values: new Set(e.values) }));
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
      for (const e of enums) if (!e.values.has(toText(e.data[r]).toUpperCase())) continue rows;
      const size = sizes ? toNumber(sizes[r]) : 0;
      if (plan.minSize !== undefined && size < plan.minSize) continue;
      if (plan.maxSize !== undefined && size > plan.maxSize) continue;
      if (modified) {
        const v = modified[r];
        if (v === null || v === undefined) continue;
        const ms = typeof v === 'string' ? Date.parse(v) : toNumber(v);
        if (!(ms >= afterMs && ms < beforeMs)) continue;
      }
      const key = toText(keys[r]);
      if (keyTest && !keyTest(key)) continue;
      const encoded = encodeManifestKey(key);
      const bucket = toText(buckets[r]);
      stats.rowsSelected++;
      stats.addClass(classes ? toText(classes[r]) : '', undefined, size, 1);
      let line = `${bucket},${encoded}`;
      if (versions) {
        const v = toText(versions[r]);
        line += `,${v === '' ? 'null' : v}`;
      }
      line += '\n';
      out.reserve(line.length);
      out.pos += out.buf.write(line, out.pos, 'latin1');
      out.rows++;
      if (stats.wantsSample(0)) {
        const h = fnv1aString(encoded);
        if (stats.wantsSample(h)) stats.offerSample(h, key);
      }
    }
    groupStart = groupEnd;
  }
  out.flush();
  return stats;
}
