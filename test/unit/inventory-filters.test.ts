/**
 * Filters: every condition on a small all-fields inventory, checked against the rows a person would pick by hand;
 * and conditions on fields the inventory lacks, which fail before any data is read.
 */
import { CsvScanner } from '../../src/inventory/csv-scanner';
import { INVENTORY_FIELDS, parseFileSchema } from '../../src/inventory/fields';
import { decodeManifestKey } from '../../src/inventory/key-encoding';
import { buildScanPlan, PlanError } from '../../src/inventory/plan';
import { InventoryFilterSchema, type InventoryFilter } from '../../src/inventory/types';
import { csvLine, FILTER_CASES, FILTER_ROWS } from '../inventory-fixtures';

const FIELDS = INVENTORY_FIELDS.filter((f) => f !== 'LifecycleExpirationDate');

function select(filter: InventoryFilter, native: boolean, rows = FILTER_ROWS): string[] {
  const plan = buildScanPlan('CSV', parseFileSchema('CSV', FIELDS.join(', ')), {
    filter: InventoryFilterSchema.parse(filter),
    versionIds: 'omit',
    sampleSize: 0,
  });
  let text = '';
  const scanner = new CsvScanner(plan, (c) => (text += c.toString('latin1')), { native });
  scanner.push(Buffer.from(rows.map((r) => csvLine(FIELDS, r)).join(''), 'utf-8'));
  scanner.end();
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => decodeManifestKey(l.split(',')[1]!));
}

describe('filters', () => {
  test.each(FILTER_CASES)('%s', (_name, filter, expected) => {
    expect(select(filter, false)).toEqual(expected);
    expect(select(filter, filter.keyRegex === undefined)).toEqual(expected);
  });

  test.each<[string, InventoryFilter, RegExp]>([
    ['storageClasses', { storageClasses: ['GLACIER'] }, /storageClasses needs the field StorageClass/],
    ['latestOnly', { latestOnly: true }, /latestOnly needs the field IsLatest/],
    ['minSize', { minSize: 1 }, /minSize needs the field Size/],
    ['modifiedAfter', { modifiedAfter: '2020-01-01' }, /modifiedAfter needs the field LastModifiedDate/],
    [
      'replicationStatuses',
      { replicationStatuses: ['FAILED'] },
      /replicationStatuses needs the field ReplicationStatus/,
    ],
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
    [{ storageClasses: ['GLACIERR'] }, /"GLACIERR" is not one of STANDARD, .*GLACIER, DEEP_ARCHIVE/],
    [{ encryptionStatuses: ['SSE_KMS'] }, /"SSE_KMS" is not one of SSE-S3, SSE-C, SSE-KMS/],
    [{ objectLockLegalHoldStatuses: ['YES'] }, /"YES" is not one of ON, OFF, NONE/],
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
