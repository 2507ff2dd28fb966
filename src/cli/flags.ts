import { InvalidArgumentError } from 'commander';

/** A usage or input error: exit code 2, message only. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A decision sent to Temporal that no worker applied in time; it may still be applied later. Exit code 3. */
export class DecisionPending extends Error {
  override name = 'DecisionPending';
}

/** A commander argument parser for a TCP port (1–65535). */
export function parsePort(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > 65535) {
      throw new InvalidArgumentError(`${flag} must be a port number from 1 to 65535, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

/** A commander argument parser for a positive integer with an upper bound. */
export function parsePositiveInt(flag: string, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > max) {
      throw new InvalidArgumentError(`${flag} must be a whole number from 1 to ${max}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

/** The dev stack named by an endpoints.json is not running (the file outlived it). Exit code 1. */
export class DevStackNotRunning extends Error {
  override name = 'DevStackNotRunning';
}

/**
 * Commander's message for a bad command line as one line: `s3-campaigns list: --limit must be 1–1000, got "0"; see
 * s3-campaigns list --help`. Commander prefixes a parser's own message with `error: option '--limit <n>' argument
 * '0' is invalid.`; the prefix goes when the message names the flag itself.
 */
export function usageErrorLine(commanderMessage: string, commandPath: string): string {
  let text = commanderMessage.trim().replace(/^error: /, '');
  const invalid = /^option '(\S+)[^']*' argument '(.*)' is invalid\.\s*([\s\S]*)$/.exec(text);
  if (invalid) {
    const [, flag, value, detail] = invalid as unknown as [string, string, string, string];
    text = detail.includes(flag) ? detail : `${flag} ${JSON.stringify(value)}: ${detail || 'invalid value'}`;
  }
  return `${commandPath}: ${text.replace(/\s*\n\s*/g, ' ').replace(/\.$/, '')}; see ${commandPath} --help`;
}
