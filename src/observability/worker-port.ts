/**
 * Wiring of the worker's metrics and health port: the SDK runtime's telemetry options (its Prometheus exporter on a
 * private loopback port), the readiness checks of a running worker, and the campaigns-by-phase gauge.
 */
import http from 'node:http';
import https from 'node:https';

import type { NativeConnection, RuntimeOptions } from '@temporalio/worker';

import { LISTED_PHASES } from '../cli/phases';
import type { Config } from '../config';
import type { Logger } from '../logging';
import { CAMPAIGN_WORKFLOW_TYPE } from '../shared/campaign';
import { CAMPAIGN_SEARCH_ATTRIBUTES as SA } from '../shared/search-attributes';
import type { CampaignWorker } from '../worker';
import { CAMPAIGN_METRICS, CAMPAIGNS_BY_PHASE_GAUGE } from './metric-names';
import { startObservabilityServer, type ObservabilityServer, type ReadinessCheck } from './server';

/** The SDK runtime's telemetry: a Prometheus exporter on `bindAddress` (loopback: only our server reads it). */
export function runtimeMetricsOptions(bindAddress: string): NonNullable<RuntimeOptions['telemetryOptions']> {
  const buckets: Record<string, number[]> = {};
  for (const def of Object.values(CAMPAIGN_METRICS)) {
    if ('buckets' in def) buckets[def.name] = [...def.buckets];
  }
  return {
    metrics: {
      metricPrefix: 'temporal_',
      prometheus: {
        bindAddress,
        countersTotalSuffix: true,
        unitSuffix: true,
        useSecondsForDurations: true,
        histogramBucketOverrides: buckets,
      },
    },
  };
}

/** Whether an HTTP(S) endpoint answers at all (any status: S3 answers an unsigned request with 403, that is fine). */
export function endpointAnswers(url: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(`${url} answered HTTP ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new Error(`${url} is not reachable: ${err.message}`)));
  });
}

/** The S3 endpoint the worker uses: the configured one, else the region's (the SDK's default). */
export function s3EndpointOf(aws: Config['aws']): string {
  if (aws.s3Endpoint) return aws.s3Endpoint;
  return aws.region ? `https://s3.${aws.region}.amazonaws.com/` : 'https://s3.amazonaws.com/';
}

export function workerReadinessChecks(
  worker: CampaignWorker,
  connection: NativeConnection,
  config: Config,
): ReadinessCheck[] {
  const s3 = s3EndpointOf(config.aws);
  return [
    {
      name: 'worker',
      // Every queue the process serves must be polled: a heavy queue nobody polls stalls every manifest build.
      run: async () => {
        const polling: string[] = [];
        for (const q of worker.queues) {
          const s = q.worker.getStatus();
          if (s.runState !== 'RUNNING')
            throw new Error(`the ${q.kind} worker (task queue ${q.taskQueue}) is ${s.runState}`);
          const workflows = q.kind === 'light' ? s.workflowPollerState : 'POLLING';
          if (workflows !== 'POLLING' || s.activityPollerState !== 'POLLING') {
            throw new Error(
              `task queue ${q.taskQueue}: workflow poller ${s.workflowPollerState}, activity poller ${s.activityPollerState}`,
            );
          }
          polling.push(`${q.taskQueue} (${q.kind})`);
        }
        return `polling task queue${polling.length > 1 ? 's' : ''} ${polling.join(', ')}`;
      },
    },
    {
      name: 'temporal',
      run: async () => {
        await connection.workflowService.getSystemInfo({});
        return `${config.temporal.address} answers`;
      },
    },
    { name: 's3', run: () => endpointAnswers(s3) },
  ];
}

/** Running campaigns by phase, from Temporal's visibility store; cached for `ttlMs` so scrapes stay cheap. */
export function campaignsByPhase(connection: NativeConnection, namespace: string, ttlMs = 15_000) {
  const phases = Object.entries(LISTED_PHASES)
    .filter(([, kind]) => kind === 'phase')
    .map(([p]) => p);
  let cached: { at: number; text: string } | undefined;
  return async (): Promise<string> => {
    if (cached && Date.now() - cached.at < ttlMs) return cached.text;
    const counts = await Promise.all(
      phases.map(async (phase) => {
        const res = await connection.workflowService.countWorkflowExecutions({
          namespace,
          query: `WorkflowType = '${CAMPAIGN_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND ${SA.phase.name} = '${phase}'`,
        });
        return [phase, Number(res.count ?? 0)] as const;
      }),
    );
    const text = [
      `# HELP ${CAMPAIGNS_BY_PHASE_GAUGE} Running campaigns by phase, in the namespace (the same on every worker).`,
      `# TYPE ${CAMPAIGNS_BY_PHASE_GAUGE} gauge`,
      ...counts.map(([phase, n]) => `${CAMPAIGNS_BY_PHASE_GAUGE}{phase="${phase}"} ${n}`),
      '',
    ].join('\n');
    cached = { at: Date.now(), text };
    return text;
  };
}

export interface WorkerPortOptions {
  host: string;
  port: number;
  coreMetricsAddress?: string;
  worker: CampaignWorker;
  connection: NativeConnection;
  config: Config;
  log: Logger;
}

export function startWorkerPort(o: WorkerPortOptions): Promise<ObservabilityServer> {
  return startObservabilityServer({
    host: o.host,
    port: o.port,
    log: o.log,
    coreMetricsUrl: o.coreMetricsAddress ? `http://${o.coreMetricsAddress}/metrics` : undefined,
    readiness: workerReadinessChecks(o.worker, o.connection, o.config),
    extraMetrics: campaignsByPhase(o.connection, o.config.temporal.namespace),
  });
}
