/**
 * The local S3 server must start whatever directory `dev` is run from: a Python file there (an `inspect.py` in /tmp,
 * say) must not shadow the standard library of the moto process.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');

describe('the local S3 server (moto)', () => {
  test('starts from a directory whose Python files shadow standard-library modules', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 's3c-shadow-'));
    try {
      // Imported by Python's own start-up (inspect, through dataclasses): run from here with `python -m`, moto dies.
      writeFileSync(path.join(cwd, 'inspect.py'), "raise SystemExit('shadowed the standard library')\n");
      const script = `
        const { startS3 } = require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'stack'))});
        startS3({ dir: ${JSON.stringify(cwd)}, readyTimeoutMs: 60000 }).then(async (s3) => {
          const res = await fetch(s3.endpoint + '/moto-api/');
          console.log(JSON.stringify({ status: res.status, endpoint: s3.endpoint }));
          await s3.proc.stop();
        }, (err) => { console.error(String(err)); process.exit(1); });`;
      const { stdout } = await run(process.execPath, ['-e', script], { cwd, timeout: 90_000 });
      const out = JSON.parse(stdout.trim().split('\n').pop()!) as { status: number; endpoint: string };
      expect(out.status).toBe(200);
      expect(out.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 120_000);
});
