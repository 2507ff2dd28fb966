/** `s3-campaigns worker`: the campaign worker against a configured Temporal and AWS (real AWS by default). */
import type { Command } from 'commander';

import { ConfigError, loadConfig } from '../config';
import { createLogger } from '../logging';
import {
  checkSearchAttributes,
  mistypedSearchAttributesMessage,
  registerSearchAttributesCommand,
} from '../temporal-setup';
import { createWorker, installRuntimeLogging } from '../worker';

interface WorkerFlags {
  temporalAddress?: string;
  namespace?: string;
  taskQueue?: string;
  region?: string;
  s3Endpoint?: string;
  s3controlEndpoint?: string;
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
    .addHelpText(
      'after',
      '\nExamples:\n  AWS_PROFILE=ops s3-campaigns worker --region eu-west-1\n' +
        '  s3-campaigns worker --temporal-address 127.0.0.1:7233 --s3-endpoint http://127.0.0.1:4566 \\\n' +
        '      --s3control-endpoint http://127.0.0.1:4567\n',
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
      const log = createLogger('worker');
      installRuntimeLogging(log);
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
      const { worker, close } = await createWorker({ config });
      const stop = () => worker.shutdown();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      log.info('worker started', {
        temporal: config.temporal.address,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        s3: config.aws.s3Endpoint ?? 'aws',
        s3control: config.aws.s3ControlEndpoint ?? 'aws',
      });
      try {
        await worker.run();
      } finally {
        await close();
      }
    });
}
