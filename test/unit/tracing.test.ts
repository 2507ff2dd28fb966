/** When tracing is on, and where its spans go: the standard OTEL_* variables, read as the OpenTelemetry spec says. */
import { tracingEndpoint, tracingFromEnv } from '../../src/observability/tracing';

describe('tracingEndpoint', () => {
  test('off without an OTLP endpoint', () => {
    expect(tracingEndpoint({})).toBeUndefined();
    expect(tracingEndpoint({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_HEADERS: 'a=b' })).toBeUndefined();
    expect(tracingFromEnv({})).toBeUndefined();
  });

  test('the base endpoint gets /v1/traces; the traces endpoint is used as given and wins', () => {
    expect(tracingEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(
      tracingEndpoint({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/custom',
      }),
    ).toBe('https://traces.example/custom');
  });

  test('OTEL_TRACES_EXPORTER=none and OTEL_SDK_DISABLED=true turn it off', () => {
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(tracingEndpoint({ ...on, OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    expect(tracingEndpoint({ ...on, OTEL_SDK_DISABLED: 'TRUE' })).toBeUndefined();
    expect(tracingEndpoint({ ...on, OTEL_TRACES_EXPORTER: 'otlp' })).toBe('http://collector:4318/v1/traces');
  });
});
