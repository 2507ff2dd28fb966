/** The CLI's output piped into a reader that stops early (`s3-campaigns dev --help | head -3`). */
import { spawn } from 'node:child_process';

import { CLI_BIN } from '../support/cli';

/** Runs the CLI with its stdout read for `bytes` bytes and then closed; resolves with the exit code and stderr. */
function runClosingAfter(args: string[], bytes: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let seen = 0;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      seen += d.length;
      if (seen >= bytes) child.stdout.destroy();
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('CLI output into a closed pipe', () => {
  test('help of every command, read for a few bytes: exit 0, nothing on stderr', async () => {
    // `--help` of a long command writes more than a pipe holds only on some systems: repeat to make the close land
    // while the CLI still writes.
    for (const args of [['dev', '--help'], ['schedule', '--help'], ['--help'], ['manifest', '--help']]) {
      const res = await runClosingAfter(args, 1);
      expect({ args, ...res }).toEqual({ args, code: 0, stderr: '' });
    }
  });
});
