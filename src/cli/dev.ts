/**
 * `s3-campaigns dev`: the whole local stack in the foreground — Temporal dev server with its Web UI, moto S3, the
 * local batch engine and the campaign worker — seeded with the demo data. Every start is fresh: moto keeps S3 in
 * memory, so Temporal's database (`<dir>/temporal.sqlite`) and the engine's jobs are cleared too, unless
 * `--keep-history` keeps Temporal's (and terminates the campaigns whose data is gone).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { InvalidArgumentError, type Command } from 'commander';

import { createAwsClients } from '../aws/clients';
import {
  DEMO_DATA_BUCKET,
  DEMO_KINDS,
  DEMO_REPORT_BUCKET,
  DEMO_RESTORE_LATENCY_MS,
  DEMO_TARGET_BUCKET,
  runDemo,
  seedDemo,
  type DemoKind,
  type DemoOptions,
} from '../demo';
import { demoObjects } from '../demo/data';
import { loadConfig } from '../config';
import { createLogger } from '../logging';
import { CAMPAIGN_WORKFLOW_TYPE } from '../shared/campaign';
import { DEFAULT_TASK_QUEUE } from '../shared/task-queue';
import type { Logger } from '../logging';
import type { ObservabilityServer } from '../observability/server';
import { startWorkerPort } from '../observability/worker-port';
import { freePort, isPortFree } from '../stack/process';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, startStack, type StackEndpoints } from '../stack';
import { recordServers, stopOrphanedServers } from '../stack/orphans';
import { checkWorkerConnectivity } from '../stack/connectivity-check';
import { projectRoot, toolsVenvInstalled } from '../stack/tools';
import { cachedWorkflowBundle } from '../stack/workflow-bundle';
import { connectWorker, createWorker, installRuntimeLogging } from '../worker';
import { parsePort, UsageError } from './flags';
import { parseRestoreLatency, RESTORE_LATENCY_HELP } from './local-batch';
import { metricsPortFrom } from './worker';

/** Ports people expect from Temporal's own CLI, and LocalStack's S3 port; busy ones fall back to a free port. */
const DEFAULT_PORTS = { temporal: 7233, ui: 8233, s3: 4566, engine: 4567 } as const;

/** The default `--dir` of `dev`. */
export function defaultDevDir(): string {
  return path.join(projectRoot(), '.local', 'dev');
}

/** Where `dev` records the servers it started, for the next `dev` to stop if this one is killed (src/stack/orphans.ts). */
function devServersFile(dir: string): string {
  return path.join(dir, 'servers.json');
}

/** Where `dev` writes its endpoints so that other commands in another shell find the running stack. */
export function devEndpointsFile(dir = defaultDevDir()): string {
  return path.join(dir, 'endpoints.json');
}

/** The signals that stop `dev`: Ctrl-C, `kill`, and the terminal closing. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Shell convention for "ended by signal n": 128 + n. */
const SIGNAL_EXIT: Record<(typeof STOP_SIGNALS)[number], number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/** Raised (as an abort reason) when a stop signal arrives while the stack is still starting. */
class StopRequested extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`stopped by ${signal}`);
  }
}

const PORT_FLAG = { temporal: '--temporal-port', ui: '--ui-port', s3: '--s3-port', engine: '--engine-port' } as const;

/**
 * The ports `dev` starts its servers on. An explicit port must be free now (else a usage error naming the flag: a
 * busy port means another server, and joining it would mix two stacks); a busy default falls back to a free one (0).
 */
async function pickPorts(opts: DevOptions): Promise<Record<keyof typeof DEFAULT_PORTS, number>> {
  const explicit = { temporal: opts.temporalPort, ui: opts.uiPort, s3: opts.s3Port, engine: opts.enginePort };
  const seen = new Map<number, string>();
  for (const [name, port] of Object.entries(explicit) as Array<[keyof typeof PORT_FLAG, number | undefined]>) {
    if (port === undefined) continue;
    const flag = PORT_FLAG[name];
    const other = seen.get(port);
    if (other) throw new UsageError(`${flag} ${port}: ${other} is ${port} too; each server needs a port of its own`);
    seen.set(port, flag);
    if (!(await isPortFree(port))) {
      throw new UsageError(
        `${flag} ${port}: port ${port} on 127.0.0.1 is already in use (another s3-campaigns dev?); ` +
          `choose another port, or leave ${flag} out to get a free one`,
      );
    }
  }
  const pick = async (name: keyof typeof DEFAULT_PORTS) =>
    explicit[name] ??
    ((await isPortFree(DEFAULT_PORTS[name])) && !seen.has(DEFAULT_PORTS[name]) ? DEFAULT_PORTS[name] : 0);
  return { temporal: await pick('temporal'), ui: await pick('ui'), s3: await pick('s3'), engine: await pick('engine') };
}

