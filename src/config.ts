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

/** Which task queues a worker process serves: both (the default), or one kind only, to size each apart. */
export type WorkerQueues = 'both' | 'light' | 'heavy';

/**
 * How a worker process is sized. Every field has a flag on `s3-campaigns worker` and a variable (README,
 * Configuration); `workerSettingsFrom` reads the variables.
 */
export interface WorkerSettings {
  /**
   * `light`: the campaign task queue (workflows and their short activities: job calls, polls). `heavy`: the
   * `<taskQueue>-heavy` queue (manifest builds, round analysis, reports, restore tracking, large copies). `both`: one
   * process serves the two, each with its own activity slots. @default both
   */
  queues: WorkerQueues;
  /**
   * The memory the process may use, in MiB: the default `maxCachedWorkflows` is derived from it. @default 1024
   */
  memoryBudgetMiB: number;
  /**
   * Campaign workflows kept in memory between their tasks (the SDK's sticky cache); an evicted one is replayed from
   * its history at its next task. @default derived from `memoryBudgetMiB` (`cachedWorkflowsFor`)
   */
  maxCachedWorkflows: number;
  /**
   * The V8 heap limit of the thread the workflows run in, in MiB. The process's own heap limit (from the machine's
   * memory, 4 GiB here) let evicted workflows pile up as garbage: 1,000 campaigns took 2.9 GB with all of them cached
   * and 2 GB with 217. @default `memoryBudgetMiB − 600`, and at least `maxCachedWorkflows × 5`
   */
  workflowHeapMiB: number;
  /** Light activities (job calls, polls) running at once. @default 100 (the SDK's default) */
  lightActivities: number;
  /**
   * Heavy activities running at once, at most. With `heavyAdmission` `memory` (the default) only the first
   * `HEAVY_GUARANTEED_SLOTS` are certain, and each further one is granted only while the process's RSS leaves
   * `HEAVY_ACTIVITY_MIB` within `memoryBudgetMiB`. @default `heavySlotsFor(memoryBudgetMiB)`: 8 at 1024
   */
  heavyActivities: number;
  /**
   * `memory`: heavy slots follow the process's memory (src/heavy-slots.ts); `fixed`: `heavyActivities` slots whatever
   * the memory (the SDK's fixed-size slots). A `heavyActivities` set by flag or variable means `fixed`.
   * @default memory
   */
  heavyAdmission: 'memory' | 'fixed';
}

/**
 * What one large heavy activity may hold, in MiB: a manifest build streams within 256 MB, and the analysis of a
 * 10M-task job peaked at 227 MB (README, Scale). A further heavy slot needs this much room below the budget.
 */
export const HEAVY_ACTIVITY_MIB = 256;
/** Heavy slots granted whatever the memory: one large activity always makes progress. */
export const HEAVY_GUARANTEED_SLOTS = 1;

/**
 * The most heavy slots for a budget: one per 128 MiB (8 at 1024). A heavy activity of a small campaign holds a slot
 * and almost no memory; large ones are bounded by the memory check, not by this count.
 */
export function heavySlotsFor(memoryBudgetMiB: number): number {
  return Math.max(2, Math.floor(memoryBudgetMiB / 128));
}

/**
 * Memory of a worker process outside its workflow thread, in MiB: the main thread with its modules (~130 MiB RSS
 * idle), the SDK's core, and the activities' working sets. The workflow thread's heap gets the rest of the budget.
 */
export const WORKER_BASE_MIB = 600;
/**
 * Workflow-thread heap per cached campaign workflow, in MiB, with V8's room to collect: each cached workflow evaluates
 * the workflow bundle's modules in its own module cache (the SDK's reusable V8 context) and holds its state. Checked
 * with bench:campaigns (README, Scale).
 */
export const CACHED_WORKFLOW_MIB = 5;

/** The smallest heap the workflow thread gets, in MiB (room for the bundle and a few cached workflows). */
export const MIN_WORKFLOW_HEAP_MIB = 128;

/** The workflow thread's V8 heap limit for a budget: what the base leaves (at least `MIN_WORKFLOW_HEAP_MIB`). */
export function workflowHeapFor(memoryBudgetMiB: number): number {
  return Math.max(MIN_WORKFLOW_HEAP_MIB, memoryBudgetMiB - WORKER_BASE_MIB);
}

