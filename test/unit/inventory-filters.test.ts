/**
 * Filters: every condition on a small all-fields inventory, checked against the rows a person would pick by hand;
 * and conditions on fields the inventory lacks, which fail before any data is read.
 */
import { CsvScanner } from '../../src/inventory/csv-scanner';
import { INVENTORY_FIELDS, parseFileSchema } from '../../src/inventory/fields';
import { decodeManifestKey } from '../../src/inventory/key-encoding';
import { buildScanPlan, PlanError } from '../../src/inventory/plan';
import { InventoryFilterSchema, type InventoryFilter } from '../../src/inventory/types';
import { csvLine, type InventoryRow } from '../inventory-fixtures';

const FIELDS = INVENTORY_FIELDS.filter((f) => f !== 'LifecycleExpirationDate');

/** Rows named by their key, with the values each filter looks at. */
export const FILTER_ROWS: InventoryRow[] = [
  { Key: 'logs/2019/a.gz', Size: 100, StorageClass: 'GLACIER', LastModifiedDate: '2019-03-01T00:00:00.000Z', IsLatest: true, IsDeleteMarker: false, EncryptionStatus: 'SSE-S3', ReplicationStatus: 'COMPLETED', ObjectLockMode: 'GOVERNANCE', ObjectLockLegalHoldStatus: 'ON', IntelligentTieringAccessTier: '' },
  { Key: 'logs/2019/b.txt', Size: 0, StorageClass: 'DEEP_ARCHIVE', LastModifiedDate: '2019-12-31T23:59:59.999Z', IsLatest: false, IsDeleteMarker: false, EncryptionStatus: 'SSE-KMS', ReplicationStatus: '', ObjectLockMode: '', ObjectLockLegalHoldStatus: 'OFF' },
  { Key: 'logs/2020/c.gz', Size: 5_000_000_000, StorageClass: 'STANDARD', LastModifiedDate: '2020-01-01T00:00:00.000Z', IsLatest: true, IsDeleteMarker: false, EncryptionStatus: 'NOT-SSE', ReplicationStatus: 'FAILED', ObjectLockMode: 'COMPLIANCE', ObjectLockLegalHoldStatus: 'OFF' },
  { Key: 'data/d e.gz', Size: 1, StorageClass: 'INTELLIGENT_TIERING', LastModifiedDate: '2021-06-15T12:00:00.000Z', IsLatest: true, IsDeleteMarker: true, EncryptionStatus: 'SSE-S3', ReplicationStatus: 'REPLICA', ObjectLockMode: '', ObjectLockLegalHoldStatus: '', IntelligentTieringAccessTier: 'ARCHIVE' },
  { Key: 'data/f+g.csv', Size: 2048, StorageClass: 'GLACIER', LastModifiedDate: '2022-01-01T00:00:00.000Z', IsLatest: true, IsDeleteMarker: false, EncryptionStatus: 'DSSE-KMS', ReplicationStatus: 'PENDING', ObjectLockMode: 'governance', ObjectLockLegalHoldStatus: 'On', IntelligentTieringAccessTier: 'FREQUENT' },
].map((r, i) => ({ Bucket: 'src', VersionId: `v${i}`, ETag: 'e', ...r }));

function select(filter: InventoryFilter, rows = FILTER_ROWS): string[] {
  const plan = buildScanPlan('CSV', parseFileSchema('CSV', FIELDS.join(', ')), {
    filter: InventoryFilterSchema.parse(filter),
    versionIds: 'omit',
    sampleSize: 0,
  });
  let text = '';
  const scanner = new CsvScanner(plan, (c) => (text += c.toString('latin1')));
  scanner.push(Buffer.from(rows.map((r) => csvLine(FIELDS, r)).join(''), 'utf-8'));
  scanner.end();
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => decodeManifestKey(l.split(',')[1]!));
}

