/** `s3-campaigns worker`: the campaign worker against a configured Temporal and AWS (real AWS by default). */
import { InvalidArgumentError, type Command } from 'commander';

import { ConfigError, loadConfig, workerSettingsFrom, type WorkerQueues } from '../config';
import { createLogger } from '../logging';
import {
  checkSearchAttributes,
  mistypedSearchAttributesMessage,
  registerSearchAttributesCommand,
} from '../temporal-setup';
import { tracingFromEnv } from '../observability/tracing';
import { startWorkerPort } from '../observability/worker-port';
import { durationMs, formatDuration } from '../shared/campaign-spec';
import { freePort } from '../stack/process';
import { createWorker, DEFAULT_SHUTDOWN_GRACE_MS, installRuntimeLogging, startMemoryGuard } from '../worker';
import { parsePort, parsePositiveInt } from './flags';

interface WorkerFlags {
  temporalAddress?: string;
  namespace?: string;
  taskQueue?: string;
  region?: string;
  s3Endpoint?: string;
  s3controlEndpoint?: string;
  metricsPort?: number;
  metricsHost?: string;
  shutdownGrace?: number;
  queues?: WorkerQueues;
  memoryBudget?: number;
  maxCachedWorkflows?: number;
  lightActivities?: number;
  heavyActivities?: number;
}

