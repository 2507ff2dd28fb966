/**
 * What a scanner produces for one data file: manifest rows in row-aligned chunks, and per-file totals (rows read and
 * kept, bytes and rows by storage class, a deterministic sample of kept keys).
 */
import type { ManifestTotals } from './types';

/** Chunk size: large enough that per-chunk costs (a message to the main thread, a write) vanish, small for memory. */
export const OUTPUT_CHUNK_BYTES = 1 << 20;

/** Receives manifest rows: `chunk` holds exactly `rows` complete lines and is owned by the receiver. */
export type EmitChunk = (chunk: Buffer, rows: number) => void;

/**
 * Output buffers handed back by the chunks' receiver (a worker thread gets them back from the main thread once their
 * rows are written), reused instead of allocating a fresh megabyte per chunk: no garbage, no fresh pages to fault in.
 */
const returned: ArrayBuffer[] = [];
/** Enough for the chunks in flight to the main thread (spillAfterBytes) plus one being filled. */
const MAX_RETURNED = 8;

/** Takes back a chunk's memory for reuse; the caller must hold no view of it any more. */
export function returnOutputBuffer(buffer: ArrayBuffer): void {
  // One grown for a giant row is left to the collector, so the pool stays a few chunk sizes.
  if (returned.length < MAX_RETURNED && buffer.byteLength <= 2 * OUTPUT_CHUNK_BYTES) returned.push(buffer);
}

/** A buffer of at least `bytes` that the caller owns whole (it can be transferred to another thread). */
export function takeOutputBuffer(bytes: number): Buffer {
  for (let i = returned.length - 1; i >= 0; i--) {
    const ab = returned[i]!;
    if (ab.byteLength >= bytes) {
      returned.splice(i, 1);
      return Buffer.from(ab);
    }
  }
  return Buffer.allocUnsafeSlow(bytes);
}

/** A growing buffer of manifest rows, handed on in chunks of about `OUTPUT_CHUNK_BYTES`. */
export class OutputBuffer {
  buf: Buffer = takeOutputBuffer(OUTPUT_CHUNK_BYTES);
  pos = 0;
  rows = 0;

  constructor(private readonly emit: EmitChunk) {}

  /** Makes room for `bytes` more; call before writing a row. */
  reserve(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    this.flush();
    if (bytes > this.buf.length) this.buf = takeOutputBuffer(bytes);
  }

  flush(): void {
    if (this.rows === 0) return;
    const chunk = this.buf.subarray(0, this.pos);
    const rows = this.rows;
    this.buf = takeOutputBuffer(Math.max(OUTPUT_CHUNK_BYTES, this.buf.length));
    this.pos = 0;
    this.rows = 0;
    this.emit(chunk, rows);
  }
}

/**
 * MurmurHash3 (x86, 32-bit, seed 0) of `bytes[start, end)`: the sample's hash, a cheap and well-mixed one. The native
 * scanner (native/src/scan.rs) computes the same, so rows it handles sample exactly as these do.
 */
