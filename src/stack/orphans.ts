/**
 * The servers a killed `dev` leaves running. `dev` starts Temporal, moto and the engine as child processes and stops
 * them when it stops; a `dev` killed with SIGKILL cannot, and they keep its ports (the next `dev` then gets other
 * ones) and Temporal keeps its database open. `dev` records its servers here as they start, and the next `dev` in the
 * same folder stops those still running before it starts its own. Linux only (it reads `/proc`); elsewhere nothing is
 * recorded or stopped.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { processTree } from './process';

/** One server a `dev` started, as it recorded it. */
export interface ServerRecord {
  name: string;
  pid: number;
  /** The process's start time (`/proc/<pid>/stat` field 22): a pid reused by another process has another one. */
  startTime: string;
}

interface ServersFile {
  /** The `dev` that started them. */
  pid: number;
  servers: ServerRecord[];
}

/** Field 22 of `/proc/<pid>/stat` (clock ticks since boot), if the process exists and `/proc` is there. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, start time field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether `pid` runs: a zombie (ended, not yet reaped by its parent) does not. */
export function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

/** Records the servers `devPid` started (those whose start time can be read), replacing any earlier record. */
export function recordServers(file: string, devPid: number, servers: Array<{ name: string; pid?: number }>): void {
  const records: ServerRecord[] = [];
  for (const s of servers) {
    const startTime = s.pid === undefined ? undefined : processStartTime(s.pid);
    if (startTime !== undefined) records.push({ name: s.name, pid: s.pid!, startTime });
  }
  if (records.length > 0) writeFileSync(file, JSON.stringify({ pid: devPid, servers: records } satisfies ServersFile));
}

/**
 * Stops the recorded servers whose `dev` is gone and that still run (the same process: the same start time), each
 * with its children: SIGTERM, then SIGKILL after `graceMs`. A record whose `dev` still runs is left alone.
 * @returns the servers stopped
 */
export async function stopOrphanedServers(file: string, graceMs = 5_000): Promise<ServerRecord[]> {
  if (!existsSync(file)) return [];
  let record: ServersFile;
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as ServersFile;
  } catch {
    rmSync(file, { force: true });
    return [];
  }
  if (typeof record.pid !== 'number' || !Array.isArray(record.servers) || running(record.pid)) return [];
  const left = record.servers.filter((s) => processStartTime(s.pid) === s.startTime);
  const pids = left.flatMap((s) => processTree(s.pid));
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        // Gone already.
      }
    }
  };
  signal('SIGTERM');
  for (const deadline = Date.now() + graceMs; pids.some(running) && Date.now() < deadline;) await sleep(50);
  if (pids.some(running)) signal('SIGKILL');
  for (const deadline = Date.now() + graceMs; pids.some(running) && Date.now() < deadline;) await sleep(50);
  rmSync(file, { force: true });
  return left;
}
