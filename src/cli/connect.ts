/**
 * The CLI's Temporal connection: `TEMPORAL_*` variables (and flags) when set; otherwise the running
 * `s3-campaigns dev` stack (its `.local/dev/endpoints.json`); otherwise `localhost:7233`.
 */
import { existsSync, readFileSync } from 'node:fs';

import { Client, Connection } from '@temporalio/client';
import type { Command } from 'commander';

import { loadConfig, type Config } from '../config';
import { devEndpointsFile } from './dev';

export interface TemporalFlags {
  temporalAddress?: string;
  namespace?: string;
  taskQueue?: string;
}

/** Flags of every command that talks to Temporal. */
export const TEMPORAL_FLAG_HELP = {
  address:
    'Temporal frontend host:port (env TEMPORAL_ADDRESS; default: the running `s3-campaigns dev`, else localhost:7233)',
  namespace: 'Temporal namespace (env TEMPORAL_NAMESPACE, default "default")',
  taskQueue: 'task queue of the campaign worker (env TEMPORAL_TASK_QUEUE, default s3-campaigns)',
};

/** Adds `--temporal-address` and `--namespace` to a command that talks to Temporal. */
export function withTemporalFlags(cmd: Command): Command {
  return cmd
    .option('--temporal-address <host:port>', TEMPORAL_FLAG_HELP.address)
    .option('--namespace <ns>', TEMPORAL_FLAG_HELP.namespace);
}

export function temporalConfig(flags: TemporalFlags): Config['temporal'] {
  const env = { ...process.env };
  if (!env.TEMPORAL_ADDRESS && existsSync(devEndpointsFile())) {
    const dev = JSON.parse(readFileSync(devEndpointsFile(), 'utf8')) as {
      temporalAddress?: string;
      taskQueue?: string;
    };
    if (dev.temporalAddress) env.TEMPORAL_ADDRESS = dev.temporalAddress;
    if (dev.taskQueue && !env.TEMPORAL_TASK_QUEUE) env.TEMPORAL_TASK_QUEUE = dev.taskQueue;
  }
  if (flags.temporalAddress) env.TEMPORAL_ADDRESS = flags.temporalAddress;
  if (flags.namespace) env.TEMPORAL_NAMESPACE = flags.namespace;
  if (flags.taskQueue) env.TEMPORAL_TASK_QUEUE = flags.taskQueue;
  return loadConfig(env).temporal;
}

/** Runs `fn` with a connected client and closes the connection afterwards. */
export async function withTemporalClient<T>(
  flags: TemporalFlags,
  fn: (client: Client, temporal: Config['temporal']) => Promise<T>,
): Promise<T> {
  const temporal = temporalConfig(flags);
  let connection: Connection;
  try {
    const { address, tls, apiKey, metadata } = temporal.connection;
    connection = await Connection.connect({ address, tls, apiKey, metadata, connectTimeout: 5000 });
  } catch (err) {
    throw new Error(`cannot reach Temporal at ${temporal.address}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return await fn(new Client({ connection, namespace: temporal.namespace }), temporal);
  } finally {
    await connection.close();
  }
}
