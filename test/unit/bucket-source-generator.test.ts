/**
 * `source: { type: 'bucket', generator: 's3' }`: what S3's manifest generator cannot express is refused by name, and
 * what it can is mapped onto the S3JobManifestGenerator Filter with the same meaning (inclusive sizes and times
 * become the generator's strict bounds).
 */
import { generatorFilter } from '../../src/shared/bucket-source';
import { parseCampaignSpec, SpecError } from '../../src/shared/campaign-spec';

const base = {
  name: 'tag logs',
  accountId: '123456789012',
  region: 'us-east-1',
  roleArn: 'arn:aws:iam::123456789012:role/BatchOps',
  operation: { type: 'put-tags', tags: { k: 'v' } },
  report: { bucket: 'reports-bucket' },
};
const s3Source = (extra: Record<string, unknown> = {}) => ({
  type: 'bucket',
  bucket: 'logs',
  generator: 's3',
  ...extra,
});

function problems(spec: unknown): string[] {
  try {
    parseCampaignSpec(spec);
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  return [];
}

describe('generator "s3" refuses what the generator cannot express, by name', () => {
  test.each<[string, Record<string, unknown>, Record<string, unknown> | undefined, string]>([
    ['keyRegex', {}, { keyRegex: 'a+' }, 'filter.keyRegex: '],
    ['objectLockModes', {}, { objectLockModes: ['GOVERNANCE'] }, 'filter.objectLockModes: '],
    ['objectLockLegalHoldStatuses', {}, { objectLockLegalHoldStatuses: ['ON'] }, 'filter.objectLockLegalHoldStatuses'],
    ['intelligentTieringAccessTiers', {}, { intelligentTieringAccessTiers: ['ARCHIVE'] }, 'filter.intelligentTier'],
    ['latestOnly', {}, { latestOnly: true }, 'filter.latestOnly: '],
    ['skipDeleteMarkers', {}, { skipDeleteMarkers: true }, 'filter.skipDeleteMarkers: '],
    ['two key prefixes', {}, { keyPrefixes: ['a/', 'b/'] }, 'filter.keyPrefixes: '],
    ['a prefix that does not combine', { prefix: 'a/' }, { keyPrefixes: ['b/'] }, 'filter.keyPrefixes: '],
    ['two key suffixes', {}, { keySuffixes: ['.gz', '.csv'] }, 'filter.keySuffixes: '],
    ['two encryptions', {}, { encryptionStatuses: ['SSE-S3', 'NOT-SSE'] }, 'filter.encryptionStatuses: '],
    [
      'a storage class the model lacks',
      {},
      { storageClasses: ['GLACIER', 'REDUCED_REDUNDANCY'] },
      'REDUCED_REDUNDANCY',
    ],
    ['PENDING replication', {}, { replicationStatuses: ['PENDING'] }, 'filter.replicationStatuses: '],
    ['every version', { versions: true }, undefined, 'source.versions: '],
  ])('%s', (_name, sourceExtra, filter, message) => {
    const p = problems({ ...base, source: s3Source(sourceExtra), ...(filter ? { filter } : {}) });
    expect(p).toHaveLength(1);
    expect(p[0]).toContain(message);
    expect(p[0]).toContain('manifest generator (source.generator "s3")');
  });

  test('restore-and-copy sorts a manifest into restore jobs first, so it needs the worker listing', () => {
    const spec = {
      ...base,
      operation: { type: 'restore-and-copy', targetBucket: 'dest-bucket' },
      source: s3Source(),
    };
    const p = problems(spec);
    expect(p).toHaveLength(1);
    expect(p[0]).toContain('operation.type: ');
  });

  test('the conditions a listing alone cannot answer are fine here (S3 answers them)', () => {
    const filter = { encryptionStatuses: ['SSE-KMS'], replicationStatuses: ['FAILED', 'NONE'] };
    expect(problems({ ...base, source: s3Source(), filter })).toEqual([]);
  });
});

describe('the filter mapping', () => {
  test('every mappable field, with inclusive bounds made strict', () => {
    const filter = {
      keyPrefixes: ['logs/2019/'],
      keySuffixes: ['.gz'],
      minSize: 10,
      maxSize: 100,
      modifiedAfter: '2024-01-01T00:00:00Z',
      modifiedBefore: '2025-01-01T00:00:00Z',
      storageClasses: ['GLACIER', 'DEEP_ARCHIVE'],
      replicationStatuses: ['FAILED'],
      encryptionStatuses: ['SSE-KMS'],
    };
    const spec = parseCampaignSpec({ ...base, source: s3Source({ prefix: 'logs/' }), filter });
    expect(generatorFilter(spec.source as { type: string; prefix?: string }, spec.filter)).toEqual({
      KeyNameConstraint: { MatchAnyPrefix: ['logs/2019/'], MatchAnySuffix: ['.gz'] },
      ObjectSizeGreaterThanBytes: 9,
      ObjectSizeLessThanBytes: 101,
      CreatedAfter: '2023-12-31T23:59:59.999Z',
      CreatedBefore: '2025-01-01T00:00:00.000Z',
      MatchAnyStorageClass: ['GLACIER', 'DEEP_ARCHIVE'],
      ObjectReplicationStatuses: ['FAILED'],
      MatchAnyObjectEncryption: ['SSEKMS'],
    });
  });

  test.each<[string, string | undefined, string[] | undefined, string | undefined]>([
    ['the source prefix alone', 'logs/', undefined, 'logs/'],
    ['a key prefix inside the source prefix', 'logs/', ['logs/2019/'], 'logs/2019/'],
    ['a source prefix inside the key prefix', 'logs/2019/', ['logs/'], 'logs/2019/'],
    ['no prefix at all', undefined, undefined, undefined],
  ])('MatchAnyPrefix from %s', (_name, prefix, keyPrefixes, expected) => {
    const f = generatorFilter({ type: 'bucket', prefix }, keyPrefixes ? { keyPrefixes } : undefined);
    expect(f?.KeyNameConstraint?.MatchAnyPrefix).toEqual(expected === undefined ? undefined : [expected]);
  });

  test('minSize 0 needs no lower bound; no filter maps to none', () => {
    expect(generatorFilter({ type: 'bucket' }, { minSize: 0 })).toBeUndefined();
    expect(generatorFilter({ type: 'bucket' }, undefined)).toBeUndefined();
  });
});
