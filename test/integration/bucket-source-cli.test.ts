/**
 * `estimate` and `iam-policy` for a `bucket` source, as subprocesses: `estimate` lists the bucket against the test
 * run's moto with the campaign's filter and writes nothing; `iam-policy` needs no AWS access at all (the spec names
 * the bucket and the prefix) and lets the worker list the source bucket only under its prefix.
 */
import { ListObjectsV2Command, PutObjectCommand, type StorageClass } from '@aws-sdk/client-s3';

import type { EstimateOutput } from '../../src/cli/estimate';
import type { IamPolicyOutput } from '../../src/cli/iam-policy';
import { withBucket } from '../helpers';
import { localAwsEnv, runCli, withSpecFile } from '../support/cli';

const base = {
  name: 'bucket source cli',
  accountId: '111122223333',
  region: 'us-east-1',
  roleArn: 'arn:aws:iam::111122223333:role/S3BatchOperationsRole',
};

test('estimate: lists the bucket under its prefix with the filter, counts bytes by class, writes nothing', async () => {
  await withBucket(async (bucket, s3) => {
    const objects: Array<[string, number, StorageClass]> = [
      ['logs/2019/a.gz', 1000, 'GLACIER'],
      ['logs/2019/b c.gz', 2000, 'GLACIER'],
      ['logs/2019/c.gz', 3000, 'DEEP_ARCHIVE'],
      ['logs/2019/small.gz', 10, 'GLACIER'],
      ['logs/2019/d.txt', 4000, 'STANDARD'],
      ['logs/2020/e.gz', 5000, 'GLACIER'],
    ];
    for (const [Key, size, StorageClass] of objects) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'x'.repeat(size), StorageClass }));
    }
    const spec = {
      ...base,
      source: { type: 'bucket', bucket, prefix: 'logs/2019/' },
      filter: { keySuffixes: ['.gz'], minSize: 100 },
      operation: { type: 'restore', tier: 'BULK', expirationDays: 1 },
      report: { bucket, prefix: 'reports' },
    };
    await withSpecFile(spec, async (file) => {
      const res = await runCli(['estimate', file, '--json'], localAwsEnv());
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      const out = JSON.parse(res.stdout) as EstimateOutput;
      expect(out.preview).toMatchObject({
        source: `a listing of s3://${bucket}/logs/2019/`,
        rowsScanned: 5,
        rowsSelected: 3,
        jobs: 1,
        bytesByStorageClass: { GLACIER: 3000, DEEP_ARCHIVE: 3000 },
        rowsByStorageClass: { GLACIER: 2, DEEP_ARCHIVE: 1 },
        sourceBuckets: [bucket],
        versioned: false,
      });
      expect([...out.preview.sampleKeys].sort()).toEqual(['logs/2019/a.gz', 'logs/2019/b c.gz', 'logs/2019/c.gz']);
      // The listing's requests are priced (at the PUT rate), as many as the preview's listing sent.
      expect(out.preview.listRequests).toBeGreaterThanOrEqual(1);
      const list = out.estimate.items.find((i) => i.what.startsWith('LIST requests'));
      expect(list).toMatchObject({
        quantity: out.preview.listRequests,
        unit: 'request',
        per: 1000,
        unitPriceUsd: 0.005,
      });
    });
    const written = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'reports/' }));
    expect(written.KeyCount).toBe(0);
  });
});

test('iam-policy: no AWS access needed; the worker lists only under the prefix, the role acts on bucket/prefix*', async () => {
  const spec = {
    ...base,
    source: { type: 'bucket', bucket: 'media', prefix: 'raw/', versions: true },
    operation: { type: 'put-tags', tags: { a: 'b' } },
    report: { bucket: 'ops-reports' },
  };
  await withSpecFile(spec, async (file) => {
    // A bogus endpoint proves nothing is fetched.
    const res = await runCli(['iam-policy', file, '--json'], { S3C_S3_ENDPOINT: 'http://127.0.0.1:9' });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as IamPolicyOutput;
    expect(out.warnings).toEqual([]);
    expect(out.workerPolicy.Statement.find((s) => s.Sid === 'ListSourceBucket')).toEqual({
      Sid: 'ListSourceBucket',
      Effect: 'Allow',
      Action: ['s3:ListBucket', 's3:ListBucketVersions'],
      Resource: 'arn:aws:s3:::media',
      Condition: { StringLike: { 's3:prefix': 'raw/*' } },
    });
    expect(out.permissionsPolicy.Statement.find((s) => s.Sid === 'PutObjectTags')).toMatchObject({
      Action: ['s3:PutObjectTagging', 's3:PutObjectVersionTagging'],
      Resource: ['arn:aws:s3:::media/raw/*'],
    });
  });
});
