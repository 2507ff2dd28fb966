/**
 * `s3-campaigns dev` as an operator runs it: a subprocess that owns four servers. It must stop all of them on a
 * signal, and must refuse (exit 2) an explicit port that another process already holds instead of joining it. Its
 * demo (the README's main command) runs the flagship restore-and-copy campaign for real, and a restart leaves no
 * campaign pointing at S3 data that is gone.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { WorkflowNotFoundError } from '@temporalio/client';

import { demoBody, demoObjects, DEMO_REPORT_BUCKET, DEMO_TARGET_BUCKET } from '../../src/demo/data';
import { DEMO_TARGET_PREFIX } from '../../src/demo';
import { canConnect, freePort } from '../../src/stack/process';
import { CLI_BIN, runCli } from '../support/cli';
import { killGroup, startDev, stopDev, withDevClients, type DevRun } from '../support/dev';

const PORT_FLAGS = ['--temporal-port', '--ui-port', '--s3-port', '--engine-port'] as const;

async function devPorts(): Promise<Record<(typeof PORT_FLAGS)[number], number>> {
  const [temporal, ui, s3, engine] = await Promise.all(PORT_FLAGS.map(() => freePort()));
  return { '--temporal-port': temporal!, '--ui-port': ui!, '--s3-port': s3!, '--engine-port': engine! };
}

function portArgs(ports: Record<string, number>): string[] {
  return Object.entries(ports).flatMap(([flag, port]) => [flag, String(port)]);
}

/** Runs `fn` with a TCP listener on a free port of 127.0.0.1 that answers (and holds) connections. */
async function withBusyPort<T>(fn: (port: number) => Promise<T>): Promise<T> {
  const server = net.createServer((sock) => sock.end());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  try {
    return await fn((server.address() as net.AddressInfo).port);
  } finally {
    await new Promise((r) => server.close(r));
  }
}

