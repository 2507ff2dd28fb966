import { rmSync } from 'node:fs';

import type { RunningStack } from '../src/stack';

export default async function globalTeardown(): Promise<void> {
  const stack = (globalThis as { __S3C_STACK__?: RunningStack }).__S3C_STACK__;
  if (stack) await stack.stop();
  // Keep the logs of a failed run for inspection: CI prints their path; a green run cleans up.
  const dir = process.env.S3C_TEST_DIR;
  if (dir && !process.env.S3C_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
}
