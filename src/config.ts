/**
 * Environment → typed, validated configuration for the worker, the CLI and the engine (never workflows).
 * Every variable is documented in the README's Configuration section.
 */
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { z } from 'zod';

import { DEFAULT_TASK_QUEUE } from './shared/task-queue';

const urlString = (name: string) =>
  z
    .string()
    .url({ message: `${name} must be a URL such as http://127.0.0.1:4566` })
    .optional();

const ConfigSchema = z.object({
  temporal: z.object({
    /** host:port of the Temporal frontend. @default localhost:7233 */
    address: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'TEMPORAL_ADDRESS must be host:port, e.g. localhost:7233'),
    /** @default default */
    namespace: z.string().min(1, 'TEMPORAL_NAMESPACE must not be empty'),
    /** @default s3-campaigns */
    taskQueue: z.string().min(1, 'TEMPORAL_TASK_QUEUE must not be empty'),
    /** Use TLS (Temporal Cloud). Implied by an API key or client certificates. @default false */
    tls: z.boolean(),
    /** Temporal Cloud API key; never logged. */
    apiKey: z.string().optional(),
    /**
     * Connection options as Temporal's own environment configuration resolves them (profile file
     * `TEMPORAL_CONFIG_FILE` / `~/.config/temporalio/temporal.toml`, `TEMPORAL_PROFILE`, `TEMPORAL_TLS_*`, gRPC metadata):
     * use these to connect.
     */
    connection: z.custom<NativeConnectionOptions>(),
  }),
  aws: z.object({
    /** From AWS_REGION / AWS_DEFAULT_REGION; absent → the SDK's own chain (profile, IMDS). */
    region: z.string().optional(),
    /** A local S3 endpoint (moto); absent → real AWS. */
    s3Endpoint: urlString('S3C_S3_ENDPOINT'),
    /** The local batch engine; absent → real S3 Control. */
    s3ControlEndpoint: urlString('S3C_S3CONTROL_ENDPOINT'),
    /** Path-style S3 URLs; defaults to true with a local endpoint. */
    forcePathStyle: z.boolean(),
  }),
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function bool(name: string, value: string | undefined, dflt: boolean): boolean {
  if (value === undefined || value === '') return dflt;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(value)}`);
}

/** Reads the configuration from `env` (default `process.env`); throws ConfigError naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const s3Endpoint = env.S3C_S3_ENDPOINT || undefined;
  // Temporal's environment configuration: the same variables and profile file as the `temporal` CLI and every SDK.
  let profile;
  try {
    profile = loadClientConfigProfile({
      overrideEnvVars: Object.fromEntries(
        Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
      ),
      profile: env.TEMPORAL_PROFILE || undefined,
    });
  } catch (err) {
    throw new ConfigError(`Temporal client configuration: ${(err as Error).message}`);
  }
  const apiKey = profile.apiKey || undefined;
  const hasCerts = !!(profile.tls?.clientCert || profile.tls?.serverCACert);
  const tls = bool('TEMPORAL_TLS', env.TEMPORAL_TLS, !!apiKey || hasCerts) && !profile.tls?.disabled;
  const address = profile.address || 'localhost:7233';
  let connection: NativeConnectionOptions;
  try {
    connection = toClientOptions({
      ...profile,
      address,
      tls: tls ? (profile.tls ?? {}) : { disabled: true },
    }).connectionOptions;
  } catch (err) {
    throw new ConfigError(`Temporal TLS configuration: ${(err as Error).message}`);
  }
  const raw = {
    temporal: {
      address,
      namespace: profile.namespace || 'default',
      taskQueue: env.TEMPORAL_TASK_QUEUE || DEFAULT_TASK_QUEUE,
      tls,
      apiKey,
      connection,
    },
    aws: {
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined,
      s3Endpoint,
      s3ControlEndpoint: env.S3C_S3CONTROL_ENDPOINT || undefined,
      forcePathStyle: bool('S3C_FORCE_PATH_STYLE', env.S3C_FORCE_PATH_STYLE, !!s3Endpoint),
    },
  };
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => i.message).join('; '));
  }
  return parsed.data;
}
