/**
 * What the restore-and-copy report's "each object once" costs with many restore failures: `RestoreFailureIds` with its
 * cap (past it, ids go to local files, one per shard, read back one at a time) against the same code with no cap
 * (every id held at once, the anchor). Each run is a child process of its own, so its peak RSS is its own.
 *
 *   node dist/bench/restore-failures.js [failures=2000000] [shards=200] [went-on]
 *
 * Failures are synthetic failed.csv objects made on the fly (as streaming a file would give them); the shards hold
 * no rows, so the figures are those of the ids alone. Prints peak RSS and CPU seconds of each, and their ratios.
 * With `went-on`, the worst case of the report's second half too: every failed object went on anyway, so a second set
 * holds them all and `mark` reads every failure again against it (past the cap, by way of local files).
 */
import { execFileSync } from 'node:child_process';

import {
  RESTORE_FAILURE_IDS_CAP,
  RestoreFailureIds,
  type FailedCsvObject,
} from '../src/restore-tracking/restore-failures';
import { peakRssMB } from './peak-rss';

interface Run {
  rssMB: number;
  cpuS: number;
  spilled: boolean;
}

function* failures(n: number): Generator<FailedCsvObject> {
  for (let i = 0; i < n; i++) {
    yield { bucket: 'archive-bucket', key: `data/${(i % 9973).toString(36)}/object%20${i}.bin`, versionId: '' };
  }
}

async function* stream(n: number): AsyncGenerator<FailedCsvObject> {
  yield* failures(n);
}

async function child(n: number, shards: number, cap: number, wentOn: boolean): Promise<void> {
  const start = process.cpuUsage();
  const ids = new RestoreFailureIds(shards, { cap });
  for (const f of failures(n)) await ids.note(f);
  const spilled = ids.spilled;
  const all = Array.from({ length: shards }, (_, s) => s);
  for await (const _ of ids.trackingRows(all, async () => [])) void _;
  await ids.close();
  if (wentOn) {
    const went = new RestoreFailureIds(shards, { cap });
    for (const f of failures(n)) await went.note(f);
    let noted = 0;
    for await (const x of went.mark(stream(n), (f) => f)) if (x.noted) noted += 1;
    await went.close();
    if (noted !== n) throw new Error(`mark found ${noted} of ${n}`);
  }
  const cpu = process.cpuUsage(start);
  const run: Run = { rssMB: peakRssMB(), cpuS: (cpu.user + cpu.system) / 1e6, spilled };
  process.stdout.write(JSON.stringify(run) + '\n');
}

function run(n: number, shards: number, cap: number, wentOn: boolean): Run {
  const args = [__filename, 'child', String(n), String(shards), String(cap), wentOn ? 'went-on' : ''];
  const out = execFileSync(process.execPath, args, { encoding: 'utf8' });
  return JSON.parse(out) as Run;
}

function main(): void {
  const n = Number(process.argv[2] ?? 2_000_000);
  const shards = Number(process.argv[3] ?? 200);
  const wentOn = process.argv[4] === 'went-on';
  const capped = run(n, shards, RESTORE_FAILURE_IDS_CAP, wentOn);
  const all = run(n, shards, Number.MAX_SAFE_INTEGER, wentOn);
  const f = (r: Run) =>
    `peak RSS ${r.rssMB.toFixed(0)} MiB, CPU ${r.cpuS.toFixed(2)} s${r.spilled ? ' (ids in local files)' : ''}`;
  console.log(`${n} restore failures over ${shards} shards${wentOn ? ', every object went on (mark)' : ''}`);
  console.log(`  capped at ${RESTORE_FAILURE_IDS_CAP}: ${f(capped)}`);
  console.log(`  every id held (anchor): ${f(all)}`);
  console.log(
    `  ratio capped/anchor: peak RSS ${(capped.rssMB / all.rssMB).toFixed(2)}, CPU ${(capped.cpuS / all.cpuS).toFixed(2)}`,
  );
}

if (process.argv[2] === 'child') {
  void child(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]), process.argv[6] === 'went-on');
} else {
  main();
}
