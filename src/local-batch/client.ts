/**
 * An `S3ControlClient` that talks to the local engine.
 *
 * Why a helper: the S3 Control endpoint rules always put the account id in front of the host, even for a custom
 * `endpoint` (`http://127.0.0.1:8787` becomes `http://123456789012.127.0.0.1:8787`, which fails with `Invalid URL`
 * before any request is sent; `disableHostPrefix` does not help). So the client gets a host *name*,
 * `s3-control.localhost:PORT`, and an HTTP agent whose DNS lookup answers 127.0.0.1 for every `*.localhost` name, so
 * that `123456789012.s3-control.localhost` reaches the engine. For a non-local host name (say `engine` in
 * docker-compose) the lookup drops the 12-digit account label and resolves the rest. The engine reads the account from
 * the `x-amz-account-id` header, never from the host.
 */
import dns from 'node:dns';
import http from 'node:http';
import net from 'node:net';

import { S3ControlClient } from '@aws-sdk/client-s3-control';
import { NodeHttpHandler } from '@smithy/node-http-handler';

import { LOCAL_CREDENTIALS } from '../aws/local-credentials';

const ACCOUNT_LABEL = /^\d{12}\./;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export interface LocalS3ControlClientOptions {
  /**
   * The engine's URL, e.g. `http://127.0.0.1:8787` (what `startLocalBatchEngine` returns). A loopback address is
   * rewritten to `s3-control.localhost` with the same port; a host name is kept.
   */
  endpoint: string;
  /** Region for signing and for job ARNs. @default 'us-east-1' */
  region?: string;
  /** SDK attempts per call; use 1 in tests that expect 5xx or throttling errors. @default the SDK's default (3) */
  maxAttempts?: number;
  /** Signing credentials; the engine does not check them. @default `{ accessKeyId: 'local', secretAccessKey: 'local' }` */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | dns.LookupAddress[],
  family?: number,
) => void;

/**
 * A `dns.lookup` replacement: `*.localhost` → 127.0.0.1; `<12 digits>.<host>` → the lookup of `<host>`; anything
 * else → the system resolver. Handles both callback forms (`all: true` wants an array).
 */
export function localhostLookup(hostname: string, options: unknown, callback: LookupCallback): void {
  const opts = (typeof options === 'object' && options !== null ? options : {}) as dns.LookupOptions;
  const name = hostname.toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) {
    if (opts.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
    return;
  }
  const target = ACCOUNT_LABEL.test(name) ? name.replace(ACCOUNT_LABEL, '') : name;
  dns.lookup(target, { ...opts, all: opts.all === true } as dns.LookupAllOptions, (err, addresses) => {
    if (err) return callback(err, opts.all ? [] : '');
    if (opts.all) return callback(null, addresses);
    const [first] = addresses;
    if (!first) return callback(Object.assign(new Error(`no address for ${target}`), { code: 'ENOTFOUND' }), '');
    callback(null, first.address, first.family);
  });
}

/** `http://127.0.0.1:P` → `http://s3-control.localhost:P`; host names unchanged. */
export function localControlEndpoint(endpoint: string): string {
  const url = new URL(endpoint);
  if (LOOPBACK.has(url.hostname)) {
    url.hostname = 's3-control.localhost';
  } else if (net.isIP(url.hostname.replace(/^\[|\]$/g, ''))) {
    throw new Error(
      `the S3 Control client cannot use the IP address ${url.hostname}: the SDK prefixes the account id to the host. ` +
        'Use a host name that resolves to it instead.',
    );
  }
  return url.toString().replace(/\/$/, '');
}

/** Builds an `S3ControlClient` for the local Batch Operations engine (see the module comment for why). */
export function createLocalS3ControlClient(opts: LocalS3ControlClientOptions): S3ControlClient {
  return new S3ControlClient({
    endpoint: localControlEndpoint(opts.endpoint),
    region: opts.region ?? 'us-east-1',
    credentials: opts.credentials ?? LOCAL_CREDENTIALS,
    ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
    requestHandler: new NodeHttpHandler({
      httpAgent: new http.Agent({ keepAlive: true, lookup: localhostLookup as unknown as net.LookupFunction }),
    }),
  });
}
