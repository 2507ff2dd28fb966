/**
 * Completion reports written to real S3 (moto) in the AWS layout, then read back with the report module the campaign
 * activities use.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

import { writeCompletionReport } from '../../src/local-batch/report';
import type { JobReport, TaskOutcome, TaskRef } from '../../src/local-batch/types';
import { readCompletionReport } from '../../src/reports/completion-report';
import { withBucket } from '../helpers';

const task = (i: number, key: string, rawKey = encodeURIComponent(key), versionId?: string): TaskRef => ({
  index: i,
  bucket: 'data-bucket',
  key,
  rawKey,
  versionId,
});

const results: Array<{ task: TaskRef; outcome: TaskOutcome }> = [
  { task: task(0, 'a b.txt'), outcome: { status: 'succeeded', httpStatus: 200 } },
  {
    task: task(1, 'c,d "e".txt', undefined, 'v1'),
    outcome: { status: 'succeeded', httpStatus: 200, resultMessage: 'ok, "fine"' },
  },
  {
    task: task(2, 'missing'),
    outcome: {
      status: 'failed',
      httpStatus: 404,
      errorCode: 'NoSuchKey',
      resultMessage: 'The specified key does not exist.',
    },
  },
  {
    task: task(3, 'λ/ü.bin', undefined, 'null'),
    outcome: {
      status: 'failed',
      httpStatus: 200,
      errorCode: 'PermanentFailure',
      resultMessage: 'Lambda returned function error: {"errorMessage":"x\ny"}',
    },
  },
];

async function keysUnder(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

describe('completion reports', () => {
  test('AllTasks: manifest.json and one results file per status, read back row for row', () =>
    withBucket(async (bucket, s3) => {
      const report: JobReport = {
        Enabled: true,
        Bucket: `arn:aws:s3:::${bucket}`,
        Format: 'Report_CSV_20180820',
        Prefix: 'reports/',
        ReportScope: 'AllTasks',
      };
      const now = new Date('2026-11-25T10:00:00.123Z');
      const written = await writeCompletionReport(s3, { JobId: 'job-1', Report: report }, results, now);
      expect(written).toEqual({ manifestKey: 'reports/job-job-1/manifest.json' });

      const keys = await keysUnder(s3, bucket, 'reports/');
      expect(keys).toHaveLength(3);
      expect(keys).toContain('reports/job-job-1/manifest.json');
      for (const k of keys.filter((x) => !x.endsWith('manifest.json')))
        expect(k).toMatch(/^reports\/job-job-1\/results\/[0-9a-f]{40}\.csv$/);

      const { manifest, rows } = await readCompletionReport(s3, bucket, written!.manifestKey);
      expect(manifest).toEqual({
        Format: 'Report_CSV_20180820',
        ReportCreationDate: '2026-11-25T10:00:00.123Z',
        Results: [
          {
            TaskExecutionStatus: 'succeeded',
            Bucket: bucket,
            MD5Checksum: expect.stringMatching(/^[0-9a-f]{32}$/),
            Key: expect.stringMatching(/results\//),
          },
          {
            TaskExecutionStatus: 'failed',
            Bucket: bucket,
            MD5Checksum: expect.stringMatching(/^[0-9a-f]{32}$/),
            Key: expect.stringMatching(/results\//),
          },
        ],
        ReportSchema: 'Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage',
      });
      expect(rows).toEqual([
        {
          bucket: 'data-bucket',
          key: 'a%20b.txt',
          decodedKey: 'a b.txt',
          taskStatus: 'succeeded',
          httpStatusCode: 200,
        },
        {
          bucket: 'data-bucket',
          key: 'c%2Cd%20%22e%22.txt',
          decodedKey: 'c,d "e".txt',
          versionId: 'v1',
          taskStatus: 'succeeded',
          httpStatusCode: 200,
          resultMessage: 'ok, "fine"',
        },
        {
          bucket: 'data-bucket',
          key: 'missing',
          decodedKey: 'missing',
          taskStatus: 'failed',
          httpStatusCode: 404,
          errorCode: 'NoSuchKey',
          resultMessage: 'The specified key does not exist.',
        },
        {
          bucket: 'data-bucket',
          key: '%CE%BB%2F%C3%BC.bin',
          decodedKey: 'λ/ü.bin',
          versionId: 'null',
          taskStatus: 'failed',
          httpStatusCode: 200,
          errorCode: 'PermanentFailure',
          resultMessage: 'Lambda returned function error: {"errorMessage":"x\ny"}',
        },
      ]);

      // The raw file: no header, the documented example column order, SSE-S3 like the service's reports.
      const failedKey = manifest.Results[1]!.Key;
      const raw = await (
        await s3.send(new GetObjectCommand({ Bucket: bucket, Key: failedKey }))
      ).Body!.transformToString();
      expect(raw.split('\n')[0]).toBe('data-bucket,missing,,failed,404,NoSuchKey,The specified key does not exist.');
      expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: failedKey }))).ServerSideEncryption).toBe(
        'AES256',
      );
    }));

  test('FailedTasksOnly lists only the failed file; no prefix puts the report at job-<id>/', () =>
    withBucket(async (bucket, s3) => {
      const report: JobReport = { Enabled: true, Bucket: `arn:aws:s3:::${bucket}`, ReportScope: 'FailedTasksOnly' };
      const written = await writeCompletionReport(s3, { JobId: 'j2', Report: report }, results);
      expect(written?.manifestKey).toBe('job-j2/manifest.json');
      const { manifest, rows } = await readCompletionReport(s3, bucket, written!.manifestKey);
      expect(manifest.Results.map((r) => r.TaskExecutionStatus)).toEqual(['failed']);
      expect(rows.map((r) => r.decodedKey)).toEqual(['missing', 'λ/ü.bin']);
      expect(await keysUnder(s3, bucket, 'job-j2/')).toHaveLength(2);
    }));

  test('nothing is written when the report is disabled or no task ran', () =>
    withBucket(async (bucket, s3) => {
      const report: JobReport = { Enabled: true, Bucket: `arn:aws:s3:::${bucket}`, ReportScope: 'AllTasks' };
      expect(await writeCompletionReport(s3, { JobId: 'j3', Report: report }, [])).toBeUndefined();
      expect(await writeCompletionReport(s3, { JobId: 'j3', Report: { Enabled: false } }, results)).toBeUndefined();
      expect(await keysUnder(s3, bucket, '')).toEqual([]);
    }));

  test('a failure while writing leaves no manifest.json behind', () =>
    withBucket(async (bucket, s3) => {
      function* broken(): Generator<{ task: TaskRef; outcome: TaskOutcome }> {
        yield results[0]!;
        throw new Error('store read failed');
      }
      const report: JobReport = { Enabled: true, Bucket: `arn:aws:s3:::${bucket}`, Prefix: 'r' };
      await expect(writeCompletionReport(s3, { JobId: 'j4', Report: report }, broken())).rejects.toThrow(
        'store read failed',
      );
      expect(await keysUnder(s3, bucket, 'r/job-j4/manifest.json')).toEqual([]);
    }));

  test('a missing report bucket is a job failure naming the bucket', async () => {
    await withBucket(async (bucket, s3) => {
      const report: JobReport = { Enabled: true, Bucket: `arn:aws:s3:::${bucket}-gone` };
      await expect(writeCompletionReport(s3, { JobId: 'j5', Report: report }, results)).rejects.toMatchObject({
        failureCode: 'BucketNotAccessible',
        failureReason: expect.stringContaining(`${bucket}-gone`),
      });
    });
  });

  test('a large report streams through multipart uploads and reads back complete', () =>
    withBucket(async (bucket, s3) => {
      const n = 200_000;
      function* many(): Generator<{ task: TaskRef; outcome: TaskOutcome }> {
        for (let i = 0; i < n; i++) {
          const ok = i % 10 !== 0;
          yield {
            task: task(
              i,
              `prefix/some/deeper/path/object-${i}.parquet`,
              `prefix/some/deeper/path/object-${i}.parquet`,
              `version-${i}`,
            ),
            outcome: ok
              ? { status: 'succeeded', httpStatus: 200 }
              : {
                  status: 'failed',
                  httpStatus: 503,
                  errorCode: 'SlowDown',
                  resultMessage: 'Please reduce your request rate.',
                },
          };
        }
      }
      const report: JobReport = { Enabled: true, Bucket: `arn:aws:s3:::${bucket}`, Prefix: 'big' };
      const written = await writeCompletionReport(s3, { JobId: 'big', Report: report }, many());
      const { manifest, rows } = await readCompletionReport(s3, bucket, written!.manifestKey);
      const size = (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: manifest.Results[0]!.Key })))
        .ContentLength!;
      expect(size).toBeGreaterThan(8 * 1024 * 1024); // more than one part
      expect(rows).toHaveLength(n);
      expect(rows.filter((r) => r.taskStatus === 'failed')).toHaveLength(n / 10);
      expect(rows[n - 1]).toMatchObject({ taskStatus: 'failed', errorCode: 'SlowDown', httpStatusCode: 503 });
    }));
});
