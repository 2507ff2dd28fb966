/**
 * The local spool of round analysis: a killed worker's temporary folders are swept once they are a day old, and only
 * those of the same label; a line reader closed before its file was opened never takes the process down.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { readLines, tempDir } from '../../src/activities/spool';

test("a new spool folder removes the same label's folders older than a day, and nothing else", async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 's3c-spool-test-'));
  try {
    const folder = (name: string, ageHours: number) => {
      const p = path.join(root, name);
      mkdirSync(p);
      writeFileSync(path.join(p, 'part-0.jsonl'), 'x\n');
      const t = (Date.now() - ageHours * 3_600_000) / 1000;
      utimesSync(p, t, t);
      return p;
    };
    const stale = folder('s3c-round-dead1', 25);
    const fresh = folder('s3c-round-alive', 23);
    const otherLabel = folder('s3c-manifest-dead', 48);
    const unrelated = folder('somebody-elses', 48);
    const made = await tempDir('round', root);
    expect(existsSync(stale)).toBe(false);
    expect([fresh, otherLabel, unrelated, made.dir].map(existsSync)).toEqual([true, true, true, true]);
    await made.remove();
    expect(existsSync(made.dir)).toBe(false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a reader closed before its file opened, whose file is then gone, fails nothing (it crashed the worker)', async () => {
  // An analysis opens a reader per partition, closes them all at the end and removes its folder; under load the
  // open comes after the removal. The stream's error then had no listener: an uncaught exception.
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', onUncaught);
  try {
    const gone = path.join(os.tmpdir(), `s3c-spool-gone-${process.pid}-${Date.now()}.jsonl`);
    const reader = readLines(gone);
    await reader.return!();
    // The open fails in the thread pool after the close; give its error time to surface.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(uncaught).toEqual([]);
    // A reader still in use reports the same error to its caller.
    await expect(readLines(gone).next()).rejects.toMatchObject({ code: 'ENOENT' });
  } finally {
    process.off('uncaughtException', onUncaught);
    for (const l of listeners) process.on('uncaughtException', l);
  }
});
