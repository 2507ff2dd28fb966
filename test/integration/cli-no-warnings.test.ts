/**
 * A user on a supported Node version sees no warning they did not cause: commands that build AWS SDK clients run
 * from a shell without any AWS_* variable (so not with the SDK's warning switch that jest.config.js sets on Node 20)
 * and print nothing on stderr. On Node 20 this is what keeps the SDK's NodeVersionSupportWarning away
 * (src/node-support.ts); on Node 22 and 24 the SDK has nothing to warn about, and the test checks that nothing else does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { PutObjectCommand } from '@aws-sdk/client-s3';

import { withBucket } from '../helpers';
import { bareShellEnv, localAwsEnv, runCliIn } from '../support/cli';

let home: string;
beforeAll(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 's3c-no-warnings-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

test.each([
  ['estimate', (spec: string) => ['estimate', spec], '  objects  2 selected of 2 read, in 1 job'],
  ['iam-policy', (spec: string) => ['iam-policy', spec], '"s3:PutObjectTagging"'],
])('%s reads S3 and prints no warning', async (_name, args, expected) => {
  await withBucket(async (bucket, s3) => {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'list.csv', Body: `${bucket},a.txt\n${bucket},b.txt\n` }),
    );
    const spec = path.join(home, `${_name}.json`);
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'quiet',
        accountId: '111122223333',
        region: 'us-east-1',
        roleArn: 'arn:aws:iam::111122223333:role/S3BatchOperationsRole',
        source: { type: 'csv', manifest: `s3://${bucket}/list.csv` },
        operation: { type: 'put-tags', tags: { project: 'x' } },
        report: { bucket },
      }),
    );
    const env = bareShellEnv(home, localAwsEnv());
    expect(Object.keys(env).filter((k) => k.includes('WARNING'))).toEqual([]);
    const res = await runCliIn(home, args(spec), env);
    expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
    expect(res.stdout).toContain(expected);
  });
});
