/**
 * The native addon (`native/`, Rust behind Node-API): the CSV scanner's common rows, faster than JavaScript, with
 * byte-identical results, and a gunzip into a reused buffer (`NativeGunzip`); together about 1.7× faster end to end in
 * `npm run bench:manifest` (baseline shape: 0.96–1.0 s against 1.67 s with `S3C_NATIVE=off`). `CsvScanner` hands the
 * row scanner each chunk; it handles the rows it can and stops before any other, which JavaScript then handles (see
 * native/src/scan.rs for which).
 *
 * `npm run setup` builds the addon when Rust's cargo is on the machine; without it, scans run in JavaScript alone.
 * `S3C_NATIVE=off` forces JavaScript, `S3C_NATIVE=on` makes a missing addon an error; the default is `auto`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import type { ScanPlan } from './plan';
import type { OutputBuffer, ScanStats } from './scan-output';

/** The addon's surface (native/src/lib.rs). */
interface Addon {
  create(ints: Int32Array, blob: Uint8Array, sizes: Float64Array): object;
  addClass(handle: object, bytes: Uint8Array, index: Int32Array): void;
  scan(handle: object, chunk: Uint8Array, out: Uint8Array, state: Float64Array, totals: Float64Array): number;
  /** Absent from addons built before it (they still scan; gunzip then runs in node:zlib's stream). */
  gunzipCreate?(): object;
  gunzip?(handle: object, input: Uint8Array, out: Uint8Array, state: Float64Array): number;
}

/** Where `npm run setup` puts the built addon, relative to the repository root. */
export const NATIVE_ADDON_PATH = path.join('native', 'build', 's3c-native.node');

/** Layout version of the config; native/src/scan.rs checks it. */
const CONFIG_VERSION = 1;
/** Storage classes the native totals have room for; rows of further classes are left to JavaScript. */
const MAX_CLASSES = 64;

const STOP_OUTPUT_FULL = 2;

export type NativeMode = 'auto' | 'on' | 'off';

function mode(): NativeMode {
  const m = process.env.S3C_NATIVE ?? 'auto';
  if (m !== 'auto' && m !== 'on' && m !== 'off') {
    throw new Error(`S3C_NATIVE must be auto, on or off, not ${JSON.stringify(m)}`);
  }
  return m;
}

function addonPath(): string | undefined {
  // This file runs from src/inventory (ts-jest) or dist/src/inventory (compiled).
  for (const up of ['../..', '../../..']) {
    const p = path.resolve(__dirname, up, NATIVE_ADDON_PATH);
    if (existsSync(p)) return p;
  }
  return undefined;
}

let cached: { addon?: Addon; error?: string } | undefined;

function load(): { addon?: Addon; error?: string } {
  if (cached) return cached;
  const p = addonPath();
  if (p === undefined) {
    cached = { error: `${NATIVE_ADDON_PATH} is not built (npm run setup builds it when Rust's cargo is installed)` };
    return cached;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = { addon: require(p) as Addon };
  } catch (err) {
    cached = { error: `${p} does not load: ${(err as Error).message}` };
  }
  return cached;
}

/**
 * The addon, or undefined when scans should run in JavaScript (not built, or `S3C_NATIVE=off`).
 * @throws Error when `S3C_NATIVE=on` and the addon is missing or broken.
 */
function addon(): Addon | undefined {
  const m = mode();
  if (m === 'off') return undefined;
  const { addon: a, error } = load();
  if (!a && m === 'on') throw new Error(`S3C_NATIVE=on, but ${error}`);
  return a;
}

function requiredAddon(): Addon {
  const { addon: a, error } = load();
  if (!a) throw new Error(`the native scanner is required, but ${error}`);
  return a;
}

/** Whether CSV scans in this process use the native scanner. */
export function nativeScanAvailable(): boolean {
  return addon() !== undefined;
}

/** The plan as the addon reads it: integers (columns, counts, string offsets into `blob`), and size bounds. */
function encodePlan(plan: ScanPlan): { ints: Int32Array; blob: Uint8Array; sizes: Float64Array } {
  const ints: number[] = [CONFIG_VERSION, plan.names.length];
  ints.push(plan.bucket, plan.key, plan.versionId, plan.size, plan.storageClass, plan.lastModified);
  ints.push(plan.isLatest, plan.isDeleteMarker);
  const parts: Buffer[] = [];
  let off = 0;
  const str = (s: Buffer) => {
    ints.push(off, s.length);
    parts.push(s);
    off += s.length;
  };
  const list = (values: Buffer[] | undefined) => {
    if (values === undefined) {
      ints.push(-1);
      return;
    }
    ints.push(values.length);
    values.forEach(str);
  };
  ints.push(plan.enums.length);
  for (const e of plan.enums) {
    ints.push(e.column);
    list(e.values.map((v) => Buffer.from(v, 'latin1')));
  }
  const one = (s: string | undefined) => (s === undefined ? undefined : [Buffer.from(s, 'latin1')]);
  list(one(plan.modifiedAfter));
  list(one(plan.modifiedBefore));
  list(plan.keyPrefixes?.map((p) => Buffer.from(p, 'utf-8')));
  list(plan.keySuffixes?.map((s) => Buffer.from(s, 'utf-8')));
  return {
    ints: Int32Array.from(ints),
    blob: Buffer.concat(parts),
    sizes: Float64Array.of(plan.minSize ?? NaN, plan.maxSize ?? NaN),
  };
}

