/**
 * Starts the real servers once per test run: Temporal dev server, moto S3 and the local batch engine (from the
 * compiled dist/, which `npm test` builds first). Tests find them through `stackEndpoints()` in helpers.ts.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startStack } from '../src/stack';
import { projectRoot } from '../src/stack/tools';

export default async function globalSetup(): Promise<void> {
  const cli = path.join(projectRoot(), 'dist', 'src', 'cli', 'index.js');
  if (!existsSync(cli)) {
    throw new Error(
      `${cli} is missing: the engine runs from the compiled CLI. Run \`npm test\` (it builds) or \`npm run build\` first.`,
    );
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-test-'));
  const stack = await startStack({ dir, readyTimeoutMs: 120_000 });
  (globalThis as { __S3C_STACK__?: unknown }).__S3C_STACK__ = stack;
  process.env.S3C_TEST_DIR = dir;
  process.env.S3C_TEST_ENDPOINTS = JSON.stringify(stack.endpoints);
}
