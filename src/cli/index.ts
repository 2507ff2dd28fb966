/**
 * The `s3-campaigns` command line: one program, one file per command group. `bin/s3-campaigns.js` calls `main`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { Command, CommanderError } from 'commander';

import { ConfigError } from '../config';
import { quietSdkNodeWarningOnNode20 } from '../node-support';
import { registerCampaignCommands, UsageError } from './campaign';
import { registerCampaignViewCommands } from './campaign-views';
import { registerDevCommand } from './dev';
import { DecisionPending, DevStackNotRunning, usageErrorLine } from './flags';
import { registerEstimateCommand } from './estimate';
import { registerIamPolicyCommand } from './iam-policy';
import { registerLocalBatchCommand } from './local-batch';
import { registerManifestCommand } from './manifest';
import { registerRedriveCommand } from './redrive';
import { registerScheduleCommands } from './schedule';
import { projectRoot } from '../stack/tools';
import { registerWorkerCommand } from './worker';

/** The installed package's version (package.json at the project root, in a clone and in the image alike). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Exit codes: 0 ok, 1 failure at run time, 2 bad usage or configuration, 3 an approve/reject sent but not applied
 * within `--wait` (no worker took it; it stays pending).
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, pending: 3 } as const;

export function buildProgram(): Command {
  const program = new Command()
    .name('s3-campaigns')
    .description('Run Amazon S3 Batch Operations campaigns end to end on Temporal.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride();
  registerCampaignCommands(program);
  registerCampaignViewCommands(program);
  registerRedriveCommand(program);
  registerScheduleCommands(program);
  registerDevCommand(program);
  registerWorkerCommand(program);
  registerEstimateCommand(program);
  registerIamPolicyCommand(program);
  registerLocalBatchCommand(program);
  registerManifestCommand(program);
  oneLineUsageErrors(program);
  return program;
}

/**
 * A bad command line (a flag value, a missing argument, an unknown option) prints one line that names the command
 * and points at its `--help`, not the whole help text: the help scrolls the message itself out of sight.
 */
function oneLineUsageErrors(cmd: Command, parents: string[] = []): void {
  const path = [...parents, cmd.name()];
  cmd.showHelpAfterError(false).configureOutput({
    outputError: (message, write) => write(`${usageErrorLine(message, path.join(' '))}\n`),
  });
  for (const sub of cmd.commands) oneLineUsageErrors(sub, path);
}

/**
 * `s3-campaigns list | head`: a reader that closes the pipe early ends the output, quietly, as it does for other
 * command-line tools; without this, the next write killed the process with an EPIPE stack trace.
 */
function endQuietlyOnClosedPipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    throw err;
  });
}

export async function main(argv: string[]): Promise<number> {
  quietSdkNodeWarningOnNode20();
  endQuietlyOnClosedPipe();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander; they already printed.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`s3-campaigns: configuration: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`s3-campaigns: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof DevStackNotRunning) {
      process.stderr.write(`s3-campaigns: ${err.message}\n`);
      return EXIT.failure;
    }
    if (err instanceof DecisionPending) {
      process.stderr.write(`s3-campaigns: ${err.message}\n`);
      return EXIT.pending;
    }
    throw err;
  }
}
