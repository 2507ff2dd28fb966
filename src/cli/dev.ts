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
import { canConnect } from '../stack/process';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, startStack, type StackEndpoints } from '../stack';
import { projectRoot } from '../stack/tools';
import { connectWorker, createWorker, installRuntimeLogging } from '../worker';
import { parsePort } from './flags';

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

async function pickPort(wanted: number, explicit: boolean): Promise<number> {
  if (explicit) return wanted;
  return (await canConnect('127.0.0.1', wanted, 300)) ? 0 : wanted;
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
    .option('--smoke', 'start everything, run one workflow through the worker, then stop (for scripts and CI)')
    .option(
      '--demo',
      'seed demo data and run a restore campaign; without a TTY it approves itself and exits when the campaign ends',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  s3-campaigns dev\n  s3-campaigns dev --demo\n  s3-campaigns dev --ui-port 8080\n  s3-campaigns dev --smoke\n',
    )
    .action(async (opts: DevOptions) => {
      process.exitCode = await runDev(opts);
    });
}

async function runDev(opts: DevOptions): Promise<number> {
  const log = createLogger('dev');
  const dir = path.resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const ports = {
    temporal: await pickPort(opts.temporalPort ?? DEFAULT_PORTS.temporal, opts.temporalPort !== undefined),
    ui: await pickPort(opts.uiPort ?? DEFAULT_PORTS.ui, opts.uiPort !== undefined),
    s3: await pickPort(opts.s3Port ?? DEFAULT_PORTS.s3, opts.s3Port !== undefined),
    engine: await pickPort(opts.enginePort ?? DEFAULT_PORTS.engine, opts.enginePort !== undefined),
  };
  console.log('Starting the local stack (the first run installs the Temporal CLI and moto into .tools/) …');
  const stack = await startStack({
    dir,
    ui: true,
    persistTemporal: true,
    ports,
    engineArgs: (opts.lambda ?? []).flatMap((l) => ['--lambda', l]),
    log,
  });
  const endpoints = stack.endpoints;
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
  let shuttingDown = false;
  let workerHandle: Awaited<ReturnType<typeof createWorker>> | undefined;
  let workerRun: Promise<void> | undefined;
  const shutdown = async () => {
    if (shuttingDown) return;
    shuttingDown = true;
    console.log('\nStopping …');
    if (workerHandle) {
      workerHandle.worker.shutdown();
      await workerRun?.catch(() => undefined);
      await workerHandle.close();
    }
    await stack.stop();
    rmSync(devEndpointsFile(dir), { force: true });
  };
  try {
    installRuntimeLogging(log.child({ component: 'worker' }));
    const connection = await connectWorker(config.temporal);
    workerHandle = await createWorker({ config, connection, clients: createAwsClients(config.aws) });
    const handle = workerHandle;
    workerRun = handle.worker.run().finally(() => connection.close());
    writeFileSync(
      devEndpointsFile(dir),
      JSON.stringify({ ...endpoints, taskQueue: config.temporal.taskQueue }, null, 2),
    );
    const check = await runConnectivityCheck(endpoints, config.temporal.taskQueue);
    printBanner(endpoints, config.temporal.taskQueue, check);
    if (opts.smoke) {
      await shutdown();
      return 0;
    }
    const stopped = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
      void workerRun?.catch((err: unknown) => {
        log.error('worker stopped', { err });
        resolve();
      });
    });
    if (opts.demo) {
      const interactive = !!process.stdin.isTTY && !process.env.CI;
      const demo = runDemoOnStack(endpoints, config.temporal.taskQueue, interactive);
      const result = await Promise.race([demo, stopped.then(() => undefined)]);
      if (!interactive || result === undefined) {
        await shutdown();
        return result?.outcome === 'Succeeded' ? 0 : 1;
      }
      console.log('\nThe stack keeps running: explore the campaign in the Web UI. Press Ctrl-C to stop.');
    }
    await stopped;
    await shutdown();
    return 0;
  } catch (err) {
    await shutdown();
    throw err;
  }
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
    return await client.workflow.execute('connectivityCheckWorkflow', {
      taskQueue,
      workflowId: `connectivity-check-${Date.now()}`,
      args: [{ accountId: LOCAL_ACCOUNT_ID }],
      workflowExecutionTimeout: '2m',
    });
  } finally {
    await connection.close();
  }
}

function printBanner(e: StackEndpoints, taskQueue: string, check: { bucketCount: number; jobCount: number }): void {
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
      'Use it from another shell:',
      `  export TEMPORAL_ADDRESS=${e.temporalAddress} S3C_S3_ENDPOINT=${e.s3Endpoint} S3C_S3CONTROL_ENDPOINT=${e.engineUrl}`,
      `  export AWS_REGION=${e.region} AWS_ACCESS_KEY_ID=${LOCAL_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${LOCAL_CREDENTIALS.secretAccessKey}`,
      '',
      'Press Ctrl-C to stop.',
    ].join('\n'),
  );
}
