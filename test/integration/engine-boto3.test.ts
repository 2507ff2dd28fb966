/**
 * An unmodified boto3 (the project's pinned one, in .tools/venv) drives the engine with no hosts-file change: its
 * s3control client uses the engine as its HTTP proxy, so the account-prefixed host is never resolved. The Python
 * script (test/support/engine_boto3.py) runs the whole job API; this test checks what it saw and the objects.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import { GetObjectTaggingCommand, PutObjectCommand } from '@aws-sdk/client-s3';

import { projectRoot } from '../../src/stack/tools';
import { withBucket } from '../helpers';
import { putManifest, readJobReport, uniqueAccountId, withEngine } from '../support/engine';

const run = promisify(execFile);
const PYTHON = path.join(projectRoot(), '.tools', 'venv', 'bin', 'python');

interface Seen {
  created: string[];
  idempotent: boolean;
  suspended: string[];
  describe: { Description: string; TotalNumberOfTasks: number; ConfirmationRequired: boolean };
  pages: string[][];
  tags_after_put: unknown;
  tags_after_delete: unknown;
  priority: number;
  priority_described: number;
  cancel: string;
  approve: string;
  approved_end: { Status: string; Succeeded: number };
  checksum_job: string;
  checksum_end: string;
  access_point: { Code: string; Status: number; Message: string };
}

test('boto3 creates, describes, lists (paginated), approves, tags, reprioritises and cancels jobs', async () => {
  await withBucket(async (bucket, s3) => {
    const keys = ['a.txt', 'b c.txt'];
    for (const k of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: `body of ${k}` }));
    const manifest = await putManifest(s3, bucket, keys);
    const accountId = uniqueAccountId();
    await withEngine({}, async (engine) => {
      const { stdout } = await run(PYTHON, [path.join(projectRoot(), 'test', 'support', 'engine_boto3.py')], {
        cwd: projectRoot(),
        env: {
          PATH: process.env.PATH ?? '',
          ENGINE_URL: engine.url,
          ACCOUNT_ID: accountId,
          MANIFEST_ARN: manifest.Location!.ObjectArn!,
          MANIFEST_ETAG: manifest.Location!.ETag!,
          REPORT_BUCKET: bucket,
        },
        timeout: 120_000,
      });
      const seen = JSON.parse(stdout) as Seen;
      const [first, second, third] = seen.created;
      expect(seen.idempotent).toBe(true);
      expect(seen.suspended).toEqual(['Suspended', 'Suspended', 'Suspended']);
      expect(seen.describe).toEqual({
        Description: 'boto3 boto3-0',
        TotalNumberOfTasks: 2,
        ConfirmationRequired: true,
      });
      // Newest first, two per page: 3 jobs → [third, second], [first].
      expect(seen.pages).toEqual([[third, second], [first]]);
      expect(seen.tags_after_put).toEqual([{ Key: 'team', Value: 'storage' }]);
      expect(seen.tags_after_delete).toEqual([]);
      expect([seen.priority, seen.priority_described]).toEqual([77, 77]);
      expect(seen.cancel).toBe('Cancelled');
      expect(seen.approve).toBe('Ready');
      expect(seen.approved_end).toEqual({ Status: 'Complete', Succeeded: 2 });
      for (const k of keys) {
        const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: k }));
        expect(tags.TagSet).toEqual([{ Key: 'via', Value: 'boto3' }]);
      }
      expect(seen.checksum_end).toBe('Complete');
      const { rows } = await readJobReport(s3, bucket, 'boto3', seen.checksum_job);
      expect(rows.map((r) => r.taskStatus)).toEqual(['succeeded', 'succeeded']);
      expect(seen.access_point).toMatchObject({ Code: 'NotImplemented', Status: 501 });
      expect(seen.access_point.Message).toMatch(/^GetAccessPoint \(GET \/v20180820\/accesspoint\/\{Name\}\)/);
    });
  });
});
