/**
 * Where the CLI's servers are. Temporal: `--temporal-address` / `TEMPORAL_*` when set; otherwise the running
 * `s3-campaigns dev` stack (its `endpoints.json`); otherwise `localhost:7233`. S3 and S3 Control: `S3C_S3_ENDPOINT`
 * (or a command's `--s3-endpoint`) when set; otherwise the running dev stack's moto and engine, with its region and
 * local credentials, unless the command was pointed at another Temporal; otherwise real AWS.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import {
  Client,
  Connection,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import type { Command } from 'commander';

import { ConfigError, loadConfig, type Config } from '../config';
import { canConnect } from '../stack/process';
import { defaultDevDir, devEndpointsFile } from './dev';
import { DevStackNotRunning, UsageError } from './flags';

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
export interface DevEndpoints {
  temporalAddress?: string;
  temporalNamespace?: string;
  taskQueue?: string;
  s3Endpoint?: string;
  engineUrl?: string;
  region?: string;
  /** The `dev` process; absent in files written before it was recorded. */
  pid?: number;
}

/** The value of `S3C_DEV_ENDPOINTS` that makes the CLI ignore any dev stack. */
export const NO_DEV_STACK = 'none';

/**
 * The endpoints.json the CLI reads: `S3C_DEV_ENDPOINTS` (a file, or `none`); else `.local/dev/endpoints.json` under
 * the current directory (a `dev --dir .local/dev` started here); else the one `dev` writes by default, in the
 * project's own `.local/dev/`. Undefined when there is none.
 */
export function devEndpointsPath(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  const named = env.S3C_DEV_ENDPOINTS;
  if (named === NO_DEV_STACK) return undefined;
  if (named) {
    const file = path.resolve(cwd, named);
    if (!existsSync(file)) {
      throw new ConfigError(
        `S3C_DEV_ENDPOINTS names ${file}, which does not exist: is \`s3-campaigns dev\` running with that --dir? ` +
          `(S3C_DEV_ENDPOINTS=${NO_DEV_STACK} ignores any dev stack)`,
      );
    }
    return file;
  }
  return [path.join(cwd, '.local', 'dev', 'endpoints.json'), devEndpointsFile()].find((f) => existsSync(f));
}

/** A path as people type it from here: relative when under the current directory. */
function shown(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is only someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why the stack that wrote `dev` is not running (its process is gone, or its Temporal does not answer), if it is not. */
async function whyNotRunning(dev: DevEndpoints): Promise<string | undefined> {
  if (typeof dev.pid === 'number' && !processAlive(dev.pid)) return `its process ${dev.pid} has exited`;
  const m = /^(.+):(\d+)$/.exec(dev.temporalAddress ?? '');
  if (m && !(await canConnect(m[1]!, Number(m[2]), 2000))) return `nothing answers at ${dev.temporalAddress}`;
  return undefined;
}

/** Reads and checks one endpoints.json; throws DevStackNotRunning when the stack that wrote it is gone. */
async function readDevStack(file: string): Promise<DevEndpoints> {
  let dev: DevEndpoints;
  try {
    dev = JSON.parse(readFileSync(file, 'utf8')) as DevEndpoints;
  } catch (err) {
    throw new ConfigError(`${shown(file)} is not a dev stack's endpoints file: ${(err as Error).message}`);
  }
  const why = await whyNotRunning(dev);
  if (why) {
    const dir = path.dirname(file);
    const restart = dir === defaultDevDir() ? 's3-campaigns dev' : `s3-campaigns dev --dir ${shown(dir)}`;
    throw new DevStackNotRunning(
      `the dev stack that wrote ${shown(file)} is not running (${why}): start it again with \`${restart}\`, or ` +
        `delete that file (or set S3C_DEV_ENDPOINTS=${NO_DEV_STACK}) to use the servers your environment names`,
    );
  }
  return dev;
}

/** A running dev stack: its endpoints and the file that named them. */
export interface DevStack {
  file: string;
  endpoints: DevEndpoints;
}

let devLookup: Promise<DevStack | undefined> | undefined;

/** The running dev stack, looked up (and checked) once per command; undefined when there is no endpoints.json. */
export function runningDevStack(): Promise<DevStack | undefined> {
  return (devLookup ??= (async () => {
    const file = devEndpointsPath();
    return file ? { file, endpoints: await readDevStack(file) } : undefined;
  })());
}

/** Whether the command was pointed at a Temporal server of its own choosing, not the dev stack's. */
function explicitTemporal(flags: TemporalFlags): boolean {
  return !!(flags.temporalAddress || process.env.TEMPORAL_ADDRESS);
}

export async function temporalConfig(flags: TemporalFlags): Promise<Config['temporal']> {
  const env = { ...process.env };
  const dev = explicitTemporal(flags) ? undefined : (await runningDevStack())?.endpoints;
  if (dev) {
    if (dev.temporalAddress) env.TEMPORAL_ADDRESS = dev.temporalAddress;
    if (dev.temporalNamespace && !env.TEMPORAL_NAMESPACE) env.TEMPORAL_NAMESPACE = dev.temporalNamespace;
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
  const temporal = await temporalConfig(flags);
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

/** Flags of the commands that name their own S3 endpoint or region. */
export interface AwsFlags {
  region?: string;
  s3Endpoint?: string;
}

function awsEnv(flags: AwsFlags): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (flags.region) env.AWS_REGION = flags.region;
  if (flags.s3Endpoint) env.S3C_S3_ENDPOINT = flags.s3Endpoint;
  return env;
}

/** AWS settings from the flags, then the environment; no dev stack. */
export function awsConfigOf(flags: AwsFlags): Config['aws'] {
  return loadConfig(awsEnv(flags)).aws;
}

/** AWS settings of a command, and the dev stack's endpoints file when they came from it. */
export interface CliAws {
  aws: Config['aws'];
  /** The endpoints.json whose S3 and S3 Control the settings name; absent when they are the environment's. */
  devFile?: string;
}

/**
 * AWS settings of a command that reads or writes S3 (or S3 Control): the flags', then the environment's; with no
 * S3 endpoint in either, the running dev stack's moto and engine with its region (AWS_REGION still wins) and local
 * credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY still win). A command pointed at another Temporal
 * (`--temporal-address`, `TEMPORAL_ADDRESS`) works with that server's campaigns, so it keeps the environment's AWS.
 * A second shell with nothing exported then works as the first one does.
 */
export async function cliAwsConfig(flags: TemporalFlags & AwsFlags = {}): Promise<CliAws> {
  const env = awsEnv(flags);
  if (env.S3C_S3_ENDPOINT || explicitTemporal(flags)) return { aws: loadConfig(env).aws };
  const stack = await runningDevStack();
  const dev = stack?.endpoints;
  if (!stack || !dev?.s3Endpoint) return { aws: loadConfig(env).aws };
  env.S3C_S3_ENDPOINT = dev.s3Endpoint;
  if (dev.engineUrl && !env.S3C_S3CONTROL_ENDPOINT) env.S3C_S3CONTROL_ENDPOINT = dev.engineUrl;
  if (dev.region && !env.AWS_REGION && !env.AWS_DEFAULT_REGION) env.AWS_REGION = dev.region;
  // The clients sign local requests with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY when both are set, else local ones.
  return { aws: loadConfig(env).aws, devFile: shown(stack.file) };
}
