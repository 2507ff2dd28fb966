/**
 * How long `npm run dev` takes to reach the demo's approval prompt: on a fresh clone (npm ci, first build, native
 * scanner, the pip install of the local servers) and then warm (a second start of the same clone, nothing changed),
 * with the time of each setup step. Also the build check itself: setup's hash of the inputs against the anchor,
 * `tsc --incremental` with nothing to do, in the same clone.
 *
 *   npm run bench:dev-start                    # clones HEAD of this repository into a temporary folder
 *   node dist/bench/dev-start.js --warm-runs 3 --keep /tmp/s3c-clone
 *
 * A fresh clone still profits from the machine's npm and pip caches (and PIP_FIND_LINKS, if set): the first clone
 * ever on a machine downloads more. The demo runs without a terminal here and approves itself; the clock stops at
 * the prompt line, and dev is stopped with SIGINT.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const APPROVAL_LINE = 'The campaign awaits approval';
/** The lines whose time the bench prints: setup's steps and dev's. */
const MILESTONES = ['[setup] ', 'Starting the local stack', 's3-campaigns local stack is up', 'Demo data:', 'Started '];

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Run {
  /** Seconds to the approval prompt. */
  seconds: number;
  /** `[setup] …` lines and when they came (s). */
  steps: Array<{ at: number; line: string }>;
}

/** Runs `npm run dev` in `cwd` until the approval prompt, then SIGINT; the times of setup's lines and the prompt. */
function timeDev(cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const at = () => Number(process.hrtime.bigint() - t0) / 1e9;
    // Its own process group: npm, setup, dev and the servers dev starts stop together.
    const child = spawn('npm', ['run', 'dev'], {
      cwd,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const steps: Run['steps'] = [];
    let seconds: number | undefined;
    let buffered = '';
    let tail = '';
    const onData = (d: Buffer) => {
      const text = d.toString();
      tail = (tail + text).slice(-4000);
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (MILESTONES.some((m) => line.startsWith(m)) && !line.startsWith('[setup]   pip:')) {
          steps.push({ at: at(), line: line.slice(0, 110) });
        }
        if (seconds === undefined && line.includes(APPROVAL_LINE)) {
          seconds = at();
          process.kill(-child.pid!, 'SIGINT');
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('exit', () => {
      if (seconds === undefined) reject(new Error(`npm run dev ended before the approval prompt:\n${tail}`));
      else resolve({ seconds, steps });
    });
  });
}

/** Seconds one run of `fn` takes, the median of `n`. */
function median(n: number, fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

function printRun(label: string, r: Run): void {
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  console.log(`${label}: ${r.seconds.toFixed(1)} s to the approval prompt (load average after it: ${load})`);
  for (const s of r.steps) console.log(`  ${s.at.toFixed(1).padStart(6)} s  ${s.line}`);
}

async function main(): Promise<void> {
  const warmRuns = Number(flag('--warm-runs') ?? '2');
  const repo = path.join(__dirname, '..', '..');
  const keep = flag('--keep');
  const clone = keep ?? mkdtempSync(path.join(os.tmpdir(), 's3c-dev-start-'));
  try {
    const branch = execFileSync('git', ['-C', repo, 'rev-parse', '--abbrev-ref', 'HEAD'], { encoding: 'utf8' }).trim();
    execFileSync('git', ['clone', '-q', '-b', branch, repo, clone], { stdio: 'inherit' });
    const head = execFileSync('git', ['-C', clone, 'log', '--oneline', '-1'], { encoding: 'utf8' }).trim();
    console.log(`fresh clone of ${repo} at ${head} in ${clone}; ${os.cpus().length} cores, Node ${process.version}`);
    printRun('first run (fresh clone)', await timeDev(clone));
    const warm: number[] = [];
    for (let i = 0; i < warmRuns; i++) {
      const r = await timeDev(clone);
      printRun(`warm start ${i + 1}`, r);
      warm.push(r.seconds);
    }
    const tscNoop = median(3, () =>
      execFileSync(
        process.execPath,
        [
          path.join(clone, 'node_modules', 'typescript', 'bin', 'tsc'),
          '-p',
          'tsconfig.build.json',
          '--incremental',
          '--tsBuildInfoFile',
          path.join(clone, 'dist', '.tsbuildinfo'),
        ],
        { cwd: clone },
      ),
    );
    const setupNoTools = median(3, () =>
      execFileSync(process.execPath, ['scripts/setup.js', '--no-tools'], { cwd: clone, stdio: 'ignore' }),
    );
    console.log(
      `build check with nothing changed: setup.js --no-tools (hash of the inputs) ${setupNoTools.toFixed(2)} s, ` +
        `tsc --incremental ${tscNoop.toFixed(2)} s: ${(tscNoop / setupNoTools).toFixed(0)}× faster (medians of 3)`,
    );
    console.log(`warm starts: ${warm.map((s) => s.toFixed(1)).join(', ')} s`);
  } finally {
    if (!keep) rmSync(clone, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
