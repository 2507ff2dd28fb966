/**
 * The worker's metrics and health port, and its graceful shutdown, on a real `s3-campaigns worker` process:
 * - `/metrics` serves the SDK's worker metrics and the campaign metrics, and the campaign numbers move by exactly
 *   what a real campaign did; `/healthz` and `/readyz` answer as Kubernetes probes expect.
 * - SIGTERM with a manifest build and a round analysis in flight: readiness drops at once, the running activities
 *   are handed over when the grace period ends, the process exits 0, and the next worker finishes both campaigns
 *   (the build resuming from its heartbeat, not from the first file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import type { WorkflowHandle } from '@temporalio/client';

import type { ManifestProgress } from '../../src/inventory';
import { approveUpdate, type CampaignResult } from '../../src/shared/campaign';
import { freePort } from '../../src/stack/process';
import { projectRoot } from '../../src/stack/tools';
import { s3Client, stackEndpoints, temporalClient, uniqueName, waitFor, withBucket } from '../helpers';
import { pendingActivity } from '../support/activity-history';
import {
  putObjects,
  randomAccount,
  testSpec,
  waitForPhase,
  withCampaignWorker,
  workerEnv,
  writeDailyInventory,
} from '../support/campaign';
import { HoldProxy } from '../support/hold-proxy';

interface WorkerProc {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}

async function startWorker(taskQueue: string, env: NodeJS.ProcessEnv = {}): Promise<WorkerProc> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(projectRoot(), 'bin', 's3-campaigns.js'), 'worker'], {
    env: { ...process.env, ...workerEnv(taskQueue), S3C_METRICS_PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const w = { child, port, output: () => output, exited };
  await waitFor(
    `the worker's /readyz (output so far: ${output})`,
    () => get(w, '/readyz').catch(() => ({ status: 0, body: '' })),
    (r) => r.status === 200,
    120_000,
  );
  return w;
}

async function get(w: WorkerProc, p: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${w.port}${p}`, { method });
  return { status: res.status, body: await res.text() };
}

/** The sum of a metric's samples whose labels include `labels` (Prometheus text format). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** The worker's exit code; fails with its output if it has not exited within `ms`. */
async function exitOf(w: WorkerProc, ms = 90_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the worker did not exit; its output:\n${w.output()}`)), ms);
  });
  return await Promise.race([w.exited, late]).finally(() => clearTimeout(timer));
}

async function stopWorker(w: WorkerProc): Promise<number | null> {
  w.child.kill('SIGTERM');
  return await exitOf(w);
}

describe('the worker port: /metrics, /healthz, /readyz', () => {
  test('probes answer, and the campaign metrics move by what a real campaign did', async () => {
    await withBucket(async (bucket, s3) => {
      const keys = Array.from({ length: 5 }, (_, i) => `m/${i}.txt`);
      await putObjects(s3, bucket, keys);
      const taskQueue = uniqueName('tq-metrics');
      const w = await startWorker(taskQueue);
      const { client, connection } = await temporalClient();
      try {
        expect(await get(w, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
        const ready = JSON.parse((await get(w, '/readyz')).body) as {
          ready: boolean;
          checks: Array<{ name: string; ok: boolean; detail: string }>;
        };
        expect(ready.ready).toBe(true);
        // A healthy start warns about nothing (the heavy queue's worker has no workflows by design).
        expect(
          w
            .output()
            .split('\n')
            .filter((l) => l.includes('"level":"warn"')),
        ).toEqual([]);
        expect(ready.checks.map((c) => [c.name, c.ok])).toEqual([
          ['worker', true],
          ['temporal', true],
          ['s3', true],
        ]);
        expect(ready.checks[0]!.detail).toContain(taskQueue);
        // Both queues the worker serves are polled: the campaign queue and its heavy queue.
        expect(ready.checks[0]!.detail).toContain(`${taskQueue}-heavy (heavy)`);
        expect((await get(w, '/nope')).status).toBe(404);
        expect((await get(w, '/metrics', 'POST')).status).toBe(405);

        const before = (await get(w, '/metrics')).body;
        const accountId = randomAccount();
        const id = uniqueName('metrics');
        const handle: WorkflowHandle = await client.workflow.start('campaignWorkflow', {
          taskQueue,
          workflowId: id,
          args: [
            testSpec({ accountId }, bucket, {
              source: { type: 'keys', bucket, keys },
              approval: { required: true, timeout: '10m' },
            }),
          ],
        });
        await waitForPhase(handle, 'AwaitingApproval');
        // The gauge comes from the visibility store, which lags the workflow by a moment and is cached for 15 s.
        await waitFor(
          'the running-campaigns gauge to count the campaign awaiting approval',
          async () => (await get(w, '/metrics')).body,
          (t) => sample(t, 's3_campaigns_campaigns_running', { phase: 'AwaitingApproval' }) >= 1,
          90_000,
        );
        await handle.executeUpdate(approveUpdate, { args: [{ by: 'metrics-test' }] });
        const result = (await handle.result()) as CampaignResult;
        expect(result.outcome).toBe('Succeeded');

        // Workflow metrics reach the exporter through the SDK's sink, a moment after the workflow task.
        const op = { operation: 'put-tags' };
        const after = await waitFor(
          'the ended campaign in /metrics',
          async () => (await get(w, '/metrics')).body,
          (t) =>
            sample(t, 's3_campaigns_campaigns_ended_total', { ...op, outcome: 'Succeeded' }) >
            sample(before, 's3_campaigns_campaigns_ended_total', { ...op, outcome: 'Succeeded' }),
        );
        const moved = (name: string, labels: Record<string, string> = {}) =>
          sample(after, name, { ...op, ...labels }) - sample(before, name, { ...op, ...labels });
        expect({
          started: moved('s3_campaigns_campaigns_started_total'),
          ended: moved('s3_campaigns_campaigns_ended_total', { outcome: 'Succeeded' }),
          jobsCreated: moved('s3_campaigns_jobs_created_total'),
          jobsEnded: moved('s3_campaigns_jobs_ended_total', { status: 'Complete' }),
          jobDurations: moved('s3_campaigns_job_duration_seconds_count', { status: 'Complete' }),
          tasksSucceeded: moved('s3_campaigns_tasks_succeeded_total'),
          objectsSelected: moved('s3_campaigns_objects_selected_total'),
          approvals: moved('s3_campaigns_approval_wait_seconds_count', { decision: 'approved' }),
          running: moved('s3_campaigns_phase_entered_total', { phase: 'Running' }),
          retryRounds: moved('s3_campaigns_retry_rounds_total'),
        }).toEqual({
          started: 1,
          ended: 1,
          jobsCreated: 1,
          jobsEnded: 1,
          jobDurations: 1,
          tasksSucceeded: 5,
          objectsSelected: 5,
          approvals: 1,
          running: 1,
          retryRounds: 0,
        });
        // The SDK's own worker metrics are on the same page, and the process's memory.
        expect(sample(after, 'temporal_workflow_completed_total', { task_queue: taskQueue })).toBeGreaterThanOrEqual(1);
        expect(after).toMatch(/^temporal_worker_task_slots_available\{/m);
        expect(sample(after, 's3_campaigns_process_resident_memory_bytes')).toBeGreaterThan(0);
        // Bounded labels only: no campaign id, bucket or key in a campaign metric.
        const ours = after.split('\n').filter((l) => l.startsWith('s3_campaigns_'));
        expect(ours.filter((l) => l.includes(id) || l.includes(bucket) || l.includes('m/0.txt'))).toEqual([]);

        expect(await stopWorker(w)).toBe(0);
        expect(w.output()).toContain('worker stopped');
      } finally {
        w.child.kill('SIGKILL');
        await connection.close();
      }
    });
  });

  test('a bad S3C_METRICS_PORT is refused by name, before anything starts', async () => {
    const child = spawn(process.execPath, [path.join(projectRoot(), 'bin', 's3-campaigns.js'), 'worker'], {
      env: { ...process.env, ...workerEnv('tq-unused'), S3C_METRICS_PORT: '70000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(output).toContain('S3C_METRICS_PORT');
    expect(output).toContain('70000');
  });
});

/** 5,000 objects in five inventory data files of 1,000 rows; 2,000 per job. */
const KEYS = Array.from({ length: 5_000 }, (_, i) => `obj-${String(i).padStart(5, '0')}`);

describe('graceful shutdown (SIGTERM)', () => {
  test('a manifest build and a round analysis in flight are handed over after the grace period; exit 0', async () => {
    await withBucket(async (bucket, s3) => {
      const manifest = await writeDailyInventory(
        s3,
        bucket,
        '2024-05-01T00:00:00Z',
        KEYS.map((k) => [k, '2024-04-01T00:00:00Z']),
      );
      await putObjects(s3, bucket, [...KEYS, 'a/1.txt', 'a/2.txt']);
      const proxy = await HoldProxy.start(stackEndpoints().s3Endpoint);
      // The build stops reading the last data file; the analysis stops reading the job's completion report.
      proxy.hold({ name: 'build', match: (r) => r.method === 'GET' && r.url.includes('-4.csv.gz') });
      proxy.hold({
        name: 'analysis',
        match: (r) => r.method === 'GET' && r.url.includes('/results/') && r.url.includes('.csv'),
      });
      const taskQueue = uniqueName('tq-shutdown');
      const accountId = randomAccount();
      const w = await startWorker(taskQueue, { S3C_S3_ENDPOINT: proxy.url, S3C_SHUTDOWN_GRACE: '3s' });
      const { client, connection } = await temporalClient();
      const workerS3 = s3Client(proxy.url);
      try {
        const start = (id: string, over: Parameters<typeof testSpec>[2]) =>
          client.workflow.start('campaignWorkflow', {
            taskQueue,
            workflowId: id,
            args: [testSpec({ accountId }, bucket, { approval: { required: false }, ...over })],
          });
        const building = await start(uniqueName('shutdown-build'), {
          source: { type: 'inventory', manifest },
          maxObjectsPerJob: 2_000,
        });
        const analyzing = await start(uniqueName('shutdown-analysis'), {
          source: { type: 'keys', bucket, keys: ['a/1.txt', 'a/2.txt'] },
        });
        await waitFor('both held requests', async () => proxy.isHeld('build') && proxy.isHeld('analysis'), Boolean);
        await waitFor(
          "the build's heartbeat at 4 of 5 files",
          async () => (await pendingActivity(building, 'buildCampaignManifests'))?.heartbeatDetails,
          (d) => (d as ManifestProgress | undefined)?.filesDone === 4,
        );
        await waitForPhase(analyzing, 'AnalyzingResults');

        w.child.kill('SIGTERM');
        // Readiness drops at once (the worker drains), while the process still serves its port.
        await waitFor(
          '/readyz to say not ready',
          () => get(w, '/readyz').catch(() => ({ status: 0, body: '' })),
          (r) => r.status === 503,
        );
        expect(await exitOf(w)).toBe(0);
        expect(w.output()).toContain('shutting down');
        expect(w.output()).toContain('running activities get 3s to finish');

        // Both activities were handed back to Temporal with their progress, for the next worker.
        const build = await pendingActivity(building, 'buildCampaignManifests');
        expect(build?.attempt).toBeGreaterThanOrEqual(2);
        expect((build?.heartbeatDetails as ManifestProgress).filesDone).toBe(4);
        expect((await pendingActivity(analyzing, 'analyzeRound'))?.attempt).toBeGreaterThanOrEqual(2);

        const sent = proxy.forwarded().length;
        await withCampaignWorker(
          async () => {
            const [a, b] = (await Promise.all([building.result(), analyzing.result()])) as CampaignResult[];
            expect([a, b].map((r) => `${r!.outcome} ${r!.reason ?? ''}`.trim())).toEqual(['Succeeded', 'Succeeded']);
            expect(a).toMatchObject({ objects: 5_000, succeeded: 5_000, jobs: 3 });
            expect(b).toMatchObject({ objects: 2, succeeded: 2, jobs: 1 });
          },
          { taskQueue, accountId, s3: workerS3 },
        );
        // The build resumed from its heartbeat: the next worker read only the last data file again.
        const reread = proxy
          .forwarded()
          .slice(sent)
          .filter((r) => r.method === 'GET' && /-\d\.csv\.gz/.test(r.url))
          .map((r) => /-(\d)\.csv\.gz/.exec(r.url)![1]);
        expect([...new Set(reread)]).toEqual(['4']);
      } finally {
        w.child.kill('SIGKILL');
        workerS3.destroy();
        await proxy.close();
        await connection.close();
      }
    });
  });
});

interface OtlpSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

/** An OTLP/HTTP (JSON) traces receiver in the test process: what a collector would get from the worker. */
async function startOtlpReceiver(): Promise<{ url: string; spans: OtlpSpan[]; close: () => Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.includes('json')) {
        const doc = JSON.parse(body) as {
          resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
        };
        for (const r of doc.resourceSpans) for (const sc of r.scopeSpans) spans.push(...sc.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('tracing (OpenTelemetry over OTLP)', () => {
  test('with OTEL_EXPORTER_OTLP_ENDPOINT set, a campaign is one trace: its workflow run, the activities it starts, their runs', async () => {
    await withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, ['t/1.txt']);
      const receiver = await startOtlpReceiver();
      const taskQueue = uniqueName('tq-traces');
      const w = await startWorker(taskQueue, {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SERVICE_NAME: 's3-campaigns-test',
        OTEL_BSP_SCHEDULE_DELAY: '200',
      });
      const { client, connection } = await temporalClient();
      try {
        expect(w.output()).toContain(`"traces":"${receiver.url}/v1/traces"`);
        const handle = await client.workflow.start('campaignWorkflow', {
          taskQueue,
          workflowId: uniqueName('traced'),
          args: [
            testSpec({ accountId: randomAccount() }, bucket, {
              source: { type: 'keys', bucket, keys: ['t/1.txt'] },
              approval: { required: false },
            }),
          ],
        });
        expect(((await handle.result()) as CampaignResult).outcome).toBe('Succeeded');
        // The worker exports what it has buffered when it stops.
        expect(await stopWorker(w)).toBe(0);
        const byId = new Map(receiver.spans.map((sp) => [sp.spanId, sp]));
        const run = receiver.spans.find((sp) => sp.name === 'RunWorkflow:campaignWorkflow');
        expect(run).toBeDefined();
        const ran = receiver.spans.filter((sp) => sp.name.startsWith('RunActivity:')).map((sp) => sp.name);
        for (const activity of ['buildCampaignManifests', 'createBatchJob', 'describeBatchJobs', 'analyzeRound']) {
          expect(ran).toContain(`RunActivity:${activity}`);
        }
        // One trace, linked: each activity's run is a child of the workflow's StartActivity, a child of the run.
        for (const sp of receiver.spans.filter((s) => s.name.startsWith('RunActivity:'))) {
          const start = byId.get(sp.parentSpanId ?? '');
          expect([sp.name, start?.name.replace('StartActivity:', 'RunActivity:'), start?.parentSpanId]).toEqual([
            sp.name,
            sp.name,
            run!.spanId,
          ]);
          expect(sp.traceId).toBe(run!.traceId);
        }
      } finally {
        w.child.kill('SIGKILL');
        await connection.close();
        await receiver.close();
      }
    });
  });
});
