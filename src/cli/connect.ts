/**
 * The CLI's Temporal connection: `TEMPORAL_*` variables (and flags) when set; otherwise the running
 * `s3-campaigns dev` stack (its `.local/dev/endpoints.json`); otherwise `localhost:7233`.
 */
import { existsSync, readFileSync } from 'node:fs';

import {
  Client,
  Connection,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import type { Command } from 'commander';

import { LOCAL_CREDENTIALS } from '../aws/local-credentials';
import { loadConfig, type Config } from '../config';
import { devEndpointsFile } from './dev';
import { UsageError } from './flags';

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

/** What the running `s3-campaigns dev` wrote to its endpoints.json. */
interface DevEndpoints {
  temporalAddress?: string;
  taskQueue?: string;
  s3Endpoint?: string;
  engineUrl?: string;
  region?: string;
}

/** The running dev stack, when the CLI talks to it: no TEMPORAL_ADDRESS (or flag) names another server. */
function devStack(flags: TemporalFlags): DevEndpoints | undefined {
  if (process.env.TEMPORAL_ADDRESS || flags.temporalAddress || !existsSync(devEndpointsFile())) return undefined;
  return JSON.parse(readFileSync(devEndpointsFile(), 'utf8')) as DevEndpoints;
}

export function temporalConfig(flags: TemporalFlags): Config['temporal'] {
  const env = { ...process.env };
  const dev = devStack(flags);
  if (dev) {
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
  } catch (err) {
    // Temporal's own words name neither the campaign nor the server ("workflow not found for ID: …").
    const where = `in namespace ${temporal.namespace} at ${temporal.address}`;
    if (err instanceof WorkflowNotFoundError) {
      throw new Error(`no campaign ${err.workflowId} ${where}`, { cause: err });
    }
    if (err instanceof ScheduleNotFoundError) {
      throw new Error(`no schedule ${err.scheduleId} ${where}`, { cause: err });
    }
    if (err instanceof ScheduleAlreadyRunning) {
      throw new UsageError(
        `schedule ${err.scheduleId} already exists ${where}; choose another --id, or delete it first ` +
          `(s3-campaigns schedule delete ${err.scheduleId})`,
      );
    }
    throw err;
  } finally {
    await connection.close();
  }
}

/**
 * AWS settings for a command that reads what a campaign wrote: the environment's, except that a campaign of the
 * running dev stack (the CLI talks to its Temporal) wrote to the dev stack's S3, so that is where its files are read.
 * A second shell with nothing exported then works as the first one does.
 */
export function campaignAwsConfig(flags: TemporalFlags): Config['aws'] {
  const env = { ...process.env };
  const dev = devStack(flags);
  if (dev?.s3Endpoint && !env.S3C_S3_ENDPOINT) {
    env.S3C_S3_ENDPOINT = dev.s3Endpoint;
    if (dev.engineUrl) env.S3C_S3CONTROL_ENDPOINT ??= dev.engineUrl;
    env.AWS_REGION ??= dev.region;
    env.AWS_ACCESS_KEY_ID ??= LOCAL_CREDENTIALS.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY ??= LOCAL_CREDENTIALS.secretAccessKey;
  }
  return loadConfig(env).aws;
}
