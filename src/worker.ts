/**
 * Wiring only: config → clients → activities → Worker. `s3-campaigns worker` and `s3-campaigns dev` run this.
 */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';

import { createActivities } from './activities';
import { createAwsClients, type AwsClients } from './aws/clients';
import type { Config } from './config';

export interface CreateWorkerOptions {
  config: Config;
  /** Clients to use instead of building them from `config.aws` (tests, the dev stack). */
  clients?: AwsClients;
  /** An open connection to reuse; otherwise one is opened from `config.temporal` and closed with the worker. */
  connection?: NativeConnection;
  /** Overrides for Worker.create (tests bundle workflows once and pass `workflowBundle`). */
  workerOptions?: Partial<WorkerOptions>;
}

export async function connectWorker(temporal: Config['temporal']): Promise<NativeConnection> {
  return await NativeConnection.connect({
    address: temporal.address,
    tls: temporal.tls || undefined,
    apiKey: temporal.apiKey,
  });
}

/** Builds a worker for the campaign task queue. The caller runs it (`worker.run()`) and shuts it down. */
export async function createWorker(opts: CreateWorkerOptions): Promise<{ worker: Worker; close: () => Promise<void> }> {
  const ownsConnection = !opts.connection;
  const connection = opts.connection ?? (await connectWorker(opts.config.temporal));
  const clients = opts.clients ?? createAwsClients(opts.config.aws);
  try {
    const worker = await Worker.create({
      connection,
      namespace: opts.config.temporal.namespace,
      taskQueue: opts.config.temporal.taskQueue,
      activities: createActivities(clients),
      ...(opts.workerOptions?.workflowBundle ? {} : { workflowsPath: require.resolve('./workflows') }),
      ...opts.workerOptions,
    });
    return {
      worker,
      close: async () => {
        if (ownsConnection) await connection.close();
      },
    };
  } catch (err) {
    if (ownsConnection) await connection.close();
    throw err;
  }
}
