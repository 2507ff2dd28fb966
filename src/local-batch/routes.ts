/**
 * Which request is for the engine, and which S3 Control operation a request is.
 *
 * Requests may arrive in origin form (`GET /v20180820/jobs`) or, from a client told to use the engine as its HTTP
 * proxy (`HTTP_PROXY=http://127.0.0.1:PORT`), in absolute form (`GET http://123456789012.s3-control.x:PORT/v20180820/jobs`).
 * The engine forwards nothing: an absolute-form request is answered here only when its path is an S3 Control path
 * (`/v20180820/…`) or the engine's admin API; anything else gets a 403 and no connection to anywhere (see server.ts).
 */
import { S3_CONTROL_OPERATIONS } from './control-operations';

/** The path prefix of every S3 Control operation (API version 2018-08-20). */
export const CONTROL_PATH_PREFIX = '/v20180820/';

interface CompiledRoute {
  method: string;
  regex: RegExp;
  operation: string;
  template: string;
  /** Literal characters of the template: the most specific matching template wins. */
  literal: number;
}

function compile(method: string, template: string, operation: string): CompiledRoute {
  let literal = 0;
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      if (part.startsWith('{')) return part.endsWith('+}') ? '(?:.+)' : '(?:[^/]+)';
      literal += part.length;
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { method, regex: new RegExp(`^${source}/?$`), operation, template, literal };
}

const ROUTES: readonly CompiledRoute[] = S3_CONTROL_OPERATIONS.map(([m, t, o]) => compile(m, t, o));

/** The S3 Control operation of the model that `method` + `pathname` is, or undefined. */
export function controlOperationFor(
  method: string,
  pathname: string,
): { operation: string; template: string } | undefined {
  let best: CompiledRoute | undefined;
  for (const r of ROUTES) {
    if (r.method !== method || !r.regex.test(pathname)) continue;
    if (!best || r.literal > best.literal) best = r;
  }
  return best && { operation: best.operation, template: best.template };
}

/**
 * The request target as a URL. An absolute-form target (a proxy request) keeps its host so that the caller can tell
 * it from an origin-form one; `proxied` says which it was.
 */
export function requestTarget(rawUrl: string | undefined): { url: URL; proxied: boolean; host?: string } {
  const raw = rawUrl ?? '/';
  const absolute = /^https?:\/\/([^/?#]*)(.*)$/is.exec(raw);
  if (absolute) {
    // Not `new URL(raw)`: the SDKs' `<account>.<IPv4>` hosts (123456789012.127.0.0.1) are no valid URL host, and the
    // engine needs only the path and query; the host is kept for messages.
    return { url: requestTarget(absolute[2] || '/').url, proxied: true, host: absolute[1] };
  }
  try {
    return { url: new URL(raw, 'http://local'), proxied: false };
  } catch {
    return { url: new URL('http://local/'), proxied: false };
  }
}
