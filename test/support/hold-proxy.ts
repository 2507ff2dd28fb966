/**
 * A reverse HTTP proxy that can hold a chosen request's answer. The worker under test talks to S3 and the batch
 * engine through it, so a test can stop the worker at an exact point of an activity: the request reached the server
 * (the object is written, the job exists, the status changed) but the worker never hears back. That makes the crash
 * window deterministic instead of a race against a timer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a hold rule sees of a request. */
export interface ProxiedRequest {
  method: string;
  /** Path and query, as sent (percent-encoded). */
  url: string;
  /** The request body as UTF-8 text (XML for S3 Control, object data for S3). */
  body: string;
}

export interface HoldRule {
  /** Names the hold in logs and in `waitForHold`. */
  name: string;
  /** The first request this matches is forwarded, and its answer is held; later requests pass. */
  match: (req: ProxiedRequest) => boolean;
}

interface Held {
  rule: HoldRule;
  request: ProxiedRequest;
  /** The upstream status code of the held answer. */
  status: number;
  res: http.ServerResponse;
}

/** Hop-by-hop headers: the proxy answers with a body of known length on its own connection. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade']);

export class HoldProxy {
  private readonly rules: HoldRule[] = [];
  private readonly held = new Map<string, Held>();
  private readonly waiters = new Map<string, Array<(h: Held) => void>>();
  private readonly agent = new http.Agent({ keepAlive: true });
  /** Every request forwarded to the target (method and URL), in arrival order. */
  private readonly log: Array<{ method: string; url: string }> = [];

  private constructor(
    private readonly server: http.Server,
    /** The proxy's own URL, e.g. `http://127.0.0.1:PORT`. */
    readonly url: string,
    /** Where requests go, e.g. `http://127.0.0.1:PORT` of moto. */
    readonly target: string,
  ) {}

  /** Starts a proxy for `target` on a free port of 127.0.0.1. */
  static async start(target: string): Promise<HoldProxy> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const proxy = new HoldProxy(server, `http://127.0.0.1:${port}`, target);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => void proxy.handle(req, res));
    return proxy;
  }

  /** Adds a rule; its first matching request will be held until `dropHeld`. */
  hold(rule: HoldRule): void {
    this.rules.push(rule);
  }

  /** Resolves with the held request once the rule named `name` has caught one. */
  waitForHold(name: string): Promise<ProxiedRequest> {
    const h = this.held.get(name);
    if (h) return Promise.resolve(h.request);
    return new Promise((resolve) => {
      const list = this.waiters.get(name) ?? [];
      list.push((held) => resolve(held.request));
      this.waiters.set(name, list);
    });
  }

  /** The requests forwarded so far (they reached the target), method and URL, in arrival order. */
  forwarded(): Array<{ method: string; url: string }> {
    return [...this.log];
  }

  isHeld(name: string): boolean {
    return this.held.has(name);
  }

  /** The names of the holds caught so far, with the upstream status of each held answer. */
  caught(): Array<{ name: string; method: string; url: string; status: number }> {
    return [...this.held.values()].map((h) => ({
      name: h.rule.name,
      method: h.request.method,
      url: h.request.url,
      status: h.status,
    }));
  }

  /** Cuts every held connection without an answer (the client that waited is gone by then) and clears the rules. */
  dropHeld(): void {
    for (const h of this.held.values()) h.res.destroy();
    this.rules.length = 0;
  }

  async close(): Promise<void> {
    this.dropHeld();
    this.server.closeAllConnections();
    this.agent.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const request: ProxiedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', body: body.toString('utf8') };
      const ruleIndex = this.rules.findIndex((r) => !this.held.has(r.name) && r.match(request));
      this.log.push({ method: request.method, url: request.url });
      const upstream = await this.forward(req, body);
      if (ruleIndex >= 0) {
        const rule = this.rules[ruleIndex]!;
        const held: Held = { rule, request, status: upstream.status, res };
        this.held.set(rule.name, held);
        for (const w of this.waiters.get(rule.name) ?? []) w(held);
        this.waiters.delete(rule.name);
        return;
      }
      const headers = { ...upstream.headers };
      for (const h of HOP_BY_HOP) delete headers[h];
      if (request.method !== 'HEAD') headers['content-length'] = String(upstream.body.length);
      res.writeHead(upstream.status, headers);
      res.end(request.method === 'HEAD' ? undefined : upstream.body);
    } catch {
      // The server is down (a restart in progress) or the client left: cut the connection, as a dead server would.
      res.destroy();
    }
  }

  private forward(
    req: http.IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    const target = new URL(this.target);
    return new Promise((resolve, reject) => {
      const out = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          // The Host header stays as signed. The body is already read: no 100-continue handshake upstream.
          headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'expect')),
          agent: this.agent,
        },
        (up) => {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () =>
            resolve({ status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(chunks) }),
          );
          up.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });
  }
}
