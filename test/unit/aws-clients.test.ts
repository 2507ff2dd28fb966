/**
 * The S3 client gives up on a connection that has gone silent (src/aws/clients.ts), before the answer and in the
 * middle of its body, instead of waiting for ever while an activity heartbeats on a timer. A local HTTP server plays
 * S3 and stalls where it is told to.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';

import { CONNECTION_TIMEOUT_MS, createAwsClients, SOCKET_TIMEOUT_MS } from '../../src/aws/clients';

const SHORT_MS = 300;

let server: http.Server;
let endpoint: string;
/** Responses the test left open, ended at teardown. */
const open: http.ServerResponse[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    void (async () => {
      req.resume();
      await new Promise((r) => req.once('end', r));
      const key = decodeURIComponent(req.url!.split('?')[0]!.split('/').pop()!);
      if (key === 'silent') {
        open.push(res); // never answers
      } else if (key === 'half-body') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '20' });
        res.write('0123456789'); // half of the promised body, then silence
        open.push(res);
      } else {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
        res.end('hello');
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of open) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function s3(socketTimeoutMs?: number) {
  return createAwsClients(
    { s3Endpoint: endpoint, s3ControlEndpoint: undefined, forcePathStyle: true, region: 'us-east-1' },
    { socketTimeoutMs },
  ).s3;
}

test('a silent connection fails the request with a retryable TimeoutError instead of hanging', async () => {
  const client = s3(SHORT_MS);
  await expect(client.send(new GetObjectCommand({ Bucket: 'b', Key: 'silent' }))).rejects.toMatchObject({
    name: 'TimeoutError',
  });
  client.destroy();
}, 20_000);

test('a body that stops half way fails its reader instead of hanging', async () => {
  const client = s3(SHORT_MS);
  const res = await client.send(new GetObjectCommand({ Bucket: 'b', Key: 'half-body' }));
  await expect(res.Body!.transformToString()).rejects.toThrow(/timed out|aborted/);
  client.destroy();
}, 20_000);

test('a healthy answer is read whole with the same settings', async () => {
  const client = s3(SHORT_MS);
  const res = await client.send(new GetObjectCommand({ Bucket: 'b', Key: 'fine' }));
  expect(await res.Body!.transformToString()).toBe('hello');
  client.destroy();
});

test('clients built without overrides carry the default limits, S3 and SQS alike', async () => {
  const clients = createAwsClients({ s3Endpoint: endpoint, s3ControlEndpoint: undefined, forcePathStyle: true });
  // The handler resolves its settings at its first request (what the fake answers does not matter here).
  await clients.s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'fine' }));
  await clients.sqs!.send(new ListQueuesCommand({})).catch(() => undefined);
  for (const client of [clients.s3, clients.sqs!]) {
    const handler = client.config.requestHandler as unknown as { httpHandlerConfigs(): Record<string, unknown> };
    expect(handler.httpHandlerConfigs()).toMatchObject({
      socketTimeout: SOCKET_TIMEOUT_MS,
      connectionTimeout: CONNECTION_TIMEOUT_MS,
    });
    client.destroy();
  }
  clients.s3control.destroy();
});
