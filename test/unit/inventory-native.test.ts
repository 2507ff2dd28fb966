/**
 * The native row scanner against the JavaScript one: for random inventories (every row shape the parser knows, the
 * values each filter looks at, awkward keys), random filters, sample sizes and chunkings, both give the same
 * manifest bytes, totals and sample, or the same error. Also: its Node-API surface refuses bad arguments with
 * exceptions instead of crashing, and the S3C_NATIVE switch.
 */
import fc from 'fast-check';

import { CsvScanner } from '../../src/inventory/csv-scanner';
import { INVENTORY_FIELDS, parseFileSchema, type InventoryField } from '../../src/inventory/fields';
import { NATIVE_ADDON_PATH, nativeScanAvailable } from '../../src/inventory/native-scan';
import { buildScanPlan, FILTER_NEEDS } from '../../src/inventory/plan';
import { mergeSample, murmur3, sampleCeiling } from '../../src/inventory/scan-output';
import { InventoryFilterSchema, type InventoryFilter } from '../../src/inventory/types';

const SCHEMAS: InventoryField[][] = [
  ['Bucket', 'Key', 'VersionId', 'IsLatest', 'IsDeleteMarker', 'Size', 'LastModifiedDate', 'StorageClass'],
  ['Bucket', 'Key', 'Size', 'LastModifiedDate', 'ETag', 'StorageClass', 'EncryptionStatus'],
  ['Bucket', 'Key'],
  // An "all versions" inventory with every optional field (reference §7's canonical order; LifecycleExpirationDate's
  // position is unconfirmed).
  INVENTORY_FIELDS.filter((f) => f !== 'LifecycleExpirationDate'),
];

/** A base64 ObjectAccessControlList, as S3 writes it. */
const ACL = Buffer.from(
  JSON.stringify({
    version: '2022-11-10',
    status: 'AVAILABLE',
    grants: [{ type: 'CanonicalUser', permission: 'READ' }],
  }),
).toString('base64');

/** A value of each field, as S3 would write it or slightly off (which the scanners must agree on too). */
const VALUES: Partial<Record<InventoryField, string[]>> = {
  Bucket: ['b', 'my-bucket.example'],
  VersionId: ['', 'v1', '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY', 'null'],
  IsLatest: ['true', 'false', 'TRUE', ''],
  IsDeleteMarker: ['true', 'false', ''],
  Size: ['0', '7', '1048576', '99999999999', '', '9007199254740993', '12345678901234567890', 'x1'],
  LastModifiedDate: [
    '2024-01-01T00:00:00.000Z',
    '2024-06-30T23:59:59.999Z',
    '2023-12-31T23:59:59.999Z',
    '2024-03-01T12:00:00Z',
    '2024-03-01',
    '',
    'not a date',
  ],
  ETag: ['d41d8cd98f00b204e9800998ecf8427e', ''],
  StorageClass: ['STANDARD', 'GLACIER', 'DEEP_ARCHIVE', 'glacier', 'GLACIER_IR', '', 'NEW_CLASS'],
  EncryptionStatus: ['SSE-S3', 'NOT-SSE', 'sse-kms', ''],
  IsMultipartUploaded: ['true', 'false'],
  ReplicationStatus: ['COMPLETED', 'FAILED', 'replica', ''],
  ObjectLockRetainUntilDate: ['', '2030-01-01T00:00:00.000Z'],
  ObjectLockMode: ['', 'GOVERNANCE', 'COMPLIANCE'],
  ObjectLockLegalHoldStatus: ['OFF', 'ON', ''],
  IntelligentTieringAccessTier: ['', 'FREQUENT', 'ARCHIVE_INSTANT_ACCESS'],
  BucketKeyStatus: ['ENABLED', 'DISABLED'],
  ChecksumAlgorithm: ['', 'CRC64NVME'],
  ObjectAccessControlList: [ACL, ''],
  ObjectOwner: ['79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be', 'UNAVAILABLE'],
};

const KEY_PARTS = [
  'logs/',
  '2024/',
  'a',
  'file.json.gz',
  '%20',
  '%2B',
  '+',
  '%',
  '%zz',
  '%C3%A9',
  ' ',
  'é',
  '日本',
  ',',
  '""',
  '~',
  '/',
  '.csv',
];

