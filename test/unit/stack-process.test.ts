/**
 * ManagedProcess readiness must prove that the server answering is the one it started: a probe answered by another
 * process on the same port (the child failed to bind it) is not readiness. A server whose freshly picked port was
 * taken before it bound it is started again on another (seen in CI: two stacks starting at once).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { canConnect, freePort, isPortFree, ManagedProcess, retryWhenPortTaken } from '../../src/stack/process';

/** A node child that listens on `port` when `listen` is true, else only stays alive. */
function nodeChild(port: number, listen: boolean): string[] {
  const code = listen
    ? `require('net').createServer((s) => s.end()).listen(${port}, '127.0.0.1')`
    : 'setInterval(() => {}, 1000)';
  return ['-e', code];
}

describe('ManagedProcess.start with ports', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 's3c-proc-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a port answered by another process fails the start, names the port, and stops the child', async () => {
    const other = net.createServer((s) => s.end());
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const port = (other.address() as net.AddressInfo).port;
    try {
      const start = ManagedProcess.start({
        name: 'fake-server',
        command: process.execPath,
        args: nodeChild(port, false),
        logDir: dir,
        ready: () => canConnect('127.0.0.1', port),
        ports: [port],
      });
      await expect(start).rejects.toThrow(`fake-server: port ${port} on 127.0.0.1 is answered by another process`);
    } finally {
      await new Promise((r) => other.close(r));
    }
  });

  test('a child that serves its port itself is ready, and its port is free again after stop', async () => {
    const port = await freePort();
    const proc = await ManagedProcess.start({
      name: 'real-server',
      command: process.execPath,
      args: nodeChild(port, true),
      logDir: dir,
      ready: () => canConnect('127.0.0.1', port),
      ports: [port],
    });
    try {
      expect(proc.running).toBe(true);
      expect(await isPortFree(port)).toBe(false);
    } finally {
      await proc.stop();
    }
    expect(await isPortFree(port)).toBe(true);
  });
});

describe('retryWhenPortTaken', () => {
  let dir: string;
  let other: net.Server;
  let taken: number;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 's3c-proc-'));
    // A port someone else binds between the pick and the server's own bind.
    other = net.createServer((s) => s.end());
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    taken = (other.address() as net.AddressInfo).port;
  });
  afterEach(async () => {
    await new Promise((r) => other.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a real node server on the port `pick` gives; it dies with EADDRINUSE when that port is taken. */
  const serverOn = (pick: () => Promise<number>) => async () => {
    const port = await pick();
    const proc = await ManagedProcess.start({
      name: 'picky',
      command: process.execPath,
      args: nodeChild(port, true),
      logDir: dir,
      ready: () => canConnect('127.0.0.1', port),
      ports: [port],
    });
    return { proc, port };
  };

  test('a server that could not bind its picked port is started again on a fresh one', async () => {
    const picks: number[] = [];
    const { proc, port } = await retryWhenPortTaken(
      path.join(dir, 'picky.log'),
      serverOn(async () => {
        const port = picks.length === 0 ? taken : await freePort();
        picks.push(port);
        return port;
      }),
    );
    try {
      expect(picks).toHaveLength(2);
      expect(picks[0]).toBe(taken);
      expect(port).toBe(picks[1]);
      expect(proc.running).toBe(true);
    } finally {
      await proc.stop();
    }
  });

  test('gives up after its attempts, with the server error; other failures are not retried', async () => {
    let starts = 0;
    const log = path.join(dir, 'picky.log');
    // Whichever comes first: the other server answers the probe, or the child dies of EADDRINUSE.
    await expect(
      retryWhenPortTaken(log, () => {
        starts++;
        return serverOn(async () => taken)();
      }),
    ).rejects.toThrow(
      /picky: port \d+ on 127\.0\.0\.1 is answered by another process|picky exited before it was ready/,
    );
    expect(starts).toBe(3);

    starts = 0;
    await expect(
      retryWhenPortTaken(log, () => {
        starts++;
        return Promise.reject(new Error('no such binary'));
      }),
    ).rejects.toThrow('no such binary');
    expect(starts).toBe(1);
  });
});
