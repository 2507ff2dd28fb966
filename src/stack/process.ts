/**
 * Child processes of the embedded stack: start with a log file, wait for readiness with a generous deadline
 * (a loaded 2-core machine is slow to boot a Temporal server), and stop with SIGTERM then SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  statSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Asks the OS for a free TCP port on 127.0.0.1. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** A port the server was to listen on is served by another process. */
export class PortTakenError extends Error {
  override name = 'PortTakenError';
}

/** What a server logs when its port was taken: Go's `bind: address already in use`, Python's `[Errno 98] Address
 * already in use`, Node's `EADDRINUSE`. */
const PORT_TAKEN = /address already in use|EADDRINUSE/i;

/** The bytes `logFile` gained after `from` (its size before a start), as text. */
function logSince(logFile: string, from: number): string {
  if (!existsSync(logFile)) return '';
  const size = statSync(logFile).size;
  if (size <= from) return '';
  const buf = Buffer.alloc(size - from);
  const fd = openSync(logFile, 'r');
  try {
    readSync(fd, buf, 0, buf.length, from);
  } finally {
    closeSync(fd);
  }
  return buf.toString('utf8');
}

/**
 * Runs `start`, which picks its free ports itself, again (up to `attempts` times in all) when the server it started
 * could not bind one of them, as `logFile` says (or another process answered on it). A port is free when `freePort` picks it, but any process may take it
 * before the server binds it: another stack starting at the same moment, or the source port of any outgoing
 * connection, which the OS picks from the same range. Only for ports picked by `start`: a port the caller asked for
 * fails at once.
 */
export async function retryWhenPortTaken<T>(logFile: string, start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const from = existsSync(logFile) ? statSync(logFile).size : 0;
    try {
      return await start();
    } catch (err) {
      const taken = err instanceof PortTakenError || PORT_TAKEN.test(logSince(logFile, from));
      if (attempt >= attempts || !taken) throw err;
    }
  }
}

/**
 * Resolves true when `port` can be bound on `host` right now. Binding, not connecting, is the test: a port held by a
 * process that listens on another address of the same host (0.0.0.0) is busy too.
 */
export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Socket inodes listening on TCP `port` (IPv4 and IPv6), from Linux's `/proc/net/tcp*`; undefined without procfs. */
function listeningInodes(port: number): Set<string> | undefined {
  const inodes = new Set<string>();
  let readAny = false;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    readAny = true;
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …; st 0A is LISTEN.
      const f = line.trim().split(/\s+/);
      const local = f[1]?.split(':');
      if (f[3] === '0A' && local && parseInt(local[local.length - 1] ?? '', 16) === port && f[9]) inodes.add(f[9]);
    }
  }
  return readAny ? inodes : undefined;
}

/** `pid` and every process below it (a wrapper script may start the real server as its child). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (field 2) may hold spaces and parentheses: the ppid is the 2nd field after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

/**
 * Whether the TCP listener on `port` belongs to process `pid` or one of its children: `true`/`false` on Linux,
 * `undefined` where `/proc` is not available (then only the process's liveness can be checked).
 */
export function listenerBelongsTo(port: number, pid: number): boolean | undefined {
  const inodes = listeningInodes(port);
  if (!inodes) return undefined;
  if (inodes.size === 0) return false;
  for (const p of processTree(pid)) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${p}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${p}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return true;
      } catch {
        // The descriptor closed while we looked.
      }
    }
  }
  return false;
}

/** Resolves true when a TCP connection to host:port succeeds within `timeoutMs`. */
export async function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export interface ManagedProcessOptions {
  /** A short name for logs and errors, e.g. `temporal`. */
  name: string;
  command: string;
  args: string[];
  /** The process's stdout and stderr go to `<logDir>/<name>.log`. */
  logDir: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolves true once the process serves requests; polled every 200 ms. */
  ready: () => Promise<boolean>;
  /** How long to wait for readiness, in ms. @default 90000 */
  readyTimeoutMs?: number;
  /**
   * TCP ports on 127.0.0.1 the process serves. Once `ready()` says yes, each must be held by this process (or its
   * children): a readiness probe answered by another server on the same port must not pass for this one.
   * @default []
   */
  ports?: number[];
  /** Aborts the wait for readiness: the process is stopped and `start` rejects with the signal's reason. */
  signal?: AbortSignal;
}

export class ManagedProcess {
  readonly logFile: string;
  private exited = false;
  private exitInfo = '';

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    logFile: string,
  ) {
    this.logFile = logFile;
    child.once('exit', (code, signal) => {
      this.exited = true;
      this.exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
    });
  }

  /** Starts the process and waits until `ready()` says so, or throws with the tail of its log. */
  static async start(opts: ManagedProcessOptions): Promise<ManagedProcess> {
    mkdirSync(opts.logDir, { recursive: true });
    const logFile = path.join(opts.logDir, `${opts.name}.log`);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(opts.command, opts.args, {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    const proc = new ManagedProcess(opts.name, child, logFile);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new Error(`cannot start ${opts.name} (${opts.command}): ${err.message}`)));
    });
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 90_000);
    for (;;) {
      if (opts.signal?.aborted) {
        await proc.stop();
        throw opts.signal.reason;
      }
      if (proc.exited) {
        throw new Error(
          `${opts.name} exited before it was ready (${proc.exitInfo}); log ${logFile}:\n${proc.logTail()}`,
        );
      }
      if (await opts.ready().catch(() => false)) {
        const foreign = (opts.ports ?? []).filter((port) => listenerBelongsTo(port, child.pid!) === false);
        if (!proc.exited && foreign.length === 0) return proc;
        await proc.stop();
        if (proc.exited && foreign.length === 0) {
          throw new Error(
            `${opts.name} exited right after it answered (${proc.exitInfo}); log ${logFile}:\n${proc.logTail()}`,
          );
        }
        throw new PortTakenError(
          `${opts.name}: port ${foreign.join(', ')} on 127.0.0.1 is answered by another process, not by the ` +
            `${opts.name} started here (it could not bind it); log ${logFile}:\n${proc.logTail()}`,
        );
      }
      if (Date.now() > deadline) {
        await proc.stop();
        throw new Error(
          `${opts.name} was not ready within ${opts.readyTimeoutMs ?? 90_000} ms; log ${logFile}:\n${proc.logTail()}`,
        );
      }
      await sleep(200);
    }
  }

  get running(): boolean {
    return !this.exited;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process has exited. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** SIGKILL at once: a crash, for restart tests. */
  async kill(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
  }
}
