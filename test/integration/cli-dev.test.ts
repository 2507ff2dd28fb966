/**
 * `s3-campaigns dev` as an operator runs it: a subprocess that owns four servers. It must stop all of them on a
 * signal, and must refuse (exit 2) an explicit port that another process already holds instead of joining it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { canConnect, freePort } from '../../src/stack/process';
import { CLI_BIN, runCli } from '../support/cli';

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
