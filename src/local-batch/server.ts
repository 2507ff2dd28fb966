/**
 * The HTTP front of the local engine: routes S3 Control job requests (REST-XML, reference §1 and §11) to the
 * {@link BatchEngine}, and serves a small JSON admin API under `/_local/` (health, fault injection, pending restores).
 *
 * Every response carries `x-amz-request-id`; every failure is an `<ErrorResponse>` with a modeled code. Nothing a
 * client sends can crash the server: unexpected errors become InternalServiceException (500) and are logged.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

import type { Logger } from '../logging';
import {
  ApiError,
  badRequest,
  decodeCreateJob,
  decodePutJobTagging,
  encodeCreateJob,
  encodeDeleteJobTagging,
  encodeDescribeJob,
  encodeError,
  encodeGetJobTagging,
  encodeListJobs,
  encodePutJobTagging,
  encodeUpdateJobPriority,
  encodeUpdateJobStatus,
  MAX_PRIORITY,
} from './codec';
import type { BatchEngine } from './engine';
import { FaultRuleError, type FaultInjector } from './faults';
import type { PendingRestores } from './restores';
import { CONTROL_PATH_PREFIX, controlOperationFor, requestTarget } from './routes';
import { parseXmlDocument, XmlSyntaxError } from './xml';

/** Largest request body accepted (bytes). A CreateJobRequest is a few KB; 1 MiB leaves room without inviting abuse. */
export const MAX_BODY_BYTES = 1024 * 1024;

const ACCOUNT_ID = /^\d{12}$/;
const JOBS_PREFIX = '/v20180820/jobs';

/** What the request listener serves: the engine's API, the fault injector behind `/_local/faults`, a logger. */
export interface ServerDeps {
  engine: BatchEngine;
  faults: FaultInjector;
  /** 5xx failures at error, rejected requests and every request at debug. */
  log: Logger;
  /** The pending restores behind `/_local/restores`. @default none: the endpoint answers 404 */
  restores?: PendingRestores;
}

class BodyTooLarge extends Error {}

/** A JSON admin error (the admin API is ours, so it speaks JSON, not XML). */
class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Reads the body as UTF-8; past {@link MAX_BODY_BYTES} it rejects at once and discards the rest as it arrives. */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > MAX_BODY_BYTES;
    if (tooLarge) reject(new BodyTooLarge());
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        chunks.length = 0;
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (tooLarge) return;
      try {
        resolve(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)));
      } catch {
        reject(badRequest('the request body is not valid UTF-8'));
      }
    });
  });
}

function requestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

