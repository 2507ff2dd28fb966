/**
 * The local S3 Batch Operations engine: an HTTP server that speaks the S3 Control job API, so that the unmodified
 * `@aws-sdk/client-s3-control` drives it, and that really runs the jobs against an S3 endpoint (moto locally).
 *
 * ```ts
 * const engine = await startLocalBatchEngine({ s3Endpoint: 'http://127.0.0.1:4566', stateDir: '.local/engine' });
 * const control = createLocalS3ControlClient({ endpoint: engine.url });
 * …
 * await engine.close();
 * ```
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';

import { LOCAL_CREDENTIALS } from '../aws/local-credentials';
import { createLogger, type Logger } from '../logging';
import { BatchEngine } from './engine';
import { FaultInjector, type FaultRule } from './faults';
import { LambdaBridge } from './lambda';
import { EventNotifier } from './notifications';
import { createRestoreCompleter, MAX_RESTORE_LATENCY_MS, PendingRestores } from './restores';
import { createRequestListener } from './server';
import { RestoreLog } from './store';

export { createLocalS3ControlClient, type LocalS3ControlClientOptions } from './client';
export { FaultInjector, type FaultRule } from './faults';
export { MAX_RESTORE_LATENCY_MS } from './restores';

/**
 * Tasks in flight per Active job. Against moto (one Python process that serialises requests) throughput is flat from
 * 4 to 32 in flight, so moto does not decide it; a latency-bound endpoint does: at 20–50 ms per S3 call, 16 in flight
 * give one job several hundred tasks/s, and 4 Active jobs × 16 = 64 sockets stay a modest pool.
 */
export const DEFAULT_TASK_CONCURRENCY = 16;
/** Jobs Active at once; the others wait in Ready by priority. */
export const DEFAULT_MAX_ACTIVE_JOBS = 4;
/** Terminal jobs are dropped this many days after they end, as AWS does. */
export const DEFAULT_RETENTION_DAYS = 90;

export interface LocalBatchEngineOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** Interface to bind. @default '127.0.0.1' (the engine has no authentication; do not expose it) */
  host?: string;
  /** S3 endpoint the jobs act on, e.g. moto's `http://127.0.0.1:4566`. @default real AWS S3 in `region` */
  s3Endpoint?: string;
  /** Region in job ARNs and for the S3 client. @default 'us-east-1' */
  region?: string;
  /** Directory where jobs and task progress persist across restarts. @default none: state is kept in memory only */
  stateDir?: string;
  /** Tasks in flight per Active job. @default {@link DEFAULT_TASK_CONCURRENCY} (16) */
  taskConcurrency?: number;
  /** Jobs Active at once; Ready jobs start highest priority first. @default {@link DEFAULT_MAX_ACTIVE_JOBS} (4) */
  maxActiveJobs?: number;
  /** Local Lambda handlers for LambdaInvoke jobs: function ARN → JS module path or http(s) URL. @default {} */
  lambdaHandlers?: Record<string, string>;
  /** Fault injection: an injector (shared with the caller) or its initial rules. @default no faults */
  faults?: FaultInjector | FaultRule[];
  /** Days a Complete/Failed/Cancelled job is kept before it is dropped. @default {@link DEFAULT_RETENTION_DAYS} (90) */
  retentionDays?: number;
  /**
   * S3 client to use instead of the one the engine builds (path-style, `s3Endpoint`, credentials from the standard
   * chain or dummy ones for a local endpoint). @default built by the engine
   */
  s3Client?: S3Client;
  /**
   * How long a restore of a GLACIER or DEEP_ARCHIVE object takes (ms, at most {@link MAX_RESTORE_LATENCY_MS}). Above
   * 0 the engine holds each restore back for this long (the object stays archived), then restores it in S3 and sends
   * `s3:ObjectRestore:Completed` to the bucket's SQS queues; pending restores persist in `stateDir`. @default 0 (S3
   * restores at once; moto completes restores immediately)
   */
  restoreLatencyMs?: number;
  /**
   * SQS client for the event notifications of delayed restores. @default built by the engine: `s3Endpoint` (moto
   * serves SQS on the S3 port), the S3 client's region and credentials
   */
  sqsClient?: SQSClient;
  /** @default `createLogger('local-batch')` */
  log?: Logger;
}

export interface LocalBatchEngine {
  /** `http://<host>:<port>`; pass it to {@link createLocalS3ControlClient}. */
  url: string;
  port: number;
  /** The fault injector behind `/_local/faults`. */
  faults: FaultInjector;
  /** Stops accepting requests, lets in-flight tasks finish, persists state. Safe to call twice. */
  close(): Promise<void>;
}

