/** Runs the `s3-campaigns` CLI as a subprocess (from dist/, like a user would), for end-to-end CLI tests. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { projectRoot } from '../../src/stack/tools';
import { stackEndpoints } from '../helpers';

export const CLI_BIN = path.join(projectRoot(), 'bin', 's3-campaigns.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `s3-campaigns <args>` with `env` added to this process's environment; never rejects. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<CliResult> {
  return execCli(args, { env: { ...process.env, ...env }, timeoutMs });
}

/**
 * The environment of a fresh shell: this process's without any AWS_*, TEMPORAL_* or S3C_* variable (S3C_LOG_LEVEL
 * aside), with `home` as HOME so that no ~/.aws or Temporal profile file speaks either.
 */
export function bareShellEnv(home: string, env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(([k]) => !/^(AWS_|TEMPORAL_|S3C_)/.test(k) || k === 'S3C_LOG_LEVEL');
  return { ...Object.fromEntries(kept), HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), ...env };
}

/** Runs `s3-campaigns <args>` in `cwd` with exactly `env` (see bareShellEnv), as a user's other shell would. */
export function runCliIn(cwd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliResult> {
  return execCli(args, { env, cwd, timeoutMs });
}

function execCli(args: string[], o: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number }): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_BIN, ...args],
      { env: o.env, cwd: o.cwd, timeout: o.timeoutMs },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The environment that points the CLI's AWS clients at the test run's moto S3, with moto's dummy credentials. */
export function localAwsEnv(): NodeJS.ProcessEnv {
  const e = stackEndpoints();
  return {
    AWS_REGION: e.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    S3C_S3_ENDPOINT: e.s3Endpoint,
    S3C_LOG_LEVEL: 'warn',
  };
}

/** Runs `fn` with the spec written to a file in a temporary folder, removed afterwards. */
export async function withSpecFile<T>(spec: unknown, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-spec-'));
  try {
    const file = path.join(dir, 'spec.json');
    writeFileSync(file, JSON.stringify(spec));
    return await fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