describe('filters', () => {
  test.each<[string, InventoryFilter, string[]]>([
    ['no filter keeps everything', {}, ['logs/2019/a.gz', 'logs/2019/b.txt', 'logs/2020/c.gz', 'data/d e.gz', 'data/f+g.csv']],
    ['key prefixes (any of)', { keyPrefixes: ['logs/2019/', 'data/d'] }, ['logs/2019/a.gz', 'logs/2019/b.txt', 'data/d e.gz']],
    ['key suffixes match decoded keys', { keySuffixes: ['e.gz', '+g.csv'] }, ['data/d e.gz', 'data/f+g.csv']],
    ['key regex', { keyRegex: '^logs/20(19|20)/[ac]\\.' }, ['logs/2019/a.gz', 'logs/2020/c.gz']],
    ['storage classes', { storageClasses: ['GLACIER', 'DEEP_ARCHIVE'] }, ['logs/2019/a.gz', 'logs/2019/b.txt', 'data/f+g.csv']],
    ['minimum size (inclusive)', { minSize: 2048 }, ['logs/2020/c.gz', 'data/f+g.csv']],
    ['maximum size (inclusive)', { maxSize: 1 }, ['logs/2019/b.txt', 'data/d e.gz']],
    ['size range', { minSize: 1, maxSize: 100 }, ['logs/2019/a.gz', 'data/d e.gz']],
    ['modified after (inclusive)', { modifiedAfter: '2020-01-01T00:00:00Z' }, ['logs/2020/c.gz', 'data/d e.gz', 'data/f+g.csv']],
    ['modified before (exclusive)', { modifiedBefore: '2020-01-01T00:00:00Z' }, ['logs/2019/a.gz', 'logs/2019/b.txt']],
    ['modified range, date only', { modifiedAfter: '2019-06-01', modifiedBefore: '2021-06-15T12:00:00.001Z' }, ['logs/2019/b.txt', 'logs/2020/c.gz', 'data/d e.gz']],
    ['latest only', { latestOnly: true }, ['logs/2019/a.gz', 'logs/2020/c.gz', 'data/d e.gz', 'data/f+g.csv']],
    ['skip delete markers', { skipDeleteMarkers: true }, ['logs/2019/a.gz', 'logs/2019/b.txt', 'logs/2020/c.gz', 'data/f+g.csv']],
    ['encryption statuses', { encryptionStatuses: ['SSE-KMS', 'DSSE-KMS'] }, ['logs/2019/b.txt', 'data/f+g.csv']],
    ['object lock modes (case-insensitive)', { objectLockModes: ['GOVERNANCE'] }, ['logs/2019/a.gz', 'data/f+g.csv']],
    ['object lock mode NONE is an empty cell', { objectLockModes: ['NONE'] }, ['logs/2019/b.txt', 'data/d e.gz']],
    ['legal hold', { objectLockLegalHoldStatuses: ['ON'] }, ['logs/2019/a.gz', 'data/f+g.csv']],
    ['replication statuses', { replicationStatuses: ['FAILED', 'NONE'] }, ['logs/2019/b.txt', 'logs/2020/c.gz']],
    ['intelligent-tiering access tier', { intelligentTieringAccessTiers: ['ARCHIVE', 'FREQUENT'] }, ['data/d e.gz', 'data/f+g.csv']],
    [
      'all conditions together',
      { keyPrefixes: ['logs/'], storageClasses: ['GLACIER', 'DEEP_ARCHIVE'], latestOnly: true, minSize: 1 },
      ['logs/2019/a.gz'],
    ],
  ])('%s', (_name, filter, expected) => {
    expect(select(filter)).toEqual(expected);
  });

  test.each<[string, InventoryFilter, RegExp]>([
    ['storageClasses', { storageClasses: ['GLACIER'] }, /storageClasses needs the field StorageClass/],
    ['latestOnly', { latestOnly: true }, /latestOnly needs the field IsLatest/],
    ['minSize', { minSize: 1 }, /minSize needs the field Size/],
    ['modifiedAfter', { modifiedAfter: '2020-01-01' }, /modifiedAfter needs the field LastModifiedDate/],
    ['replicationStatuses', { replicationStatuses: ['FAILED'] }, /replicationStatuses needs the field ReplicationStatus/],
  ])('a condition on a missing field (%s) is an error naming the field and the schema', (_name, filter, message) => {
    const make = () =>
      buildScanPlan('CSV', parseFileSchema('CSV', 'Bucket, Key, ETag'), {
        filter: InventoryFilterSchema.parse(filter),
        versionIds: 'auto',
        sampleSize: 0,
      });
    expect(make).toThrow(PlanError);
    expect(make).toThrow(message);
    expect(make).toThrow(/fileSchema is "Bucket, Key, ETag"/);
  });

  test('versionIds "include" needs a VersionId column', () => {
    expect(() =>
      buildScanPlan('CSV', parseFileSchema('CSV', 'Bucket, Key'), { filter: {}, versionIds: 'include', sampleSize: 0 }),
    ).toThrow(/versionIds "include" needs the field VersionId/);
  });

  test.each([
    [{ storageClasses: ['glacier'] }, /upper case/],
    [{ minSize: 10, maxSize: 5 }, /minSize must not exceed maxSize/],
    [{ modifiedAfter: 'yesterday' }, /ISO-8601/],
    [{ keyRegex: '(' }, /not a valid regular expression/],
    [{ keyPrefix: ['a'] }, /Unrecognized key/],
  ])('the filter schema rejects %j', (filter, message) => {
    const r = InventoryFilterSchema.safeParse(filter);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.message).join('; ')).toMatch(message);
  });

  test('Parquet and ORC schemas are read by name', () => {
    const parquet = parseFileSchema(
      'Parquet',
      'message s3.inventory { required binary bucket (STRING); required binary key (STRING); optional int64 size; optional binary e_tag (STRING); optional binary storage_class (STRING); }',
    );
    expect([...parquet.index.entries()]).toEqual([
      ['Bucket', 0],
      ['Key', 1],
      ['Size', 2],
      ['ETag', 3],
      ['StorageClass', 4],
    ]);
    const orc = parseFileSchema('ORC', 'struct<bucket:string,key:string,version_id:string,is_latest:boolean>');
    expect(orc.index.get('IsLatest')).toBe(3);
  });
});