/**
 * The smallest budget a worker can keep to, in MiB. One that runs workflows needs the base and the workflow thread's
 * smallest heap (728); a heavy-only one, its idle process (~130 MiB RSS, 256 with room) and one large activity (512).
 * Below it the worker would exceed its budget at once, and the memory guard would collect garbage every second in vain.
 */
export function minimumBudgetFor(queues: WorkerQueues): number {
  return queues === 'heavy' ? 256 + HEAVY_ACTIVITY_MIB : WORKER_BASE_MIB + MIN_WORKFLOW_HEAP_MIB;
}

/** The sticky cache that fits `memoryBudgetMiB`: the workflow heap per cached workflow (at least 10). */
export function cachedWorkflowsFor(memoryBudgetMiB: number): number {
  return Math.max(10, Math.floor(workflowHeapFor(memoryBudgetMiB) / CACHED_WORKFLOW_MIB));
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1) {
    throw new ConfigError(`${name} must be a whole number of at least 1, got ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * The worker's sizing from `S3C_WORKER_QUEUES`, `S3C_WORKER_MEMORY_MIB`, `S3C_MAX_CACHED_WORKFLOWS`,
 * `S3C_LIGHT_ACTIVITIES` and `S3C_HEAVY_ACTIVITIES`; `over` (the worker's flags) wins over each.
 */
export function workerSettingsFrom(
  env: NodeJS.ProcessEnv = process.env,
  over: Partial<WorkerSettings> = {},
): WorkerSettings {
  const queues = over.queues ?? (env.S3C_WORKER_QUEUES || 'both');
  if (queues !== 'both' && queues !== 'light' && queues !== 'heavy') {
    throw new ConfigError(`S3C_WORKER_QUEUES must be both, light or heavy, got ${JSON.stringify(queues)}`);
  }
  const memoryBudgetMiB =
    over.memoryBudgetMiB ?? positiveInt('S3C_WORKER_MEMORY_MIB', env.S3C_WORKER_MEMORY_MIB) ?? 1024;
  const minimum = minimumBudgetFor(queues);
  if (memoryBudgetMiB < minimum) {
    const source = over.memoryBudgetMiB !== undefined ? '--memory-budget' : 'S3C_WORKER_MEMORY_MIB';
    const worker = queues === 'both' ? 'a worker of both queues' : `a worker of the ${queues} queue`;
    const parts =
      queues === 'heavy'
        ? 'the process and one large build or analysis'
        : `${WORKER_BASE_MIB} MiB for the process and its activities, ${MIN_WORKFLOW_HEAP_MIB} MiB for the workflow heap`;
    throw new ConfigError(
      `${source} is ${memoryBudgetMiB} MiB, below the ${minimum} MiB ${worker} needs (${parts}): ` +
        `give it at least ${minimum}`,
    );
  }

  const maxCachedWorkflows =
    over.maxCachedWorkflows ??
    positiveInt('S3C_MAX_CACHED_WORKFLOWS', env.S3C_MAX_CACHED_WORKFLOWS) ??
    cachedWorkflowsFor(memoryBudgetMiB);
  const heavyActivities = over.heavyActivities ?? positiveInt('S3C_HEAVY_ACTIVITIES', env.S3C_HEAVY_ACTIVITIES);
  return {
    queues,
    memoryBudgetMiB,
    maxCachedWorkflows,
    // A cache set above what the budget holds gets the heap it needs: an out-of-memory workflow thread stops the worker.
    workflowHeapMiB: Math.max(workflowHeapFor(memoryBudgetMiB), maxCachedWorkflows * CACHED_WORKFLOW_MIB),
    lightActivities: over.lightActivities ?? positiveInt('S3C_LIGHT_ACTIVITIES', env.S3C_LIGHT_ACTIVITIES) ?? 100,
    heavyActivities: heavyActivities ?? heavySlotsFor(memoryBudgetMiB),
    heavyAdmission: heavyActivities === undefined ? 'memory' : 'fixed',
  };
}
