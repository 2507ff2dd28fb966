/**
 * Many campaigns on one worker, on the real local stack (issue 13):
 *
 *   npm run bench:campaigns                                   # 1,000 campaigns, 3 objects each, pollInterval auto
 *   node dist/bench/campaigns.js --campaigns 200 --poll-interval 60s
 *   node dist/bench/campaigns.js --campaigns 200 --api-rps 10   # the engine throttles S3 Control above 10 calls/s
 *
 * Starts the stack (Temporal dev server, moto, the local Batch Operations engine) and ONE worker process
 * (`s3-campaigns worker`, as deployed), then starts `--campaigns` small put-tags campaigns at once (a `keys` source of
 * `--objects` objects each, approval required, the default pollInterval unless given), waits until every one awaits
 * approval, approves them all (the Update the CLI sends), and waits until every one has ended. It reports:
 *
 * - the worker's peak RSS (VmHWM of its process), next to the budget (1 GB for 1,000 campaigns), and what it was
 *   made of at its highest sample and at the highest after all awaited approval (bench/memory-probe.ts, loaded into
 *   the worker: main heap, workflow heap, external, native rest); `S3C_BENCH_WORKER_NODE_ARGS` passes Node and V8
 *   options to the worker for experiments (`--no-opt`, `--trace-opt`);
 * - the time to all-awaiting and to all-done, and how many campaigns did not end (stuck);
 * - history events and Temporal Cloud actions per campaign, counted from every campaign's history by Temporal's
 *   published rules (workflow start, timers, search-attribute upserts, signals, updates, activity attempts, markers
 *   per workflow task, child workflows); queries and activity heartbeats are not in histories, and this benchmark
 *   sends no query;
 * - S3 Control calls by operation, counted by a proxy between the worker and the engine, and DescribeJob calls per
 *   job and per job-hour (the job's life from creation to its end, from the engine's ListJobs);
 * - with `--api-rps N`, the engine answers 429 TooManyRequestsException above N job API calls per second (its
 *   `apiRequestsPerSecond` fault), as S3 Control throttles an account: the throttled answers the proxy saw, and how
 *   many campaigns did not succeed (the goal: none; throttling slows the worker's limiter down, it fails nothing).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { paginateListJobs, type JobListDescriptor } from '@aws-sdk/client-s3-control';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

import { campaignStartMetadata } from '../src/campaign/summary';
import { createLocalS3ControlClient } from '../src/local-batch';
import { quietSdkNodeWarningOnNode20 } from '../src/node-support';
import { approveUpdate, CAMPAIGN_WORKFLOW_TYPE } from '../src/shared/campaign';
import { parseCampaignSpec } from '../src/shared/campaign-spec';
import { CAMPAIGN_SEARCH_ATTRIBUTES as SA } from '../src/shared/search-attributes';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, startStack } from '../src/stack';
import { projectRoot } from '../src/stack/tools';
import type { MemorySample } from './memory-probe';

quietSdkNodeWarningOnNode20();

interface Args {
  campaigns: number;
  objects: number;
  pollInterval: string;
  /** The engine throttles its job API above this many calls per second; 0: no limit. */
  apiRps: number;
  /** Starts and approvals in flight at once. */
  concurrency: number;
  /** Give up waiting after this many minutes. */
  timeoutMinutes: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    campaigns: 1000,
    objects: 3,
    pollInterval: 'auto',
    apiRps: 0,
    concurrency: 32,
    timeoutMinutes: 30,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]?.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const raw = argv[i + 1];
    if (!name || !(name in args) || raw === undefined) {
      throw new Error(
        'usage: campaigns [--campaigns N] [--objects N] [--poll-interval auto|60s] [--api-rps N] [--concurrency N] ' +
          '[--timeout-minutes N]' +
          ` (bad: ${argv[i]} ${raw ?? ''})`,
      );
    }
    if (name === 'pollInterval') args.pollInterval = raw;
    else if (name === 'apiRps' && raw === '0') args.apiRps = 0;
    else {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--${argv[i]?.replace(/^--/, '')} must be a positive integer`);
      (args as unknown as Record<string, number>)[name] = n;
    }
  }
  return args;
}

async function pool<T>(items: T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/** The S3 Control operation of a request, from its method and path (`/v20180820/jobs/<id>/status` …). */
function controlOperation(method: string, url: string): string {
  const p = url.split('?')[0] ?? '';
  if (/^\/v20180820\/jobs\/?$/.test(p)) return method === 'POST' ? 'CreateJob' : 'ListJobs';
  if (/^\/v20180820\/jobs\/[^/]+\/status$/.test(p)) return 'UpdateJobStatus';
  if (/^\/v20180820\/jobs\/[^/]+\/priority$/.test(p)) return 'UpdateJobPriority';
  if (/^\/v20180820\/jobs\/[^/]+\/tagging$/.test(p))
    return `${method === 'GET' ? 'Get' : method === 'PUT' ? 'Put' : 'Delete'}JobTagging`;
  if (/^\/v20180820\/jobs\/[^/]+$/.test(p)) return 'DescribeJob';
  return `${method} ${p}`;
}

/** A counting HTTP proxy in front of the engine: the worker's S3 Control endpoint. */
async function countingProxy(
  target: string,
): Promise<{ url: string; counts: Map<string, number>; throttled: Map<string, number>; close(): void }> {
  const t = new URL(target);
  const counts = new Map<string, number>();
  /** Answers 429 or 503 (throttling), by operation. */
  const throttled = new Map<string, number>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    const op = controlOperation(req.method ?? 'GET', req.url ?? '/');
    counts.set(op, (counts.get(op) ?? 0) + 1);
    const up = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers, agent },
      (r) => {
        if (r.statusCode === 429 || r.statusCode === 503) throttled.set(op, (throttled.get(op) ?? 0) + 1);
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    throttled,
    close: () => {
      server.close();
      agent.destroy();
    },
  };
}

/** The worker process's current and peak RSS in MB (Linux /proc), or undefined once it is gone. */
function rssOf(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/**
 * The worker's memory at its highest sample, split by the probe's figures (bench/memory-probe.ts): the main thread's
 * V8 heap, the other threads' heaps (the SDK's workflow thread), memory V8 accounts for outside its heaps (external:
 * Buffers and ArrayBuffers), and the rest (native: the SDK's core, malloc arenas, code, thread stacks).
 */
function memoryAttribution(samples: MemorySample[], label: string, pick: (s: MemorySample) => boolean): string {
  const candidates = samples.filter(pick);
  if (candidates.length === 0) return `  ${label}: no memory sample`;
  const top = candidates.reduce((a, b) => (b.rss > a.rss ? b : a));
  const threads = Object.values(top.threads).reduce((a, b) => a + b, 0);
  const threadsUsed = Object.values(top.threadsUsed).reduce((a, b) => a + b, 0);
  const rest = top.rss - top.mainHeap - threads - top.external;
  return (
    `  ${label}: RSS ${top.rss.toFixed(0)} MB at ${(top.t / 1000).toFixed(0)} s = main heap ${top.mainHeap.toFixed(0)} ` +
    `(${top.mainHeapUsed.toFixed(0)} used) + workflow heap ${threads.toFixed(0)} (${threadsUsed.toFixed(0)} used, ` +
    `limit ${Object.values(top.threadsLimit).join('/')}) + external ${top.external.toFixed(0)} (ArrayBuffers ` +
    `${top.arrayBuffers.toFixed(0)}) + rest (native: SDK core, malloc, code) ${rest.toFixed(0)}, of which V8's own ` +
    `malloc ${top.v8Malloced.toFixed(0)}; anonymous ` +
    `${top.rssAnon.toFixed(0)}, file-backed ${top.rssFile.toFixed(0)}`
  );
}