/** Keys of a few parts, or long ones (200–1,000 bytes, as deep prefixes and generated names make them). */
const key = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.array(fc.constantFrom(...KEY_PARTS), { minLength: 0, maxLength: 6 }).map((p) => p.join('')),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.array(fc.constantFrom(...KEY_PARTS), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 200, max: 1000 }),
      )
      .map(([p, len]) => `${'deep/prefix-0f3a9c1b/'.repeat(50)}${p.join('')}`.slice(-len)),
  },
);

/** One line: usually S3's shape, sometimes another shape the general parser handles (or rejects). */
function line(values: string[], shape: number): string {
  const quoted = values.map((v) => `"${v.replace(/"/g, '""')}"`).join(',');
  if (shape === 1) return `${quoted}\r\n`;
  if (shape === 2 && values.every((v) => !/[",\r\n]/.test(v))) return `${values.join(',')}\n`;
  if (shape === 3) return '\n';
  if (shape === 4) return `${quoted.slice(0, -1)}x\n`;
  return `${quoted}\n`;
}

const row = (schema: InventoryField[]) =>
  fc
    .tuple(
      fc.tuple(...schema.map((f) => (f === 'Key' ? key : fc.constantFrom(...(VALUES[f] ?? ['x']))))),
      // Mostly S3's shape: 0–4 are the other shapes.
      fc.oneof({ weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 12, arbitrary: fc.constant(0) }),
    )
    .map(([values, shape]) => line(values, shape));

const filter: fc.Arbitrary<InventoryFilter> = fc.record(
  {
    storageClasses: fc.subarray(['GLACIER', 'DEEP_ARCHIVE', 'STANDARD', 'NONE'], { minLength: 1 }),
    encryptionStatuses: fc.subarray(['SSE-S3', 'SSE-KMS', 'NOT-SSE'], { minLength: 1 }),
    minSize: fc.constantFrom(1, 1000, 1048576),
    maxSize: fc.constantFrom(7, 1048576, Number.MAX_SAFE_INTEGER),
    modifiedAfter: fc.constantFrom('2024-01-01T00:00:00.000Z', '2023-06-01'),
    modifiedBefore: fc.constantFrom('2024-06-30T23:59:59.999Z', '2024-03-01T12:00:00Z'),
    latestOnly: fc.boolean(),
    skipDeleteMarkers: fc.boolean(),
    replicationStatuses: fc.subarray(['COMPLETED', 'REPLICA', 'NONE'], { minLength: 1 }),
    objectLockModes: fc.subarray(['GOVERNANCE', 'NONE'], { minLength: 1 }),
    objectLockLegalHoldStatuses: fc.subarray(['ON', 'OFF'], { minLength: 1 }),
    intelligentTieringAccessTiers: fc.subarray(['FREQUENT', 'NONE'], { minLength: 1 }),
    keyPrefixes: fc.subarray(['logs/', 'a', 'é', '%20', 'a b'], { minLength: 1 }),
    keySuffixes: fc.subarray(['.gz', '/', 'a', '.csv'], { minLength: 1 }),
  },
  { requiredKeys: [] },
);

interface Outcome {
  out?: string;
  totals?: unknown;
  error?: string;
}

function run(...args: Parameters<typeof scan>): Outcome {
  return scan(...args).outcome;
}

/** The scan's outcome, and how many rows the native scanner read itself. */
function scan(
  schema: InventoryField[],
  f: InventoryFilter,
  text: Buffer,
  chunk: number,
  sampleSize: number,
  native: boolean,
  sampleCeiling?: number,
): { outcome: Outcome; nativeRows: number } {
  const plan = buildScanPlan('CSV', parseFileSchema('CSV', schema.join(', ')), {
    filter: InventoryFilterSchema.parse(f),
    versionIds: 'auto',
    sampleSize,
  });
  const chunks: Buffer[] = [];
  try {
    const scanner = new CsvScanner(plan, (c) => chunks.push(Buffer.from(c)), { native, sampleCeiling });
    for (let i = 0; i < text.length; i += chunk) scanner.push(text.subarray(i, i + chunk));
    scanner.end();
    const outcome = { out: Buffer.concat(chunks).toString('latin1'), totals: scanner.stats.toTotals() };
    return { outcome, nativeRows: scanner.nativeRows };
  } catch (err) {
    return { outcome: { error: String(err) }, nativeRows: 0 };
  }
}

/** Filters whose fields the schema has (the others would fail planning, which is not the scanner's business). */
function applicable(schema: InventoryField[], f: InventoryFilter): InventoryFilter {
  const out = Object.fromEntries(
    Object.entries(f).filter(([name]) => schema.includes(FILTER_NEEDS[name as keyof InventoryFilter])),
  ) as InventoryFilter;
  // Keep ranges non-empty, as the spec demands.
  if (out.minSize !== undefined && out.maxSize !== undefined && out.minSize > out.maxSize) delete out.maxSize;
  const after = out.modifiedAfter === undefined ? undefined : Date.parse(out.modifiedAfter);
  if (after !== undefined && out.modifiedBefore !== undefined && Date.parse(out.modifiedBefore) <= after) {
    delete out.modifiedBefore;
  }
  return out;
}

describe('native row scanner', () => {
  test('is built (npm run setup builds it; S3C_NATIVE=off opts out on machines without Rust)', () => {
    if (process.env.S3C_NATIVE === 'off') {
      expect(nativeScanAvailable()).toBe(false);
      return;
    }
    // A clear failure, not a silent fallback: CI must measure and test what users run.
    expect({ available: nativeScanAvailable(), path: NATIVE_ADDON_PATH }).toEqual({
      available: true,
      path: NATIVE_ADDON_PATH,
    });
  });

  test('gives exactly what the JavaScript scanner gives, for any inventory, filter and chunking', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(...SCHEMAS)
          .chain((schema) =>
            fc.tuple(
              fc.constant(schema),
              fc.array(row(schema), { minLength: 0, maxLength: 60 }),
              filter,
              fc.constantFrom(0, 3, 50),
              fc.integer({ min: 1, max: 300 }),
            ),
          ),
        ([schema, lines, f, sampleSize, chunk]) => {
          const text = Buffer.from(lines.join(''), 'utf-8');
          const only = applicable(schema, f);
          const js = run(schema, only, text, chunk, sampleSize, false);
          const native = run(schema, only, text, chunk, sampleSize, true);
          expect(native).toEqual(js);
        },
      ),
      { numRuns: 600 },
    );
  });

  test('handles the bulk of a large S3-shaped file itself, and agrees with JavaScript on it', () => {
    const schema = SCHEMAS[0]!;
    const classes = ['STANDARD', 'GLACIER', 'DEEP_ARCHIVE'];
    let text = '';
    for (let i = 0; i < 60_000; i++) {
      const values = ['b', `logs/${i % 97}/obj-${i}.gz`, i % 3 ? `v${i}` : '', 'true', 'false', String(i * 13)];
      values.push(`2024-0${1 + (i % 9)}-15T10:00:00.000Z`, classes[i % 3]!);
      text += line(values, 0);
    }
    const bytes = Buffer.from(text);
    const f: InventoryFilter = { storageClasses: ['GLACIER', 'DEEP_ARCHIVE'], modifiedAfter: '2024-03-01' };
    const js = scan(schema, f, bytes, 65536, 20, false);
    const native = scan(schema, f, bytes, 65536, 20, true);
    expect(native.outcome).toEqual(js.outcome);
    expect((js.outcome.totals as { rowsSelected: number }).rowsSelected).toBeGreaterThan(25_000);
    // The addon read nearly every row itself: only the rows that may enter the sample and the ones a chunk boundary
    // cuts go to JavaScript. An addon that stopped before every row would still pass the equality above.
    expect(native.nativeRows).toBeGreaterThan(59_000);
    expect(js.nativeRows).toBe(0);
  });

  test("a file's sample ceiling keeps keys that cannot enter the build's sample in the addon, and loses none that can", () => {
    const schema: InventoryField[] = ['Bucket', 'Key', 'StorageClass'];
    const file = (n: number) =>
      Buffer.from(
        Array.from({ length: 4_000 }, (_, i) =>
          line(['b', `f${n}/k-${i}.bin`, i % 2 ? 'GLACIER' : 'STANDARD'], 0),
        ).join(''),
      );
    const f: InventoryFilter = { storageClasses: ['GLACIER'] };
    type Totals = { rowsScanned: number; sample: [number, string][] };
    const totals = (r: ReturnType<typeof scan>) => r.outcome.totals as Totals;
    const first = totals(scan(schema, f, file(1), 65536, 10, true));
    const ceiling = sampleCeiling(first.sample, 10);
    expect(ceiling).toBe(first.sample[9]![0]);
    const free = scan(schema, f, file(2), 65536, 10, true);
    const capped = scan(schema, f, file(2), 65536, 10, true, ceiling);
    const inJs = (r: ReturnType<typeof scan>) => totals(r).rowsScanned - r.nativeRows;
    // Without a ceiling the file's own sample starts empty: its first keys and every new smallest go to JavaScript.
    expect(inJs(free)).toBeGreaterThan(30);
    expect(inJs(capped)).toBeLessThan(inJs(free) / 2);
    // What the ceiling left out could not have entered the sample of the two files.
    expect(mergeSample(first.sample, totals(capped).sample, 10)).toEqual(
      mergeSample(first.sample, totals(free).sample, 10),
    );
    expect(capped.outcome.out).toBe(free.outcome.out);
  });

  /** S3's key encoding in CSV inventories: URL-encoded, `/` kept, spaces as `+`. */
  const s3Encoded = (raw: string) => encodeURIComponent(raw).replace(/%2F/g, '/').replace(/%20/g, '+');
  const RAW = ['Fotos ', 'été', 'naïve café', '日本語のファイル', 'Отчёт', '😀', 'a,b', 'c+d', '100%', 'Q&A (final)'];
  // The key shapes of `npm run bench:manifest` (bench/manifest.ts): the addon must keep reading them itself.
  test.each([
    ['short keys (10–20 bytes)', false, (i: number) => `k/${(i * 2654435761).toString(16)}`.slice(0, 10 + (i % 11))],
    [
      'long keys (200–1,000 bytes)',
      false,
      (i: number) => `${`archive-${i.toString(16)}/`.repeat(100)}`.slice(0, 200 + ((i * 37) % 801)),
    ],
    [
      'URL-encoded UTF-8 keys',
      false,
      (i: number) => s3Encoded(`photos/${RAW[i % RAW.length]!}/${RAW[(i * 7) % RAW.length]!} ${i}.jpg`),
    ],
    ['every column of a versioned inventory', true, (i: number) => `logs/2023/07/${i % 28}/event-${i}.json.gz`],
  ])('handles the bulk of a file with %s itself, and agrees with JavaScript', (_what, allColumns, keyOf) => {
    const schema: InventoryField[] = allColumns
      ? SCHEMAS[3]!
      : ['Bucket', 'Key', 'Size', 'LastModifiedDate', 'ETag', 'StorageClass'];
    const classes = ['STANDARD', 'GLACIER', 'DEEP_ARCHIVE', 'INTELLIGENT_TIERING'];
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const values = schema.map((f) =>
        f === 'Key'
          ? keyOf(i)
          : f === 'StorageClass'
            ? classes[i % classes.length]!
            : f === 'VersionId'
              ? i % 10 === 0
                ? ''
                : `3HL4kqtJlcpXroDTDmJ+rmSpXd${i}`
              : f === 'Size'
                ? String(i * 1013)
                : (VALUES[f]?.[i % 2] ?? 'x'),
      );
      lines.push(line(values, 0));
    }
    const bytes = Buffer.from(lines.join(''), 'utf-8');
    const f: InventoryFilter = { storageClasses: ['GLACIER', 'DEEP_ARCHIVE'] };
    const js = scan(schema, f, bytes, 1 << 18, 10, false);
    const native = scan(schema, f, bytes, 1 << 18, 10, true);
    expect(native.outcome).toEqual(js.outcome);
    expect((js.outcome.totals as { rowsSelected: number }).rowsSelected).toBe(10_000);
    // Only sample candidates and rows cut by a chunk boundary go to JavaScript.
    expect(native.nativeRows).toBeGreaterThan(19_800);
  });

  test('adds sizes in the same order as JavaScript, so totals match even past 2^53 bytes', () => {
    const schema = SCHEMAS[1]!;
    const sizes = ['9007199254740992', '1', '1', '1', '1', '3'];
    const text = Buffer.from(
      sizes.map((size, i) => line(['b', `k${i}`, size, '', '', 'GLACIER', ''], 0)).join(''),
      'utf-8',
    );
    const js = run(schema, {}, text, 1 << 16, 0, false);
    expect(run(schema, {}, text, 1 << 16, 0, true)).toEqual(js);
    expect(js.totals).toMatchObject({ bytesByStorageClass: { GLACIER: 9007199254740992 + 3 + 1 } });
  });

  test('MurmurHash3 matches the published algorithm (reference values from the mmh3 package)', () => {
    const h = (s: string) => murmur3(Buffer.from(s), 0, Buffer.byteLength(s));
    expect([h(''), h('a'), h('ab'), h('abc'), h('abcd'), h('Hello, world!')]).toEqual([
      0, 1009084850, 2613040991, 3017643002, 1139631978, 3224780355,
    ]);
    expect(h('logs/ünï/%2B+x')).toBe(131438032);
  });

  test('refuses bad arguments with exceptions, never a crash', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = require(require('node:path').resolve(__dirname, '../..', NATIVE_ADDON_PATH)) as {
      create(ints: Int32Array, blob: Uint8Array, sizes: Float64Array): object;
      scan(h: object, chunk: Uint8Array, out: Uint8Array, state: Float64Array, totals: Float64Array): number;
    };
    const good = Int32Array.of(1, 2, 0, 1, -1, -1, -1, -1, -1, -1, 0, -1, -1, -1, -1);
    const h = addon.create(good, new Uint8Array(0), new Float64Array(2));
    expect(() => addon.create(Int32Array.of(99), new Uint8Array(0), new Float64Array(2))).toThrow(/another version/);
    expect(() => addon.create(Int32Array.of(1, 2, 5, 1), new Uint8Array(0), new Float64Array(2))).toThrow(
      /column 5 is out of range/,
    );
    expect(() => addon.create(good.subarray(0, 6), new Uint8Array(0), new Float64Array(2))).toThrow(/too short/);
    const huge = Int32Array.from(good);
    huge[1] = 2 ** 31 - 1;
    expect(() => addon.create(huge, new Uint8Array(0), new Float64Array(2))).toThrow(/1 to 1024 are allowed/);
    const out = new Uint8Array(64);
    const totals = new Float64Array(4);
    const chunk = Buffer.from('"b","k"\n');
    expect(() => addon.scan({}, chunk, out, new Float64Array(8), totals)).toThrow(/not a native scanner/);
    expect(() => addon.scan(h, 'text' as never, out, new Float64Array(8), totals)).toThrow(/chunk has the wrong type/);
    expect(() => addon.scan(h, chunk, out, Float64Array.of(0, 99, 0, -1, 0, 0, 0, 0), totals)).toThrow(
      /end 99 is out of range/,
    );
    expect(() => addon.scan(h, chunk, out, Float64Array.of(9, 8, 0, -1, 0, 0, 0, 0), totals)).toThrow(
      /position 9 is out of range/,
    );
    expect(() => addon.scan(h, chunk, out, new Float64Array(3), totals)).toThrow(/state must hold 8 numbers/);
    // Arrays the scanner writes must be the only views of their memory.
    const shared = new Float64Array(16);
    expect(() => addon.scan(h, chunk, out, shared.subarray(0, 8), shared.subarray(4))).toThrow(
      /state and totals share memory/,
    );
    expect(() => addon.scan(h, chunk, chunk, new Float64Array(8), totals)).toThrow(/chunk and out share memory/);
    // And a good call: the row's class is unknown to the scanner, so it is left to JavaScript (stop code 1).
    const state = Float64Array.of(0, chunk.length, 0, -1, 0, 0, 0, 0);
    expect(addon.scan(h, chunk, out, state, totals)).toBe(1);
    expect(Array.from(state.subarray(0, 7))).toEqual([0, chunk.length, 0, -1, 0, 0, 0]);
  });
});
