/**
 * The worker's HTTP port for operators and orchestrators:
 * - `GET /metrics`: Prometheus text — the Temporal SDK's worker metrics and the campaign metrics (both from the SDK
 *   runtime's exporter, which listens on a private loopback port and is read through here), the number of running
 *   campaigns by phase (from Temporal's visibility store, cached briefly), and the process's memory.
 * - `GET /healthz`: 200 while the process serves requests (liveness).
 * - `GET /readyz`: 200 when the worker runs and polls its task queue, Temporal answers and S3 is reachable; 503 with
 *   the failing check otherwise (readiness; also false while the worker drains on shutdown).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Logger } from '../logging';

export interface ReadinessCheck {
  name: string;
  /** Resolves with a short detail when ready; rejects (or resolves `false`) with why not. */
  run: () => Promise<string | false>;
}

export interface ObservabilityServerOptions {
  host: string;
  port: number;
  log: Logger;
  /** The SDK runtime's Prometheus exporter (loopback), e.g. `http://127.0.0.1:40123/metrics`. */
  coreMetricsUrl?: string;
  readiness: ReadinessCheck[];
  /** Extra Prometheus text computed at scrape time (e.g. campaigns by phase); its failure is logged, not served. */
  extraMetrics?: () => Promise<string>;
  /** Each readiness check and each read of the exporter gives up after this long. @default 3000 */
  checkTimeoutMs?: number;
}

export interface ObservabilityServer {
  /** `http://host:port` */
  url: string;
  close(): Promise<void>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function processMetrics(): string {
  const m = process.memoryUsage();
  return [
    '# HELP s3_campaigns_process_resident_memory_bytes Resident memory of the worker process.',
    '# TYPE s3_campaigns_process_resident_memory_bytes gauge',
    `s3_campaigns_process_resident_memory_bytes ${m.rss}`,
    '# HELP s3_campaigns_process_heap_used_bytes V8 heap in use.',
    '# TYPE s3_campaigns_process_heap_used_bytes gauge',
    `s3_campaigns_process_heap_used_bytes ${m.heapUsed}`,
    '',
  ].join('\n');
}

export async function startObservabilityServer(o: ObservabilityServerOptions): Promise<ObservabilityServer> {
  const timeoutMs = o.checkTimeoutMs ?? 3000;

  const readiness = async () => {
    const results = await Promise.all(
      o.readiness.map(async (c) => {
        try {
          const detail = await withTimeout(c.run(), timeoutMs, c.name);
          return detail === false
            ? { name: c.name, ok: false, detail: 'not ready' }
            : { name: c.name, ok: true, detail };
        } catch (err) {
          return { name: c.name, ok: false, detail: (err as Error).message };
        }
      }),
    );
    return { ready: results.every((r) => r.ok), checks: results };
  };

  const metrics = async (): Promise<string> => {
    const parts: string[] = [];
    if (o.coreMetricsUrl) {
      const res = await withTimeout(fetch(o.coreMetricsUrl), timeoutMs, 'the SDK metrics exporter');
      if (!res.ok) throw new Error(`the SDK metrics exporter answered HTTP ${res.status}`);
      parts.push(await res.text());
    }
    if (o.extraMetrics) {
      try {
        parts.push(await withTimeout(o.extraMetrics(), timeoutMs, 'the campaign counts'));
      } catch (err) {
        o.log.warn('could not count campaigns for /metrics', { err: (err as Error).message });
      }
    }
    parts.push(processMetrics());
    return parts.map((p) => (p.endsWith('\n') || p === '' ? p : `${p}\n`)).join('');
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(405, `${req.method} is not allowed: use GET\n`);
    }
    switch (path) {
      case '/healthz':
        return send(200, 'ok\n');
      case '/readyz':
        void readiness().then((r) => send(r.ready ? 200 : 503, `${JSON.stringify(r)}\n`, 'application/json'));
        return;
      case '/metrics':
        void metrics().then(
          (text) => send(200, text, 'text/plain; version=0.0.4; charset=utf-8'),
          (err: Error) => {
            o.log.warn('could not serve /metrics', { err: err.message });
            send(503, `metrics unavailable: ${err.message}\n`);
          },
        );
        return;
      default:
        return send(404, `no such path ${path}: try /metrics, /healthz or /readyz\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`the metrics port ${o.host}:${o.port} is in use: choose another with --metrics-port`)
          : err,
      ),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
