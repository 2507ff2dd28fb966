/**
 * Child processes of the embedded stack: start with a log file, wait for readiness with a generous deadline
 * (a loaded 2-core machine is slow to boot a Temporal server), and stop with SIGTERM then SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
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
      if (proc.exited) {
        throw new Error(
          `${opts.name} exited before it was ready (${proc.exitInfo}); log ${logFile}:\n${proc.logTail()}`,
        );
      }
      if (await opts.ready().catch(() => false)) return proc;
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
