/**
 * The servers a killed `dev` leaves running are stopped by the next `dev` in the same folder (src/stack/orphans.ts):
 * real child processes stand in for Temporal, moto and the engine, and a process that has exited for the killed dev.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { processStartTime, recordServers, running, stopOrphanedServers } from '../../src/stack/orphans';

const children: ChildProcess[] = [];

/** A node process that stays up: ignoring SIGTERM if asked, with a child of its own if asked. */
async function server(opts: { ignoreTerm?: boolean; withChild?: boolean } = {}): Promise<ChildProcess> {
  const code = [
    opts.ignoreTerm ? "process.on('SIGTERM', () => {});" : '',
    opts.withChild ? "require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);" : '',
    "setInterval(() => {}, 1000); console.log('up');",
  ].join('');
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(child);
  await once(child.stdout!, 'data');
  return child;
}

/** The pid of a process that has exited: the killed dev. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

/** The pids of `pid`'s children. */
function childrenOf(pid: number): number[] {
  const out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map(Number);
}

describe('servers a killed dev left running', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 's3c-orphans-'));
    file = path.join(dir, 'servers.json');
  });
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('are stopped, each with its children, when their dev is gone; the record goes', async () => {
    const temporal = await server({ withChild: true });
    const moto = await server();
    const grandchild = childrenOf(temporal.pid!);
    expect(grandchild).toHaveLength(1);
    recordServers(file, await deadPid(), [
      { name: 'temporal', pid: temporal.pid },
      { name: 'moto', pid: moto.pid },
    ]);

    const stopped = await stopOrphanedServers(file);

    expect(stopped.map((s) => [s.name, s.pid])).toEqual([
      ['temporal', temporal.pid],
      ['moto', moto.pid],
    ]);
    expect([temporal.pid!, moto.pid!, ...grandchild].filter(running)).toEqual([]);
    expect(existsSync(file)).toBe(false);
  });

  test('one that ignores SIGTERM is killed after the grace time', async () => {
    const stubborn = await server({ ignoreTerm: true });
    recordServers(file, await deadPid(), [{ name: 'local-batch', pid: stubborn.pid }]);
    expect((await stopOrphanedServers(file, 300)).map((s) => s.name)).toEqual(['local-batch']);
    expect(running(stubborn.pid!)).toBe(false);
  });

  test('are left alone while their dev runs', async () => {
    const temporal = await server();
    recordServers(file, process.pid, [{ name: 'temporal', pid: temporal.pid }]);
    expect(await stopOrphanedServers(file)).toEqual([]);
    expect(running(temporal.pid!)).toBe(true);
    expect(existsSync(file)).toBe(true);
  });

  test('a recorded pid now used by another process (another start time) is not touched', async () => {
    const other = await server();
    expect(processStartTime(other.pid!)).toMatch(/^\d+$/);
    writeFileSync(
      file,
      JSON.stringify({ pid: await deadPid(), servers: [{ name: 'temporal', pid: other.pid, startTime: '1' }] }),
    );
    expect(await stopOrphanedServers(file)).toEqual([]);
    expect(running(other.pid!)).toBe(true);
  });

  test('no record, or a record that is not JSON, stops nothing', async () => {
    expect(await stopOrphanedServers(file)).toEqual([]);
    writeFileSync(file, '{ not json');
    expect(await stopOrphanedServers(file)).toEqual([]);
    expect(existsSync(file)).toBe(false);
  });
});
