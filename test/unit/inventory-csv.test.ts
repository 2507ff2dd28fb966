/**
 * The byte-level CSV scanner: quoting, empty values, awkward keys, line ends, rows split across chunks at every byte,
 * version-id rules, and malformed files. Every case runs in JavaScript alone and with the native row scanner.
 */
import { CsvScanner, InventoryDataError } from '../../src/inventory/csv-scanner';
import { parseFileSchema } from '../../src/inventory/fields';
import { decodeManifestKey, encodeManifestKey } from '../../src/inventory/key-encoding';
import { buildScanPlan } from '../../src/inventory/plan';
import { InventoryFilterSchema, type InventoryFilter } from '../../src/inventory/types';
import { csvLine, type InventoryRow } from '../inventory-fixtures';

const SCHEMA = 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, StorageClass';

const ENGINES = [
  ['JavaScript', false],
  ['native', true],
] as const;

describe.each(ENGINES)('CSV scanner (%s)', (_engine, native) => {
  function scan(
    text: string | Buffer,
    opts: {
      schema?: string;
      filter?: InventoryFilter;
      versionIds?: 'auto' | 'include' | 'omit';
      chunk?: number;
      sampleSize?: number;
    } = {},
  ) {
    const plan = buildScanPlan('CSV', parseFileSchema('CSV', opts.schema ?? SCHEMA), {
      filter: InventoryFilterSchema.parse(opts.filter ?? {}),
      versionIds: opts.versionIds ?? 'auto',
      // No sample by default: a key that may enter the sample is always left to JavaScript.
      sampleSize: opts.sampleSize ?? 0,
    });
    const chunks: Buffer[] = [];
    let rows = 0;
    const scanner = new CsvScanner(
      plan,
      (c, r) => {
        chunks.push(Buffer.from(c));
        rows += r;
      },
      { native },
    );
    expect(scanner.usesNative).toBe(native);
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf-8') : text;
    const size = opts.chunk ?? bytes.length;
    for (let i = 0; i < bytes.length; i += size) scanner.push(bytes.subarray(i, i + size));
    scanner.end();
    const out = Buffer.concat(chunks).toString('latin1');
    expect(out.split('\n').length - 1).toBe(rows);
    return { out, rows, stats: scanner.stats.toTotals() };
  }

  test('keeps S3-encoded keys byte for byte and writes bucket,key,versionId', () => {
    const text =
      '"b1","a+b/c%2Cd%22e","v1","true","false","10","2024-01-01T00:00:00.000Z","GLACIER"\n' +
      '"b1","dir/","","true","false","0","2024-01-01T00:00:00.000Z","STANDARD"\n';
    const { out } = scan(text);
    expect(out).toBe('b1,a+b/c%2Cd%22e,v1\nb1,dir/,null\n');
    expect(decodeManifestKey('a+b/c%2Cd%22e')).toBe('a b/c,d"e');
  });

  test('omits the VersionId column when asked, and when the inventory has none', () => {
    const text = '"b","k","v1","true","false","1","2024-01-01T00:00:00.000Z","STANDARD"\n';
    expect(scan(text, { versionIds: 'omit' }).out).toBe('b,k\n');
    expect(scan('"b","k","1"\n', { schema: 'Bucket, Key, Size' }).out).toBe('b,k\n');
  });

  test.each([
    ['a doubled quote inside a value', '"b","x""y","","true","false","1","","S"\n', 'b,x%22y,null\n'],
    ['a raw comma inside a quoted key', '"b","x,y","","true","false","1","","S"\n', 'b,x%2Cy,null\n'],
    ['a raw line break inside a quoted key', '"b","x\ny","","true","false","1","","S"\n', 'b,x%0Ay,null\n'],
    ['a raw space and unicode', '"b","dir/é ü.txt","","true","false","1","","S"\n', 'b,dir/%C3%A9%20%C3%BC.txt,null\n'],
    ['unquoted values and CRLF line ends', 'b,k%20x,,true,false,1,,S\r\n', 'b,k%20x,null\n'],
    ['empty unquoted values', 'b,k,,,,,,\n', 'b,k,null\n'],
    ['no final line break', '"b","k","v","true","false","1","","S"', 'b,k,v\n'],
    ['blank lines', '\n"b","k","v","true","false","1","","S"\n\n', 'b,k,v\n'],
  ])('%s', (_name, text, expected) => {
    expect(scan(text).out).toBe(expected);
  });

  test('gives the same rows however the input is split into chunks', () => {
    const rows: InventoryRow[] = [
      {
        Bucket: 'b',
        Key: 'plain',
        VersionId: 'v1',
        IsLatest: true,
        IsDeleteMarker: false,
        Size: 5,
        StorageClass: 'GLACIER',
      },
      {
        Bucket: 'b',
        Key: 'sp ace/+plus/%pct',
        VersionId: '',
        IsLatest: true,
        IsDeleteMarker: false,
        Size: 7,
        StorageClass: 'STANDARD',
      },
      { Bucket: 'b', Key: 'ключ/日本語/😀', IsLatest: false, IsDeleteMarker: true, Size: 0, StorageClass: 'GLACIER' },
    ];
    const schema = SCHEMA.split(', ') as Parameters<typeof csvLine>[0];
    const text =
      rows.map((r) => csvLine(schema, r)).join('') +
      '"b","q""uote,comma\nnl","","true","false","3","","DEEP_ARCHIVE"\n';
    const whole = scan(text);
    for (let size = 1; size <= 40; size++) expect(scan(text, { chunk: size })).toEqual(whole);
    expect(whole.rows).toBe(4);
  });

  test('counts selected bytes and rows by storage class, and samples deterministically', () => {
    const text =
      '"b","k1","","true","false","100","","GLACIER"\n' +
      '"b","k2","","true","false","50","","STANDARD"\n' +
      '"b","k3","","true","false","7","","GLACIER"\n';
    const { stats } = scan(text, { sampleSize: 5 });
    expect(stats).toMatchObject({
      rowsScanned: 3,
      rowsSelected: 3,
      bytesByStorageClass: { GLACIER: 107, STANDARD: 50 },
      rowsByStorageClass: { GLACIER: 2, STANDARD: 1 },
    });
    expect(stats.sample.map(([, k]) => k).sort()).toEqual(['k1', 'k2', 'k3']);
    expect(scan(text, { chunk: 3, sampleSize: 5 }).stats.sample).toEqual(stats.sample);
  });

  test.each([
    ['too few values', '"b","k","1"\n', /row 1: 3 values, but the fileSchema names 8 columns/],
    ['an unclosed quote', '"b","k', /row 1: a quoted value is not closed/],
    [
      'text after a closing quote',
      '"b","k"x,"","true","false","1","","S"\n',
      /row 1: unexpected "x" after a closing quote/,
    ],
    [
      'a size that is not a number',
      '"b","k","","true","false","12a","","S"\n',
      /row 1: Size is not a whole number: 12a/,
    ],
    [
      'a bad row after good ones (counted the same by both scanners)',
      '"b","k","","true","false","1","","S"\n'.repeat(3) + '"b","k","","true","false","-1","","S"\n',
      /row 4: Size is not a whole number: -1/,
    ],
  ])('rejects %s', (_name, text, message) => {
    expect(() => scan(text)).toThrow(InventoryDataError);
    expect(() => scan(text)).toThrow(message);
  });

  test('encodes like encodeURIComponent but leaves / alone', () => {
    expect(encodeManifestKey('a b/c,d+e%f/')).toBe('a%20b/c%2Cd%2Be%25f/');
    expect(decodeManifestKey(encodeManifestKey('a b/c,d+e%f/'))).toBe('a b/c,d+e%f/');
  });
});