function isLocalEndpoint(endpoint: string): boolean {
  const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\./.test(host);
}

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${String(value)}`);
  return v;
}

/**
 * Builds the engine's S3 client: path-style addressing (moto, MinIO), a socket pool sized for the task concurrency,
 * and credentials from the standard chain, falling back to dummy ones when the endpoint is local and the chain has
 * none (decided once, so the hot path never re-walks the chain).
 */
function buildS3Client(opts: { endpoint?: string; region: string; sockets: number }): S3Client {
  const local = opts.endpoint !== undefined && isLocalEndpoint(opts.endpoint);
  const requestHandler = new NodeHttpHandler({
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: opts.sockets }),
  });
  if (!local)
    return new S3Client({ region: opts.region, endpoint: opts.endpoint, forcePathStyle: true, requestHandler });
  const chain = new S3Client({ region: opts.region }).config.credentials;
  let useDummy = false;
  const credentials = async () => {
    if (useDummy) return LOCAL_CREDENTIALS;
    try {
      return await chain();
    } catch {
      useDummy = true;
      return LOCAL_CREDENTIALS;
    }
  };
  return new S3Client({
    region: opts.region,
    endpoint: opts.endpoint,
    forcePathStyle: true,
    credentials,
    requestHandler,
  });
}

/** Starts the engine: loads and resumes the jobs in `stateDir`, then listens. */
export async function startLocalBatchEngine(options: LocalBatchEngineOptions = {}): Promise<LocalBatchEngine> {
  const log = options.log ?? createLogger('local-batch');
  const region = options.region ?? 'us-east-1';
  const taskConcurrency = positiveInt('taskConcurrency', options.taskConcurrency, DEFAULT_TASK_CONCURRENCY);
  const maxActiveJobs = positiveInt('maxActiveJobs', options.maxActiveJobs, DEFAULT_MAX_ACTIVE_JOBS);
  const retentionDays = positiveInt('retentionDays', options.retentionDays, DEFAULT_RETENTION_DAYS, 0);
  const port = positiveInt('port', options.port, 0, 0);
  const restoreLatencyMs = positiveInt('restoreLatencyMs', options.restoreLatencyMs, 0, 0);
  if (restoreLatencyMs > MAX_RESTORE_LATENCY_MS) {
    throw new Error(`restoreLatencyMs must be at most ${MAX_RESTORE_LATENCY_MS} (30 days), got ${restoreLatencyMs}`);
  }
  const host = options.host ?? '127.0.0.1';
  const faults = options.faults instanceof FaultInjector ? options.faults : new FaultInjector(options.faults ?? []);
  const ownS3 = options.s3Client === undefined;
  const s3 =
    options.s3Client ??
    buildS3Client({ endpoint: options.s3Endpoint, region, sockets: Math.max(50, taskConcurrency * maxActiveJobs) });
  const ownSqs = options.sqsClient === undefined;
  const sqs =
    options.sqsClient ?? new SQSClient({ region, endpoint: options.s3Endpoint, credentials: s3.config.credentials });
  const destroyClients = () => {
    if (ownS3) s3.destroy();
    if (ownSqs) sqs.destroy();
  };

  const restores = await PendingRestores.open({
    file: new RestoreLog(options.stateDir, log),
    latencyMs: restoreLatencyMs,
    complete: createRestoreCompleter({ s3, notifier: new EventNotifier({ s3, sqs, log }), region, log }),
    log,
  });
  const engine = await BatchEngine.open({
    s3,
    region,
    stateDir: options.stateDir,
    taskConcurrency,
    maxActiveJobs,
    lambda: new LambdaBridge(options.lambdaHandlers ?? {}),
    faults,
    retentionDays,
    log,
    restores,
  }).catch(async (err: unknown) => {
    await restores.close();
    destroyClients();
    throw err;
  });
  const server = http.createServer(createRequestListener({ engine, faults, log, restores }));
  // Longer than the SDK agents' idle time, so the server is not the one closing a socket a client is reusing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await engine.close();
    await restores.close();
    destroyClients();
    throw err;
  }
  const actualPort = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  log.info('local batch engine listening', {
    url,
    stateDir: options.stateDir,
    taskConcurrency,
    maxActiveJobs,
    restoreLatencyMs,
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    port: actualPort,
    faults,
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await engine.close();
        await restores.close();
        server.closeAllConnections();
        await stopped;
        destroyClients();
      })()),
  };
}
