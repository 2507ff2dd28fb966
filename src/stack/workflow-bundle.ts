/**
 * The workflow bundle `dev` hands its worker, kept on disk between starts. Bundling the workflow code with webpack
 * costs 1.5–8 s of CPU on 2 cores, on every start, for code that rarely changed since the last one. The cache key is
 * a hash of every compiled file under `dist/src/` (whatever the workflows import is among them) and of the installed
 * dependencies' lock, so a changed workflow, a changed import or a new SDK version always bundles afresh.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

import type { Logger } from '../logging';
import { projectRoot } from './tools';

/** The hash of the compiled code (`.js` under `srcDir`) and of `node_modules/.package-lock.json`. */
export function workflowCodeHash(srcDir: string, lockFile: string): string {
  const hash = createHash('sha256');
  const files: string[] = [];
  const stack = [srcDir];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.name.endsWith('.js')) files.push(p);
    }
  }
  for (const f of files.sort())
    hash
      .update(`${path.relative(srcDir, f)}\0`)
      .update(readFileSync(f))
      .update('\0');
  hash.update(existsSync(lockFile) ? readFileSync(lockFile) : '');
  return hash.digest('hex').slice(0, 24);
}

/**
 * The bundle of `workflowsPath` from `cacheDir` when its code is unchanged, else a new one (written there, older
 * ones removed). `workflowsPath` is the compiled `dist/src/workflows`; its folder's parent is hashed.
 */
export async function cachedWorkflowBundle(opts: {
  cacheDir: string;
  workflowsPath: string;
  log?: Logger;
}): Promise<{ code: string }> {
  const srcDir = path.dirname(path.dirname(opts.workflowsPath));
  const key = workflowCodeHash(srcDir, path.join(projectRoot(), 'node_modules', '.package-lock.json'));
  const file = path.join(opts.cacheDir, `workflow-bundle-${key}.js`);
  if (existsSync(file)) return { code: readFileSync(file, 'utf8') };
  const t0 = Date.now();
  // Quiet: webpack's report is a page of build output, and this may run before dev routes the SDK's logs.
  const { code } = await bundleWorkflowCode({ workflowsPath: opts.workflowsPath, logger: new DefaultLogger('WARN') });
  mkdirSync(opts.cacheDir, { recursive: true });
  for (const old of readdirSync(opts.cacheDir)) {
    if (old.startsWith('workflow-bundle-')) rmSync(path.join(opts.cacheDir, old), { force: true });
  }
  // Write, then rename: a start that is killed mid-write leaves no truncated bundle under the final name.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, file);
  opts.log?.info('workflow bundle built and cached', { seconds: (Date.now() - t0) / 1000, file });
  return { code };
}
