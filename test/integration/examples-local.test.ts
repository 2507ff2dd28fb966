/**
 * The examples in examples/local/ run as they are against `s3-campaigns dev`'s demo data: each is started with the
 * CLI from another shell, approved with the CLI, and succeeds on every object it selected.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { statusQuery, type CampaignResult } from '../../src/shared/campaign';
import { runCli } from '../support/cli';
import { killGroup, startDev, stopDev, withDevClients, type DevRun } from '../support/dev';

jest.setTimeout(240_000);

const EXAMPLES = path.join(__dirname, '..', '..', 'examples', 'local');
const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));

let dir: string;
let dev: DevRun;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 's3c-examples-'));
  dev = await startDev(dir, ['--restore-latency', '2s']);
  await dev.waitFor('Press Ctrl-C to stop.');
  env = { S3C_DEV_ENDPOINTS: dev.endpointsFile };
});

afterAll(async () => {
  try {
    if (dev) expect(await stopDev(dev)).toBe(0);
  } finally {
    if (dev) killGroup(dev);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('examples/local holds the operations the local stack runs', () => {
  expect(files.map((f) => f.replace(/\.json$/, '')).sort()).toEqual([
    'acl',
    'copy',
    'delete-tags',
    'put-tags',
    'restore',
    'restore-and-copy',
  ]);
});

test.each(files)('examples/local/%s: start → approve → Succeeded, every selected object', async (file) => {
  const id = `example-${file.replace(/\.json$/, '')}-${Date.now().toString(36)}`;
  const start = await runCli(['start', path.join(EXAMPLES, file), '--id', id], env);
  expect(start.stderr).toBe('');
  expect(start.code).toBe(0);
  await withDevClients(dev, async ({ client }) => {
    const handle = client.workflow.getHandle(id);
    for (;;) {
      const s = await handle.query(statusQuery);
      if (s.phase === 'AwaitingApproval') break;
      expect(s.phase).not.toBe('Done');
      await new Promise((r) => setTimeout(r, 500));
    }
    const approve = await runCli(['approve', id, '--by', 'tester'], env);
    expect(approve.code).toBe(0);
    const result = (await handle.result()) as CampaignResult;
    expect(result.outcome).toBe('Succeeded');
    expect(result.objects).toBeGreaterThan(0);
    expect(result).toMatchObject({ succeeded: result.objects, failed: 0 });
  });
});
