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
