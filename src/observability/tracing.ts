/**
 * Optional OpenTelemetry tracing of the worker, through Temporal's interceptors (the SDK's OpenTelemetryPlugin):
 * a span per workflow run and its activities, linked across workers by the trace context Temporal carries in headers.
 *
 * Off unless the standard `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and neither
 * `OTEL_TRACES_EXPORTER=none` nor `OTEL_SDK_DISABLED=true`). Off costs nothing: the OpenTelemetry modules are not even
 * loaded. On, spans go over OTLP/HTTP (JSON) in batches; the exporter reads the other standard variables itself
 * (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_*`, …).
 */
// Types only (erased): the modules themselves are required when tracing is on.
import type * as OtlpHttp from '@opentelemetry/exporter-trace-otlp-http';
import type * as Resources from '@opentelemetry/resources';
import type * as TraceBase from '@opentelemetry/sdk-trace-base';
import type * as TraceNode from '@opentelemetry/sdk-trace-node';
import type * as TemporalOtel from '@temporalio/interceptors-opentelemetry';
import type { WorkerPlugin } from '@temporalio/worker';

export interface WorkerTracing {
  plugin: WorkerPlugin;
  /** Where spans go, for the start-up log line. */
  endpoint: string;
  /** Exports what is buffered and stops; call after the worker has stopped. */
  shutdown(): Promise<void>;
}

/** The OTLP traces endpoint the environment asks for, or undefined when tracing is off. */
export function tracingEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === 'true') return undefined;
  if (env.OTEL_TRACES_EXPORTER?.split(',').some((e) => e.trim() === 'none')) return undefined;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}

/** The worker's tracing as the environment configures it; undefined (and nothing loaded) when off. */
export function tracingFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerTracing | undefined {
  const endpoint = tracingEndpoint(env);
  if (!endpoint) return undefined;
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only when tracing is on */
  const { OpenTelemetryPlugin } = require('@temporalio/interceptors-opentelemetry') as typeof TemporalOtel;
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof OtlpHttp;
  const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof TraceBase;
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node') as typeof TraceNode;
  const { Resource, envDetectorSync } = require('@opentelemetry/resources') as typeof Resources;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME || 's3-campaigns-worker' }).merge(
    envDetectorSync.detect(),
  );
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter({ url: endpoint }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // Global: the activity interceptor reads the caller's trace context from the activity's headers with the global
  // propagator (W3C trace context, or as OTEL_PROPAGATORS says) and makes it current with the global context manager
  // (AsyncLocalStorage); without them every activity would start a trace of its own.
  provider.register();
  return {
    plugin: new OpenTelemetryPlugin({
      resource,
      spanProcessor,
      tracer: provider.getTracer('s3-campaigns'),
    }),
    endpoint,
    shutdown: () => provider.shutdown(),
  };
}
