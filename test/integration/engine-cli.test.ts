/**
 * `s3-campaigns local-batch` as a user runs it (a subprocess of the compiled CLI): one ready line on stdout, the
 * flags take effect, SIGTERM stops it cleanly, and bad flags fail fast with a message that names the flag.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { CreateJobCommand, ListJobsCommand } from '@aws-sdk/client-s3-control';

import { projectRoot } from '../../src/stack/tools';
import { stackEndpoints } from '../helpers';
import { admin, engineClient, jobInput, uniqueAccountId } from '../support/engine';

const BIN = path.join(projectRoot(), 'bin', 's3-campaigns.js');
const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:cli-test';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lb-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('prints one ready line, applies --lambda and --faults, and exits 0 on SIGTERM', async () => {
  const faultsFile = path.join(dir, 'faults.json');
  writeFileSync(
    faultsFile,
    JSON.stringify({ rules: [{ id: 'from-file', match: { keyPrefix: 'x/' }, errorCode: 'SlowDown' }] }),
  );
  const child = spawn(
    process.execPath,
    [
      BIN,
      'local-batch',
      '--port',
      '0',
      '--s3-endpoint',
      stackEndpoints().s3Endpoint,
      '--state-dir',
      path.join(dir, 'state'),
      '--lambda',
      `${ARN}=http://127.0.0.1:9/`,
      '--faults',
      faultsFile,
      '--max-active-jobs',
      '2',
    ],
    { env: { ...process.env, S3C_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 30_000;
    while (!stdout.includes('\n')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ready line; stderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const match = /^local-batch ready (http:\/\/127\.0\.0\.1:\d+)\n$/.exec(stdout);
    expect(match).not.toBeNull();
    const url = match![1]!;

    expect((await admin(url, 'GET', '/_local/faults')).json).toEqual([
      { id: 'from-file', match: { keyPrefix: 'x/' }, errorCode: 'SlowDown' },
    ]);
    const control = engineClient(url);
    try {
      const accountId = uniqueAccountId();
      const manifest = {
        Spec: { Format: 'S3BatchOperations_CSV_20180820' as const, Fields: ['Bucket' as const, 'Key' as const] },
        Location: { ObjectArn: 'arn:aws:s3:::cli-bucket/m.csv', ETag: 'e' },
      };
      // Accepted because --lambda registered the function (an unregistered one is an InvalidRequest).
      const { JobId } = await control.send(
        new CreateJobCommand(jobInput({ accountId, manifest, operation: { LambdaInvoke: { FunctionArn: ARN } } })),
      );
      expect((await control.send(new ListJobsCommand({ AccountId: accountId }))).Jobs?.map((j) => j.JobId)).toEqual([
        JobId,
      ]);
    } finally {
      control.destroy();
    }
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(stdout.split('\n').filter(Boolean)).toHaveLength(1);
});

test.each<[string, string, string | null, RegExp]>([
  [
    'a port out of range',
    '--port',
    '70000',
    /--port must be 0 \(any free port\) or a port number up to 65535, got "70000"/,
  ],
  ['an S3 endpoint that is not a URL', '--s3-endpoint', 'localhost:4566', /--s3-endpoint must be/],
  ['no --state-dir', '--state-dir', null, /required option '--state-dir <dir>' not specified/],
  ['no --s3-endpoint', '--s3-endpoint', null, /required option '--s3-endpoint <url>' not specified/],
  [
    'a task concurrency of 0',
    '--task-concurrency',
    '0',
    /--task-concurrency must be a whole number from 1 to 1024, got "0"/,
  ],
  ['a Lambda mapping without a target', '--lambda', 'arn:aws:lambda:us-east-1:1:function:f', /invalid Lambda mapping/],
  ['a region that is not one', '--region', 'mars', /--region must be an AWS region such as us-east-1/],
  [
    'a restore latency that is no duration',
    '--restore-latency',
    '5 minutes',
    /--restore-latency must be a duration such as 30s, 2m or 1h \(0 = restores complete at once\), at most 30d, got "5 minutes"/,
  ],
  [
    'a faults file that does not exist',
    '--faults',
    '/nonexistent/faults.json',
    /--faults \/nonexistent\/faults\.json: cannot read fault rules/,
  ],
])('%s fails with exit code 2 and says so', (_name, flag, value, message) => {
  const flags: Record<string, string | null> = {
    '--port': '0',
    '--s3-endpoint': stackEndpoints().s3Endpoint,
    '--state-dir': path.join(dir, 'never-used'),
  };
  flags[flag] = value;
  const args = Object.entries(flags).flatMap(([k, v]) => (v === null ? [] : [k, v]));
  const res = spawnSync(process.execPath, [BIN, 'local-batch', ...args], { encoding: 'utf8', timeout: 30_000 });
  expect(res.status).toBe(2);
  expect(res.stderr).toMatch(message);
  expect(res.stdout).not.toMatch(/ready/);
});
