/**
 * The embedded local stack: the Temporal dev server (with its Web UI), a moto S3 server and the local S3 Batch
 * Operations engine, each a child process on 127.0.0.1. One module owns their start, readiness, ports and shutdown;
 * `s3-campaigns dev` and the test run's global setup both use it.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import { Connection } from '@temporalio/client';

import { LOCAL_CREDENTIALS } from '../aws/local-credentials';
import type { Logger } from '../logging';
import { SEARCH_ATTRIBUTE_CLI_TYPES } from '../shared/search-attributes';
import { canConnect, freePort, ManagedProcess, retryWhenPortTaken } from './process';
import { findMotoPython, findTemporalCli, projectRoot } from './tools';

/** Search attributes the campaign workflows set; registered on the dev server at start. */
export const SEARCH_ATTRIBUTES = SEARCH_ATTRIBUTE_CLI_TYPES;

/** The account id the local engine and the demo use; any 12 digits work locally. */
export const LOCAL_ACCOUNT_ID = '123456789012';
export const LOCAL_REGION = 'us-east-1';
/** moto accepts any credentials; re-exported for the stack's users. */
export { LOCAL_CREDENTIALS };

export interface StackEndpoints {
  /** Temporal frontend gRPC address, `127.0.0.1:PORT`. */
  temporalAddress: string;
  /** Temporal Web UI URL, when the UI runs. */
  temporalUiUrl?: string;
  temporalNamespace: string;
  /** The moto S3 endpoint, `http://127.0.0.1:PORT`. */
  s3Endpoint: string;
  /** The local batch engine, `http://127.0.0.1:PORT`. */
  engineUrl: string;
  region: string;
  accountId: string;
}

export interface StackOptions {
  /** Folder for logs, the Temporal SQLite file and the engine's state. */
  dir: string;
  /** Keep Temporal's state in `<dir>/temporal.sqlite` across restarts. @default false (in memory) */
  persistTemporal?: boolean;
  /** Serve the Temporal Web UI. @default false */
  ui?: boolean;
  /** Fixed ports; 0 or absent picks a free one. */
  ports?: { temporal?: number; ui?: number; s3?: number; engine?: number };
  /** Start the local batch engine. @default true */
  engine?: boolean;
  /** Extra flags for `s3-campaigns local-batch`, e.g. `['--lambda', 'arn=./handler.js']`. */
  engineArgs?: string[];
  /** Milliseconds each server gets to become ready. @default 90000 */
  readyTimeoutMs?: number;
  /** Stops the start early: whatever had started is stopped and `startStack` rejects with the signal's reason. */
  signal?: AbortSignal;
  log?: Logger;
}

export interface RunningStack {
  endpoints: StackEndpoints;
  processes: ManagedProcess[];
  /** Stops every process, the engine first (it writes to S3), Temporal last. */
  stop(): Promise<void>;
}

async function temporalReady(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  if (!(await canConnect(host ?? '127.0.0.1', Number(port)))) return false;
  const conn = await Connection.connect({ address, connectTimeout: 2000 });
  try {
    const res = await conn.workflowService.describeNamespace({ namespace: 'default' });
    return !!res.namespaceInfo;
  } finally {
    await conn.close();
  }
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status < 500;
}

/** Where `ManagedProcess.start` writes the log of the process `name` of a stack in `dir`. */
const logFileOf = (dir: string, name: string) => path.join(dir, 'logs', `${name}.log`);

/** Starts moto S3 and returns its process and endpoint. */
export async function startS3(opts: {
  dir: string;
  port?: number;
  readyTimeoutMs?: number;
  signal?: AbortSignal;
  log?: Logger;
}) {
  const python = await findMotoPython(opts.log);
  if (!opts.port) return await retryWhenPortTaken(logFileOf(opts.dir, 's3'), () => startS3Once(python, opts));
  return await startS3Once(python, opts);
}

