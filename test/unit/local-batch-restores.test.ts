/**
 * Restores that take time, without servers: the `--restore-latency` flag, the durable restore log, and the one-timer
 * loop that completes due restores (a million of them) with bounded concurrency.
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { parseRestoreLatency } from '../../src/cli/local-batch';
import { MinHeap, PendingRestores, type CompletionResult } from '../../src/local-batch/restores';
import { RestoreLog } from '../../src/local-batch/store';
import type { PendingRestore } from '../../src/local-batch/types';
import { createLogger } from '../../src/logging';

const log = createLogger('test', { level: 'error' });

describe('--restore-latency', () => {
  test.each([
    ['0', 0],
    ['0s', 0],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
    ['30d', 30 * 86_400_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseRestoreLatency(text)).toBe(ms);
  });

  test.each(['', '-1s', '5x', 'soon', '31d', '1 week'])('%j is refused with a message naming the flag', (text) => {
    expect(() => parseRestoreLatency(text)).toThrow(/^--restore-latency must be a duration such as 30s, 2m or 1h/);
  });
});

function pending(id: number, dueAt: number, over: Partial<PendingRestore> = {}): PendingRestore {
  return { id, bucket: 'b', key: `k${id}`, tier: 'BULK', days: 1, requestedAt: dueAt - 1000, dueAt, ...over };
}

describe('RestoreLog', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'restore-log-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('replays adds, tier upgrades and ends; skips torn lines; rewrites the file with the live records only', async () => {
    const first = new RestoreLog(dir, log);
    expect(await first.load()).toEqual([]);
    const a = pending(first.nextId(), Date.parse('2026-01-01T00:00:10Z'), { versionId: 'v1' });
    const b = pending(first.nextId(), Date.parse('2026-01-01T00:00:20Z'));
    const c = pending(first.nextId(), Date.parse('2026-01-01T00:00:30Z'), { key: 'ü é/+.bin' });
    await Promise.all([first.add(a), first.add(b), first.add(c)]);
    b.tier = 'STANDARD';
    await first.setTier(b);
    await first.done(a.id);
    const file = path.join(dir, 'restores.jsonl');
    appendFileSync(file, '{"op":"add","id":9,"bucket":"b","ke'); // a crash mid-line
    writeFileSync(path.join(dir, 'restores.jsonl.1.2.tmp'), 'left by a crash');

    const second = new RestoreLog(dir, log);
    expect(await second.load()).toEqual([{ ...b, tier: 'STANDARD' }, c]);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { op: string; id: number; dueAt: string }).op)).toEqual(['add', 'add']);
    expect(JSON.parse(lines[0]!)).toMatchObject({ id: b.id, tier: 'STANDARD', dueAt: '2026-01-01T00:00:20.000Z' });
    expect(readdirSync(dir)).toEqual(['restores.jsonl']);
    // Ids continue above every id loaded, so an old `done` line cannot name a new record.
    expect(second.nextId()).toBe(4);
  });

  test('changes made while a write is under way go out together, and each add resolves once it is written', async () => {
    const restoreLog = new RestoreLog(dir, log);
    await restoreLog.load();
    const records = Array.from({ length: 5000 }, (_, i) => pending(restoreLog.nextId(), 1_000_000 + i));
    await Promise.all(records.map((r) => restoreLog.add(r)));
    const reloaded = await new RestoreLog(dir, log).load();
    expect(reloaded).toHaveLength(5000);
    expect(reloaded[4999]).toEqual(records[4999]);
  });
});

describe('MinHeap', () => {
  test('pops in order of `before`: by due time, then by id', () => {
    const heap = new MinHeap<PendingRestore>((a, b) => (a.dueAt !== b.dueAt ? a.dueAt < b.dueAt : a.id < b.id));
    const times = [50, 10, 40, 10, 30, 20, 60, 0];
    times.forEach((t, i) => heap.push(pending(i + 1, t)));
    expect(heap.size).toBe(8);
    const out: Array<[number, number]> = [];
    for (let top = heap.pop(); top; top = heap.pop()) out.push([top.dueAt, top.id]);
    expect(out).toEqual([
      [0, 8],
      [10, 2],
      [10, 4],
      [20, 6],
      [30, 5],
      [40, 3],
      [50, 1],
      [60, 7],
    ]);
  });
});

describe('PendingRestores', () => {
  afterEach(() => jest.useRealTimers());

  test('200,000 pending restores share one timer and complete at their due time, 16 at a time', async () => {
    jest.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') });
    const completed: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const table = await PendingRestores.open({
      file: new RestoreLog(undefined, log),
      latencyMs: 60_000,
      log,
      complete: async (r): Promise<CompletionResult> => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await Promise.resolve();
        inFlight--;
        completed.push(r.id);
        return 'done';
      },
    });
    // Enough to show that nothing is per restore (one timer, one heap); kept small enough for a loaded CI machine.
    const N = 200_000;
    for (let i = 0; i < N; i++) {
      table.defer({ bucket: 'b', key: `k${i}`, tier: 'BULK', days: 1 });
      // Requests arrive over 10 s, so their due times spread over 10 s too.
      if (i % 20_000 === 19_999) jest.advanceTimersByTime(1000);
    }
    expect(jest.getTimerCount()).toBe(1);
    expect(table.stats()).toMatchObject({ pending: N, inFlight: 0, nextDueAt: '2026-01-01T00:01:00.000Z' });
    expect(table.get('b', 'k5', undefined)).toMatchObject({ days: 1, tier: 'BULK' });

    // The loop above took 10 s of the clock; the first restores are due 50 s later.
    await jest.advanceTimersByTimeAsync(50_000 - 1);
    expect(completed).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    await jest.advanceTimersByTimeAsync(0);
    expect(completed.length).toBeGreaterThan(0);
    expect(table.stats().pending).toBe(N - completed.length);
    await jest.advanceTimersByTimeAsync(10_000);
    while (completed.length < N) await jest.advanceTimersByTimeAsync(0);
    expect(table.stats()).toMatchObject({ pending: 0, completed: N, nextDueAt: null });
    expect(maxInFlight).toBe(16);
    expect(completed.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(jest.getTimerCount()).toBe(0);
    await table.close();
  }, 120_000);

  test('a completion that fails is tried again later; close() stops the loop and leaves the rest pending', async () => {
    jest.useFakeTimers({ now: 0 });
    let calls = 0;
    const table = await PendingRestores.open({
      file: new RestoreLog(undefined, log),
      latencyMs: 1000,
      log,
      complete: () => {
        calls++;
        return calls === 1 ? Promise.reject(new Error('moto is down')) : Promise.resolve('done');
      },
    });
    table.defer({ bucket: 'b', key: 'flaky', tier: 'BULK', days: 1 });
    await jest.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(1);
    expect(table.stats()).toMatchObject({ pending: 1, nextDueAt: new Date(6000).toISOString() });
    await jest.advanceTimersByTimeAsync(5000);
    expect(table.stats()).toMatchObject({ pending: 0, completed: 1 });

    table.defer({ bucket: 'b', key: 'later', tier: 'BULK', days: 1 });
    await table.close();
    expect(jest.getTimerCount()).toBe(0);
    expect(table.stats().pending).toBe(1);
    expect(() => table.defer({ bucket: 'b', key: 'x', tier: 'BULK', days: 1 })).toThrow(/shutting down/);
  });
});