/** The native scanner of one data file, paired with that file's `ScanStats`. */
export class NativeRowScanner {
  private readonly state = new Float64Array(8);
  private readonly totals = new Float64Array(2 * MAX_CLASSES);
  /** Rows the addon read itself (the rest went to JavaScript): how much of a file it handled. */
  rowsHandled = 0;

  private constructor(
    private readonly addon: Addon,
    private readonly handle: object,
    private readonly stats: ScanStats,
  ) {
    stats.onNewClass = (index, bytes) => {
      if (index < MAX_CLASSES) addon.addClass(handle, bytes, Int32Array.of(index));
    };
  }

  /**
   * A scanner for `plan`, or undefined when the scan runs in JavaScript alone: no addon (or `S3C_NATIVE=off`), or a
   * key regex (its JavaScript semantics are not the addon's business).
   * @param required true: a missing addon is an error, whatever `S3C_NATIVE` says (tests use it).
   * @throws Error when the addon is required (or `S3C_NATIVE=on`) and missing.
   */
  static create(plan: ScanPlan, stats: ScanStats, required = false): NativeRowScanner | undefined {
    if (plan.format !== 'CSV' || plan.keyRegex !== undefined) return undefined;
    const a = required ? requiredAddon() : addon();
    if (!a) return undefined;
    const { ints, blob, sizes } = encodePlan(plan);
    return new NativeRowScanner(a, a.create(ints, blob, sizes), stats);
  }

  /**
   * Handles the rows of `b[pos, end)` the addon can, writing kept rows to `out` and counting them in the stats.
   * @returns where it stopped: `end`, the start of an incomplete row, or a row for JavaScript.
   */
  run(b: Buffer, pos: number, end: number, out: OutputBuffer): number {
    const { state, stats } = this;
    for (;;) {
      state[0] = pos;
      state[1] = end;
      state[2] = out.pos;
      state[3] = stats.sampleThreshold();
      // The addon adds to the running class totals themselves: the same additions in the same order as JavaScript.
      stats.exportClassTotals(this.totals, MAX_CLASSES);
      const stop = this.addon.scan(this.handle, b, out.buf, state, this.totals);
      stats.importClassTotals(this.totals, MAX_CLASSES);
      pos = state[0]!;
      out.pos = state[2]!;
      out.rows += state[6]!;
      stats.rowsScanned += state[4]!;
      this.rowsHandled += state[4]!;
      stats.rowsSelected += state[5]!;
      // A full output is handed on; a row too large for an empty one is left to JavaScript, which grows it.
      if (stop !== STOP_OUTPUT_FULL || out.rows === 0) return pos;
      out.flush();
    }
  }
}

/** A zlib error from the native inflater, with Node's `code` (`Z_DATA_ERROR`, …), as `node:zlib` reports it. */
function zlibError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * Gunzip of one data file on the calling thread, into the caller's buffer, with the zlib Node itself links (the one
 * `node:zlib` uses: the same output and the same errors). Against `createGunzip`, which inflates each chunk on the
 * libuv thread pool into a fresh buffer, it saves a thread round trip per chunk (on 2 cores the scan workers sat idle
 * ~20% of the time, waiting for them) and the garbage (up to tens of MB per worker between collections).
 */
export class NativeGunzip {
  private readonly state = new Float64Array(4);

  private constructor(
    private readonly addon: Required<Pick<Addon, 'gunzip'>>,
    private readonly handle: object,
  ) {}

  /** An inflater, or undefined when there is no addon (or `S3C_NATIVE=off`), or it predates `gunzip`. */
  static create(): NativeGunzip | undefined {
    const a = addon();
    if (!a?.gunzipCreate || !a.gunzip) return undefined;
    return new NativeGunzip({ gunzip: a.gunzip.bind(a) }, a.gunzipCreate());
  }

  /** Whether the last gzip member has ended (a file that stops before then is truncated). */
  get ended(): boolean {
    return this.state[3] === 1;
  }

  /**
   * Inflates `input[pos, end)` into `out` from 0, until the input is used up or `out` is full.
   * @returns [position in `input` reached, bytes written to `out`]
   * @throws Error with a zlib `code` for data that is not gzip or is corrupt.
   */
  inflate(input: Uint8Array, pos: number, end: number, out: Uint8Array): [number, number] {
    const { state } = this;
    state[0] = pos;
    state[1] = end;
    state[2] = 0;
    this.addon.gunzip(this.handle, input, out, state);
    return [state[0]!, state[2]!];
  }

  /** @throws Error `unexpected end of file` (code `Z_BUF_ERROR`, as node:zlib says it) when the file was cut short. */
  finish(): void {
    if (!this.ended) throw zlibError('unexpected end of file', 'Z_BUF_ERROR');
  }
}