function parseIntParam(
  value: string | null,
  name: string,
  min: number,
  max: number,
  code: 'BadRequestException' | 'InvalidRequestException',
): number | undefined {
  if (value === null) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new ApiError(code, `${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Largest `limit` of `GET /_local/restores`: the listing is for looking at, not for exporting a million rows. */
const MAX_RESTORES_LISTED = 1000;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * The query of `GET /_local/restores`: `bucket` (a bucket name), `prefix` (of the decoded key) and `limit` (0–1000
 * pending restores listed, default 0: counts only). Anything else is a 400 naming the parameter.
 */
function restoreQuery(
  q: URLSearchParams,
  endpoint = '/_local/restores',
): { bucket?: string; prefix?: string; limit: number } {
  for (const name of new Set(q.keys())) {
    if (!['bucket', 'prefix', 'limit'].includes(name)) {
      throw new AdminError(
        400,
        'BadRequest',
        `unknown query parameter ${name}; ${endpoint} takes bucket, prefix, limit`,
      );
    }
    if (q.getAll(name).length > 1) throw new AdminError(400, 'BadRequest', `query parameter ${name} is given twice`);
  }
  const bucket = q.get('bucket') ?? undefined;
  if (bucket !== undefined && !BUCKET_NAME.test(bucket)) {
    throw new AdminError(400, 'BadRequest', `bucket must be an S3 bucket name, got ${JSON.stringify(bucket)}`);
  }
  const limitText = q.get('limit');
  const limit = limitText === null ? 0 : Number(limitText);
  if (limitText !== null && (!/^\d+$/.test(limitText) || limit > MAX_RESTORES_LISTED)) {
    throw new AdminError(
      400,
      'BadRequest',
      `limit must be a whole number from 0 to ${MAX_RESTORES_LISTED}, got ${JSON.stringify(limitText)}`,
    );
  }
  return { bucket, prefix: q.get('prefix') ?? undefined, limit };
}

/** Builds the server's request listener. */
export function createRequestListener({ engine, faults, log, restores }: ServerDeps): RequestListener {
  const send = (res: ServerResponse, status: number, body: string, contentType: string, reqId: string) => {
    if (res.headersSent) return;
    res.writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(body),
      'x-amz-request-id': reqId,
      'x-amz-id-2': Buffer.from(reqId).toString('base64'),
    });
    res.end(body);
  };
  const xml = (res: ServerResponse, reqId: string, body: string) => send(res, 200, body, 'application/xml', reqId);
  const json = (res: ServerResponse, reqId: string, status: number, value: unknown) =>
    send(res, status, status === 204 ? '' : JSON.stringify(value), 'application/json', reqId);

  async function readXml(req: IncomingMessage) {
    try {
      return parseXmlDocument(await readBody(req));
    } catch (err) {
      if (err instanceof XmlSyntaxError) throw badRequest(`The XML you provided was not well-formed: ${err.message}`);
      throw err;
    }
  }

  async function readJson(req: IncomingMessage): Promise<unknown> {
    const text = await readBody(req);
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new AdminError(400, 'BadRequest', `the body is not valid JSON: ${(err as Error).message}`);
    }
  }

  async function admin(req: IncomingMessage, res: ServerResponse, url: URL, reqId: string): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '');
    if (path === '/_local/health' && method === 'GET') {
      return json(res, reqId, 200, { status: 'ok', ...engine.health() });
    }
    if (path === '/_local/faults') {
      try {
        switch (method) {
          case 'GET':
            return json(res, reqId, 200, faults.list());
          case 'POST':
            return json(res, reqId, 201, faults.add(await readJson(req)));
          case 'PUT':
            return json(res, reqId, 200, faults.replace(await readJson(req)));
          case 'DELETE':
            faults.clear();
            return json(res, reqId, 204, undefined);
          default:
            throw new AdminError(405, 'MethodNotAllowed', `${method} is not allowed on /_local/faults`);
        }
      } catch (err) {
        if (err instanceof FaultRuleError) throw new AdminError(400, 'InvalidFaultRule', err.message);
        throw err;
      }
    }
    if (path === '/_local/replication-status') {
      if (method !== 'GET') throw new AdminError(405, 'MethodNotAllowed', `${method} is not allowed on ${path}`);
      const q = restoreQuery(url.searchParams, path);
      if (q.bucket === undefined) throw new AdminError(400, 'BadRequest', 'the bucket query parameter is required');
      return json(res, reqId, 200, {
        statuses: engine.replication.list(q.bucket, q.prefix, q.limit || MAX_RESTORES_LISTED),
      });
    }
    if (path === '/_local/restores' && restores) {
      if (method !== 'GET') throw new AdminError(405, 'MethodNotAllowed', `${method} is not allowed on ${path}`);
      return json(res, reqId, 200, { ...restores.stats(), ...restores.list(restoreQuery(url.searchParams)) });
    }
    const one = /^\/_local\/faults\/([^/]+)$/.exec(path);
    if (one && method === 'DELETE') {
      let id: string;
      try {
        id = decodeURIComponent(one[1]!);
      } catch {
        throw new AdminError(400, 'BadRequest', 'the rule id in the path is not valid percent-encoding');
      }
      if (!faults.remove(id)) throw new AdminError(404, 'NotFound', `no fault rule with id ${id}`);
      return json(res, reqId, 204, undefined);
    }
    throw new AdminError(404, 'NotFound', `no admin endpoint ${method} ${path}`);
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL, reqId: string): Promise<void> {
    const method = req.method ?? 'GET';
    const rest = url.pathname.slice(JOBS_PREFIX.length).replace(/\/+$/, '');
    const match = /^(?:\/([^/]+)(?:\/(status|priority|tagging))?)?$/.exec(rest);
    if (!match) throw new ApiError('NotFoundException', `No such resource: ${url.pathname}`);
    let jobId: string | undefined;
    try {
      jobId = match[1] === undefined ? undefined : decodeURIComponent(match[1]);
    } catch {
      throw badRequest('the job id in the path is not valid percent-encoding');
    }
    if (!faults.admitApiRequest()) {
      throw new ApiError('TooManyRequestsException', 'Please reduce your request rate (apiRequestsPerSecond fault)');
    }
    const sub = match[2];
    const route = `${method} ${jobId === undefined ? 'jobs' : sub ? `job/${sub}` : 'job'}`;

    const allowed: Record<string, string[]> = {
      jobs: ['GET', 'POST'],
      job: ['GET'],
      'job/status': ['POST'],
      'job/priority': ['POST'],
      'job/tagging': ['GET', 'PUT', 'DELETE'],
    };
    const resource = route.slice(method.length + 1);
    if (!allowed[resource]?.includes(method)) {
      throw new ApiError('MethodNotAllowed', `${method} is not allowed on ${url.pathname}`);
    }

    const header = req.headers['x-amz-account-id'];
    const accountId = Array.isArray(header) ? header[0] : header;
    if (accountId === undefined || accountId === '') {
      throw badRequest('The x-amz-account-id header is required (your 12-digit AWS account id)');
    }
    if (!ACCOUNT_ID.test(accountId)) {
      throw badRequest(`The x-amz-account-id header must be 12 digits, got ${JSON.stringify(accountId)}`);
    }
    const q = url.searchParams;
    const id = jobId ?? '';

    switch (route) {
      case 'POST jobs': {
        const doc = await readXml(req);
        const spec = decodeCreateJob(doc.root, doc.value, accountId);
        return xml(res, reqId, encodeCreateJob(await engine.createJob(spec)));
      }
      case 'GET jobs': {
        const nextToken = q.get('nextToken') ?? undefined;
        if (nextToken !== undefined && (nextToken.length < 1 || nextToken.length > 1024)) {
          throw new ApiError('InvalidNextTokenException', 'nextToken must be 1–1024 characters long');
        }
        const page = engine.listJobs(accountId, {
          statuses: q.getAll('jobStatuses'),
          nextToken,
          maxResults: parseIntParam(q.get('maxResults'), 'maxResults', 0, 1000, 'InvalidRequestException'),
        });
        return xml(res, reqId, encodeListJobs(page.jobs, page.nextToken));
      }
      case 'GET job':
        return xml(res, reqId, encodeDescribeJob(engine.describeJob(accountId, id)));
      case 'POST job/status': {
        const requested = q.get('requestedJobStatus');
        if (requested === null)
          throw badRequest('The requestedJobStatus query parameter is required (Ready or Cancelled)');
        const reason = q.get('statusUpdateReason') ?? undefined;
        const out = await engine.updateJobStatus(accountId, id, requested, reason);
        return xml(res, reqId, encodeUpdateJobStatus(id, out.status, out.reason));
      }
      case 'POST job/priority': {
        const priority = parseIntParam(q.get('priority'), 'priority', 0, MAX_PRIORITY, 'BadRequestException');
        if (priority === undefined) throw badRequest('The priority query parameter is required');
        return xml(res, reqId, encodeUpdateJobPriority(id, await engine.updateJobPriority(accountId, id, priority)));
      }
      case 'GET job/tagging':
        return xml(res, reqId, encodeGetJobTagging(engine.getJobTagging(accountId, id)));
      case 'PUT job/tagging': {
        const doc = await readXml(req);
        engine.getJobTagging(accountId, id); // 404 before 400: an unknown job is the more useful answer
        await engine.putJobTagging(accountId, id, decodePutJobTagging(doc.root, doc.value));
        return xml(res, reqId, encodePutJobTagging());
      }
      case 'DELETE job/tagging':
        await engine.deleteJobTagging(accountId, id);
        return xml(res, reqId, encodeDeleteJobTagging());
      default:
        throw new ApiError('MethodNotAllowed', `${method} is not allowed on ${url.pathname}`);
    }
  }

  /**
   * A request outside the job API: an S3 Control operation of the model that the engine does not serve is
   * NotImplemented (501) naming it; a path that is no operation at all is NotFoundException, as before.
   */
  function notServed(method: string, url: URL): Promise<never> {
    const op = controlOperationFor(method, url.pathname);
    if (op) {
      return Promise.reject(
        new ApiError(
          'NotImplemented',
          `${op.operation} (${method} ${op.template}) is an S3 Control operation this local engine does not ` +
            'implement; it serves the Batch Operations job API only (CreateJob, DescribeJob, ListJobs, ' +
            'UpdateJobStatus, UpdateJobPriority, Get/Put/DeleteJobTagging)',
        ),
      );
    }
    return Promise.reject(new ApiError('NotFoundException', `No such resource: ${url.pathname}`));
  }

  return (req, res) => {
    const reqId = requestId();
    const started = Date.now();
    const { url, proxied, host } = requestTarget(req.url);
    // A proxy-style request is answered only when it is an S3 Control request, which the engine serves itself;
    // the admin API and every other target are refused: the engine never forwards and is no open proxy.
    const foreign = proxied && !url.pathname.startsWith(CONTROL_PATH_PREFIX);
    const isAdmin = !proxied && url.pathname.startsWith('/_local/');
    const fail = (err: unknown) => {
      if (err instanceof BodyTooLarge) {
        // Stop reading a body we will not use; the connection cannot be reused after an unread body.
        res.setHeader('connection', 'close');
        err = isAdmin
          ? new AdminError(413, 'BodyTooLarge', `the request body exceeds ${MAX_BODY_BYTES} bytes`)
          : badRequest(`The request body exceeds the limit of ${MAX_BODY_BYTES} bytes`);
      }
      if (isAdmin) {
        const e =
          err instanceof AdminError
            ? err
            : err instanceof ApiError
              ? new AdminError(err.status, err.code, err.message)
              : new AdminError(500, 'InternalError', 'internal error; see the engine log');
        if (e.status >= 500) log.error('admin request failed', { requestId: reqId, path: url.pathname, err });
        return json(res, reqId, e.status, { error: e.code, message: e.message });
      }
      const apiErr =
        err instanceof ApiError
          ? err
          : new ApiError('InternalServiceException', `Internal error (request ${reqId}); see the engine log`);
      // NotImplemented (501) answers a request the engine understood: no failure of the engine, not logged as one.
      if (apiErr.status >= 500 && apiErr.code !== 'NotImplemented')
        log.error('request failed', { requestId: reqId, method: req.method, path: url.pathname, err });
      else log.debug('request rejected', { requestId: reqId, code: apiErr.code, message: apiErr.message });
      send(
        res,
        apiErr.status,
        encodeError(apiErr, reqId, Buffer.from(reqId).toString('base64')),
        'application/xml',
        reqId,
      );
    };
    const handle = foreign
      ? Promise.reject(
          new ApiError(
            'AccessDenied',
            `This S3 Batch Operations engine is not a proxy: it answers S3 Control requests (${CONTROL_PATH_PREFIX}…) ` +
              `and forwards nothing; ${host ?? 'that host'} is not served here (exclude it with NO_PROXY)`,
          ),
        )
      : isAdmin
        ? admin(req, res, url, reqId)
        : url.pathname === JOBS_PREFIX || url.pathname.startsWith(`${JOBS_PREFIX}/`)
          ? api(req, res, url, reqId)
          : notServed(req.method ?? 'GET', url);
    handle
      .catch(fail)
      .catch((err: unknown) => log.error('could not send a response', { requestId: reqId, err }))
      .finally(() => {
        log.debug('request', {
          requestId: reqId,
          method: req.method,
          path: url.pathname,
          status: res.statusCode,
          ms: Date.now() - started,
        });
        if (!req.complete) req.resume();
      });
  };
}
