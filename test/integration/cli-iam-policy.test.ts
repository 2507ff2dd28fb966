/**
 * `s3-campaigns iam-policy` as a subprocess: it reads the source bucket from the inventory manifest.json or the CSV
 * manifest in moto, scopes the policy to it, and falls back to `*` with a warning when it cannot read the source.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { PutObjectCommand } from '@aws-sdk/client-s3';

import type { IamPolicyOutput } from '../../src/cli/iam-policy';
import { writeInventoryReport } from '../../src/demo/inventory-writer';
import { withBucket } from '../helpers';
import { localAwsEnv, runCli } from '../support/cli';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 's3c-cli-iam-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeSpec(spec: Record<string, unknown>): string {
  const file = path.join(dir, 'spec.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'iam test',
      accountId: '111122223333',
      region: 'us-east-1',
      roleArn: 'arn:aws:iam::111122223333:role/S3BatchOperationsRole',
      report: { bucket: 'ops-reports' },
      ...spec,
    }),
  );
  return file;
}

const actionsOn = (doc: IamPolicyOutput['permissionsPolicy'], sid: string) => doc.Statement.find((s) => s.Sid === sid);

test('inventory source: the source bucket comes from manifest.json, scoped to the filter’s prefixes; text has a header per policy', async () => {
  await withBucket(
    async (inventoryBucket, s3) => {
      const manifest = await writeInventoryReport({
        s3,
        sourceBucket: 'logs-bucket',
        destinationBucket: inventoryBucket,
        prefix: 'inventory',
        rows: [{ key: '2019/a.gz', size: 1, lastModified: new Date(), storageClass: 'GLACIER' }],
      });
      const file = writeSpec({
        source: { type: 'inventory', manifest },
        filter: { keyPrefixes: ['2019/'] },
        operation: { type: 'restore' },
      });

      const json = await runCli(['iam-policy', file, '--json'], localAwsEnv());
      expect(json.code).toBe(0);
      const out = JSON.parse(json.stdout) as IamPolicyOutput;
      expect(actionsOn(out.permissionsPolicy, 'RestoreObjects')).toEqual({
        Sid: 'RestoreObjects',
        Effect: 'Allow',
        Action: ['s3:RestoreObject'],
        Resource: ['arn:aws:s3:::logs-bucket/2019/*'],
      });
      expect(out.warnings).toEqual([]);
      expect(out.trustPolicy.Statement[0]?.Condition).toEqual({
        StringEquals: { 'aws:SourceAccount': '111122223333' },
      });
      expect(actionsOn(out.workerPolicy, 'ReadInventory')?.Resource).toBe(
        `arn:aws:s3:::${inventoryBucket}/inventory/logs-bucket/daily/*`,
      );

      const text = await runCli(['iam-policy', file], localAwsEnv());
      expect(text.code).toBe(0);
      expect(text.stderr).not.toContain('warning:');
      const lines = text.stdout.split('\n');
      const headers = lines.filter((l) => l.startsWith('# '));
      expect(headers).toEqual([
        '# Permissions policy of the Batch Operations role arn:aws:iam::111122223333:role/S3BatchOperationsRole (campaign "iam test")',
        '# Trust policy of the same role',
        "# Policy of the worker's own credentials (creates, approves and watches the jobs; reads the source; writes the campaign folder)",
      ]);
      // Each header is followed by exactly the pretty JSON of its policy.
      const sections = text.stdout
        .split(/^# .*\n/m)
        .slice(1)
        .map((s) => JSON.parse(s) as unknown);
      expect(sections).toEqual([out.permissionsPolicy, out.trustPolicy, out.workerPolicy]);
    },
    { prefix: 'iam-inventory' },
  );
});

test('csv source: every bucket the manifest names', async () => {
  await withBucket(
    async (bucket, s3) => {
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: 'm.csv', Body: 'bucket-b,k1\nbucket-a,k2\nbucket-b,k3\n' }),
      );
      const file = writeSpec({
        source: { type: 'csv', manifest: `s3://${bucket}/m.csv` },
        operation: { type: 'acl', cannedAcl: 'private' },
      });
      const res = await runCli(['iam-policy', file, '--json'], localAwsEnv());
      expect(res.code).toBe(0);
      const out = JSON.parse(res.stdout) as IamPolicyOutput;
      // Two columns: no version IDs, so no s3:PutObjectVersionAcl.
      expect(actionsOn(out.permissionsPolicy, 'PutObjectAcls')).toMatchObject({
        Action: ['s3:PutObjectAcl'],
        Resource: ['arn:aws:s3:::bucket-a/*', 'arn:aws:s3:::bucket-b/*'],
      });
    },
    { prefix: 'iam-csv' },
  );
});

test('an unreadable source: the policy allows every bucket, stderr says why, exit 0; --source-bucket needs no AWS access', async () => {
  const file = writeSpec({
    source: { type: 'csv', manifest: 's3://lists/missing.csv' },
    operation: { type: 'delete-tags' },
  });
  const env = { ...localAwsEnv(), S3C_S3_ENDPOINT: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' };
  const res = await runCli(['iam-policy', file], env);
  expect(res.code).toBe(0);
  expect(res.stderr).toContain('warning: Could not read the CSV manifest s3://lists/missing.csv:');
  expect(res.stderr).toContain(
    'warning: The CSV manifest’s buckets are unknown: the operation is allowed on objects in every bucket (*). Pass --source-bucket to scope it.',
  );
  expect(res.stdout).toContain('"arn:aws:s3:::*/*"');

  const given = await runCli(['iam-policy', file, '--source-bucket', 'lists-src', '--json'], env);
  expect(given.code).toBe(0);
  const out = JSON.parse(given.stdout) as IamPolicyOutput;
  expect(actionsOn(out.permissionsPolicy, 'DeleteObjectTags')?.Resource).toEqual(['arn:aws:s3:::lists-src/*']);
  expect(out.warnings).toEqual([]);
});