function parseQueues(value: string): WorkerQueues {
  if (value !== 'both' && value !== 'light' && value !== 'heavy') {
    throw new InvalidArgumentError(`--queues must be both, light or heavy, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A duration flag or variable (`20s`, `2m`, `1500ms`) in milliseconds; refused by name otherwise. */
function parseGrace(name: string) {
  return (value: string): number => {
    if (!/^\d+(\.\d+)?\s*(ms|s|m|h)$/.test(value.trim())) {
      throw new InvalidArgumentError(
        `${name} must be a duration such as 20s, 2m or 1500ms, got ${JSON.stringify(value)}`,
      );
    }
    return durationMs(value);
  };
}

/** The flag, else the variable (checked as the flag would be), else undefined. */
function fromEnv<T>(
  flag: T | undefined,
  env: string | undefined,
  parse: (v: string) => T,
  name: string,
): T | undefined {
  if (flag !== undefined) return flag;
  if (env === undefined || env === '') return undefined;
  try {
    return parse(env);
  } catch (err) {
    throw new ConfigError(`${name}: ${(err as Error).message.replace(/^--[a-z-]+ /, '')}`);
  }
}

/** `--metrics-port`, else `S3C_METRICS_PORT` (checked as the flag is); undefined: no metrics port. */
export function metricsPortFrom(flag: number | undefined, env: NodeJS.ProcessEnv): number | undefined {
  return fromEnv(flag, env.S3C_METRICS_PORT, parsePort('--metrics-port'), 'S3C_METRICS_PORT');
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run the campaign worker (Temporal and AWS from the environment; flags override)')
    .option('--temporal-address <host:port>', 'Temporal frontend (env TEMPORAL_ADDRESS, default localhost:7233)')
    .option('--namespace <ns>', 'Temporal namespace (env TEMPORAL_NAMESPACE, default "default")')
    .option('--task-queue <name>', 'task queue (env TEMPORAL_TASK_QUEUE, default s3-campaigns)')
    .option('--region <region>', 'AWS region (env AWS_REGION; default: the SDK chain)')
    .option('--s3-endpoint <url>', 'a local S3 endpoint such as moto (env S3C_S3_ENDPOINT; default: real AWS)')
    .option('--s3control-endpoint <url>', 'the local batch engine (env S3C_S3CONTROL_ENDPOINT; default: real AWS)')
    .option(
      '--metrics-port <port>',
      'serve /metrics (Prometheus), /healthz and /readyz on this port (env S3C_METRICS_PORT; default: off)',
      parsePort('--metrics-port'),
    )
    .option(
      '--metrics-host <address>',
      'the address the metrics port binds (env S3C_METRICS_HOST; default 127.0.0.1; 0.0.0.0 in a container)',
    )
    .option(
      '--shutdown-grace <duration>',
      'on SIGTERM, how long running activities may go on before they are cancelled and handed over (env S3C_SHUTDOWN_GRACE; default 20s)',
      parseGrace('--shutdown-grace'),
    )
    .option(
      '--queues <kind>',
      'both: the campaign task queue and <task-queue>-heavy; light: workflows and job calls only; heavy: manifest builds, analyses, reports, tracking and large copies only (env S3C_WORKER_QUEUES; default both)',
      parseQueues,
    )
    .option(
      '--memory-budget <MiB>',
      'the memory this process may use, at least 728 (512 with --queues heavy); sizes the workflow cache (env S3C_WORKER_MEMORY_MIB; default 1024)',
      parsePositiveInt('--memory-budget'),
    )
    .option(
      '--max-cached-workflows <n>',
      'campaigns kept in memory between their tasks (env S3C_MAX_CACHED_WORKFLOWS; default from --memory-budget: 84 at 1024)',
      parsePositiveInt('--max-cached-workflows'),
    )
    .option(
      '--light-activities <n>',
      'job calls and polls running at once (env S3C_LIGHT_ACTIVITIES; default 100)',
      parsePositiveInt('--light-activities'),
    )
    .option(
      '--heavy-activities <n>',
      'manifest builds, analyses, reports, tracking sweeps and large copies running at once, fixed (env S3C_HEAVY_ACTIVITIES; default: up to 8 at --memory-budget 1024, each beyond the first only while the process has 256 MiB of room in the budget)',
      parsePositiveInt('--heavy-activities'),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  AWS_PROFILE=ops s3-campaigns worker --region eu-west-1\n' +
        '  s3-campaigns worker --temporal-address 127.0.0.1:7233 --s3-endpoint http://127.0.0.1:4566 \\\n' +
        '      --s3control-endpoint http://127.0.0.1:4567\n' +
        '  s3-campaigns worker --metrics-port 9464 --metrics-host 0.0.0.0 --shutdown-grace 30s\n' +
        '  s3-campaigns worker --queues heavy --heavy-activities 4 --memory-budget 2048\n',
    )
    .action(async (flags: WorkerFlags) => {
      const env = { ...process.env };
      if (flags.temporalAddress) env.TEMPORAL_ADDRESS = flags.temporalAddress;
      if (flags.namespace) env.TEMPORAL_NAMESPACE = flags.namespace;
      if (flags.taskQueue) env.TEMPORAL_TASK_QUEUE = flags.taskQueue;
      if (flags.region) env.AWS_REGION = flags.region;
      if (flags.s3Endpoint) env.S3C_S3_ENDPOINT = flags.s3Endpoint;
      if (flags.s3controlEndpoint) env.S3C_S3CONTROL_ENDPOINT = flags.s3controlEndpoint;
      const config = loadConfig(env);
      const settings = workerSettingsFrom(env, {
        ...(flags.queues ? { queues: flags.queues } : {}),
        ...(flags.memoryBudget ? { memoryBudgetMiB: flags.memoryBudget } : {}),
        ...(flags.maxCachedWorkflows ? { maxCachedWorkflows: flags.maxCachedWorkflows } : {}),
        ...(flags.lightActivities ? { lightActivities: flags.lightActivities } : {}),
        ...(flags.heavyActivities ? { heavyActivities: flags.heavyActivities } : {}),
      });
      const metricsPort = fromEnv(
        flags.metricsPort,
        env.S3C_METRICS_PORT,
        parsePort('--metrics-port'),
        'S3C_METRICS_PORT',
      );
      const metricsHost = flags.metricsHost ?? (env.S3C_METRICS_HOST || '127.0.0.1');
      const shutdownGraceMs = fromEnv(
        flags.shutdownGrace,
        env.S3C_SHUTDOWN_GRACE,
        parseGrace('--shutdown-grace'),
        'S3C_SHUTDOWN_GRACE',
      );
      // The SDK's exporter listens on loopback only; the metrics port serves its text with ours.
      const coreMetricsAddress = metricsPort !== undefined ? `127.0.0.1:${await freePort()}` : undefined;
      const log = createLogger('worker');
      installRuntimeLogging(log, { shutdownSignals: [], metricsBindAddress: coreMetricsAddress });
      const { missing, mistyped } = await checkSearchAttributes(config.temporal).catch((err: unknown) => {
        // Temporal Cloud API keys may not list attributes: warn and go on rather than refuse to start.
        log.warn('could not check the campaign search attributes', { err });
        return { missing: [], mistyped: [] };
      });
      // A workflow that upserts an attribute its namespace lacks, or has under another type, fails every workflow
      // task until someone fixes the namespace: refuse to start instead, with the commands that fix it.
      const problems = [
        ...(mistyped.length > 0 ? [mistypedSearchAttributesMessage(mistyped, config.temporal.namespace)] : []),
        ...(missing.length > 0
          ? [
              `namespace ${config.temporal.namespace} lacks the search attributes ${missing.join(', ')}; register them once with:\n  ` +
                registerSearchAttributesCommand(missing, config.temporal.namespace),
            ]
          : []),
      ];
      if (problems.length > 0) throw new ConfigError(problems.join('\n'));
      const tracing = tracingFromEnv(env);
      const { worker, connection, close } = await createWorker({
        config,
        shutdownGraceMs,
        settings,
        plugins: tracing ? [tracing.plugin] : undefined,
      });
      const port =
        metricsPort !== undefined
          ? await startWorkerPort({
              host: metricsHost,
              port: metricsPort,
              coreMetricsAddress,
              worker,
              connection,
              config,
              log,
            }).catch(async (err: unknown) => {
              await close();
              throw err;
            })
          : undefined;
      const grace = formatDuration(shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS);
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
          log.warn('second signal: exiting now, running activities are abandoned (they retry elsewhere)', { signal });
          process.exit(1);
        }
        stopping = true;
        log.info(`shutting down: no new work; running activities get ${grace} to finish`, { signal });
        worker.shutdown();
      };
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, stop);
      log.info('worker started', {
        temporal: config.temporal.address,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        serves: worker.queues.map((q) => q.taskQueue),
        maxCachedWorkflows: settings.queues === 'heavy' ? undefined : settings.maxCachedWorkflows,
        lightActivities: settings.queues === 'heavy' ? undefined : settings.lightActivities,
        heavyActivities: settings.queues === 'light' ? undefined : settings.heavyActivities,
        heavyAdmission: settings.queues === 'light' ? undefined : settings.heavyAdmission,
        s3: config.aws.s3Endpoint ?? 'aws',
        s3control: config.aws.s3ControlEndpoint ?? 'aws',
        ...(port ? { metrics: `${port.url}/metrics` } : {}),
        ...(tracing ? { traces: tracing.endpoint } : {}),
      });
      const stopMemoryGuard = startMemoryGuard(settings.memoryBudgetMiB);
      try {
        await worker.run();
      } finally {
        stopMemoryGuard();
        await port?.close();
        await close();
        await tracing
          ?.shutdown()
          .catch((err: Error) => log.warn('could not export the last spans', { err: err.message }));
      }
      log.info('worker stopped');
    });
}