interface DevOptions {
  temporalPort?: number;
  uiPort?: number;
  s3Port?: number;
  enginePort?: number;
  dir: string;
  smoke?: boolean;
  /** `true` (no value): the default demo. */
  demo?: DemoKind | true;
  /** Commander's `--no-demo-data`: false skips seeding. @default true */
  demoData: boolean;
  keepHistory?: boolean;
  waitForApproval?: boolean;
  lambda?: string[];
  restoreLatency?: number;
  metricsPort?: number;
  /** Set by runDev: the demo runs with worker logs at warn (S3C_LOG_LEVEL was not set). */
  quietLogs?: boolean;
}

function parseDemoKind(value: string): DemoKind {
  if (!(DEMO_KINDS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`--demo must be one of ${DEMO_KINDS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as DemoKind;
}

export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description(
      'start the embedded local stack: Temporal dev server + Web UI, moto S3, the local batch engine, the worker',
    )
    .option(
      '--temporal-port <port>',
      `Temporal gRPC port (default ${DEFAULT_PORTS.temporal}, or a free one if busy)`,
      parsePort('--temporal-port'),
    )
    .option('--ui-port <port>', `Temporal Web UI port (default ${DEFAULT_PORTS.ui})`, parsePort('--ui-port'))
    .option('--s3-port <port>', `moto S3 port (default ${DEFAULT_PORTS.s3})`, parsePort('--s3-port'))
    .option(
      '--engine-port <port>',
      `local batch engine port (default ${DEFAULT_PORTS.engine})`,
      parsePort('--engine-port'),
    )
    .option('--dir <dir>', 'folder for state and logs', defaultDevDir())
    .option('--lambda <arn=target...>', 'register a local Lambda handler with the engine (module path or http URL)')
    .option('--restore-latency <duration>', `engine: ${RESTORE_LATENCY_HELP}`, parseRestoreLatency)
    .option(
      '--metrics-port <port>',
      "the worker's /metrics, /healthz and /readyz on this port, on 127.0.0.1 (env S3C_METRICS_PORT; default: off)",
      parsePort('--metrics-port'),
    )
    .option('--smoke', 'start everything, run one workflow through the worker, then stop (for scripts and CI)')
    .option(
      '--demo [kind]',
      `run a demo campaign on the demo data: ${DEMO_KINDS.join(' (default) or ')}; restore-and-copy sets ` +
        `--restore-latency ${DEMO_RESTORE_LATENCY_MS / 1000}s unless given; without a TTY the demo approves itself ` +
        'and dev exits when the campaign ends',
      parseDemoKind,
    )
    .option(
      '--wait-for-approval',
      "the demo waits for a person's approval (Web UI or `approve` from another shell) even without a terminal, " +
        'and the stack keeps running after it',
    )
    .option('--no-demo-data', `do not seed the demo buckets (${DEMO_DATA_BUCKET}, ${DEMO_REPORT_BUCKET}, …)`)
    .option(
      '--keep-history',
      "keep Temporal's history from the last run (.local/dev/temporal.sqlite); campaigns it left open are " +
        'terminated, as their S3 data is gone (moto keeps S3 in memory), and Schedules are paused',
    )
    .addHelpText(
      'after',
      '\nEvery start is fresh: S3 (moto) keeps its data in memory, so the engine and (unless --keep-history)\n' +
        'Temporal start empty too. The demo data is seeded on every start; examples/local/*.json run against it.\n' +
        '\nExamples:\n  s3-campaigns dev\n  s3-campaigns dev --demo\n  s3-campaigns dev --demo restore\n' +
        '  s3-campaigns dev --ui-port 8080\n  s3-campaigns dev --smoke\n  s3-campaigns dev --restore-latency 2m\n' +
        '  s3-campaigns dev --keep-history\n',
    )
    .action(async (opts: DevOptions) => {
      process.exitCode = await runDev(opts);
    });
}

/**
 * Runs the stack until a stop signal (or, with `--smoke` / a non-interactive `--demo`, until its work is done). On
 * SIGINT, SIGTERM or SIGHUP — at any point, also while starting — it stops the worker and every server it started
 * and removes `endpoints.json`. Exit code: 0 when stopped by a signal; `--smoke` and the non-interactive `--demo`
 * exit 128 + the signal's number when a signal cuts them short, as they did not finish.
 */
async function runDev(opts: DevOptions): Promise<number> {
  // The demo prints its own progress: the worker's info lines (job created, manifests built, …) would bury it.
  // S3C_LOG_LEVEL=info brings them back.
  opts.quietLogs = !!opts.demo && !process.env.S3C_LOG_LEVEL;
  if (opts.quietLogs) process.env.S3C_LOG_LEVEL = 'warn';
  const log = createLogger('dev');
  const dir = path.resolve(opts.dir);
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) console.log(`(${signal}: still stopping; each server gets up to 10 s)`);
    else abort.abort(new StopRequested(signal));
  };
  // Installed for the whole run, so that a second Ctrl-C while stopping cannot kill dev and orphan its servers.
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  const stoppedBy = () =>
    abort.signal.reason instanceof StopRequested
      ? (abort.signal.reason.signal as (typeof STOP_SIGNALS)[number])
      : undefined;
  // --smoke and the non-interactive --demo have an end of their own: a signal before it means they did not finish.
  const finishesByItself = !!opts.smoke || (!!opts.demo && !isInteractive(opts));
  try {
    const code = await runStack(opts, dir, log, abort.signal);
    const signal = stoppedBy();
    return signal && finishesByItself ? SIGNAL_EXIT[signal] : code;
  } catch (err) {
    const signal = stoppedBy();
    if (signal && err instanceof StopRequested) return finishesByItself ? SIGNAL_EXIT[signal] : 0;
    throw err;
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    if (stoppedBy()) console.log('Stopped.');
  }
}

/** Rejects with the abort reason as soon as `signal` aborts; `p` is left to settle on its own. */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      p.catch(() => undefined);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function runStack(opts: DevOptions, dir: string, log: Logger, signal: AbortSignal): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const demoKind = opts.demo === true ? DEMO_KINDS[0] : opts.demo;
  // Before the ports are picked: a killed dev's servers still hold the default ones.
  const orphans = await stopOrphanedServers(devServersFile(dir));
  if (orphans.length > 0) {
    const which = orphans.map((s) => `${s.name} (pid ${s.pid})`).join(', ');
    console.log(`Stopped the servers a killed s3-campaigns dev left running in ${dir}: ${which}.`);
  }
  if (demoKind && !opts.demoData) throw new UsageError('--demo runs on the demo data: leave out --no-demo-data');
  const ports = await pickPorts(opts);
  const restoreLatency = opts.restoreLatency ?? (demoKind === 'restore-and-copy' ? DEMO_RESTORE_LATENCY_MS : 0);
  const running = otherDevIn(dir);
  if (running) {
    throw new UsageError(
      `another s3-campaigns dev (pid ${running}) runs with --dir ${dir}; stop it first, or give this one another --dir`,
    );
  }
  const cleared = clearLastRun(dir, !!opts.keepHistory);
  if (cleared.temporal || cleared.engine) {
    console.log(
      opts.keepHistory
        ? "Kept Temporal's history of the last run (--keep-history); the engine's jobs start empty: S3 (moto) " +
            'keeps its data in memory, so their objects are gone.'
        : "Fresh start: S3 (moto) keeps its data in memory, so Temporal's history and the engine's jobs of the last " +
            "run were cleared too (--keep-history keeps Temporal's).",
    );
  }
  console.log(
    toolsVenvInstalled() || process.env.S3C_MOTO_PYTHON
      ? 'Starting the local stack …'
      : 'Starting the local stack (first run: installing the Temporal CLI and moto into .tools/, 1–3 min) …',
  );
  // Bundling the workflows is CPU work in this process: it overlaps the servers' start, and is cached across starts.
  const workflowBundle = cachedWorkflowBundle({
    cacheDir: path.join(dir, 'cache'),
    workflowsPath: require.resolve('../workflows'),
    log,
  });
  workflowBundle.catch(() => undefined); // awaited below; a stack that fails to start must not leave it unhandled
  const stack = await startStack({
    dir,
    ui: true,
    persistTemporal: true,
    ports,
    engineArgs: [
      ...(opts.lambda ?? []).flatMap((l) => ['--lambda', l]),
      ...(restoreLatency ? ['--restore-latency', `${restoreLatency}ms`] : []),
    ],
    signal,
    log,
  });
  recordServers(
    devServersFile(dir),
    process.pid,
    stack.processes.map((p) => ({ name: p.name, pid: p.child.pid })),
  );
  const endpoints = stack.endpoints;
  let workerHandle: Awaited<ReturnType<typeof createWorker>> | undefined;
  let workerPort: ObservabilityServer | undefined;
  let workerRun: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    (stopping ??= (async () => {
      console.log('\nStopping …');
      try {
        if (workerHandle) {
          // The SDK may have begun the shutdown itself (a worker error): stopping twice is an error.
          if (workerHandle.worker.getState() === 'RUNNING') workerHandle.worker.shutdown();
          await workerRun?.catch(() => undefined);
          await workerPort?.close();
          await workerHandle.close();
        }
      } finally {
        await stack.stop();
        rmSync(devEndpointsFile(dir), { force: true });
        rmSync(devServersFile(dir), { force: true });
      }
    })());
  // The demo data needs only S3: it is written while the worker starts.
  const seeding = opts.demoData && !opts.smoke ? seedDemoData(endpoints) : undefined;
  seeding?.catch(() => undefined); // awaited below
  try {
    const config = loadConfig({
      ...process.env,
      TEMPORAL_ADDRESS: endpoints.temporalAddress,
      TEMPORAL_NAMESPACE: endpoints.temporalNamespace,
      TEMPORAL_TASK_QUEUE: process.env.TEMPORAL_TASK_QUEUE || DEFAULT_TASK_QUEUE,
      AWS_REGION: endpoints.region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      S3C_S3_ENDPOINT: endpoints.s3Endpoint,
      S3C_S3CONTROL_ENDPOINT: endpoints.engineUrl,
    });
    const metricsPort = metricsPortFrom(opts.metricsPort, process.env);
    const coreMetricsAddress = metricsPort !== undefined ? `127.0.0.1:${await freePort()}` : undefined;
    // dev owns the stop signals: the SDK must not shut the worker down behind its back.
    installRuntimeLogging(log.child({ component: 'worker' }), {
      shutdownSignals: [],
      metricsBindAddress: coreMetricsAddress,
    });
    const connection = await unlessAborted(connectWorker(config.temporal), signal);
    workerHandle = await unlessAborted(
      createWorker({
        config,
        connection,
        clients: createAwsClients(config.aws),
        workerOptions: { workflowBundle: await unlessAborted(workflowBundle, signal) },
      }),
      signal,
    ).catch(async (err: unknown) => {
      await connection.close();
      throw err;
    });
    const handle = workerHandle;
    if (metricsPort !== undefined) {
      workerPort = await startWorkerPort({
        host: '127.0.0.1',
        port: metricsPort,
        coreMetricsAddress,
        worker: handle.worker,
        connection,
        config,
        log,
      });
    }
    workerRun = handle.worker.run().finally(() => connection.close());
    writeFileSync(
      devEndpointsFile(dir),
      // The pid tells a later command whether this stack still runs (a killed dev leaves the file behind).
      JSON.stringify({ ...endpoints, taskQueue: config.temporal.taskQueue, pid: process.pid }, null, 2),
    );
    const check = await unlessAborted(runConnectivityCheck(endpoints, config.temporal.taskQueue), signal);
    printBanner(endpoints, config.temporal.taskQueue, check, dir);
    if (workerPort) console.log(`Worker metrics: ${workerPort.url}/metrics (health: /healthz, /readyz)`);
    if (opts.smoke) {
      await shutdown();
      return 0;
    }
    if (opts.keepHistory) await unlessAborted(closeCampaignsWithoutData(endpoints), signal);
    const inventoryDestination = seeding ? await unlessAborted(seeding, signal) : undefined;
    if (inventoryDestination) printDemoData(inventoryDestination, restoreLatency);
    // Last: a script that waits for this line may use the demo data.
    if (opts.quietLogs)
      console.log('Worker logs: warnings and errors only during the demo (S3C_LOG_LEVEL=info for all).');
    console.log('\nPress Ctrl-C to stop.');
    const stopped = new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => resolve(), { once: true });
      void workerRun?.then(
        () => {
          if (!signal.aborted && !stopping) log.error('worker stopped');
          resolve();
        },
        (err: unknown) => {
          log.error('worker stopped', { err });
          resolve();
        },
      );
    });
    const byWorker = () => (signal.aborted ? 0 : 1);
    if (demoKind && inventoryDestination) {
      const interactive = isInteractive(opts);
      const demo = runDemoOnStack(endpoints, config.temporal.taskQueue, interactive, {
        kind: demoKind,
        inventoryDestination,
        restoreLatencyMs: restoreLatency,
      });
      const result = await Promise.race([demo, stopped.then(() => undefined)]);
      if (!interactive || result === undefined) {
        demo.catch(() => undefined);
        await shutdown();
        return result?.outcome === 'Succeeded' ? 0 : result ? 1 : byWorker();
      }
      console.log('\nThe stack keeps running: explore the campaign in the Web UI. Press Ctrl-C to stop.');
    }
    await stopped;
    await shutdown();
    return byWorker();
  } catch (err) {
    await shutdown();
    throw err;
  }
}

/** The demo waits for a person's approval at a terminal outside CI, or anywhere with --wait-for-approval. */
function isInteractive(opts: DevOptions): boolean {
  return !!opts.waitForApproval || (!!process.stdin.isTTY && !process.env.CI);
}

function stackS3(endpoints: StackEndpoints) {
  return createAwsClients(
    loadConfig({
      AWS_REGION: endpoints.region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      S3C_S3_ENDPOINT: endpoints.s3Endpoint,
      S3C_S3CONTROL_ENDPOINT: endpoints.engineUrl,
    }).aws,
  ).s3;
}

async function runDemoOnStack(
  endpoints: StackEndpoints,
  taskQueue: string,
  interactive: boolean,
  demo: Pick<DemoOptions, 'kind' | 'inventoryDestination' | 'restoreLatencyMs'>,
) {
  const connection = await Connection.connect({ address: endpoints.temporalAddress });
  const s3 = stackS3(endpoints);
  try {
    const client = new Client({ connection, namespace: endpoints.temporalNamespace });
    console.log('');
    return await runDemo({ client, s3, endpoints, taskQueue, interactive, print: (l) => console.log(l), ...demo });
  } finally {
    s3.destroy();
    await connection.close();
  }
}

/** The pid of a live `dev` whose endpoints.json is in `dir`, if any: clearing its files would break it. */
function otherDevIn(dir: string): number | undefined {
  let pid: unknown;
  try {
    pid = (JSON.parse(readFileSync(devEndpointsFile(dir), 'utf8')) as { pid?: unknown }).pid;
  } catch {
    return undefined;
  }
  if (typeof pid !== 'number' || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

/** The last run's files that describe S3 state: Temporal's database (unless `keepHistory`) and the engine's jobs. */
function clearLastRun(dir: string, keepHistory: boolean): { temporal: boolean; engine: boolean } {
  const engineState = path.join(dir, 'engine-state');
  const engine = existsSync(engineState);
  rmSync(engineState, { recursive: true, force: true });
  // SQLite's journal files go with the database: a stale -wal next to a new database would corrupt it.
  const db = ['temporal.sqlite', 'temporal.sqlite-wal', 'temporal.sqlite-shm', 'temporal.sqlite-journal'].map((f) =>
    path.join(dir, f),
  );
  const temporal = !keepHistory && db.some((f) => existsSync(f));
  if (!keepHistory) for (const f of db) rmSync(f, { force: true });
  return { temporal, engine };
}

/** Why `dev --keep-history` terminates the campaigns the last run left open. */
const DATA_GONE_REASON =
  'dev restarted with --keep-history: S3 (moto) keeps its data in memory, so the objects, manifests and jobs of ' +
  'this campaign are gone; start it again';

/**
 * With --keep-history: campaigns the last run left open would wait for an approval forever or fail on NoSuchKey,
 * as S3 started empty. Terminates them (children included), pauses Schedules (their next runs would find no
 * data), and names both.
 */
async function closeCampaignsWithoutData(endpoints: StackEndpoints): Promise<void> {
  const connection = await Connection.connect({ address: endpoints.temporalAddress });
  try {
    const client = new Client({ connection, namespace: endpoints.temporalNamespace });
    const open: string[] = [];
    const query = `WorkflowType = '${CAMPAIGN_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
    for await (const w of client.workflow.list({ query })) open.push(w.workflowId);
    const terminated: string[] = [];
    for (const id of open) {
      try {
        await client.workflow.getHandle(id).terminate(DATA_GONE_REASON);
        terminated.push(id);
      } catch (err) {
        // A child campaign ends with its parent: gone by the time its turn comes.
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    }
    const paused: string[] = [];
    for await (const sched of client.schedule.list()) {
      if (sched.state.paused) continue;
      await client.schedule.getHandle(sched.scheduleId).pause(DATA_GONE_REASON);
      paused.push(sched.scheduleId);
    }
    if (terminated.length) {
      console.log(`Terminated ${terminated.length} campaign(s) the last run left open; their S3 data is gone:`);
      for (const id of terminated) console.log(`  ${id}`);
    }
    if (paused.length) {
      console.log(
        `Paused ${paused.length} Schedule(s) whose data is gone (unpause: temporal schedule toggle --unpause ` +
          `--schedule-id <id>): ${paused.join(', ')}`,
      );
    }
    if (!terminated.length && !paused.length) console.log('Kept history: no campaign of the last run was left open.');
  } finally {
    await connection.close();
  }
}

/** Seeds the demo buckets; returns the inventory destination. */
async function seedDemoData(endpoints: StackEndpoints): Promise<string> {
  const s3 = stackS3(endpoints);
  try {
    return await seedDemo(s3);
  } finally {
    s3.destroy();
  }
}

function printDemoData(inventoryDestination: string, restoreLatencyMs: number): void {
  console.log(
    [
      '',
      `Demo data: s3://${DEMO_DATA_BUCKET} (${demoObjects().length} objects under logs/: STANDARD, GLACIER, ` +
        'DEEP_ARCHIVE, already restored, two of 6 MiB),',
      `  its inventory under ${inventoryDestination}, copies go to s3://${DEMO_TARGET_BUCKET}; restores take ` +
        `${restoreLatencyMs ? `${restoreLatencyMs / 1000} s` : 'no time'} (--restore-latency).`,
      `  The examples in examples/local/ run against it, e.g. npx s3-campaigns start examples/local/restore-and-copy.json`,
    ].join('\n'),
  );
}

async function runConnectivityCheck(endpoints: StackEndpoints, taskQueue: string) {
  const connection = await Connection.connect({ address: endpoints.temporalAddress });
  try {
    const client = new Client({ connection, namespace: endpoints.temporalNamespace });
    return await checkWorkerConnectivity(client, taskQueue, LOCAL_ACCOUNT_ID);
  } finally {
    await connection.close();
  }
}

/** How a command in another shell finds the stack in `dir` (connect.ts looks where this says). */
function howOthersFindIt(dir: string): string {
  const file = devEndpointsFile(dir);
  if (dir === defaultDevDir()) return `find it by themselves (${file})`;
  const named = `with S3C_DEV_ENDPOINTS=${file}`;
  return dir.endsWith(path.join('.local', 'dev'))
    ? `find it when run from ${path.dirname(path.dirname(dir))}, or anywhere ${named}`
    : `find it ${named}`;
}

function printBanner(
  e: StackEndpoints,
  taskQueue: string,
  check: { bucketCount: number; jobCount: number },
  dir: string,
): void {
  console.log(
    [
      '',
      's3-campaigns local stack is up.',
      `  Temporal Web UI      ${e.temporalUiUrl ?? '(headless)'}`,
      `  Temporal gRPC        ${e.temporalAddress}  (namespace ${e.temporalNamespace}, task queue ${taskQueue})`,
      `  S3 (moto)            ${e.s3Endpoint}`,
      `  S3 Control (engine)  ${e.engineUrl}  (account ${e.accountId})`,
      `  Worker               running; connectivity check passed (${check.bucketCount} buckets, ${check.jobCount} jobs)`,
      '',
      `From another shell, s3-campaigns commands ${howOthersFindIt(dir)}; other tools need:`,
      `  export TEMPORAL_ADDRESS=${e.temporalAddress} S3C_S3_ENDPOINT=${e.s3Endpoint} S3C_S3CONTROL_ENDPOINT=${e.engineUrl}`,
      `  export AWS_REGION=${e.region} AWS_ACCESS_KEY_ID=${LOCAL_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${LOCAL_CREDENTIALS.secretAccessKey}`,
    ].join('\n'),
  );
}
