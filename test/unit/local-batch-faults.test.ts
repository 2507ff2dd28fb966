import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { faultHash, FaultInjector, FaultRuleError, type FaultContext } from '../../src/local-batch/faults';
import type { TaskRef } from '../../src/local-batch/types';

const ctx: FaultContext = {
  jobId: 'job-1',
  description: 'campaign spring restore',
  operation: 'S3PutObjectTagging',
  manifestBucket: 'mb',
};
const task = (key: string, bucket = 'b', versionId?: string): TaskRef => ({
  index: 0,
  bucket,
  key,
  rawKey: key,
  versionId,
});

describe('fault rule validation', () => {
  test.each([
    [{ httpStatus: 99 }, /httpStatus: /],
    [{ rate: 1.5 }, /rate: /],
    [{ times: 0 }, /times: /],
    [{ match: { keyRegex: '(' } }, /match\.keyRegex: is not a valid regular expression/],
    [{ match: { keyRegex: '^(a)\\1$' } }, /match\.keyRegex: .*backreference or lookaround/],
    [{ match: { keyRegex: '^(?!tmp/)' } }, /match\.keyRegex: .*backreference or lookaround/],
    [{ match: { operation: 'S3DeleteObject' } }, /match\.operation: /],
    [{ errorcode: 'X' }, /\(rule\): unknown field\(s\) errorcode/],
    [{ match: { prefix: 'x' } }, /match: unknown field\(s\) prefix/],
    [{ latencyMs: -1 }, /latencyMs: /],
    [{ preparingFails: true }, /preparingFails: /],
    [{ preparingFails: { failureCode: '' } }, /preparingFails\.failureCode: /],
    [{ preparingFails: { failureCode: 'X'.repeat(65) } }, /preparingFails\.failureCode: /],
    [{ preparingFails: { failureReason: 'r'.repeat(257) } }, /preparingFails\.failureReason: /],
    [{ preparingFails: { code: 'X' } }, /preparingFails: unknown field\(s\) code/],
  ])('%j is refused with a message naming the field', (rule, message) => {
    const f = new FaultInjector();
    expect(() => f.add(rule)).toThrow(FaultRuleError);
    expect(() => f.add(rule)).toThrow(message);
    expect(f.list()).toEqual([]);
  });

  test('a catastrophic-backtracking keyRegex cannot hang the engine: it matches in time linear in the key', async () => {
    const f = new FaultInjector([{ match: { keyRegex: '^(a+)+$' }, errorCode: 'AccessDenied', httpStatus: 403 }]);
    // With backtracking, 64 a's and a mismatch at the end take 2^64 steps.
    expect(await f.beforeTask(ctx, task('a'.repeat(64) + '!'))).toBeUndefined();
    expect(await f.beforeTask(ctx, task('a'.repeat(64)))).toMatchObject({ errorCode: 'AccessDenied' });
  });

  test('replace names the index of the bad rule; ids are generated and must be unique', () => {
    const f = new FaultInjector();
    expect(() => f.replace([{}, { rate: 2 }])).toThrow(/\[1\]\.rate/);
    expect(() => f.replace([{ id: 'a' }, { id: 'a' }])).toThrow(/duplicate id "a"/);
    const rules = f.replace([{ id: 'rule-1' }, {}]);
    expect(rules.map((r) => r.id)).toEqual(['rule-1', 'rule-2']);
    expect(() => f.add({ id: 'rule-1' })).toThrow(/already exists/);
    expect(f.remove('rule-1')).toBe(true);
    expect(f.remove('rule-1')).toBe(false);
  });

  test('fromFile reads an array or {rules} and names the file on error', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'faults-'));
    const good = path.join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ rules: [{ id: 'x', errorCode: 'SlowDown', httpStatus: 503 }] }));
    expect(FaultInjector.fromFile(good).list()).toEqual([{ id: 'x', errorCode: 'SlowDown', httpStatus: 503 }]);
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ times: 'twice' }]));
    expect(() => FaultInjector.fromFile(bad)).toThrow(
      new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*\\[0\\]\\.times`),
    );
  });
});

describe('fault injection', () => {
  test('a bare rule fails every matching task with 500 InternalError; defaults can be overridden', async () => {
    const f = new FaultInjector([
      { match: { keyPrefix: 'bad/' } },
      { match: { keyRegex: '\\.tmp$' }, errorCode: 'AccessDenied', httpStatus: 403, message: 'nope' },
    ]);
    expect(await f.beforeTask(ctx, task('bad/1'))).toEqual({
      status: 'failed',
      errorCode: 'InternalError',
      httpStatus: 500,
      resultMessage: 'Injected fault (rule rule-1)',
    });
    expect(await f.beforeTask(ctx, task('x.tmp'))).toEqual({
      status: 'failed',
      errorCode: 'AccessDenied',
      httpStatus: 403,
      resultMessage: 'nope',
    });
    expect(await f.beforeTask(ctx, task('good/1'))).toBeUndefined();
  });

  test('job matchers: id, description substring, operation, bucket', async () => {
    const f = new FaultInjector();
    f.add({ match: { jobId: 'job-2' } });
    f.add({ match: { description: 'autumn' } });
    f.add({ match: { operation: 'S3PutObjectCopy' } });
    f.add({ match: { bucket: 'other' } });
    expect(await f.beforeTask(ctx, task('k'))).toBeUndefined();
    expect(await f.beforeTask({ ...ctx, jobId: 'job-2' }, task('k'))).toBeDefined();
    expect(await f.beforeTask({ ...ctx, description: 'the autumn campaign' }, task('k'))).toBeDefined();
    expect(await f.beforeTask({ ...ctx, operation: 'S3PutObjectCopy' }, task('k'))).toBeDefined();
    expect(await f.beforeTask(ctx, task('k', 'other'))).toBeDefined();
  });

  test('times: only the first N attempts per object fail, counted across jobs', async () => {
    const f = new FaultInjector([{ times: 2, errorCode: 'SlowDown', httpStatus: 503 }]);
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await f.beforeTask({ ...ctx, jobId: `retry-${i}` }, task('a')))?.errorCode);
    expect(codes).toEqual(['SlowDown', 'SlowDown', undefined, undefined]);
    // Another object (or version) has its own count.
    expect((await f.beforeTask(ctx, task('a', 'b', 'v2')))?.errorCode).toBe('SlowDown');
  });

  test('rate: a deterministic share of objects fails, the same ones for the same seed', async () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `obj-${i}`);
    const failing = async (seed: number) => {
      const f = new FaultInjector([{ rate: 0.3, seed }]);
      const out = [];
      for (const k of keys) if (await f.beforeTask(ctx, task(k))) out.push(k);
      return out;
    };
    const a = await failing(7);
    const b = await failing(7);
    const c = await failing(8);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.length / keys.length).toBeGreaterThan(0.26);
    expect(a.length / keys.length).toBeLessThan(0.34);
    expect(a).toEqual(keys.filter((k) => faultHash(7, 'b', k) < 0.3));
  });

  test('latency-only and preparing-only rules delay without failing', async () => {
    const f = new FaultInjector([
      { latencyMs: 60 },
      { preparingDelayMs: 5000, match: { bucket: 'mb' } },
      { preparingDelayMs: 9000, match: { jobId: 'other' } },
    ]);
    const t0 = Date.now();
    expect(await f.beforeTask(ctx, task('k'))).toBeUndefined();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
    expect(f.preparingDelayMs(ctx)).toBe(5000);
    expect(f.preparingDelayMs({ ...ctx, manifestBucket: 'x' })).toBe(0);
  });

  test('preparingFails fails matching jobs in Preparing with its FailureReasons entry, and no task', async () => {
    const f = new FaultInjector([
      { id: 'shard-1', match: { description: 'shard 1' }, preparingFails: { failureCode: 'InvalidManifest' } },
      { match: { bucket: 'mb' }, preparingFails: { failureCode: 'BucketNotAccessible', failureReason: 'gone' } },
    ]);
    expect(f.preparingFailure({ ...ctx, description: 'spring — round 0 shard 1' })).toEqual({
      FailureCode: 'InvalidManifest',
      FailureReason: 'Injected fault (rule shard-1)',
    });
    expect(f.preparingFailure(ctx)).toEqual({ FailureCode: 'BucketNotAccessible', FailureReason: 'gone' });
    // Job-level only: a key matcher is ignored, and tasks of a matching job still run.
    expect(f.preparingFailure({ ...ctx, manifestBucket: 'other' })).toBeUndefined();
    expect(await f.beforeTask(ctx, task('k', 'mb'))).toBeUndefined();
    expect(new FaultInjector([{ preparingFails: {} }]).preparingFailure(ctx)).toEqual({
      FailureCode: 'InternalError',
      FailureReason: 'Injected fault (rule rule-1)',
    });
    expect(new FaultInjector([{ preparingDelayMs: 10 }]).preparingFailure(ctx)).toBeUndefined();
  });
});

describe('job API throttling (apiRequestsPerSecond)', () => {
  test('admits a second of requests, refuses the rest, and admits again as tokens come back', () => {
    const f = new FaultInjector([{ apiRequestsPerSecond: 4 }]);
    const admitted = (at: number, n: number) =>
      Array.from({ length: n }, () => f.admitApiRequest(at)).filter(Boolean).length;
    expect(admitted(0, 10)).toBe(4);
    expect(f.apiThrottled).toBe(6);
    expect(admitted(250, 3)).toBe(1);
    expect(admitted(10_000, 10)).toBe(4);
  });

  test('a rate under one per second still lets one request through, then waits', () => {
    const f = new FaultInjector([{ apiRequestsPerSecond: 0.5 }]);
    expect([0, 100, 1000, 2100].map((t) => f.admitApiRequest(t))).toEqual([true, false, false, true]);
  });

  test('does not fail tasks, and removing the rule lifts the limit', async () => {
    const f = new FaultInjector();
    const id = f.add({ apiRequestsPerSecond: 1 }).id!;
    expect(await f.beforeTask(ctx, task('any'))).toBeUndefined();
    expect([f.admitApiRequest(0), f.admitApiRequest(0)]).toEqual([true, false]);
    f.remove(id);
    expect(f.admitApiRequest(0)).toBe(true);
  });

  test('no rule, no limit', () => {
    const f = new FaultInjector();
    expect(Array.from({ length: 1000 }, () => f.admitApiRequest(0)).every(Boolean)).toBe(true);
  });
});
