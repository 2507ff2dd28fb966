/**
 * The real `@aws-sdk/client-s3-control` serializers and deserializers without a network: `captureRequest` returns the
 * HTTP request the SDK would send for a command, `sdkResponse` feeds a canned HTTP response to the SDK and returns
 * what the SDK makes of it (output, or the error it throws). Unit tests use them to check the engine's codec against
 * the SDK itself, both ways.
 */
import { Readable } from 'node:stream';

import { S3ControlClient } from '@aws-sdk/client-s3-control';

export interface CapturedRequest {
  method: string;
  path: string;
  query: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body: string;
}

/** Any S3 Control command; `send`'s overloads do not accept a union of them. */
type AnyCommand = object;
type SendArg = Parameters<S3ControlClient['send']>[0];

/** A client whose transport is `respond`; credentials and region are fixed, retries off. */
function clientWith(
  respond: (req: CapturedRequest) => { statusCode: number; headers?: Record<string, string>; body: string },
) {
  return new S3ControlClient({
    region: 'us-east-1',
    endpoint: 'http://s3-control.localhost:1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
    requestHandler: {
      handle: async (request: {
        method: string;
        path: string;
        query?: Record<string, string | string[] | null>;
        headers: Record<string, string>;
        body?: unknown;
      }) => {
        const captured: CapturedRequest = {
          method: request.method,
          path: request.path,
          query: request.query ?? {},
          headers: request.headers,
          body:
            typeof request.body === 'string' ? request.body : request.body === undefined ? '' : String(request.body),
        };
        const res = respond(captured);
        return {
          response: {
            statusCode: res.statusCode,
            reason: '',
            headers: { 'content-type': 'application/xml', ...res.headers },
            body: Readable.from([Buffer.from(res.body)]),
          },
        };
      },
    } as never,
  });
}

/** The HTTP request the SDK sends for `command`. */
export async function captureRequest(command: AnyCommand): Promise<CapturedRequest> {
  let seen: CapturedRequest | undefined;
  const client = clientWith((req) => {
    seen = req;
    return {
      statusCode: 500,
      body: '<ErrorResponse><Error><Code>Captured</Code><Message>x</Message></Error></ErrorResponse>',
    };
  });
  await client.send(command as SendArg).catch(() => undefined);
  client.destroy();
  if (!seen) throw new Error('the SDK sent no request');
  return seen;
}

/** What the SDK returns (or throws) for `command` when the server answers `status` + `body`. */
export async function sdkResponse<T>(
  command: AnyCommand,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): Promise<{
  output?: T;
  error?: Error & { name: string; $metadata?: { httpStatusCode?: number; requestId?: string } };
}> {
  const client = clientWith(() => ({ statusCode: status, headers, body }));
  try {
    return { output: (await client.send(command as SendArg)) as T };
  } catch (err) {
    return { error: err as Error & { name: string } };
  } finally {
    client.destroy();
  }
}
