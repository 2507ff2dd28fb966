/**
 * The hot path: a byte-level parser for inventory CSV (every value double-quoted, `""` inside a value, no header)
 * that filters rows and writes manifest rows without building a string per field. Only keys that a key filter or the
 * sample needs are decoded. Unquoted fields and CRLF line ends are accepted too.
 */
import { decodeManifestKey, encodeManifestKey, NOT_PASSTHROUGH } from './key-encoding';
import { NativeRowScanner } from './native-scan';
import { keyPredicate, type ScanPlan } from './plan';
import { murmur3, OutputBuffer, ScanStats, type EmitChunk } from './scan-output';

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const NULL_VERSION = Buffer.from('null');

/** A malformed data file; the message names the row (1-based) and what is wrong. */
export class InventoryDataError extends Error {
  override name = 'InventoryDataError';
}

interface EnumMatcher {
  column: number;
  values: Buffer[];
}

/** Parses one data file's CSV bytes, pushed in chunks. */
export class CsvScanner {
  readonly stats: ScanStats;
  private readonly out: OutputBuffer;
  private readonly ncol: number;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly escaped: Uint8Array;
  private carry: Buffer | undefined;
  private readonly enums: EnumMatcher[];
  private readonly keyTest: ((key: string) => boolean) | undefined;
  private readonly after: Buffer | undefined;
  private readonly before: Buffer | undefined;
  private readonly afterMs: number;
  private readonly beforeMs: number;
  /** The native scanner for common rows, when the addon is built (see native-scan.ts). */
  private readonly native: NativeRowScanner | undefined;

  /**
   * @param options.native true: use the native scanner and fail without it; false: JavaScript only; default: the
   *   native scanner when it is built and `S3C_NATIVE` allows (see native-scan.ts).
   * @param options.sampleCeiling see `ScanStats`
   */
  constructor(
    private readonly plan: ScanPlan,
    emit: EmitChunk,
    options: { native?: boolean; sampleCeiling?: number } = {},
  ) {
    this.ncol = plan.names.length;
    this.starts = new Int32Array(this.ncol);
    this.ends = new Int32Array(this.ncol);
    this.escaped = new Uint8Array(this.ncol);
    this.out = new OutputBuffer(emit);
    this.stats = new ScanStats(plan.sampleSize, options.sampleCeiling);
    this.enums = plan.enums.map((e) => ({ column: e.column, values: e.values.map((v) => Buffer.from(v, 'latin1')) }));
    this.keyTest = keyPredicate(plan);
    this.after = plan.modifiedAfter === undefined ? undefined : Buffer.from(plan.modifiedAfter, 'latin1');
    this.before = plan.modifiedBefore === undefined ? undefined : Buffer.from(plan.modifiedBefore, 'latin1');
    this.afterMs = plan.modifiedAfter === undefined ? -Infinity : Date.parse(plan.modifiedAfter);
    this.beforeMs = plan.modifiedBefore === undefined ? Infinity : Date.parse(plan.modifiedBefore);
    this.native = options.native === false ? undefined : NativeRowScanner.create(plan, this.stats, options.native);
  }

  /** Whether common rows go through the native scanner. */
  get usesNative(): boolean {
    return this.native !== undefined;
  }

  /** Rows the native scanner read itself; 0 without it. */
  get nativeRows(): number {
    return this.native?.rowsHandled ?? 0;
  }

