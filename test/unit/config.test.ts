import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { cachedWorkflowsFor, ConfigError, loadConfig, workerSettingsFrom } from '../../src/config';

/** An env with no user profile file in the way. */
function env(vars: Record<string, string>): NodeJS.ProcessEnv {
  return { TEMPORAL_CONFIG_FILE: path.join(os.tmpdir(), 'no-such-temporal.toml'), ...vars };
}

describe('config', () => {
  test('defaults: local Temporal without TLS, real AWS', () => {
    const c = loadConfig(env({}));
    expect(c.temporal).toMatchObject({
      address: 'localhost:7233',
      namespace: 'default',
      taskQueue: 's3-campaigns',
      tls: false,
    });
    expect(c.temporal.connection.address).toBe('localhost:7233');
    expect(c.aws).toEqual({
      region: undefined,
      s3Endpoint: undefined,
      s3ControlEndpoint: undefined,
      forcePathStyle: false,
    });
  });

  test('an API key implies TLS and reaches the connection options', () => {
    const c = loadConfig(
      env({
        TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
        TEMPORAL_NAMESPACE: 'ns.acct',
        TEMPORAL_API_KEY: 'secret-key',
      }),
    );
    expect(c.temporal).toMatchObject({ address: 'ns.acct.tmprl.cloud:7233', namespace: 'ns.acct', tls: true });
    expect(c.temporal.connection.apiKey).toBe('secret-key');
    expect(c.temporal.connection.tls).toBeTruthy();
  });

  test('a Temporal profile file is honoured (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-cfg-'));
    try {
      const file = path.join(dir, 'temporal.toml');
      writeFileSync(file, '[profile.prod]\naddress = "temporal.internal:7233"\nnamespace = "campaigns"\n');
      const c = loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' });
      expect(c.temporal).toMatchObject({ address: 'temporal.internal:7233', namespace: 'campaigns' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('local endpoints switch on path-style S3', () => {
    const c = loadConfig(
      env({
        S3C_S3_ENDPOINT: 'http://127.0.0.1:4566',
        S3C_S3CONTROL_ENDPOINT: 'http://127.0.0.1:4567',
        AWS_REGION: 'eu-west-1',
      }),
    );
    expect(c.aws).toEqual({
      region: 'eu-west-1',
      s3Endpoint: 'http://127.0.0.1:4566',
      s3ControlEndpoint: 'http://127.0.0.1:4567',
      forcePathStyle: true,
    });
  });

  test.each([
    [{ TEMPORAL_ADDRESS: 'no port' }, 'TEMPORAL_ADDRESS must be host:port'],
    [{ TEMPORAL_TLS: 'maybe' }, 'TEMPORAL_TLS must be true or false'],
    [{ S3C_S3_ENDPOINT: 'not a url' }, 'S3C_S3_ENDPOINT must be a URL'],
    [{ S3C_FORCE_PATH_STYLE: 'yes please' }, 'S3C_FORCE_PATH_STYLE must be true or false'],
  ])('bad %o → ConfigError naming the variable', (vars, message) => {
    expect(() => loadConfig(env(vars))).toThrow(ConfigError);
    expect(() => loadConfig(env(vars))).toThrow(message);
  });
});

describe('worker settings (queues, workflow cache, activity slots)', () => {
  test('defaults: both queues, a cache sized for 1 GiB, 100 light slots and up to 8 heavy ones by memory', () => {
    expect(workerSettingsFrom({})).toEqual({
      queues: 'both',
      memoryBudgetMiB: 1024,
      maxCachedWorkflows: cachedWorkflowsFor(1024),
      workflowHeapMiB: 1024 - 600,
      lightActivities: 100,
      heavyActivities: 8,
      heavyAdmission: 'memory',
    });
    // The most heavy slots grow with the budget; the smallest heavy-only budget gets four.
    expect(workerSettingsFrom({ S3C_WORKER_MEMORY_MIB: '2048' }).heavyActivities).toBe(16);
    expect(workerSettingsFrom({ S3C_WORKER_QUEUES: 'heavy', S3C_WORKER_MEMORY_MIB: '512' }).heavyActivities).toBe(4);
    // The SDK's own default on this machine's heap cached every one of 1,000 campaigns (2.9 GB); the budget's
    // cache is under a hundred, and grows with the budget.
    expect(cachedWorkflowsFor(1024)).toBeGreaterThanOrEqual(50);
    expect(cachedWorkflowsFor(1024)).toBeLessThanOrEqual(300);
    expect(cachedWorkflowsFor(2048)).toBeGreaterThan(cachedWorkflowsFor(1024) + 150);
    // A tiny budget still gets a workflow heap of 128 MiB.
    expect(cachedWorkflowsFor(100)).toBe(Math.floor(128 / 5));
  });

  test('variables set each, and the budget sizes the cache unless the cache is given; flags win', () => {
    const vars = {
      S3C_WORKER_QUEUES: 'heavy',
      S3C_WORKER_MEMORY_MIB: '2048',
      S3C_LIGHT_ACTIVITIES: '50',
      S3C_HEAVY_ACTIVITIES: '4',
    };
    expect(workerSettingsFrom(vars)).toEqual({
      queues: 'heavy',
      memoryBudgetMiB: 2048,
      maxCachedWorkflows: cachedWorkflowsFor(2048),
      workflowHeapMiB: 2048 - 600,
      lightActivities: 50,
      heavyActivities: 4,
      heavyAdmission: 'fixed',
    });
    expect(workerSettingsFrom({ ...vars, S3C_MAX_CACHED_WORKFLOWS: '30' }).maxCachedWorkflows).toBe(30);
    // A cache above what the budget holds gets the workflow heap it needs.
    expect(workerSettingsFrom({ S3C_MAX_CACHED_WORKFLOWS: '1000' }).workflowHeapMiB).toBeGreaterThanOrEqual(1000 * 2.3);
    expect(workerSettingsFrom(vars, { queues: 'light', heavyActivities: 1 })).toMatchObject({
      queues: 'light',
      heavyActivities: 1,
      heavyAdmission: 'fixed',
    });
  });

  test.each([
    [{}, 'S3C_WORKER_MEMORY_MIB', 727, 728],
    [{ S3C_WORKER_QUEUES: 'light' }, 'S3C_WORKER_MEMORY_MIB', 500, 728],
    [{ S3C_WORKER_QUEUES: 'heavy' }, 'S3C_WORKER_MEMORY_MIB', 511, 512],
  ])('a budget below what the worker needs is refused with the minimum: %o, %s=%d', (vars, name, budget, minimum) => {
    const read = () => workerSettingsFrom({ ...vars, [name]: String(budget) });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(`${name} is ${budget} MiB, below the ${minimum} MiB`);
    expect(read).toThrow(`give it at least ${minimum}`);
    // The flag is named when the flag set it; the minimum itself is accepted.
    expect(() => workerSettingsFrom(vars, { memoryBudgetMiB: budget })).toThrow(`--memory-budget is ${budget} MiB`);
    expect(workerSettingsFrom({ ...vars, [name]: String(minimum) }).memoryBudgetMiB).toBe(minimum);
  });

  test.each([
    ['S3C_WORKER_QUEUES', 'all'],
    ['S3C_WORKER_MEMORY_MIB', '1GB'],
    ['S3C_MAX_CACHED_WORKFLOWS', '0'],
    ['S3C_LIGHT_ACTIVITIES', '-1'],
    ['S3C_HEAVY_ACTIVITIES', '2.5'],
  ])('%s=%s is refused by name', (name, value) => {
    expect(() => workerSettingsFrom({ [name]: value })).toThrow(ConfigError);
    expect(() => workerSettingsFrom({ [name]: value })).toThrow(name);
  });
});
