/**
 * `s3-campaigns dev`: the whole local stack in the foreground — Temporal dev server with its Web UI (state kept in
 * `.local/dev/temporal.sqlite`), moto S3, the local batch engine and the campaign worker.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { Client, Connection } from '@temporalio/client';
import type { Command } from 'commander';

import { createAwsClients } from '../aws/clients';
import { runDemo } from '../demo';
import { loadConfig } from '../config';
import { createLogger } from '../logging';
import { DEFAULT_TASK_QUEUE } from '../shared/task-queue';
import type { Logger } from '../logging';
import { isPortFree } from '../stack/process';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, startStack, type StackEndpoints } from '../stack';
import { checkWorkerConnectivity } from '../stack/connectivity-check';
import { projectRoot } from '../stack/tools';
import { connectWorker, createWorker, installRuntimeLogging } from '../worker';
import { parsePort, UsageError } from './flags';
import { parseRestoreLatency, RESTORE_LATENCY_HELP } from './local-batch';

/** Ports people expect from Temporal's own CLI, and LocalStack's S3 port; busy ones fall back to a free port. */
const DEFAULT_PORTS = { temporal: 7233, ui: 8233, s3: 4566, engine: 4567 } as const;

/** The default `--dir` of `dev`. */
export function defaultDevDir(): string {
  return path.join(projectRoot(), '.local', 'dev');
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
  demo?: boolean;
  lambda?: string[];
  restoreLatency?: number;
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
    .option('--smoke', 'start everything, run one workflow through the worker, then stop (for scripts and CI)')
    .option(
      '--demo',
      'seed demo data and run a restore campaign; without a TTY it approves itself and exits when the campaign ends',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  s3-campaigns dev\n  s3-campaigns dev --demo\n  s3-campaigns dev --ui-port 8080\n  s3-campaigns dev --smoke\n' +
        '  s3-campaigns dev --restore-latency 2m\n',
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
  const finishesByItself = !!opts.smoke || (!!opts.demo && !isInteractive());
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
  const ports = await pickPorts(opts);
  console.log('Starting the local stack (the first run installs the Temporal CLI and moto into .tools/) …');
  const stack = await startStack({
    dir,
    ui: true,
    persistTemporal: true,
    ports,
    engineArgs: [
      ...(opts.lambda ?? []).flatMap((l) => ['--lambda', l]),
      ...(opts.restoreLatency ? ['--restore-latency', `${opts.restoreLatency}ms`] : []),
    ],
    signal,
    log,
  });
  const endpoints = stack.endpoints;
  let workerHandle: Awaited<ReturnType<typeof createWorker>> | undefined;
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
          await workerHandle.close();
        }
      } finally {
        await stack.stop();
        rmSync(devEndpointsFile(dir), { force: true });
      }
    })());
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
    // dev owns the stop signals: the SDK must not shut the worker down behind its back.
    installRuntimeLogging(log.child({ component: 'worker' }), { shutdownSignals: [] });
    const connection = await unlessAborted(connectWorker(config.temporal), signal);
    workerHandle = await unlessAborted(
      createWorker({ config, connection, clients: createAwsClients(config.aws) }),
      signal,
    ).catch(async (err: unknown) => {
      await connection.close();
      throw err;
    });
    const handle = workerHandle;
    workerRun = handle.worker.run().finally(() => connection.close());
    writeFileSync(
      devEndpointsFile(dir),
      // The pid tells a later command whether this stack still runs (a killed dev leaves the file behind).
      JSON.stringify({ ...endpoints, taskQueue: config.temporal.taskQueue, pid: process.pid }, null, 2),
    );
    const check = await unlessAborted(runConnectivityCheck(endpoints, config.temporal.taskQueue), signal);
    printBanner(endpoints, config.temporal.taskQueue, check, dir);
    if (opts.smoke) {
      await shutdown();
      return 0;
    }
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
    if (opts.demo) {
      const interactive = isInteractive();
      const demo = runDemoOnStack(endpoints, config.temporal.taskQueue, interactive);
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

/** The demo waits for a person's approval only at a terminal outside CI. */
function isInteractive(): boolean {
  return !!process.stdin.isTTY && !process.env.CI;
}

async function runDemoOnStack(endpoints: StackEndpoints, taskQueue: string, interactive: boolean) {
  const connection = await Connection.connect({ address: endpoints.temporalAddress });
  const { s3 } = createAwsClients(
    loadConfig({
      AWS_REGION: endpoints.region,
      S3C_S3_ENDPOINT: endpoints.s3Endpoint,
      S3C_S3CONTROL_ENDPOINT: endpoints.engineUrl,
    }).aws,
  );
  try {
    const client = new Client({ connection, namespace: endpoints.temporalNamespace });
    return await runDemo({ client, s3, endpoints, taskQueue, interactive, print: (l) => console.log(l) });
  } finally {
    s3.destroy();
    await connection.close();
  }
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
      '',
      'Press Ctrl-C to stop.',
    ].join('\n'),
  );
}