export function murmur3(bytes: Uint8Array, start: number, end: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const len = end - start;
  const stop = start + (len & ~3);
  let h = 0;
  let i = start;
  for (; i < stop; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, c1);
    k = Math.imul((k << 15) | (k >>> 17), c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = len & 3;
  if (rest > 0) {
    let k = bytes[i]!;
    if (rest > 1) k |= bytes[i + 1]! << 8;
    if (rest > 2) k |= bytes[i + 2]! << 16;
    k = Math.imul(k, c1);
    h ^= Math.imul((k << 15) | (k >>> 17), c2);
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Orders sample entries: smaller hash first, then key, so the sample never depends on reading order. */
function before(a: readonly [number, string], b: readonly [number, string]): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

/** Keeps the `size` entries with the smallest (hash, key). */
export function mergeSample(
  into: [number, string][],
  from: readonly (readonly [number, string])[],
  size: number,
): [number, string][] {
  const all = [...into, ...from.map((e) => [e[0], e[1]] as [number, string])];
  all.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  const out: [number, string][] = [];
  for (const e of all) {
    const last = out[out.length - 1];
    if (last && last[0] === e[0] && last[1] === e[1]) continue;
    out.push(e);
    if (out.length >= size) break;
  }
  return out;
}

/** Per-file totals as a scanner accumulates them. */
export class ScanStats {
  rowsScanned = 0;
  rowsSelected = 0;
  private readonly classNames: string[] = [];
  private readonly classBytes: Buffer[] = [];
  private readonly classSize: number[] = [];
  private readonly classRows: number[] = [];
  private lastClass = -1;
  /** Sorted by (hash, key); at most `sampleSize` entries. */
  sample: [number, string][] = [];
  /** The largest hash in a full sample: rows hashing above it cannot enter. */
  private threshold = 0xffffffff;

  /** Called when a storage class is first counted, with its index (for `addClassTotals`) and its bytes. */
  onNewClass: ((index: number, bytes: Buffer) => void) | undefined;

  /**
   * @param sampleCeiling a hash above which no key of this file can be in the build's sample: the largest hash of a
   *   full sample the same scanner kept from earlier files of the build (see `sampleCeiling`). Keys above it are not
   *   offered, so rows that could only enter this file's own sample stay in the native scanner.
   */
  constructor(
    private readonly sampleSize: number,
    private readonly sampleCeiling = 0xffffffff,
  ) {}

  /** Counts one selected row of `size` bytes in the storage class spelled by `bytes[start, end)`. */
  addClassBytes(bytes: Uint8Array, start: number, end: number, size: number): void {
    let idx = this.lastClass;
    if (idx < 0 || !sameBytes(this.classBytes[idx]!, bytes, start, end)) {
      idx = -1;
      for (let i = 0; i < this.classBytes.length; i++) {
        if (sameBytes(this.classBytes[i]!, bytes, start, end)) {
          idx = i;
          break;
        }
      }
      if (idx < 0) {
        const copy = Buffer.from(bytes.subarray(start, end));
        idx = this.addClass(copy.toString('latin1'), copy);
        this.onNewClass?.(idx, copy);
      }
      this.lastClass = idx;
    }
    this.classSize[idx]! += size;
    this.classRows[idx]! += 1;
  }

  /** Counts one selected row in storage class `name`. */
  addClass(name: string, bytes?: Buffer, size = 0, rows = 0): number {
    let idx = this.classNames.indexOf(name);
    if (idx < 0) {
      idx = this.classNames.length;
      this.classNames.push(name);
      this.classBytes.push(bytes ?? Buffer.from(name, 'latin1'));
      this.classSize.push(0);
      this.classRows.push(0);
    }
    this.classSize[idx]! += size;
    this.classRows[idx]! += rows;
    return idx;
  }

  /**
   * Copies the running (bytes, rows) of the first `max` classes into `into` (pairs by class index), for a scanner
   * that adds to them in place (the native one), so every size is added in the same order either way.
   */
  exportClassTotals(into: Float64Array, max: number): void {
    const n = Math.min(max, this.classSize.length);
    for (let i = 0; i < n; i++) {
      into[2 * i] = this.classSize[i]!;
      into[2 * i + 1] = this.classRows[i]!;
    }
  }

  /** Takes back what `exportClassTotals` gave out, with the other scanner's rows added. */
  importClassTotals(from: Float64Array, max: number): void {
    const n = Math.min(max, this.classSize.length);
    for (let i = 0; i < n; i++) {
      this.classSize[i] = from[2 * i]!;
      this.classRows[i] = from[2 * i + 1]!;
    }
  }

  /** The largest key hash that could enter the sample now: -1 when none can, 0xffffffff while it is not full. */
  sampleThreshold(): number {
    if (this.sampleSize <= 0) return -1;
    return Math.min(this.sampleCeiling, this.sample.length < this.sampleSize ? 0xffffffff : this.threshold);
  }

  /** Whether a key hashing to `hash` could enter the sample (cheap pre-check before decoding it). */
  wantsSample(hash: number): boolean {
    return hash <= this.sampleThreshold();
  }

  offerSample(hash: number, key: string): void {
    // Inserted in place: the sample is sorted and short (at most 100 entries).
    const entry: [number, string] = [hash, key];
    const sample = this.sample;
    let at = sample.length;
    while (at > 0 && before(entry, sample[at - 1]!)) at--;
    const prev = sample[at - 1];
    if (prev && prev[0] === hash && prev[1] === key) return;
    if (at >= this.sampleSize) return;
    sample.splice(at, 0, entry);
    if (sample.length > this.sampleSize) sample.pop();
    if (sample.length >= this.sampleSize) this.threshold = sample[sample.length - 1]![0];
  }

  toTotals(): ManifestTotals {
    const bytesByStorageClass: Record<string, number> = {};
    const rowsByStorageClass: Record<string, number> = {};
    this.classNames.forEach((name, i) => {
      const label = name === '' ? 'UNKNOWN' : name;
      bytesByStorageClass[label] = (bytesByStorageClass[label] ?? 0) + this.classSize[i]!;
      rowsByStorageClass[label] = (rowsByStorageClass[label] ?? 0) + this.classRows[i]!;
    });
    return {
      rowsScanned: this.rowsScanned,
      rowsSelected: this.rowsSelected,
      bytesByStorageClass,
      rowsByStorageClass,
      sample: this.sample,
    };
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[start + i]) return false;
  return true;
}

/**
 * The `sampleCeiling` for a scanner's next file, from the sample of the files it scanned before in the same build
 * (`kept`, merged and cut to `sampleSize`): once that holds `sampleSize` keys, a key hashing above its largest hash has
 * that many keys of the build before it, so it cannot be in the build's sample, whichever files the other scanners
 * read. Without it every file's sample starts empty, and its first rows and every new smallest key go to JavaScript:
 * ~70 rows per file of 3,500 selected at the default size of 10, which on 32 files of 10k rows
 * (`bench:manifest --shapes small-files`) cost a third of the build, mostly in compiling that path.
 */
export function sampleCeiling(kept: readonly (readonly [number, string])[], sampleSize: number): number {
  return sampleSize > 0 && kept.length >= sampleSize ? kept[sampleSize - 1]![0] : 0xffffffff;
}

/** Adds file totals to running totals (sample merged and cut to `sampleSize`). */
export function addTotals(a: ManifestTotals, b: ManifestTotals, sampleSize: number): ManifestTotals {
  const sum = (x: Record<string, number>, y: Record<string, number>) => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    rowsScanned: a.rowsScanned + b.rowsScanned,
    rowsSelected: a.rowsSelected + b.rowsSelected,
    bytesByStorageClass: sum(a.bytesByStorageClass, b.bytesByStorageClass),
    rowsByStorageClass: sum(a.rowsByStorageClass, b.rowsByStorageClass),
    sample: mergeSample(a.sample, b.sample, sampleSize),
  };
}

export function emptyTotals(): ManifestTotals {
  return { rowsScanned: 0, rowsSelected: 0, bytesByStorageClass: {}, rowsByStorageClass: {}, sample: [] };
}