function readSamples(file: string): MemorySample[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as MemorySample);
  } catch {
    return [];
  }
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = (name: string) => `EVENT_TYPE_${name}`;

/**
 * Temporal Cloud actions of one run's history, by Temporal's published rules: the start (and each continue-as-new
 * start), every timer, every search-attribute upsert (not those that only set TemporalChangeVersion, which patches
 * write), signals, accepted updates, every activity attempt (ActivityTaskStarted carries the attempt), the markers of
 * one workflow task as one action, two per child workflow.
 */
export function actionsOf(events: HistoryEvent[]): Record<string, number> {
  const by: Record<string, number> = {};
  const add = (kind: string, n = 1) => (by[kind] = (by[kind] ?? 0) + n);
  let markersInTask = false;
  for (const e of events) {
    const type = String(typeof e.eventType === 'number' ? (EVENT_TYPE_NAMES[e.eventType] ?? e.eventType) : e.eventType);
    if (type === EventType('WORKFLOW_TASK_COMPLETED')) markersInTask = false;
    if (type === EventType('WORKFLOW_EXECUTION_STARTED')) add('workflow start');
    else if (type === EventType('TIMER_STARTED')) add('timer');
    else if (type === EventType('UPSERT_WORKFLOW_SEARCH_ATTRIBUTES')) {
      const fields = Object.keys(
        e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {},
      );
      if (fields.some((f) => f !== 'TemporalChangeVersion')) add('search attributes');
    } else if (type === EventType('WORKFLOW_EXECUTION_SIGNALED')) add('signal');
    else if (type === EventType('WORKFLOW_EXECUTION_UPDATE_ACCEPTED')) add('update');
    else if (type === EventType('ACTIVITY_TASK_STARTED'))
      add('activity', e.activityTaskStartedEventAttributes?.attempt ?? 1);
    else if (type === EventType('MARKER_RECORDED')) {
      if (!markersInTask) add('markers');
      markersInTask = true;
    } else if (type === EventType('START_CHILD_WORKFLOW_EXECUTION_INITIATED')) add('child workflow', 2);
  }
  return by;
}