  /** Parses a chunk of the (decompressed) file. */
  push(chunk: Buffer): void {
    let start = 0;
    if (this.carry) {
      // The row split across chunks: join the carried bytes with this chunk up to a line end and parse that alone,
      // so the bulk of the chunk is never copied.
      let from = 0;
      for (;;) {
        const nl = chunk.indexOf(LF, from);
        if (nl === -1) {
          this.carry = Buffer.concat([this.carry, chunk]);
          return;
        }
        const joined = Buffer.concat([this.carry, chunk.subarray(0, nl + 1)]);
        const used = this.parse(joined, 0, false);
        if (used === joined.length) {
          start = nl + 1;
          this.carry = undefined;
          break;
        }
        if (used > 0) {
          // Cannot happen (a complete row ends at a line end), but never lose bytes.
          this.carry = joined.subarray(used);
          start = nl + 1;
          break;
        }
        from = nl + 1;
      }
      if (this.carry) {
        this.carry = Buffer.concat([this.carry, chunk.subarray(start)]);
        return;
      }
    }
    const used = this.parse(chunk, start, false);
    if (used < chunk.length) this.carry = Buffer.from(chunk.subarray(used));
  }

  /** Parses what is left and hands on the last rows. @throws InventoryDataError for an unfinished row. */
  end(): void {
    if (this.carry && this.carry.length > 0) {
      const used = this.parse(this.carry, 0, true);
      if (used < this.carry.length) throw this.error('the file ends inside a row');
    }
    this.carry = undefined;
    this.out.flush();
  }

  private error(detail: string): InventoryDataError {
    return new InventoryDataError(`row ${this.stats.rowsScanned + 1}: ${detail}`);
  }

  /** Parses complete rows of `b` from `pos`; returns where the first incomplete row starts. */
  private parse(b: Buffer, pos: number, final: boolean): number {
    const n = b.length;
    const ncol = this.ncol;
    const starts = this.starts;
    const ends = this.ends;
    const native = this.native;
    while (pos < n) {
      if (native) {
        // The addon takes every row it can; the row it stops at (if any) is handled below, then it goes on.
        pos = native.run(b, pos, n, this.out);
        if (pos >= n) break;
      }
      // Fast path for the shape S3 writes: every value quoted, no `""`, LF line end. The line end and each closing
      // quote are found with indexOf (native, vectorised) instead of a byte loop. Any other shape (escaped quotes, a
      // line end inside a value, CRLF, unquoted values, a wrong number of values) falls through to the general
      // parser below, which handles it or reports it.
      if (b[pos] === QUOTE) {
        const nl = b.indexOf(LF, pos);
        const last = nl - 1;
        if (nl > pos && b[last] === QUOTE) {
          let q = pos;
          let c = 0;
          for (;;) {
            const close = b.indexOf(QUOTE, q + 1);
            if (close < 0 || close > last) break;
            starts[c] = q + 1;
            ends[c] = close;
            c++;
            if (close === last || c === ncol || b[close + 1] !== COMMA || b[close + 2] !== QUOTE) {
              if (close !== last) c = -1;
              break;
            }
            q = close + 2;
          }
          if (c === ncol) {
            this.row(b);
            this.stats.rowsScanned++;
            pos = nl + 1;
            continue;
          }
        }
      }
      let i = pos;
      let c = 0;
      let anyEscaped = false;
      for (;;) {
        let fs: number;
        let fe: number;
        if (b[i] === QUOTE) {
          let j = i + 1;
          fs = j;
          for (;;) {
            while (j < n && b[j] !== QUOTE) j++;
            if (j >= n) {
              if (final) throw this.error('a quoted value is not closed');
              return pos;
            }
            if (j + 1 >= n && !final) return pos;
            if (b[j + 1] === QUOTE) {
              anyEscaped = true;
              if (c < ncol) this.escaped[c] = 1;
              j += 2;
              continue;
            }
            break;
          }
          fe = j;
          i = j + 1;
        } else {
          let j = i;
          while (j < n) {
            const x = b[j];
            if (x === COMMA || x === LF) break;
            j++;
          }
          if (j >= n && !final) return pos;
          fs = i;
          fe = j > i && b[j - 1] === CR && (j >= n || b[j] === LF) ? j - 1 : j;
          i = j;
        }
        if (c < ncol) {
          starts[c] = fs;
          ends[c] = fe;
        }
        c++;
        if (i >= n) {
          if (!final) return pos;
          break;
        }
        const x = b[i];
        if (x === COMMA) {
          i++;
          continue;
        }
        if (x === LF) {
          i++;
          break;
        }
        if (x === CR) {
          if (i + 1 < n && b[i + 1] === LF) {
            i += 2;
            break;
          }
          if (i + 1 >= n && !final) return pos;
          i++;
          break;
        }
        throw this.error(`unexpected ${JSON.stringify(String.fromCharCode(x!))} after a closing quote`);
      }
      if (c !== ncol) {
        if (c === 1 && starts[0] === ends[0] && b[pos] !== QUOTE) {
          // A blank line (e.g. a trailing one) is not a row.
          pos = i;
          continue;
        }
        throw this.error(`${c} values, but the fileSchema names ${ncol} columns`);
      }
      if (anyEscaped) this.unescapeRow(b);
      else this.row(b);
      this.stats.rowsScanned++;
      pos = i;
    }
    return pos;
  }

