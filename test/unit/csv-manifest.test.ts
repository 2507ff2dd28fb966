/**
 * The line checks every reader of a user's CSV manifest applies (the campaign's manifest activity, `estimate`,
 * `iam-policy`): each bad line is refused with the manifest, its line and what is wrong; good lines pass unchanged.
 */
import { parseCsv } from '../../src/csv';
import { CsvManifestError, CsvManifestValidator } from '../../src/manifest/csv-manifest';

const URI = 's3://lists/m.csv';

function check(text: string) {
  const v = new CsvManifestValidator(URI);
  return parseCsv(text).map((r) => v.check(r));
}

describe('CSV manifest lines', () => {
  test('URL-encoded keys, version ids and blank lines pass; each row goes out as it came in', () => {
    const rows = check('bkt,a%20b/c%0Ad.txt,v1\nbkt,x+y,null\n\n');
    expect(rows.map((r) => r?.text)).toEqual(['bkt,a%20b/c%0Ad.txt,v1', 'bkt,x+y,null', undefined]);
    expect(rows.map((r) => r?.decodedKey)).toEqual(['a b/c\nd.txt', 'x y', undefined]);
  });

  test.each([
    [
      'a raw tab in a key',
      'bkt,ok\nbkt,tab\there\n',
      /line 2: key "tab\\there" contains the raw control character U\+0009; .*\(%09\)/,
    ],
    [
      'a raw line break in a quoted key',
      'bkt,"one\ntwo"\n',
      /line 1: key "one\\ntwo" contains the raw control character U\+000A/,
    ],
    ['a C1 control character', 'bkt,a\u0085b\n', /line 1: key .* U\+0085; .*\(%C2%85\)/],
    ['bytes that were not UTF-8', 'bkt,caf\ufffd\n', /line 1: key .* not UTF-8/],
    ['a raw comma in a quoted key', 'bkt,"x,y"\n', /line 1: key "x,y" contains a raw comma; URL-encode it as %2C/],
    ['a header row', 'Bucket,Key\nbkt,k\n', /line 1: looks like a header row/],
    ['a bucket that is no bucket name', 'bkt,k\nmy bucket,k\n', /line 2: bucket "my bucket" is not a bucket name/],
    [
      'a key over 1,024 bytes',
      `bkt,${'%C3%A9'.repeat(513)}\n`,
      /line 1: key is 1026 bytes decoded; S3 keys are at most 1024/,
    ],
    ['bad percent-encoding', 'bkt,100%\n', /line 1: key "100%" is not valid URL encoding/],
    ['version ids in some rows only', 'bkt,k,v1\nbkt,k2\n', /line 2: version ids must be in all rows or in none/],
    ['an empty version id', 'bkt,k,\n', /line 1: empty version id/],
    ['four fields', 'bkt,k,v,x\n', /line 1: 4 fields; expected bucket,key or bucket,key,versionId/],
  ])('%s is refused, naming the manifest and the line', (_name, text, message) => {
    let err: unknown;
    try {
      check(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CsvManifestError);
    expect((err as Error).message).toMatch(new RegExp(`^CSV manifest ${URI} ${message.source}`));
  });
});