/** temporal.api.enums.v1.EventType numbers → names, filled at start from the proto enum. */
let EVENT_TYPE_NAMES: Record<number, string> = {};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : 0;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { temporal: proto } = await import('@temporalio/proto');
  EVENT_TYPE_NAMES = Object.fromEntries(
    Object.entries(proto.api.enums.v1.EventType).map(([name, n]) => [n as number, name]),
  );
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-bench-campaigns-'));
  const stack = await startStack({ dir });
  const e = stack.endpoints;
  const proxy = await countingProxy(e.engineUrl);
  if (args.apiRps > 0) {
    const res = await fetch(`${e.engineUrl}/_local/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'bench-api-rps', apiRequestsPerSecond: args.apiRps }),
    });
    if (!res.ok)
      throw new Error(`the engine refused the apiRequestsPerSecond fault: ${res.status} ${await res.text()}`);
  }
  let worker: ChildProcess | undefined;
  let connection: Connection | undefined;
  const rssSamples: number[] = [];
  let peakRss = 0;
  let sampler: NodeJS.Timeout | undefined;
  try {
    const s3 = new S3Client({
      endpoint: e.s3Endpoint,
      region: e.region,
      forcePathStyle: true,
      credentials: LOCAL_CREDENTIALS,
    });
    const bucket = 'bench-campaigns';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const keysOf = (c: number) => Array.from({ length: args.objects }, (_, k) => `c${c}/object-${k}.txt`);
    const allKeys = Array.from({ length: args.campaigns }, (_, c) => keysOf(c)).flat();
    await pool(allKeys, 32, async (key) => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
    });

    const taskQueue = 'bench-campaigns';
    const probeFile = path.join(dir, 'memory.jsonl');
    const probe = path.join(__dirname, 'memory-probe.js');
    worker = spawn(
      process.execPath,
      [
        // Node and V8 options for the worker (experiments: `--no-opt`, …), split on spaces.
        ...(process.env.S3C_BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
        '--require',
        probe,
        path.join(projectRoot(), 'bin', 's3-campaigns.js'),
        'worker',
      ],
      {
        env: {
          ...process.env,
          S3C_MEMORY_PROBE_FILE: probeFile,
          TEMPORAL_ADDRESS: e.temporalAddress,
          TEMPORAL_NAMESPACE: e.temporalNamespace,
          TEMPORAL_TASK_QUEUE: taskQueue,
          AWS_REGION: e.region,
          AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
          S3C_S3_ENDPOINT: e.s3Endpoint,
          S3C_S3CONTROL_ENDPOINT: proxy.url,
          S3C_LOG_LEVEL: process.env.S3C_BENCH_WORKER_LOG_LEVEL ?? 'error',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const pid = worker.pid!;
    const workerStarted = Date.now();
    sampler = setInterval(() => {
      const r = rssOf(pid);
      if (!r) return;
      rssSamples.push(r.rss);
      peakRss = Math.max(peakRss, r.peak);
    }, 1000);

    connection = await Connection.connect({ address: e.temporalAddress });
    const client = new Client({ connection, namespace: e.temporalNamespace });
    const count = async (where: string) =>
      (await client.workflow.count(`TaskQueue = '${taskQueue}' AND ${where}`)).count;

    const ids = Array.from({ length: args.campaigns }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
    const t0 = Date.now();
    await pool(ids, args.concurrency, async (id, i) => {
      const spec = parseCampaignSpec({
        name: `bench campaign ${i}`,
        accountId: LOCAL_ACCOUNT_ID,
        region: e.region,
        roleArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/BatchOperations`,
        source: { type: 'keys', bucket, keys: keysOf(i) },
        operation: { type: 'put-tags', tags: { bench: 'yes' } },
        approval: { required: true, timeout: '24h' },
        report: { bucket, prefix: 'campaigns' },
        pollInterval: args.pollInterval,
      });
      await client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
        taskQueue,
        workflowId: id,
        args: [spec],
        ...campaignStartMetadata(spec),
      });
    });
    const started = Date.now() - t0;
    const deadline = t0 + args.timeoutMinutes * 60_000;
    const waitUntil = async (what: string, done: () => Promise<boolean>) => {
      while (!(await done())) {
        if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${args.timeoutMinutes} min`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    };
    await waitUntil(
      'every campaign to await approval',
      async () => (await count(`${SA.phase.name} = 'AwaitingApproval'`)) >= args.campaigns,
    );
    const allAwaiting = Date.now() - t0;
    const rssAwaiting = Math.max(...rssSamples.slice(-3), 0);
    const awaitingAt = Date.now() - workerStarted;

    const t1 = Date.now();
    // The server refuses an Update while the workflow's last task failed (it retries the task): count those, retry.
    let updatesRefused = 0;
    await pool(ids, args.concurrency, async (id) => {
      for (;;) {
        try {
          await client.workflow.getHandle(id).executeUpdate(approveUpdate, { args: [{ by: 'bench' }] });
          return;
        } catch (err) {
          if (!/Workflow Task in failed state/.test(String((err as Error & { cause?: unknown }).cause))) throw err;
          updatesRefused++;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    });
    const approved = Date.now() - t1;
    let stuck = 0;
    try {
      await waitUntil(
        'every campaign to end',
        async () => (await count(`ExecutionStatus != 'Running'`)) >= args.campaigns,
      );
    } catch (err) {
      stuck = await count(`ExecutionStatus = 'Running'`);
      process.stderr.write(`${(err as Error).message}: ${stuck} still running\n`);
    }
    const allDone = Date.now() - t1;
    const succeeded = await count(`${SA.phase.name} = 'Succeeded'`);

    // Histories of every campaign: events and actions.
    const events: number[] = [];
    const actions: number[] = [];
    const actionsByKind: Record<string, number> = {};
    let taskFailures = 0;
    await pool(ids, 8, async (id) => {
      const h = await client.workflow.getHandle(id).fetchHistory();
      const list = h.events ?? [];
      events.push(list.length);
      taskFailures += list.filter(
        (ev) => String(EVENT_TYPE_NAMES[ev.eventType as number] ?? ev.eventType) === 'EVENT_TYPE_WORKFLOW_TASK_FAILED',
      ).length;
      const by = actionsOf(list);
      actions.push(Object.values(by).reduce((a, b) => a + b, 0));
      for (const [k, n] of Object.entries(by)) actionsByKind[k] = (actionsByKind[k] ?? 0) + n;
    });

    // The jobs' lives, from the engine itself (not through the proxy: these calls are not the worker's).
    const control = createLocalS3ControlClient({
      endpoint: e.engineUrl,
      region: e.region,
      credentials: LOCAL_CREDENTIALS,
    });
    const jobs: JobListDescriptor[] = [];
    for await (const page of paginateListJobs({ client: control }, { AccountId: LOCAL_ACCOUNT_ID, MaxResults: 1000 })) {
      jobs.push(...(page.Jobs ?? []));
    }
    control.destroy();
    const jobHours =
      jobs.reduce(
        (sum, j) => sum + ((j.TerminationDate ?? new Date()).getTime() - (j.CreationTime ?? new Date()).getTime()),
        0,
      ) / 3_600_000;

    // The goal: 1,000 campaigns on one worker within 1 GB.
    const budgetMB = 1024;
    const calls = [...proxy.counts.entries()].sort((a, b) => b[1] - a[1]);
    const describes = proxy.counts.get('DescribeJob') ?? 0;
    const total = actions.reduce((a, b) => a + b, 0);
    const lines = [
      `bench:campaigns — ${args.campaigns} campaigns (keys source, ${args.objects} objects each, put-tags, approval ` +
        `required, pollInterval ${args.pollInterval}) on ONE worker process; Node ${process.version}, ` +
        `${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)} at the end`,
      `  started ${args.campaigns} campaigns in ${secs(started)}; all awaiting approval after ${secs(allAwaiting)}`,
      `  approvals (Updates) sent in ${secs(approved)}; all ended ${secs(allDone)} after the first approval` +
        ` — ${succeeded} Succeeded, ${stuck} still running (stuck)`,
      `  worker peak RSS ${peakRss.toFixed(0)} MB (VmHWM) against the goal of ${budgetMB} MB for 1,000 campaigns: ` +
        `${(peakRss / budgetMB).toFixed(2)} of it; ${rssAwaiting.toFixed(0)} MB with all awaiting approval; ` +
        `${(rssSamples.at(-1) ?? 0).toFixed(0)} MB at the end`,
      `  history events per campaign: median ${median(events)}, max ${Math.max(...events)}; workflow task ` +
        `failures ${taskFailures} in all; approvals refused while a task had failed (then retried) ${updatesRefused}`,
      `  Temporal Cloud actions per campaign: median ${median(actions)}, max ${Math.max(...actions)}, mean ` +
        `${(total / actions.length).toFixed(1)} (${Object.entries(actionsByKind)
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => `${k} ${(n / actions.length).toFixed(1)}`)
          .join(', ')}); queries and heartbeats are not in histories`,
      `  S3 Control calls from the worker: ${calls.map(([op, n]) => `${op} ${n}`).join(', ')}; ` +
        `per campaign ${((calls.reduce((a, [, n]) => a + n, 0) || 0) / args.campaigns).toFixed(1)}`,
      `  DescribeJob: ${describes} calls over ${jobs.length} jobs and ${jobHours.toFixed(2)} job-hours = ` +
        `${jobs.length ? (describes / jobs.length).toFixed(2) : '—'} per job, ` +
        `${jobHours > 0 ? (describes / jobHours).toFixed(0) : '—'} per job-hour`,
      `  throttling: ${args.apiRps > 0 ? `engine limited to ${args.apiRps} job API calls/s` : 'none (no --api-rps)'}; ` +
        `${[...proxy.throttled.values()].reduce((a, b) => a + b, 0)} throttled answers (429/503)` +
        `${proxy.throttled.size ? ` (${[...proxy.throttled.entries()].map(([op, n]) => `${op} ${n}`).join(', ')})` : ''}; ` +
        `${args.campaigns - succeeded} campaign(s) did not succeed`,
    ];
    const samples = readSamples(probeFile);
    lines.push(
      memoryAttribution(samples, 'memory at the peak', () => true),
      memoryAttribution(samples, 'memory at the peak after all awaited approval', (m) => m.t >= awaitingAt),
    );
    if (samples.length > 0) {
      const kept = path.join(projectRoot(), '.local', 'bench-campaigns-memory.jsonl');
      mkdirSync(path.dirname(kept), { recursive: true });
      copyFileSync(probeFile, kept);
      lines.push(`  memory samples (1 s, MiB): ${kept}`);
    }
    console.log(lines.join('\n'));
  } catch (err) {
    // Printed before the stack stops: a client retry that outlives the connection would end the process first.
    console.error(err);
    throw err;
  } finally {
    if (sampler) clearInterval(sampler);
    worker?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await connection?.close();
    proxy.close();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
