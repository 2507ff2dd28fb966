import {
  formatReportRow,
  parseReportCsv,
  parseReportManifest,
  REPORT_SCHEMA,
  ReportParseError,
  reportRowFromFields,
  type ReportRowInput,
} from '../../src/reports/completion-report';
import { reportBaseKey, resultsFileName } from '../../src/local-batch/report';

describe('completion report rows', () => {
  const rows: ReportRowInput[] = [
    { bucket: 'b', key: 'plain.txt', taskStatus: 'succeeded', httpStatusCode: 200 },
    {
      bucket: 'b',
      key: 'a%20b%2Cc',
      versionId: 'v1',
      taskStatus: 'succeeded',
      httpStatusCode: 200,
      resultMessage: '{"ETag":"\\"x\\""}',
    },
    {
      bucket: 'b',
      key: 'missing',
      taskStatus: 'failed',
      httpStatusCode: 404,
      errorCode: 'NoSuchKey',
      resultMessage: 'The specified key does not exist.',
    },
    {
      bucket: 'b',
      key: 'k,raw "quoted"',
      versionId: 'null',
      taskStatus: 'failed',
      httpStatusCode: 200,
      errorCode: 'PermanentFailure',
      resultMessage: 'Lambda returned function error: {"errorMessage":"boom,\nline two"}',
    },
  ];

  test('writing then parsing gives the rows back, with the decoded key alongside the written one', () => {
    const text = rows.map(formatReportRow).join('');
    const parsed = parseReportCsv(text);
    expect(parsed).toHaveLength(rows.length);
    parsed.forEach((p, i) => {
      const r = rows[i]!;
      expect(p).toMatchObject({
        bucket: r.bucket,
        key: r.key,
        taskStatus: r.taskStatus,
        httpStatusCode: r.httpStatusCode,
      });
      expect(p.versionId).toBe(r.versionId);
      expect(p.errorCode).toBe(r.errorCode);
      expect(p.resultMessage).toBe(r.resultMessage);
    });
    expect(parsed[1]!.decodedKey).toBe('a b,c');
  });

  test('rows use the documented example order: HTTP status before the error code, standard quoting', () => {
    expect(formatReportRow(rows[2]!)).toBe('b,missing,,failed,404,NoSuchKey,The specified key does not exist.\n');
    expect(formatReportRow(rows[3]!)).toBe(
      'b,"k,raw ""quoted""",null,failed,200,PermanentFailure,"Lambda returned function error: {""errorMessage"":""boom,\nline two""}"\n',
    );
  });

  test('the AWS documentation example rows parse, whichever column holds the HTTP status', () => {
    const text = [
      "awsexamplebucket1,image_17775,,succeeded,200,,\"{u'CopySourceVersionId': 'xVR78haVKlRnurYofbTfYr3ufYbktF8h'}\"",
      'awsexamplebucket1,image_14975,,failed,200,PermanentFailure,"Lambda returned function error: {""errorMessage"":""Task timed out after 3.00 seconds""}"',
      'bkt,k,,failed,NoSuchKey,404,msg',
    ].join('\n');
    const [a, b, c] = parseReportCsv(text);
    expect(a).toMatchObject({ taskStatus: 'succeeded', httpStatusCode: 200 });
    expect(a!.errorCode).toBeUndefined();
    expect(a!.resultMessage).toContain('CopySourceVersionId');
    expect(b).toMatchObject({ taskStatus: 'failed', httpStatusCode: 200, errorCode: 'PermanentFailure' });
    expect(b!.resultMessage).toBe(
      'Lambda returned function error: {"errorMessage":"Task timed out after 3.00 seconds"}',
    );
    expect(c).toMatchObject({ httpStatusCode: 404, errorCode: 'NoSuchKey', resultMessage: 'msg' });
  });

  test('a message with unquoted commas is joined back; an undecodable key has no decodedKey', () => {
    const row = reportRowFromFields(['b', '100%', '', 'failed', '500', 'InternalError', 'a', 'b', 'c']);
    expect(row.resultMessage).toBe('a,b,c');
    expect(row.key).toBe('100%');
    expect(row.decodedKey).toBeUndefined();
  });

  test('an unknown task status or a short row is a parse error naming the line', () => {
    expect(() => parseReportCsv('b,k,,ok,200,,\n', 'r.csv')).toThrow(
      new ReportParseError('r.csv line 1: TaskStatus "ok" is neither succeeded nor failed'),
    );
    expect(() => parseReportCsv('b,k,,failed,200\nb,k\n', 'r.csv')).toThrow(/r\.csv line 2: 2 fields/);
  });
});

describe('completion report layout', () => {
  test('keys: <prefix>/job-<id>/results/<40 hex>.csv, prefix slashes normalised', () => {
    expect(reportBaseKey('j1', 'reports/')).toBe('reports/job-j1');
    expect(reportBaseKey('j1', undefined)).toBe('job-j1');
    expect(resultsFileName('j1', 'failed')).toMatch(/^[0-9a-f]{40}$/);
    expect(resultsFileName('j1', 'failed')).not.toBe(resultsFileName('j1', 'succeeded'));
  });

  test('manifest.json is validated and keeps the documented schema string', () => {
    const m = parseReportManifest(
      JSON.stringify({
        Format: 'Report_CSV_20180820',
        ReportCreationDate: 'x',
        Results: [],
        ReportSchema: REPORT_SCHEMA,
      }),
    );
    expect(m.ReportSchema).toBe('Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage');
    expect(() => parseReportManifest('{"Format":"x","Results":[{"Bucket":"b"}]}', 'm.json')).toThrow(
      /m\.json: Results\.0\./,
    );
  });
});
