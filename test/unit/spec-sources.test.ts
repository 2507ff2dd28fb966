/**
 * The `bucket` and `campaign-failures` sources in the spec: defaults, and the filter conditions a bucket listing
 * cannot answer refused by name.
 */
import { parseCampaignSpec, SpecError } from '../../src/shared/campaign-spec';

const base = {
  name: 'tag logs',
  accountId: '123456789012',
  region: 'us-east-1',
  roleArn: 'arn:aws:iam::123456789012:role/BatchOps',
  operation: { type: 'put-tags', tags: { k: 'v' } },
  report: { bucket: 'reports-bucket' },
};

function problems(spec: unknown): string[] {
  try {
    parseCampaignSpec(spec);
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  throw new Error('expected the spec to be rejected');
}

describe('bucket source', () => {
  test('defaults: current objects, listed by the worker', () => {
    const s = parseCampaignSpec({ ...base, source: { type: 'bucket', bucket: 'logs' } });
    expect(s.source).toEqual({ type: 'bucket', bucket: 'logs', versions: false, generator: 'list' });
  });

  test('takes the filter conditions a listing answers', () => {
    const filter = {
      keyPrefixes: ['2019/'],
      keySuffixes: ['.gz'],
      keyRegex: 'a+',
      storageClasses: ['GLACIER'],
      minSize: 1,
      maxSize: 10,
      modifiedAfter: '2024-01-01T00:00:00Z',
      modifiedBefore: '2025-01-01T00:00:00Z',
      latestOnly: true,
    };
    const s = parseCampaignSpec({ ...base, source: { type: 'bucket', bucket: 'logs', prefix: 'a/' }, filter });
    expect(s.filter).toEqual(filter);
  });

  test.each([
    ['encryptionStatuses', ['SSE-KMS'], 'the encryption status'],
    ['objectLockModes', ['GOVERNANCE'], 'the Object Lock mode'],
    ['objectLockLegalHoldStatuses', ['ON'], 'the legal hold status'],
    ['replicationStatuses', ['FAILED'], 'the replication status'],
    ['intelligentTieringAccessTiers', ['ARCHIVE'], 'the Intelligent-Tiering access tier'],
  ])('refuses filter.%s by name: a listing does not return it', (field, value, what) => {
    const p = problems({ ...base, source: { type: 'bucket', bucket: 'logs' }, filter: { [field]: value } });
    expect(p).toEqual([
      `filter.${field}: a bucket listing does not return ${what} of an object; use an inventory source (S3 Inventory has the column) or drop the condition`,
    ]);
  });

  test('delete markers need a versioned listing', () => {
    const filter = { skipDeleteMarkers: true };
    expect(problems({ ...base, source: { type: 'bucket', bucket: 'logs' }, filter }).join('\n')).toContain(
      'filter.skipDeleteMarkers: a listing without source.versions has no delete markers',
    );
    const s = parseCampaignSpec({ ...base, source: { type: 'bucket', bucket: 'logs', versions: true }, filter });
    expect(s.filter).toEqual(filter);
  });

  test('names a bad field of the source', () => {
    expect(problems({ ...base, source: { type: 'bucket', bucket: 'logs', generator: 'lambda' } }).join('\n')).toMatch(
      /^source\.generator: /m,
    );
    expect(problems({ ...base, source: { type: 'bucket', bucket: 'Bad_Bucket' } }).join('\n')).toMatch(
      /^source\.bucket/m,
    );
    expect(problems({ ...base, source: { type: 'bucket', bucket: 'logs', prefx: 'a/' } })).toEqual([
      'source: unknown field(s) prefx (did you mean prefix?)',
    ]);
  });
});

describe('campaign-failures source', () => {
  test('every failure of the named campaign by default; codes and another folder on request', () => {
    const s = parseCampaignSpec({ ...base, source: { type: 'campaign-failures', campaignId: 'c1' } });
    expect(s.source).toEqual({ type: 'campaign-failures', campaignId: 'c1' });
    const t = parseCampaignSpec({
      ...base,
      source: { type: 'campaign-failures', campaignId: 'c1', errorCodes: ['SlowDown'], report: { bucket: 'old' } },
    });
    expect(t.source).toEqual({
      type: 'campaign-failures',
      campaignId: 'c1',
      errorCodes: ['SlowDown'],
      report: { bucket: 'old' },
    });
  });

  test('refuses an empty code list, a missing id and a filter', () => {
    expect(problems({ ...base, source: { type: 'campaign-failures', campaignId: 'c1', errorCodes: [] } })).toEqual([
      'source.errorCodes needs at least one code (leave it out for every failure)',
    ]);
    expect(problems({ ...base, source: { type: 'campaign-failures' } })).toEqual([
      'source.campaignId is required (the id of the campaign whose failed.csv runs again)',
    ]);
    expect(
      problems({ ...base, source: { type: 'campaign-failures', campaignId: 'c1' }, filter: { minSize: 1 } }).join('\n'),
    ).toContain('filter applies to inventory and bucket sources only');
  });
});
