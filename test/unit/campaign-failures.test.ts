import { campaignFailuresLocation, errorCodeMatches } from '../../src/manifest/campaign-failures';

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