describe('s3-campaigns dev', () => {
  test.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
    '%s stops the worker and every server, removes endpoints.json and exits 0 without an error line',
    async (signal) => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-dev-signal-'));
      try {
        const ports = await devPorts();
        const child = spawn(process.execPath, [CLI_BIN, 'dev', '--dir', dir, ...portArgs(ports)], {
          env: { ...process.env, S3C_LOG_LEVEL: 'warn' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
          child.once('exit', (code, sig) => resolve({ code, signal: sig })),
        );
        try {
          await new Promise<void>((resolve, reject) => {
            const check = () => {
              if (stdout.includes('Press Ctrl-C to stop.')) resolve();
            };
            child.stdout.on('data', check);
            void exited.then(() => reject(new Error(`dev exited before it was up:\n${stdout}\n${stderr}`)));
          });
          expect(existsSync(path.join(dir, 'endpoints.json'))).toBe(true);
          child.kill(signal);
          expect(await exited).toEqual({ code: 0, signal: null });
        } finally {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        }
        expect(stderr).not.toMatch(/^s3-campaigns: /m);
        expect(stdout).toContain('Stopping');
        const listening = await Promise.all(
          Object.entries(ports).map(async ([flag, port]) => ((await canConnect('127.0.0.1', port)) ? flag : '')),
        );
        expect(listening.filter(Boolean)).toEqual([]);
        expect(existsSync(path.join(dir, 'endpoints.json'))).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test.each(PORT_FLAGS)('an explicit %s that another process holds exits 2 and names the port', async (flag) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-dev-busy-'));
    try {
      const ports = await devPorts();
      await withBusyPort(async (busy) => {
        const res = await runCli(['dev', '--dir', dir, ...portArgs({ ...ports, [flag]: busy })], {}, 120_000);
        expect(res.code).toBe(2);
        expect(res.stderr).toContain(`${flag} ${busy}: port ${busy} on 127.0.0.1 is already in use`);
        expect(res.stdout).not.toContain('local stack is up');
        // Nothing it started is left behind.
        const others = Object.entries(ports).filter(([f]) => f !== flag);
        for (const [, port] of others) expect(await canConnect('127.0.0.1', port)).toBe(false);
        expect(existsSync(path.join(dir, 'endpoints.json'))).toBe(false);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dev --metrics-port', () => {
  test("serves the worker's /metrics, /healthz and /readyz while dev runs, and closes them when it stops", () =>
    withDevDir(async (dir, started) => {
      const port = await freePort();
      const dev = await startDev(dir, ['--no-demo-data', '--metrics-port', String(port)]);
      started.push(dev);
      await dev.waitFor('Press Ctrl-C to stop.');
      expect(dev.output()).toContain(`Worker metrics: http://127.0.0.1:${port}/metrics`);
      const get = async (p: string) => {
        const res = await fetch(`http://127.0.0.1:${port}${p}`);
        return { status: res.status, body: await res.text() };
      };
      expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
      expect((await get('/readyz')).status).toBe(200);
      // The SDK's worker metrics; the connectivity check ran a workflow through this worker.
      const metrics = (await get('/metrics')).body;
      expect(metrics).toMatch(/^temporal_worker_task_slots_available\{/m);
      expect(metrics).toMatch(/^temporal_workflow_completed_total\{.*\} [1-9]/m);
      expect(await stopDev(dev)).toBe(0);
      expect(await canConnect('127.0.0.1', port)).toBe(false);
    }));
});

async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

async function bodyOf(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/** Runs `fn` with a fresh `--dir`, then stops every dev it started and removes the dir. */
async function withDevDir(fn: (dir: string, started: DevRun[]) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-dev-'));
  const started: DevRun[] = [];
  try {
    await fn(dir, started);
  } finally {
    for (const d of started) killGroup(d);
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('dev --demo', () => {
  test('without a terminal (the README main command in CI) it runs the restore-and-copy flagship to success and stops', () =>
    withDevDir(async (dir, started) => {
      const dev = await startDev(dir, ['--demo', '--restore-latency', '3s'], { CI: 'true' });
      started.push(dev);
      expect(await dev.exited).toBe(0);
      const out = dev.output();
      expect(out).toContain('approving it myself as "demo"');
      expect(out).toMatch(/sorted 41 objects: 26 need a restore, 15 readable now/);
      // The waves show as they happen: at least two, each started and then ended.
      expect(out).toMatch(/wave 1 started: .*\n[\s\S]*wave 1 Succeeded/);
      expect(out).toMatch(/wave 2 started: .*\n[\s\S]*wave 2 Succeeded/);
      expect(out).toContain('large objects: 2 copied by the worker');
      expect(out).toMatch(/Campaign Succeeded: 41\/41 objects, 0 failed/);
      expect(out).toContain('failed.csv:     0 rows');
      expect(out).toContain('large objects:  2/2 copied by the worker (12 MiB)');
      expect(out).toContain(`s3://${DEMO_TARGET_BUCKET}/${DEMO_TARGET_PREFIX} now holds 41 objects`);
    }));

  test('with --wait-for-approval it waits for an approve from another shell; the copies and the report are real', () =>
    withDevDir(async (dir, started) => {
      const dev = await startDev(dir, ['--demo', '--wait-for-approval', '--restore-latency', '3s']);
      started.push(dev);
      const waiting = await dev.waitFor('Waiting for your decision');
      const id = /npx s3-campaigns approve (\S+) /.exec(waiting)?.[1];
      expect(id).toMatch(/^demo-restore-and-copy-/);
      const approve = await runCli(['approve', id!, '--by', 'tester', '--note', 'from the test'], {
        S3C_DEV_ENDPOINTS: dev.endpointsFile,
      });
      expect(approve.code).toBe(0);
      await dev.waitFor('The stack keeps running');
      await withDevClients(dev, async ({ s3 }) => {
        // Every demo object is in the target, byte for byte, the two large ones included.
        const objects = demoObjects();
        expect(await listKeys(s3, DEMO_TARGET_BUCKET, DEMO_TARGET_PREFIX)).toEqual(
          objects.map((o) => `${DEMO_TARGET_PREFIX}${o.key}`).sort(),
        );
        for (const o of objects.filter((x) => x.bytes > 2 ** 20 || x.key.includes('ü'))) {
          expect((await bodyOf(s3, DEMO_TARGET_BUCKET, `${DEMO_TARGET_PREFIX}${o.key}`)).equals(demoBody(o))).toBe(
            true,
          );
        }
        const report = JSON.parse(
          (await bodyOf(s3, DEMO_REPORT_BUCKET, `campaigns/${id}/campaign.json`)).toString(),
        ) as {
          outcome: string;
          totals: Record<string, number>;
          restoreAndCopy: { waves: unknown[]; largeObjects: { copied: number }; sorted: { counts: object } };
          failedObjects: { count: number };
        };
        expect(report.outcome).toBe('Succeeded');
        expect(report.totals).toMatchObject({ objects: 41, succeeded: 41, failed: 0 });
        expect(report.restoreAndCopy.sorted.counts).toMatchObject({ requested: 26, 'skipped-restored': 15 });
        expect(report.restoreAndCopy.waves.length).toBeGreaterThanOrEqual(2);
        expect(report.restoreAndCopy.largeObjects.copied).toBe(2);
        expect(report.failedObjects.count).toBe(0);
        const failedCsv = (await bodyOf(s3, DEMO_REPORT_BUCKET, `campaigns/${id}/failed.csv`)).toString();
        expect(failedCsv.trim().split('\n')).toHaveLength(1);
      });
      expect(await stopDev(dev)).toBe(0);
    }));

  test('--demo restore runs the restore demo to success and stops', () =>
    withDevDir(async (dir, started) => {
      const dev = await startDev(dir, ['--demo', 'restore'], { CI: 'true' });
      started.push(dev);
      expect(await dev.exited).toBe(0);
      expect(dev.output()).toMatch(/Campaign Succeeded: 29\/29 objects, 0 failed, 1 job\(s\)/);
      expect(dev.output()).toMatch(/x-amz-restore: ongoing-request="false"/);
    }));
});

describe('dev restarts', () => {
  test('a restart starts Temporal fresh; --keep-history keeps it and terminates, by name, the campaign whose data is gone', () =>
    withDevDir(async (dir, started) => {
      const env = { S3C_DEV_ENDPOINTS: path.join(dir, 'endpoints.json') };
      const first = await startDev(dir, []);
      started.push(first);
      await first.waitFor('Press Ctrl-C to stop.');
      const example = path.join(__dirname, '..', '..', 'examples', 'local', 'restore.json');
      const start = await runCli(['start', example, '--id', 'restart-me'], env);
      expect(start.code).toBe(0);
      const awaiting = () =>
        withDevClients(first, async ({ client }) => {
          for (;;) {
            const d = await client.workflow.getHandle('restart-me').describe();
            if (d.searchAttributes.CampaignPhase?.[0] === 'AwaitingApproval') return d.status.name;
            await new Promise((r) => setTimeout(r, 500));
          }
        });
      expect(await awaiting()).toBe('RUNNING');
      expect(await stopDev(first)).toBe(0);

      const kept = await startDev(dir, ['--keep-history']);
      started.push(kept);
      const out = await kept.waitFor('Press Ctrl-C to stop.');
      expect(out).toContain("Kept Temporal's history of the last run (--keep-history)");
      expect(out).toMatch(
        /Terminated 1 campaign\(s\) the last run left open; their S3 data is gone:\n {2}restart-me\n/,
      );
      await withDevClients(kept, async ({ client }) => {
        const d = await client.workflow.getHandle('restart-me').describe();
        expect(d.status.name).toBe('TERMINATED');
      });
      expect(await stopDev(kept)).toBe(0);

      const fresh = await startDev(dir, []);
      started.push(fresh);
      expect(await fresh.waitFor('Press Ctrl-C to stop.')).toContain('Fresh start: S3 (moto) keeps its data in memory');
      await withDevClients(fresh, async ({ client }) => {
        await expect(client.workflow.getHandle('restart-me').describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
      });
      expect(await stopDev(fresh)).toBe(0);
    }));
});