async function startS3Once(python: string, opts: Parameters<typeof startS3>[0]) {
  const port = opts.port || (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  const proc = await ManagedProcess.start({
    name: 's3',
    command: python,
    // -I: isolated, so a file in the current directory (an `inspect.py`, say) cannot shadow the standard library
    // and stop moto from starting; -u replaces PYTHONUNBUFFERED, which -I ignores.
    args: ['-I', '-u', '-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)],
    logDir: path.join(opts.dir, 'logs'),
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
    ready: () => httpOk(`${endpoint}/moto-api/`),
    readyTimeoutMs: opts.readyTimeoutMs,
    ports: [port],
    signal: opts.signal,
  });
  return { proc, endpoint };
}

/** Starts the Temporal dev server with the project's search attributes registered. */
export async function startTemporal(opts: {
  dir: string;
  port?: number;
  uiPort?: number;
  ui?: boolean;
  persist?: boolean;
  readyTimeoutMs?: number;
  signal?: AbortSignal;
  log?: Logger;
}) {
  const cli = await findTemporalCli(opts.log);
  if (!opts.port && !(opts.ui && opts.uiPort)) {
    return await retryWhenPortTaken(logFileOf(opts.dir, 'temporal'), () => startTemporalOnce(cli, opts));
  }
  return await startTemporalOnce(cli, opts);
}

async function startTemporalOnce(cli: string, opts: Parameters<typeof startTemporal>[0]) {
  const port = opts.port || (await freePort());
  const address = `127.0.0.1:${port}`;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  const ports = [port];
  let uiUrl: string | undefined;
  if (opts.ui) {
    const uiPort = opts.uiPort || (await freePort());
    ports.push(uiPort);
    args.push('--ui-port', String(uiPort), '--ui-disable-news-fetch');
    uiUrl = `http://127.0.0.1:${uiPort}`;
  } else {
    args.push('--headless');
  }
  if (opts.persist) args.push('--db-filename', path.join(opts.dir, 'temporal.sqlite'));
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  const proc = await ManagedProcess.start({
    name: 'temporal',
    command: cli,
    args,
    logDir: path.join(opts.dir, 'logs'),
    // The UI is served by the same process: it counts as ready only once both answer.
    ready: async () => (await temporalReady(address)) && (!uiUrl || (await httpOk(uiUrl))),
    readyTimeoutMs: opts.readyTimeoutMs,
    ports,
    signal: opts.signal,
  });
  return { proc, address, uiUrl };
}

/** Starts `s3-campaigns local-batch` (from the compiled `dist/`) as a child process. */
export async function startEngine(opts: {
  dir: string;
  s3Endpoint: string;
  port?: number;
  stateDir?: string;
  args?: string[];
  name?: string;
  readyTimeoutMs?: number;
  signal?: AbortSignal;
}) {
  if (!opts.port) {
    return await retryWhenPortTaken(logFileOf(opts.dir, opts.name ?? 'local-batch'), () => startEngineOnce(opts));
  }
  return await startEngineOnce(opts);
}

async function startEngineOnce(opts: Parameters<typeof startEngine>[0]) {
  const port = opts.port || (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const stateDir = opts.stateDir ?? path.join(opts.dir, 'engine-state');
  const proc = await ManagedProcess.start({
    name: opts.name ?? 'local-batch',
    command: process.execPath,
    args: [
      path.join(projectRoot(), 'bin', 's3-campaigns.js'),
      'local-batch',
      '--port',
      String(port),
      '--s3-endpoint',
      opts.s3Endpoint,
      '--state-dir',
      stateDir,
      ...(opts.args ?? []),
    ],
    logDir: path.join(opts.dir, 'logs'),
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? LOCAL_CREDENTIALS.secretAccessKey,
    },
    ready: () => httpOk(`${url}/_local/health`),
    readyTimeoutMs: opts.readyTimeoutMs,
    ports: [port],
    signal: opts.signal,
  });
  return { proc, url, stateDir };
}

/** Starts the whole stack; on any failure stops what had started and rethrows. */
export async function startStack(opts: StackOptions): Promise<RunningStack> {
  mkdirSync(opts.dir, { recursive: true });
  const processes: ManagedProcess[] = [];
  const stop = async () => {
    for (const p of [...processes].reverse()) await p.stop();
  };
  try {
    // Temporal and S3 are independent: start them together, the engine needs S3.
    const [temporalRes, s3Res] = await Promise.allSettled([
      startTemporal({
        dir: opts.dir,
        port: opts.ports?.temporal,
        uiPort: opts.ports?.ui,
        ui: opts.ui,
        persist: opts.persistTemporal,
        readyTimeoutMs: opts.readyTimeoutMs,
        signal: opts.signal,
        log: opts.log,
      }),
      startS3({
        dir: opts.dir,
        port: opts.ports?.s3,
        readyTimeoutMs: opts.readyTimeoutMs,
        signal: opts.signal,
        log: opts.log,
      }),
    ]);
    if (temporalRes.status === 'fulfilled') processes.push(temporalRes.value.proc);
    if (s3Res.status === 'fulfilled') processes.push(s3Res.value.proc);
    if (temporalRes.status === 'rejected') throw temporalRes.reason;
    if (s3Res.status === 'rejected') throw s3Res.reason;
    const temporal = temporalRes.value;
    const s3 = s3Res.value;
    let engineUrl = '';
    if (opts.engine !== false) {
      const engine = await startEngine({
        dir: opts.dir,
        s3Endpoint: s3.endpoint,
        port: opts.ports?.engine,
        args: opts.engineArgs,
        readyTimeoutMs: opts.readyTimeoutMs,
        signal: opts.signal,
      });
      processes.push(engine.proc);
      engineUrl = engine.url;
    }
    return {
      endpoints: {
        temporalAddress: temporal.address,
        temporalUiUrl: temporal.uiUrl,
        temporalNamespace: 'default',
        s3Endpoint: s3.endpoint,
        engineUrl,
        region: LOCAL_REGION,
        accountId: LOCAL_ACCOUNT_ID,
      },
      processes,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
