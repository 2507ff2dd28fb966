/**
 * Every CLI command from a second shell: a running `s3-campaigns dev` (its own Temporal, moto, engine and worker, its
 * endpoints.json in `<dir>/.local/dev/`), and commands run in `<dir>` with no AWS, Temporal or S3C variable, no
 * endpoint flag and a HOME of their own. They find the stack through endpoints.json; explicit variables still win;
 * once the stack is gone (killed, so the file stays), each says so in one line instead of a connection error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import type { DevEndpoints } from '../../src/cli/connect';
import type { CampaignStatus } from '../../src/shared/campaign';
import { canConnect, freePort } from '../../src/stack/process';
import { s3Client, stackEndpoints, uniqueName } from '../helpers';
import { putObjects, randomAccount, testSpec, writeDailyInventory } from '../support/campaign';
import { bareShellEnv, CLI_BIN, runCliIn, type CliResult } from '../support/cli';

let home: string;
/** The second shell's working directory: `.local/dev/endpoints.json` of the running dev is under it. */
let cwd: string;
let dev: ChildProcess;
let devExited: Promise<unknown>;
let endpoints: DevEndpoints;
let s3: S3Client;
const bucket = uniqueName('second-shell');
const campaignId = uniqueName('second-shell-campaign');

/** A command in the second shell; `env` adds variables to its bare environment. */
const shell = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
  runCliIn(cwd, args, bareShellEnv(home, env));

function writeSpec(name: string, spec: unknown): string {
  writeFileSync(path.join(cwd, name), JSON.stringify(spec));
  return name; // relative: the shell runs in cwd
}

async function statusJson(): Promise<CampaignStatus | undefined> {
  const res = await shell(['status', campaignId, '--json']);
  return res.code === 0 ? (JSON.parse(res.stdout) as CampaignStatus) : undefined;
}

async function waitFor(pred: (s: CampaignStatus) => boolean, what: string): Promise<CampaignStatus> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const s = await statusJson();
    if (s && pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(s?.phase)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 's3c-home-'));
  cwd = mkdtempSync(path.join(os.tmpdir(), 's3c-second-shell-'));
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const flags = ['--temporal-port', '--ui-port', '--s3-port', '--engine-port'].flatMap((f, i) => [f, String(ports[i])]);
  // Its own process group, so that the test can kill dev and every server it started at once, as a crash would.
  dev = spawn(process.execPath, [CLI_BIN, 'dev', '--dir', path.join(cwd, '.local', 'dev'), ...flags], {
    env: { ...process.env, S3C_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  dev.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  dev.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  devExited = new Promise((resolve) => dev.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    dev.stdout!.on('data', () => out.includes('Press Ctrl-C to stop.') && resolve());
    void devExited.then(() => reject(new Error(`dev exited before it was up:\n${out}`)));
  });
  endpoints = JSON.parse(readFileSync(path.join(cwd, '.local', 'dev', 'endpoints.json'), 'utf8')) as DevEndpoints;
  s3 = s3Client(endpoints.s3Endpoint);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await putObjects(s3, bucket, ['a.txt', 'b.txt']);
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: 'lists/tags.csv', Body: `${bucket},a.txt\n${bucket},b.txt\n` }),
  );
  await writeDailyInventory(s3, bucket, '2026-11-20T00:00:00Z', [
    ['a.txt', '2026-11-19T00:00:00Z'],
    ['b.txt', '2026-11-19T00:00:00Z'],
    ['c.txt', '2026-11-19T00:00:00Z'],
  ]);
}, 180_000);

