/**
 * A local stack of the crash suite's own, whose every process can be killed and restarted: the Temporal dev server
 * on a database file, moto S3, the batch engine on a state dir (fault rules from a file, so that they survive its
 * restarts) and the campaign worker as a child process (`s3-campaigns worker`, from the compiled dist/). The worker
 * reaches S3 and the engine through hold proxies (hold-proxy.ts), the test and the engine reach them directly.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { S3Client } from '@aws-sdk/client-s3';
import type { S3ControlClient } from '@aws-sdk/client-s3-control';
import { Client, Connection } from '@temporalio/client';

import { createLocalS3ControlClient } from '../../src/local-batch/client';
import type { FaultRule } from '../../src/local-batch/faults';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startEngine, startS3, startTemporal } from '../../src/stack';
import { ManagedProcess } from '../../src/stack/process';
import { projectRoot } from '../../src/stack/tools';
import { HoldProxy } from './hold-proxy';

/** A generous start deadline: other test files share the machine's 2 cores. */
const READY_TIMEOUT_MS = 120_000;

export interface WorkerProcess {
  /** `worker-<n>`: its log is `<dir>/logs/worker-<n>.log`. */
  name: string;
  proc: ManagedProcess;
}

export interface CrashStack {
  dir: string;
  temporalAddress: string;
  s3Endpoint: string;
  engineUrl: string;
  /** What the worker sees as S3 and as S3 Control. */
  s3Proxy: HoldProxy;
  engineProxy: HoldProxy;
  s3: S3Client;
  control: S3ControlClient;
  client: Client;
  /** Starts a worker process on `taskQueue` and waits until it polls. */
  startWorker(taskQueue: string): Promise<WorkerProcess>;
  /** SIGKILL the engine, then start it again on the same port, state dir and fault rules. */
  crashEngine(): Promise<void>;
  /** SIGKILL the Temporal dev server. */
  killTemporal(): Promise<void>;
  /** Starts the Temporal dev server again on the same port and database file. */
  startTemporalAgain(): Promise<void>;
  /** Stops everything; the folder stays when `keepDir` (for a failed run's logs). */
  stop(keepDir: boolean): Promise<void>;
}

/** Starts the stack in a fresh temp folder, with the engine's fault rules written to a file it reads at each start. */
export async function startCrashStack(opts: { faults: FaultRule[]; engineArgs?: string[] }): Promise<CrashStack> {
  const cli = path.join(projectRoot(), 'dist', 'src', 'cli', 'index.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run test:crash\` (it builds) first`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-crash-'));
  const faultsFile = path.join(dir, 'faults.json');
  writeFileSync(faultsFile, JSON.stringify(opts.faults, null, 2));
  const stateDir = path.join(dir, 'engine-state');
  const engineArgs = ['--faults', faultsFile, ...(opts.engineArgs ?? [])];

  const owned: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const stop of owned.reverse()) await stop().catch(() => undefined);
  };
  try {
    const [temporal0, s3] = await Promise.all([
      startTemporal({ dir, persist: true, readyTimeoutMs: READY_TIMEOUT_MS }),
      startS3({ dir, readyTimeoutMs: READY_TIMEOUT_MS }),
    ]);
    let temporal = temporal0;
    owned.push(
      () => s3.proc.stop(),
      () => temporal.proc.stop(),
    );
    let engine = await startEngine({
      dir,
      stateDir,
      s3Endpoint: s3.endpoint,
      args: engineArgs,
      readyTimeoutMs: READY_TIMEOUT_MS,
    });
    owned.push(() => engine.proc.stop());
    const enginePort = Number(new URL(engine.url).port);
    const temporalPort = Number(temporal.address.split(':')[1]);
    const s3Proxy = await HoldProxy.start(s3.endpoint);
    const engineProxy = await HoldProxy.start(engine.url);
    owned.push(
      () => s3Proxy.close(),
      () => engineProxy.close(),
    );
    const connection = await Connection.connect({ address: temporal.address });
    owned.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const s3Client = new S3Client({
      endpoint: s3.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      forcePathStyle: true,
    });
    const control = createLocalS3ControlClient({ endpoint: engine.url, credentials: LOCAL_CREDENTIALS });
    owned.push(async () => {
      s3Client.destroy();
      control.destroy();
    });
    const workers: ManagedProcess[] = [];
    owned.push(async () => {
      for (const w of workers) await w.kill();
    });

    return {
      dir,
      temporalAddress: temporal.address,
      s3Endpoint: s3.endpoint,
      engineUrl: engine.url,
      s3Proxy,
      engineProxy,
      s3: s3Client,
      control,
      client,
      async startWorker(taskQueue) {
        const name = `worker-${workers.length + 1}`;
        const logFile = path.join(dir, 'logs', `${name}.log`);
        const proc = await ManagedProcess.start({
          name,
          command: process.execPath,
          args: [
            path.join(projectRoot(), 'bin', 's3-campaigns.js'),
            'worker',
            '--temporal-address',
            temporal.address,
            '--task-queue',
            taskQueue,
            '--region',
            LOCAL_REGION,
            '--s3-endpoint',
            s3Proxy.url,
            '--s3control-endpoint',
            engineProxy.url,
            // The suite holds every campaign at its crash point at once, several of them inside heavy activities
            // (manifest builds, analyses): the default 2 heavy slots would queue the rest behind them.
            '--heavy-activities',
            '16',
          ],
          logDir: path.join(dir, 'logs'),
          env: {
            ...process.env,
            AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
          },
          // `worker started` is logged once Worker.create has bundled the workflows and the worker is about to poll.
          ready: async () => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('worker started'),
          readyTimeoutMs: READY_TIMEOUT_MS,
        });
        workers.push(proc);
        return { name, proc };
      },
      async crashEngine() {
        await engine.proc.kill();
        engine = await startEngine({
          dir,
          stateDir,
          s3Endpoint: s3.endpoint,
          port: enginePort,
          args: engineArgs,
          readyTimeoutMs: READY_TIMEOUT_MS,
        });
      },
      async killTemporal() {
        await temporal.proc.kill();
      },
      async startTemporalAgain() {
        temporal = await startTemporal({ dir, persist: true, port: temporalPort, readyTimeoutMs: READY_TIMEOUT_MS });
      },
      async stop(keepDir) {
        await cleanup();
        if (!keepDir) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
