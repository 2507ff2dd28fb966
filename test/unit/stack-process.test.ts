/**
 * ManagedProcess readiness must prove that the server answering is the one it started: a probe answered by another
 * process on the same port (the child failed to bind it) is not readiness.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { canConnect, freePort, isPortFree, ManagedProcess } from '../../src/stack/process';

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