  /** A row with `""` inside values: copy its values unescaped into a scratch buffer, then handle that. */
  private unescapeRow(b: Buffer): void {
    const parts: Buffer[] = [];
    let off = 0;
    for (let c = 0; c < this.ncol; c++) {
      let v = b.subarray(this.starts[c], this.ends[c]);
      if (this.escaped[c]) v = Buffer.from(v.toString('latin1').replace(/""/g, '"'), 'latin1');
      this.escaped[c] = 0;
      this.starts[c] = off;
      off += v.length;
      this.ends[c] = off;
      parts.push(v);
    }
    this.row(Buffer.concat(parts));
  }

  /** Filters one parsed row and writes it to the output when it is kept. */
  private row(b: Buffer): void {
    const plan = this.plan;
    const starts = this.starts;
    const ends = this.ends;
    if (plan.isDeleteMarker >= 0 && isTrue(b, starts[plan.isDeleteMarker]!, ends[plan.isDeleteMarker]!)) return;
    if (plan.isLatest >= 0 && !isTrue(b, starts[plan.isLatest]!, ends[plan.isLatest]!)) return;
    for (let e = 0; e < this.enums.length; e++) {
      const m = this.enums[e]!;
      if (!matchesAny(b, starts[m.column]!, ends[m.column]!, m.values)) return;
    }
    let size = 0;
    if (plan.size >= 0) {
      const s = starts[plan.size]!;
      const end = ends[plan.size]!;
      for (let i = s; i < end; i++) {
        const d = b[i]! - 48;
        if (d < 0 || d > 9) throw this.error(`Size is not a whole number: ${b.toString('latin1', s, end)}`);
        size = size * 10 + d;
      }
      if (plan.minSize !== undefined && size < plan.minSize) return;
      if (plan.maxSize !== undefined && size > plan.maxSize) return;
    }
    if (plan.lastModified >= 0 && !this.inTimeRange(b, starts[plan.lastModified]!, ends[plan.lastModified]!)) return;
    const ks = starts[plan.key]!;
    const ke = ends[plan.key]!;
    let decoded: string | undefined;
    if (this.keyTest) {
      decoded = this.decodeLoose(b, ks, ke);
      if (!this.keyTest(decoded)) return;
    }
    // Selected: write `bucket,key[,versionId]\n`. The key is copied and checked in one pass; a key that cannot pass
    // through as it is (see NOT_PASSTHROUGH) is rewritten from its decoded form. The sample hashes the written key.
    const stats = this.stats;
    stats.rowsSelected++;
    if (plan.storageClass >= 0) stats.addClassBytes(b, starts[plan.storageClass]!, ends[plan.storageClass]!, size);
    else stats.addClassBytes(b, 0, 0, size);
    const bs = starts[plan.bucket]!;
    const be = ends[plan.bucket]!;
    const vcol = plan.versionId;
    const vs = vcol >= 0 ? starts[vcol]! : 0;
    const ve = vcol >= 0 ? ends[vcol]! : 0;
    const out = this.out;
    out.reserve(be - bs + 3 * (ke - ks) + (ve - vs) + 16);
    const o = out.buf;
    let p = out.pos;
    for (let i = bs; i < be; i++) o[p++] = b[i]!;
    o[p++] = COMMA;
    const keyStart = p;
    let i = ks;
    for (; i < ke; i++) {
      const x = b[i]!;
      if (NOT_PASSTHROUGH[x]) break;
      o[p++] = x;
    }
    if (i < ke) {
      decoded ??= this.decodeLoose(b, ks, ke);
      p = keyStart + o.write(encodeManifestKey(decoded), keyStart, 'latin1');
    }
    const keyEnd = p;
    if (vcol >= 0) {
      o[p++] = COMMA;
      if (ve > vs) for (let v = vs; v < ve; v++) o[p++] = b[v]!;
      else {
        NULL_VERSION.copy(o, p);
        p += NULL_VERSION.length;
      }
    }
    o[p++] = LF;
    out.pos = p;
    out.rows++;
    const h = murmur3(o, keyStart, keyEnd);
    if (stats.wantsSample(h)) stats.offerSample(h, decoded ?? this.decodeKey(o, keyStart, keyEnd));
  }

