import { CsvParser, parseCsv } from '../../src/csv';
import {
  decodeManifestKey,
  encodeManifestKey,
  inventoryColumns,
  inventoryRowsToTasks,
  parseCsvManifest,
  parseInventoryManifest,
} from '../../src/local-batch/manifest-reader';
import { JobFailure } from '../../src/local-batch/types';

function failureOf(fn: () => unknown): JobFailure {
  try {
    fn();
  } catch (err) {
    if (err instanceof JobFailure) return err;
    throw err;
  }
  throw new Error('expected a JobFailure');
}

describe('CSV manifest parsing', () => {
  // Each awkward key, encoded the way manifests carry it, decodes back to itself.
  const awkward = [
    'plain.txt',
    'with space.txt',
    'plus+sign.txt',
    'comma,in,key.csv',
    'double"quote".txt',
    "single'quote.txt",
    'unicode/café/日本語/😀.bin',
    'percent%41literal%.txt',
    'new\nline\r\nkey',
    'dir/sub dir/a+b=c&d?e#f.txt',
  ];

  test.each(awkward)('key %j survives encodeURIComponent-style encoding', (key) => {
    const raw = encodeManifestKey(key);
    const [task] = parseCsvManifest(`bkt,${raw}\n`);
    expect(task).toEqual({ index: 0, bucket: 'bkt', key, rawKey: raw });
  });

  test('"+" decodes as a space (quote_plus manifests), %2B as a plus', () => {
    const tasks = parseCsvManifest('b,a+b%2Bc\n');
    expect(tasks[0]!.key).toBe('a b+c');
    expect(tasks[0]!.rawKey).toBe('a+b%2Bc');
    expect(decodeManifestKey('x%20y+z')).toBe('x y z');
  });

  test('CRLF line endings, a trailing newline, trailing blank lines and a BOM are tolerated', () => {
    const tasks = parseCsvManifest('\uFEFFb,k1\r\nb,k2\r\n\r\n\n');
    expect(tasks.map((t) => [t.bucket, t.key, t.index])).toEqual([
      ['b', 'k1', 0],
      ['b', 'k2', 1],
    ]);
  });

  test('quoted fields are accepted and rawKey is the unquoted field', () => {
    const tasks = parseCsvManifest('"b","a%20b"\n"b","x,y"\n');
    expect(tasks.map((t) => [t.key, t.rawKey])).toEqual([
      ['a b', 'a%20b'],
      ['x,y', 'x,y'],
    ]);
  });

  test('version ids: every row has one; "null" stays literal; an empty one is kept for the runner to fail', () => {
    const tasks = parseCsvManifest('b,k1,v1\nb,k2,null\nb,k3,\n', ['Bucket', 'Key', 'VersionId']);
    expect(tasks.map((t) => t.versionId)).toEqual(['v1', 'null', '']);
  });

  test('Ignore columns are skipped and column order follows Fields', () => {
    const tasks = parseCsvManifest('x,k%201,b,v9\n', ['Ignore', 'Key', 'Bucket', 'VersionId']);
    expect(tasks).toEqual([{ index: 0, bucket: 'b', key: 'k 1', rawKey: 'k%201', versionId: 'v9' }]);
  });

  test.each([
    ['a blank line in the middle', 'b,k1\n\nb,k2\n', ['Bucket', 'Key'], /line 2 is empty/],
    ['an unencoded comma (extra field)', 'b,k1\nb,a,b\n', ['Bucket', 'Key'], /line 2 has 3 fields, expected 2.*%2C/],
    ['a missing version column', 'b,k1,v\nb,k2\n', ['Bucket', 'Key', 'VersionId'], /line 2 has 2 fields, expected 3/],
    ['an empty key', 'b,\n', ['Bucket', 'Key'], /line 1: empty key/],
    ['an empty bucket', ',k\n', ['Bucket', 'Key'], /line 1: empty bucket/],
    ['bad percent-encoding', 'b,ok\nb,100%\n', ['Bucket', 'Key'], /line 2: key "100%" is not valid URL encoding/],
    ['an empty manifest', '\n', ['Bucket', 'Key'], /lists no objects/],
    ['Fields without Key', 'b,k\n', ['Bucket', 'Ignore'], /Fields must name Bucket and Key/],
    ['an unclosed quote', 'b,"k\n', ['Bucket', 'Key'], /not valid CSV at line 1: unclosed quoted field/],
  ] as const)('%s is a job failure naming the manifest', (_name, text, fields, reason) => {
    const f = failureOf(() => parseCsvManifest(text, fields, 's3://m/manifest.csv'));
    expect(f.failureCode).toBe('InvalidManifest');
    expect(f.failureReason).toContain('s3://m/manifest.csv');
    expect(f.failureReason).toMatch(reason);
  });

  test('a large quote-free manifest parses in linear time', () => {
    // Guards a past bug: the fast path searched for '"' to the end of the buffer on every line (quadratic).
    const n = 200_000;
    const text = Array.from({ length: n }, (_, i) => `bkt,dir%20x/obj-${i}`).join('\n') + '\n';
    const started = Date.now();
    const tasks = parseCsvManifest(text);
    expect(tasks).toHaveLength(n);
    expect(tasks[n - 1]).toMatchObject({ key: `dir x/obj-${n - 1}`, index: n - 1 });
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);

  test('the streaming parser gives the same records whatever the chunk boundaries', () => {
    const text = 'b,"a,""q""\nz",v1\r\nb,plain,v2\nb,"x",\n';
    const whole = parseCsv(text);
    for (let size = 1; size <= 7; size++) {
      const p = new CsvParser();
      const got = [];
      for (let i = 0; i < text.length; i += size) got.push(...p.push(text.slice(i, i + size)));
      got.push(...p.end());
      expect(got).toEqual(whole);
    }
    expect(whole.map((r) => r.fields)).toEqual([
      ['b', 'a,"q"\nz', 'v1'],
      ['b', 'plain', 'v2'],
      ['b', 'x', ''],
    ]);
    expect(whole.map((r) => r.line)).toEqual([1, 3, 4]);
  });
});

describe('inventory manifests', () => {
  const manifest = (over: Record<string, unknown> = {}) =>
    JSON.stringify({
      sourceBucket: 'src',
      destinationBucket: 'arn:aws:s3:::inv',
      version: '2016-11-30',
      creationTimestamp: '1514944800000',
      fileFormat: 'CSV',
      fileSchema: 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size',
      files: [{ key: 'data/1.csv.gz', size: 10, MD5checksum: 'abc' }],
      ...over,
    });

  test('columns are found by fileSchema, not by position', () => {
    expect(inventoryColumns('Key, Size, Bucket', 'x')).toEqual({ bucket: 2, key: 0, versionId: undefined, count: 3 });
    const cols = inventoryColumns('Size, Bucket, VersionId, Key', 'x');
    const tasks = inventoryRowsToTasks(parseCsv('"5","b","v1","a%20b"\n"6","b","","c+d"\n'), cols, 10, 'f');
    expect(tasks).toEqual([
      { index: 10, bucket: 'b', key: 'a b', rawKey: 'a%20b', versionId: 'v1' },
      { index: 11, bucket: 'b', key: 'c d', rawKey: 'c+d', versionId: '' },
    ]);
  });

  test('ORC and Parquet inventories are refused', () => {
    const f = failureOf(() => parseInventoryManifest(manifest({ fileFormat: 'ORC' }), 's3://inv/m.json'));
    expect(f.failureCode).toBe('UnsupportedManifestFormat');
    expect(f.failureReason).toMatch(/s3:\/\/inv\/m\.json has fileFormat ORC; only CSV/);
  });

  test.each([
    ['not JSON', '{', /is not valid JSON/],
    ['no files', JSON.stringify({ fileFormat: 'CSV', fileSchema: 'Bucket, Key' }), /files: /],
  ])('a manifest.json that is %s is a job failure', (_n, text, reason) => {
    const f = failureOf(() => parseInventoryManifest(text, 's3://inv/m.json'));
    expect(f.failureCode).toBe('InvalidManifest');
    expect(f.failureReason).toMatch(reason);
  });

  test('a row shorter than fileSchema is a job failure naming the file and line', () => {
    const cols = inventoryColumns('Bucket, Key, Size', 'x');
    const f = failureOf(() => inventoryRowsToTasks(parseCsv('"b","k","1"\n"b","k"\n'), cols, 0, 's3://inv/d.csv'));
    expect(f.failureReason).toBe('Inventory file s3://inv/d.csv line 2 has 2 fields; fileSchema lists 3');
  });
});
