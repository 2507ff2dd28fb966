/**
 * The cache key of dev's workflow bundle: any change to the compiled code or to the installed dependencies must
 * give a new key (a stale bundle would run old workflow code); nothing else may (a start would bundle for nothing).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { workflowCodeHash } from '../../src/stack/workflow-bundle';

describe('workflowCodeHash', () => {
  let dir: string;
  let src: string;
  let lock: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 's3c-bundle-key-'));
    src = path.join(dir, 'src');
    mkdirSync(path.join(src, 'workflows'), { recursive: true });
    writeFileSync(path.join(src, 'workflows', 'index.js'), 'exports.a = 1;');
    writeFileSync(path.join(src, 'shared.js'), 'exports.b = 2;');
    lock = path.join(dir, 'lock.json');
    writeFileSync(lock, '{"v":1}');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['a workflow file changes', () => writeFileSync(path.join(src, 'workflows', 'index.js'), 'exports.a = 2;')],
    ['a file the workflows import changes', () => writeFileSync(path.join(src, 'shared.js'), 'exports.b = 3;')],
    ['a file is added', () => writeFileSync(path.join(src, 'workflows', 'new.js'), '')],
    ['a file is removed', () => rmSync(path.join(src, 'shared.js'))],
    ['the dependencies change', () => writeFileSync(lock, '{"v":2}')],
  ])('a new key when %s', (_what, change) => {
    const before = workflowCodeHash(src, lock);
    change();
    expect(workflowCodeHash(src, lock)).not.toBe(before);
  });

  test('the same key when only source maps or other files change', () => {
    const before = workflowCodeHash(src, lock);
    writeFileSync(path.join(src, 'shared.js.map'), '{}');
    writeFileSync(path.join(src, 'notes.txt'), 'x');
    expect(workflowCodeHash(src, lock)).toBe(before);
  });
});
