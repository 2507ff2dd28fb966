import { redriveName, redriveSpec } from '../../src/cli/redrive';
import { campaignFailuresLocation, errorCodeMatches } from '../../src/manifest/campaign-failures';
import { parseCampaignSpec } from '../../src/shared/campaign-spec';

describe('campaign-failures source', () => {
  test.each<[string, string[], boolean]>([
    ['SlowDown', ['SlowDown'], true],
    ['SlowDown', ['slowdown'], false],
    ['NoSuchKey', ['SlowDown', 'InternalError'], false],
    // restore-and-copy reports prefix the stage: the code alone, the stage alone, or both select the row.
    ['CopyFailed:SlowDown', ['SlowDown'], true],
    ['CopyFailed:SlowDown', ['CopyFailed'], true],
    ['CopyFailed:SlowDown', ['CopyFailed:SlowDown'], true],
    ['CopyFailed:SlowDown', ['RestoreFailed'], false],
    ['NotCopied:Cancelled', ['Cancelled'], true],
    ['ExpiredBeforeCopy', ['Expired'], false],
    ['', ['SlowDown'], false],
  ])('%s matches %j: %s', (code, wanted, expected) => {
    expect(errorCodeMatches(code, wanted)).toBe(expected);
  });

  test("the other campaign's folder: beside this one by default, else where source.report says", () => {
    const report = { bucket: 'reports', prefix: 'campaigns' };
    expect(campaignFailuresLocation({ campaignId: 'c1' }, report)).toEqual({
      campaignId: 'c1',
      bucket: 'reports',
      folder: 'campaigns/c1',
    });
    expect(campaignFailuresLocation({ campaignId: 'c1', report: { bucket: 'old' } }, report)).toEqual({
      campaignId: 'c1',
      bucket: 'old',
      folder: 'campaigns/c1',
    });
    expect(campaignFailuresLocation({ campaignId: 'c1', report: { bucket: 'old', prefix: 'a/b' } }, report)).toEqual({
      campaignId: 'c1',
      bucket: 'old',
      folder: 'a/b/c1',
    });
  });
});

describe('s3-campaigns redrive: the new spec', () => {
  const old = parseCampaignSpec({
    name: 'nightly copy',
    accountId: '123456789012',
    region: 'us-east-1',
    roleArn: 'arn:aws:iam::123456789012:role/BatchOps',
    source: { type: 'inventory-latest', destination: 's3://inv/logs/daily/' },
    filter: { storageClasses: ['GLACIER'] },
    incremental: {},
    operation: { type: 'copy', targetBucket: 'dr-bucket' },
    report: { bucket: 'reports', prefix: 'campaigns' },
  });

  test("the old spec with the old campaign's failures as its source; the old source's filter and watermark go", () => {
    const spec = redriveSpec(old, 'nightly-1', ['SlowDown'], old.report);
    expect(spec.source).toEqual({ type: 'campaign-failures', campaignId: 'nightly-1', errorCodes: ['SlowDown'] });
    expect(spec.filter).toBeUndefined();
    expect(spec.incremental).toBeUndefined();
    expect(spec.operation).toEqual(old.operation);
    expect(spec.name).toBe('nightly copy (redrive)');
  });

  test('another spec whose report is elsewhere still finds the old campaign', () => {
    const other = parseCampaignSpec({
      ...old,
      filter: undefined,
      incremental: undefined,
      report: { bucket: 'reports-2' },
    });
    expect(redriveSpec(other, 'nightly-1', undefined, old.report).source).toEqual({
      type: 'campaign-failures',
      campaignId: 'nightly-1',
      report: { bucket: 'reports', prefix: 'campaigns' },
    });
  });

  test('names stay within 100 characters', () => {
    const long = redriveName('x'.repeat(100));
    expect(long).toHaveLength(100);
    expect(long).toMatch(/x… \(redrive\)$/);
  });
});
