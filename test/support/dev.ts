/**
 * `s3-campaigns dev` as a subprocess with its own ports and `--dir`: wait for lines of its output, talk to its
 * stack through the endpoints.json it writes, stop it with a signal. Every stack a test starts is stopped in
 * `finally` (SIGKILL of its process group if it does not stop by itself).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';

import type { DevEndpoints } from '../../src/cli/connect';
import { LOCAL_CREDENTIALS } from '../../src/stack';
import { freePort } from '../../src/stack/process';
import { CLI_BIN } from './cli';

export interface DevRun {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves once `text` is in its output (rejects if it exits first or after `timeoutMs`). */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Its exit code (or 128 + signal number). */
  exited: Promise<number>;
  endpointsFile: string;
  endpoints(): DevEndpoints & { temporalAddress: string; s3Endpoint: string; region: string };
}

/** Four free ports as dev's port flags. */
export async function devPortFlags(): Promise<string[]> {
  const flags = ['--temporal-port', '--ui-port', '--s3-port', '--engine-port'];
  const ports = await Promise.all(flags.map(() => freePort()));
  return flags.flatMap((f, i) => [f, String(ports[i])]);
}

/** Starts `dev --dir <dir> <args>` with free ports; `env` adds to this process's environment. */
export async function startDev(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<DevRun> {
  const child = spawn(process.execPath, [CLI_BIN, 'dev', '--dir', dir, ...(await devPortFlags()), ...args], {
    env: { ...process.env, S3C_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a test that fails midway kills dev and every server it started at once.
    detached: true,
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15))),
  );
  const endpointsFile = path.join(dir, 'endpoints.json');
  return {
    child,
    output: () => out,
    exited,
    endpointsFile,
    endpoints: () => JSON.parse(readFileSync(endpointsFile, 'utf8')) as ReturnType<DevRun['endpoints']>,
    waitFor: (text, timeoutMs = 180_000) =>
      new Promise<string>((resolve, reject) => {
        const match = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
        const done = () => {
          listeners.delete(check);
          clearTimeout(timer);
        };
        const check = () => {
          if (!match()) return;
          done();
          resolve(out);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`dev did not print ${String(text)} in ${timeoutMs} ms:\n${out}`));
        }, timeoutMs);
        listeners.add(check);
        void exited.then((code) => {
          if (!listeners.has(check)) return;
          done();
          if (match()) resolve(out);
          else reject(new Error(`dev exited (${code}) before it printed ${String(text)}:\n${out}`));
        });
        check();
      }),
  };
}

/** Stops `dev` with `signal` and waits for it; SIGKILLs its process group if it is still there after 60 s. */
export async function stopDev(dev: DevRun, signal: NodeJS.Signals = 'SIGINT'): Promise<number> {
  if (dev.child.exitCode === null && dev.child.signalCode === null) dev.child.kill(signal);
  const timer = setTimeout(() => killGroup(dev), 60_000);
  try {
    return await dev.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** SIGKILL to dev's whole process group (dev and the servers it started), for cleanup after a failure. */
export function killGroup(dev: DevRun): void {
  try {
    if (dev.child.pid) process.kill(-dev.child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** A Temporal client and an S3 client on the running dev stack; closed after `fn`. */
export async function withDevClients<T>(dev: DevRun, fn: (c: { client: Client; s3: S3Client }) => Promise<T>) {
  const e = dev.endpoints();
  const connection = await Connection.connect({ address: e.temporalAddress });
  const s3 = new S3Client({
    endpoint: e.s3Endpoint,
    region: e.region,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
  });
  try {
    return await fn({ client: new Client({ connection, namespace: e.temporalNamespace ?? 'default' }), s3 });
  } finally {
    s3.destroy();
    await connection.close();
  }
}