afterAll(async () => {
  s3?.destroy();
  if (dev && dev.exitCode === null && dev.signalCode === null) {
    dev.kill('SIGTERM');
    await devExited;
  }
  rmSync(cwd, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

const account = randomAccount();
const csvSpec = () => ({
  ...testSpec({ accountId: account }, bucket, { source: { type: 'csv', manifest: `s3://${bucket}/lists/tags.csv` } }),
  name: 'second shell csv',
});

describe('a second shell finds the running dev stack through .local/dev/endpoints.json', () => {
  test('start, approve with a note, status (reason, s3:// report) and report (the note), nothing exported', async () => {
    // One key is missing: the campaign ends CompletedWithFailures, with a reason.
    const spec = writeSpec(
      'tags.json',
      testSpec({ accountId: account }, bucket, { source: { type: 'keys', bucket, keys: ['a.txt', 'gone.txt'] } }),
    );
    expect(await shell(['start', spec, '--id', campaignId])).toMatchObject({ code: 0, stdout: `${campaignId}\n` });
    await waitFor((s) => s.phase === 'AwaitingApproval', 'the approval step');
    const approved = await shell(['approve', campaignId, '--by', 'ops', '--note', 'checked from a second shell']);
    expect(approved).toMatchObject({ code: 0, stderr: '' });
    const done = await waitFor((s) => s.phase === 'Done', 'the campaign to end');
    expect(done.outcome).toBe('CompletedWithFailures');

    const status = await shell(['status', campaignId]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`  reason     ${done.outcomeReason}\n`);
    expect(done.outcomeReason).toMatch(/1 object\(s\) failed/);
    expect(status.stdout).toContain(`  report     s3://${bucket}/campaigns/${campaignId}/campaign.json`);

    const report = await shell(['report', campaignId]);
    expect(report.stderr).not.toMatch(/^s3-campaigns/m);
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/— CompletedWithFailures \(1 object\(s\) failed/);
    expect(report.stdout).toMatch(/\napproval: approved by ops at \S+ \(job #0\): "checked from a second shell"\n/);

    const listed = await shell(['list', '--phase', 'completedwithfailures', '--json']);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as Array<{ workflowId: string }>).map((r) => r.workflowId)).toContain(campaignId);
  });

  test('estimate, iam-policy and manifest read the dev stack S3', async () => {
    const spec = writeSpec('csv.json', csvSpec());
    const estimate = await shell(['estimate', spec]);
    expect(estimate.stderr).not.toMatch(/^s3-campaigns/m);
    expect(estimate.code).toBe(0);
    expect(estimate.stdout).toContain('  objects  2 selected of 2 read, in 1 job');
    expect(estimate.stdout).toContain(
      `read from the dev stack's S3 at ${endpoints.s3Endpoint} (${path.join('.local', 'dev', 'endpoints.json')})`,
    );

    const policy = await shell(['iam-policy', spec, '--json']);
    expect(policy.code).toBe(0);
    const out = JSON.parse(policy.stdout) as { warnings: string[]; permissionsPolicy: unknown };
    // The source bucket was read from the CSV in the dev stack's S3: no "could not read" warning, no "*".
    expect(out.warnings.filter((w) => /Could not read/.test(w))).toEqual([]);
    expect(JSON.stringify(out.permissionsPolicy)).toContain(`arn:aws:s3:::${bucket}/*`);

    const manifest = await shell([
      'manifest',
      '--inventory',
      `s3://${bucket}/inv/${bucket}/daily/`,
      '--out',
      `s3://${bucket}/manifests/second-shell`,
    ]);
    expect(manifest.stderr).not.toMatch(/^s3-campaigns/m);
    expect(manifest.code).toBe(0);
    expect(JSON.parse(manifest.stdout)).toMatchObject({ rowsSelected: 3 });
  });

  test('the environment still wins over endpoints.json, and S3C_DEV_ENDPOINTS=none ignores it', async () => {
    const spec = writeSpec('csv.json', csvSpec());
    // The test run's own Temporal does not know the dev stack's campaign.
    const test = stackEndpoints();
    const elsewhere = await shell(['status', campaignId], { TEMPORAL_ADDRESS: test.temporalAddress });
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toBe(
      `s3-campaigns: no campaign ${campaignId} in namespace default at ${test.temporalAddress}\n`,
    );
    // The test run's moto has no such bucket.
    const otherS3 = await shell(['estimate', spec], { S3C_S3_ENDPOINT: test.s3Endpoint });
    expect(otherS3.code).toBe(1);
    expect(otherS3.stderr).toMatch(/reading the source failed: .*(NoSuchBucket|does not exist)/);
    expect(otherS3.stderr).not.toContain("dev stack's S3");
    // Without the dev stack nothing names an S3 endpoint or a region: the SDK's own chain fails.
    const none = await shell(['estimate', spec], { S3C_DEV_ENDPOINTS: 'none' });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('reading the source failed');
  });

  test('once the dev stack is killed, the file it left makes each command say so in one line', async () => {
    process.kill(-dev.pid!, 'SIGKILL');
    await devExited;
    for (const port of ['temporalAddress', 's3Endpoint'] as const) {
      const m = /:(\d+)\/?$/.exec(endpoints[port]!)!;
      for (let i = 0; i < 50 && (await canConnect('127.0.0.1', Number(m[1]))); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      // Its servers died with it: nothing answers where the file points.
      expect({ port, answers: await canConnect('127.0.0.1', Number(m[1])) }).toEqual({ port, answers: false });
    }
    const line =
      `s3-campaigns: the dev stack that wrote ${path.join('.local', 'dev', 'endpoints.json')} is not running ` +
      `(its process ${dev.pid} has exited): start it again with \`s3-campaigns dev --dir ${path.join('.local', 'dev')}\`, ` +
      'or delete that file (or set S3C_DEV_ENDPOINTS=none) to use the servers your environment names\n';
    const spec = writeSpec('csv.json', csvSpec());
    for (const args of [
      ['status', campaignId],
      ['report', campaignId],
      ['approve', campaignId],
      ['list'],
      ['schedule', 'list'],
      ['estimate', spec],
      ['iam-policy', spec],
    ]) {
      const res = await shell(args);
      expect({ args, code: res.code, stderr: res.stderr }).toEqual({ args, code: 1, stderr: line });
    }
    // A command that needs no server is not held up by the file.
    const keys = writeSpec('keys.json', testSpec({ accountId: account }, bucket, {}));
    expect((await shell(['estimate', keys])).code).toBe(0);
  });
});

test('an endpoints.json without a pid (an older dev) is stale when nothing answers at its Temporal address', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-stale-'));
  const homeDir = mkdtempSync(path.join(os.tmpdir(), 's3c-home-'));
  try {
    const port = await freePort();
    mkdirSync(path.join(dir, '.local', 'dev'), { recursive: true });
    writeFileSync(
      path.join(dir, '.local', 'dev', 'endpoints.json'),
      JSON.stringify({ temporalAddress: `127.0.0.1:${port}`, s3Endpoint: `http://127.0.0.1:${port}` }),
    );
    const res = await runCliIn(dir, ['status', 'any-campaign'], bareShellEnv(homeDir));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      new RegExp(
        `^s3-campaigns: the dev stack that wrote \\.local/dev/endpoints\\.json is not running \\(nothing answers at ` +
          `127\\.0\\.0\\.1:${port}\\): [^\\n]*\\n$`,
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(homeDir, { recursive: true, force: true });
  }
});