  /** The decoded key for filters: percent-decoded when it is valid URL encoding, else the raw text (UTF-8). */
  private decodeLoose(b: Buffer, s: number, e: number): string {
    let ascii = true;
    for (let i = s; i < e; i++) {
      if (b[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    const raw = b.toString(ascii ? 'latin1' : 'utf-8', s, e);
    return safeDecode(raw) ?? raw;
  }

  private decodeKey(b: Buffer, s: number, e: number): string {
    const raw = b.toString('latin1', s, e);
    const decoded = safeDecode(raw);
    if (decoded === undefined) throw this.error(`the key ${JSON.stringify(raw)} is not valid URL encoding`);
    return decoded;
  }

  private inTimeRange(b: Buffer, s: number, e: number): boolean {
    if (e - s === 24 && b[s + 23] === 0x5a /* Z */) {
      // Same canonical form as the bounds (YYYY-MM-DDTHH:MM:SS.sssZ): compare bytes.
      if (this.after && compareBytes(b, s, this.after) < 0) return false;
      if (this.before && compareBytes(b, s, this.before) >= 0) return false;
      return true;
    }
    if (e === s) return false;
    const ms = Date.parse(b.toString('latin1', s, e));
    if (Number.isNaN(ms)) throw this.error(`LastModifiedDate is not a time: ${b.toString('latin1', s, e)}`);
    return ms >= this.afterMs && ms < this.beforeMs;
  }
}

function safeDecode(raw: string): string | undefined {
  try {
    return decodeManifestKey(raw);
  } catch {
    return undefined;
  }
}

function isTrue(b: Buffer, s: number, e: number): boolean {
  return e - s === 4 && (b[s] === 0x74 || b[s] === 0x54);
}

/** Case-insensitive (ASCII) equality of `b[s, e)` with any of `values` (upper case). */
function matchesAny(b: Buffer, s: number, e: number, values: Buffer[]): boolean {
  const len = e - s;
  outer: for (let v = 0; v < values.length; v++) {
    const val = values[v]!;
    if (val.length !== len) continue;
    for (let i = 0; i < len; i++) {
      let x = b[s + i]!;
      if (x >= 0x61 && x <= 0x7a) x -= 32;
      if (x !== val[i]) continue outer;
    }
    return true;
  }
  return false;
}

function compareBytes(b: Buffer, s: number, bound: Buffer): number {
  for (let i = 0; i < bound.length; i++) {
    const d = b[s + i]! - bound[i]!;
    if (d !== 0) return d;
  }
  return 0;
}
