/**
 * Property: for any keys (spaces, `+`, `%`, commas, quotes, line breaks, unicode, trailing slashes, …) written to an
 * inventory as S3 writes it, the manifests decode back to exactly the selected keys, in order, one valid row each.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';

import { buildManifests, decodeManifestKey } from '../../src/inventory';
import { writeInventoryDir, type InventoryRow, type KeyStyle } from '../inventory-fixtures';

const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
afterAll(() => s3.destroy());

const AWKWARD = [
  ' ',
  '+',
  '%',
  '%20',
  '%2B',
  '/',
  '//',
  ',',
  '"',
  '""',
  '\n',
  '\r\n',
  '\t',
  '#',
  '?',
  '&',
  '=',
  '~',
  '*',
  "'",
];
const MORE = [
  '(',
  ')',
  '\\',
  ':',
  '@',
  '|',
  '^',
  '`',
  '{',
  '}',
  '[',
  ']',
  '<',
  '>',
  'é',
  'ß',
  '日本',
  '😀',
  '\u00a0',
  '\u200b',
];
const keyArb = fc
  .array(
    fc.oneof(
      fc.constantFrom(...AWKWARD, ...MORE),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }),
      fc.constantFrom('a', 'b', 'logs'),
    ),
    {
      minLength: 1,
      maxLength: 12,
    },
  )
  .map((parts) => parts.join(''));
const rowArb = fc.record({ key: keyArb, glacier: fc.boolean() });
const inventoryArb: fc.Arbitrary<GeneratedInventory> = fc.record({
  files: fc.array(fc.array(rowArb, { minLength: 0, maxLength: 12 }), { minLength: 1, maxLength: 3 }),
  prefix: fc.option(fc.constantFrom('a', 'b', ' ', '%', '日本'), { nil: undefined }),
  style: fc.constantFrom<KeyStyle>('plus', 'percent'),
});

interface GeneratedInventory {
  files: { key: string; glacier: boolean }[][];
  prefix: string | undefined;
  style: KeyStyle;
}

async function roundTrip(format: 'CSV' | 'Parquet', inv: GeneratedInventory): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-inv-prop-'));
  try {
    const files: InventoryRow[][] = inv.files.map((rows) =>
      rows.map((r) => ({ Bucket: 'bkt', Key: r.key, StorageClass: r.glacier ? 'GLACIER' : 'STANDARD' })),
    );
    const inventory = await writeInventoryDir(dir, {
      format,
      schema: ['Bucket', 'Key', 'StorageClass'],
      files,
      keyStyle: inv.style,
    });
    const out = path.join(dir, 'out');
    const summary = await buildManifests(
      {
        inventory,
        output: out,
        maxObjectsPerJob: 5,
        filter: { storageClasses: ['GLACIER'], ...(inv.prefix ? { keyPrefixes: [inv.prefix] } : {}) },
      },
      { s3, log: quiet },
    );
    const expected = inv.files
      .flat()
      .filter((r) => r.glacier && (!inv.prefix || r.key.startsWith(inv.prefix)))
      .map((r) => r.key);
    const text = readdirSync(out)
      .sort()
      .map((f) => readFileSync(path.join(out, f), 'latin1'))
      .join('');
    const lines = text === '' ? [] : text.slice(0, -1).split('\n');
    for (const line of lines) expect(line).toMatch(/^bkt,[A-Za-z0-9\-_.!~*'()%/+]+$/);
    expect(lines.map((l) => decodeManifestKey(l.slice('bkt,'.length)))).toEqual(expected);
    expect(summary.rowsSelected).toBe(expected.length);
    expect(summary.shards.map((s) => s.rows)).toEqual(
      Array.from({ length: Math.ceil(expected.length / 5) }, (_v, i) => Math.min(5, expected.length - i * 5)),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('keys survive inventory → manifest exactly', () => {
  test('CSV inventories (both key encodings S3 uses)', async () => {
    await fc.assert(
      fc.asyncProperty(inventoryArb, (inv) => roundTrip('CSV', inv)),
      { numRuns: 40 },
    );
  }, 120_000);

  test('Parquet inventories (raw keys)', async () => {
    await fc.assert(
      fc.asyncProperty(inventoryArb, (inv) => roundTrip('Parquet', inv)),
      { numRuns: 10 },
    );
  }, 120_000);
});
