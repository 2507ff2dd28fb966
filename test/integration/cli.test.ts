/**
 * End-to-end CLI tests: `s3-campaigns` run as a subprocess, output and exit codes checked.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';

import { stackEndpoints, uniqueName, withBucket } from '../helpers';
import { statusQuery } from '../../src/shared/campaign';
import {
  listJobs,
  putObjects,
  randomAccount,
  testSpec,
  waitForPhase,
  waitForStatus,
  withCampaignWorker,
} from '../support/campaign';
import { localAwsEnv as awsEnv, runCli as cli, withSpecFile } from '../support/cli';

describe('s3-campaigns CLI', () => {
  test('start → status → approve → status --json, against a running worker', async () => {
    await withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, ['one.txt', 'two words.txt']);
      await withCampaignWorker(async (h) => {
        const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-cli-'));
        try {
          const specFile = path.join(dir, 'spec.json');
          writeFileSync(
            specFile,
            JSON.stringify(
              testSpec(h, bucket, { source: { type: 'keys', bucket, keys: ['one.txt', 'two words.txt'] } }),
            ),
          );
          const env = { TEMPORAL_ADDRESS: stackEndpoints().temporalAddress, TEMPORAL_TASK_QUEUE: h.taskQueue };
          const id = uniqueName('cli-campaign');
          const started = await cli(['start', specFile, '--id', id], env);
          expect(started).toMatchObject({ code: 0, stdout: `${id}\n` });
          // The UI shows what the campaign is from the start.
          const described = await h.client.workflow.getHandle(id).describe();
          expect(await described.staticSummary()).toBe(`put-tags · ${JSON.parse(readFileSync(specFile, 'utf8')).name}`);
          expect(await described.staticDetails()).toContain(`- source: 2 key(s) in s3://${bucket}`);

          let status = await cli(['status', id], env);
          for (let i = 0; i < 100 && !status.stdout.includes('AWAITING APPROVAL'); i++) {
            await new Promise((r) => setTimeout(r, 200));
            status = await cli(['status', id], env);
          }
          expect(status.stdout).toContain('AWAITING APPROVAL: 2 objects');
          expect(status.stdout).toContain(`s3-campaigns approve ${id}`);
          // The cost of the decision is on the same screen: 1 job + 2 objects + 2 PUT requests at list prices.
          expect(status.stdout).toMatch(/Batch Operations job/);
          expect(status.stdout).toMatch(/\$0\.2[5-9]/);

          const approved = await cli(['approve', id, '--by', 'carol', '--note', 'ok'], env);
          expect(approved.code).toBe(0);
          expect(approved.stdout).toMatch(/^approved: job\(s\) [0-9a-f-]{36}\n$/);

          const again = await cli(['approve', id], env);
          expect(again.code).toBe(1);
          // Refused by the validator (nothing awaits approval) or, if the campaign already ended, in our words.
          expect(again.stderr).toMatch(
            new RegExp(
              `approve refused: .*not awaiting approval|campaign ${id} already ended \\(Succeeded\\): nothing to approve`,
            ),
          );
          expect(again.stderr).not.toMatch(/workflow execution already completed/);

          let json = JSON.parse((await cli(['status', id, '--json'], env)).stdout) as {
            phase: string;
            outcome?: string;
            jobs: Array<{ approval?: { by: string } }>;
          };
          for (let i = 0; i < 100 && json.phase !== 'Done'; i++) {
            await new Promise((r) => setTimeout(r, 200));
            json = JSON.parse((await cli(['status', id, '--json'], env)).stdout);
          }
          expect(json.outcome).toBe('Succeeded');
          expect(json.jobs[0]?.approval?.by).toBe('carol');

          // The operator's views of the finished campaign.
          const watched = await cli(['status', id, '--watch'], env);
          expect(watched.code).toBe(0);
          expect(watched.stdout).toMatch(/Done\s+\[#{24}\] 100% 2\/2 2 ok 0 failed/);
          const report = await cli(['report', id], { ...env, ...awsEnv() });
          expect(report.code).toBe(0);
          expect(report.stdout).toContain('— Succeeded');
          expect(report.stdout).toMatch(/objects 2, succeeded 2, failed 0, jobs 1/);
          expect(report.stdout).toMatch(/approved by carol/);
          expect(report.stdout).toContain(
            `objects that did not succeed: s3://${bucket}/campaigns/${id}/failed.csv (0)`,
          );
          expect(JSON.parse((await cli(['report', id, '--json'], { ...env, ...awsEnv() })).stdout).outcome).toBe(
            'Succeeded',
          );
          let listed: Array<{ workflowId: string; phase?: string; objects?: number }> = [];
          for (let i = 0; i < 50 && !listed.some((r) => r.workflowId === id && r.phase === 'Succeeded'); i++) {
            listed = JSON.parse(
              (await cli(['list', '--operation', 'put-tags', '--phase', 'Succeeded', '--json'], env)).stdout,
            );
            await new Promise((r) => setTimeout(r, 200));
          }
          expect(listed.find((r) => r.workflowId === id)).toMatchObject({ phase: 'Succeeded', objects: 2 });
          const table = await cli(['list', '--operation', 'put-tags'], env);
          expect(table.stdout).toMatch(new RegExp(`${id}\\s+\\S+\\s+put-tags\\s+Succeeded\\s+2\\s+0`));
          const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'two words.txt' }));
          expect(tags.TagSet).toEqual([{ Key: 'done', Value: 'yes' }]);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    });
  });

  test('cancel: the job awaiting approval is cancelled and the report says Cancelled', async () => {
    await withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, ['c.txt']);
      await withCampaignWorker(async (h) => {
        const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-cli-'));
        try {
          const specFile = path.join(dir, 'spec.json');
          writeFileSync(
            specFile,
            JSON.stringify(testSpec(h, bucket, { source: { type: 'keys', bucket, keys: ['c.txt'] } })),
          );
          const env = { TEMPORAL_ADDRESS: stackEndpoints().temporalAddress, TEMPORAL_TASK_QUEUE: h.taskQueue };
          const id = uniqueName('cli-cancel');
          expect((await cli(['start', specFile, '--id', id], env)).code).toBe(0);
          await waitForPhase(h.client.workflow.getHandle(id), 'AwaitingApproval');
          const res = await cli(['cancel', id], env);
          expect(res).toMatchObject({ code: 0 });
          expect(res.stdout).toContain('cancellation requested');
          await expect(h.client.workflow.getHandle(id).result()).rejects.toThrow();
          const [job] = await listJobs(h.accountId);
          expect(job?.Status).toBe('Cancelled');
          const report = await cli(['report', id], { ...env, ...awsEnv() });
          expect(report.code).toBe(0);
          expect(report.stdout).toContain('— Cancelled');
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    });
  });

  test('a failed campaign: status says why and where the report is; approve, reject and cancel say it ended', async () => {
    await withBucket(async (bucket) => {
      await withCampaignWorker(async (h) => {
        // Neither key exists: every task fails with NoSuchKey, a permanent error, so the campaign fails.
        const spec = testSpec(h, bucket, {
          source: { type: 'keys', bucket, keys: ['gone-1.txt', 'gone-2.txt'] },
          approval: { required: false },
        });
        const env = { TEMPORAL_ADDRESS: stackEndpoints().temporalAddress, TEMPORAL_TASK_QUEUE: h.taskQueue };
        const id = uniqueName('cli-failed');
        await withSpecFile(spec, async (file) => {
          expect((await cli(['start', file, '--id', id], env)).code).toBe(0);
        });
        const handle = h.client.workflow.getHandle(id);
        const done = await waitForStatus(handle, (st) => st.phase === 'Done', 'the campaign to end');
        expect(done.outcome).toBe('Failed');

        const status = await cli(['status', id], env);
        expect(status.code).toBe(0);
        expect(status.stdout).toContain('  phase      Done → Failed\n  reason     2 object(s) failed\n');
        expect(status.stdout).toContain(`  report     s3://${bucket}/campaigns/${id}/campaign.json`);

        for (const verb of ['approve', 'reject', 'cancel']) {
          const res = await cli([verb, id], env);
          expect({ verb, code: res.code, stderr: res.stderr }).toEqual({
            verb,
            code: 1,
            stderr: `s3-campaigns: campaign ${id} already ended (Failed): nothing to ${verb}\n`,
          });
        }
        // Still the same campaign, untouched.
        expect((await handle.query(statusQuery)).outcome).toBe('Failed');

        const unknown = await cli(['status', `${id}-nope`], env);
        expect(unknown).toMatchObject({
          code: 1,
          stderr: `s3-campaigns: no campaign ${id}-nope in namespace default at ${stackEndpoints().temporalAddress}\n`,
        });
      });
    });
  });

  test('schedule create with an id in use exits 2 and says so', async () => {
    const env = { TEMPORAL_ADDRESS: stackEndpoints().temporalAddress, TEMPORAL_TASK_QUEUE: uniqueName('tq-idle') };
    const id = uniqueName('cli-schedule-twice');
    await withSpecFile(testSpec({ accountId: randomAccount() }, 'no-such-bucket-needed', {}), async (file) => {
      const args = ['schedule', 'create', file, '--id', id, '--every', '24h', '--paused'];
      expect(await cli(args, env)).toMatchObject({ code: 0, stdout: `${id}\n` });
      try {
        const again = await cli(args, env);
        expect(again).toEqual({
          code: 2,
          stdout: '',
          stderr:
            `s3-campaigns: schedule ${id} already exists in namespace default at ${env.TEMPORAL_ADDRESS}; choose ` +
            `another --id, or delete it first (s3-campaigns schedule delete ${id})\n`,
        });
      } finally {
        expect((await cli(['schedule', 'delete', id], env)).code).toBe(0);
      }
      const gone = await cli(['schedule', 'describe', id], env);
      expect(gone.stderr).toBe(`s3-campaigns: no schedule ${id} in namespace default at ${env.TEMPORAL_ADDRESS}\n`);
    });
  });

  test('start with an invalid spec exits 2 and names each bad field', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-cli-'));
    try {
      const specFile = path.join(dir, 'bad.json');
      writeFileSync(
        specFile,
        JSON.stringify({
          name: 'x',
          accountId: '1',
          region: 'us-east-1',
          roleArn: 'nope',
          source: { type: 'keys', bucket: 'my-bucket', keys: ['a'] },
          operation: { type: 'restore', tier: 'EXPEDITED' },
          report: { bucket: 'my-bucket' },
        }),
      );
      const res = await cli(['start', specFile], { TEMPORAL_ADDRESS: stackEndpoints().temporalAddress });
      expect(res.code).toBe(2);
      expect(res.stderr).toContain('accountId must be 12 digits');
      expect(res.stderr).toContain('roleArn must be an IAM role ARN');
      expect(res.stderr).toContain('operation.tier');
      const missing = await cli(['start', path.join(dir, 'nope.json')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('cannot read');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    [['dev', '--ui-port', 'abc'], 's3-campaigns dev: --ui-port must be a port number from 1 to 65535, got "abc"'],
    [['list', '--limit', '0'], 's3-campaigns list: --limit must be 1–1000, got "0"'],
    [
      ['list', '--phase', 'bogus'],
      's3-campaigns list: --phase must be a phase (BuildingManifest, CreatingJobs, PreparingJobs, AwaitingApproval, ' +
        'Sorting, Tracking, Running, AnalyzingResults, WaitingToRetry, Reporting) or an outcome (Succeeded, CompletedWithFailures, ' +
        'Failed, Rejected, ApprovalExpired, Cancelled, NothingToDo), got "bogus"',
    ],
    [
      ['schedule', 'create', 'x.json', '--overlap', 'never'],
      's3-campaigns schedule create: --overlap "never": Allowed choices are skip, buffer-one, buffer-all, ' +
        'cancel-other, terminate-other, allow-all',
    ],
    [['status'], "s3-campaigns status: missing required argument 'workflowId'"],
  ])('a bad command line %j exits 2 with one line that names the flag and points at --help', async (args, message) => {
    const res = await cli(args);
    expect(res).toEqual({
      code: 2,
      stdout: '',
      stderr: `${message}; see s3-campaigns ${args[0]}${args[0] === 'schedule' ? ' create' : ''} --help\n`,
    });
  });

  test('a bad variable exits 2 and names it', async () => {
    const cfg = await cli(['worker'], { TEMPORAL_ADDRESS: 'no port here' });
    expect(cfg.code).toBe(2);
    expect(cfg.stderr).toContain('TEMPORAL_ADDRESS must be host:port');
  });

  test('a spec with a JSON syntax error exits 2 and says line and column, with the line and a caret', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-cli-'));
    try {
      const file = path.join(dir, 'spec.json');
      writeFileSync(file, '{\n  "name": "x",\n  "region": "us-east-1"\n  "accountId": "111122223333"\n}\n');
      for (const command of ['start', 'estimate', 'iam-policy']) {
        const res = await cli([command, file], { TEMPORAL_ADDRESS: stackEndpoints().temporalAddress });
        expect(res.code).toBe(2);
        expect(res.stderr).toBe(
          `s3-campaigns: ${file} is not valid JSON: line 4, column 3: expected "," or "}" after a property value, ` +
            'found "\\""\n' +
            '      "accountId": "111122223333"\n' +
            '      ^\n',
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
