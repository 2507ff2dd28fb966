/**
 * LambdaInvoke tasks through the local Lambda bridge: JS module handlers and HTTP handlers receive the real schema
 * 1.0 / 2.0 events; TemporaryFailure is retried, PermanentFailure, function errors and bad payloads are reported.
 * The module handler really acts on S3 (it tags the object it is given), so the effect is checked on the object.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { LambdaBridge } from '../../src/local-batch/lambda';
import { createTaskRunner, prepareOperation } from '../../src/local-batch/operations';
import type { JobOperation } from '../../src/local-batch/types';
import { s3Client, stackEndpoints, withBucket } from '../helpers';
import { deps, putObjects, startHttpHandler, tagsOf } from '../support/data-plane';

const FN = 'arn:aws:lambda:us-east-1:123456789012:function:tagger';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lambda-handlers-'));
  // A handler that tags the object it is given through S3's REST API (no SDK: the module lives outside the project),
  // then answers Succeeded with what it saw. moto treats requests without Authorization as anonymous (and refuses
  // them on private objects) but does not verify signatures, so a well-formed placeholder header is enough.
  writeFileSync(
    path.join(dir, 'tagger.js'),
    `
exports.handler = async (event, context) => {
  const t = event.tasks[0];
  const bucket = t.s3Bucket ?? t.s3BucketArn.replace('arn:aws:s3:::', '');
  const key = decodeURIComponent(t.s3Key.replace(/\\+/g, ' '));
  const url = process.env.TAGGER_S3 + '/' + bucket + '/' + key.split('/').map(encodeURIComponent).join('/') +
    '?tagging' + (t.s3VersionId ? '&versionId=' + encodeURIComponent(t.s3VersionId) : '');
  const label = (event.job.userArguments && event.job.userArguments.label) || 'v' + event.invocationSchemaVersion;
  const body = '<Tagging><TagSet><Tag><Key>lambda</Key><Value>' + label + '</Value></Tag></TagSet></Tagging>';
  const authorization = 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0';
  const res = await fetch(url, { method: 'PUT', body, headers: { authorization, 'content-type': 'application/xml' } });
  if (!res.ok) throw new Error('tagging ' + key + ' failed with ' + res.status);
  return {
    invocationSchemaVersion: event.invocationSchemaVersion,
    treatMissingKeysAs: 'PermanentFailure',
    invocationId: event.invocationId,
    results: [{ taskId: t.taskId, resultCode: 'Succeeded', resultString: context.functionName + ':' + JSON.stringify(event) }],
  };
};
`,
  );
  writeFileSync(
    path.join(dir, 'typed.ts'),
    `
interface Task { taskId: string; s3Key: string; s3Bucket: string }
interface Event { invocationSchemaVersion: '2.0'; invocationId: string; job: { userArguments: Record<string, string> }; tasks: Task[] }
export const handler = async (event: Event): Promise<unknown> => ({
  invocationSchemaVersion: event.invocationSchemaVersion,
  invocationId: event.invocationId,
  results: event.tasks.map((t: Task) => ({ taskId: t.taskId, resultCode: 'Succeeded', resultString: \`\${event.job.userArguments.greeting} \${t.s3Bucket}/\${t.s3Key}\` })),
});
`,
  );
  writeFileSync(
    path.join(dir, 'thrower.js'),
    `module.exports.default = async () => { throw new TypeError('cannot resize'); };`,
  );
  writeFileSync(
    path.join(dir, 'garbage.js'),
    `exports.handler = (event, context, callback) => callback(null, 'not a response');`,
  );
  process.env.TAGGER_S3 = stackEndpoints().s3Endpoint;
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const op = (v: '1.0' | '2.0', extra: Partial<Extract<JobOperation, { type: 'LambdaInvoke' }>> = {}): JobOperation => ({
  type: 'LambdaInvoke',
  FunctionArn: FN,
  InvocationSchemaVersion: v,
  ...extra,
});

describe('module handlers', () => {
  test.each(['1.0', '2.0'] as const)(
    'schema %s: the handler gets the event, acts on S3, its resultString is reported',
    (v) =>
      withBucket(async (bucket, s3) => {
        const [t] = await putObjects(s3, bucket, ['dir/a b+c.txt']);
        const lambda = new LambdaBridge({ [FN]: path.join(dir, 'tagger.js') });
        const o = op(v, v === '2.0' ? { UserArguments: { label: 'from-args' } } : {});
        await prepareOperation(o, [t!], deps(s3, { lambda }));
        const outcome = await createTaskRunner(o, deps(s3, { lambda, jobId: 'job-42' }))(t!);
        expect(outcome).toMatchObject({ status: 'succeeded', httpStatus: 200 });
        expect(await tagsOf(s3, bucket, t!.key)).toEqual({ lambda: v === '2.0' ? 'from-args' : 'v1.0' });
        const [fnName, eventJson] = [
          outcome.resultMessage!.split(':')[0],
          outcome.resultMessage!.slice('tagger:'.length),
        ];
        expect(fnName).toBe('tagger');
        const event = JSON.parse(eventJson);
        expect(event).toEqual({
          invocationSchemaVersion: v,
          invocationId: expect.any(String),
          job: v === '2.0' ? { id: 'job-42', userArguments: { label: 'from-args' } } : { id: 'job-42' },
          tasks: [
            {
              taskId: expect.any(String),
              s3Key: 'dir/a%20b%2Bc.txt',
              s3VersionId: null,
              ...(v === '2.0' ? { s3Bucket: bucket } : { s3BucketArn: `arn:aws:s3:::${bucket}` }),
            },
          ],
        });
      }),
  );

  test('a module path is resolved against the working directory; a qualified ARN finds the registration', () =>
    withBucket(async (bucket, s3) => {
      const [t] = await putObjects(s3, bucket, ['k']);
      const lambda = new LambdaBridge({ [FN]: path.relative(process.cwd(), path.join(dir, 'tagger.js')) });
      const outcome = await createTaskRunner(op('1.0', { FunctionArn: `${FN}:prod` }), deps(s3, { lambda }))(t!);
      expect(outcome.status).toBe('succeeded');
      expect(await tagsOf(s3, bucket, 'k')).toEqual({ lambda: 'v1.0' });
    }));

  test('a single-file TypeScript handler is transpiled and run', async () => {
    const s3 = s3Client();
    try {
      const lambda = new LambdaBridge({ [FN]: path.join(dir, 'typed.ts') });
      const o = op('2.0', { UserArguments: { greeting: 'hello' } });
      const outcome = await createTaskRunner(
        o,
        deps(s3, { lambda }),
      )({ index: 0, bucket: 'b', key: 'a b', rawKey: 'a%20b' });
      expect(outcome).toEqual({ status: 'succeeded', httpStatus: 200, resultMessage: 'hello b/a%20b' });
    } finally {
      s3.destroy();
    }
  });

  test.each([
    ['thrower.js', 'Lambda returned function error: {"errorMessage":"cannot resize","errorType":"TypeError"}'],
    ['garbage.js', 'Invalid JSON returned in Lambda payload: the payload is not a JSON object'],
    [
      'missing.js',
      expect.stringMatching(
        /^Lambda returned function error: \{"errorMessage":"Cannot load Lambda handler module .*missing\.js/,
      ),
    ],
  ])('%s → a failed task with PermanentFailure and the message', async (file, message) => {
    const s3 = s3Client();
    try {
      const lambda = new LambdaBridge({ [FN]: path.join(dir, file) });
      const outcome = await createTaskRunner(
        op('1.0'),
        deps(s3, { lambda }),
      )({ index: 0, bucket: 'b', key: 'k', rawKey: 'k' });
      expect(outcome).toEqual({
        status: 'failed',
        httpStatus: 200,
        errorCode: 'PermanentFailure',
        resultMessage: message,
      });
    } finally {
      s3.destroy();
    }
  });

  test('an unregistered function fails each task as Lambda reports a missing function, not the job', async () => {
    const s3 = s3Client();
    try {
      await expect(prepareOperation(op('2.0'), [], deps(s3))).resolves.toBeUndefined();
      const outcome = await createTaskRunner(op('2.0'), deps(s3))({ index: 0, bucket: 'b', key: 'k', rawKey: 'k' });
      expect(outcome).toEqual({
        status: 'failed',
        httpStatus: 404,
        errorCode: 'ResourceNotFoundException',
        resultMessage: expect.stringMatching(new RegExp(`^Function not found: ${FN} `)) as unknown,
      });
    } finally {
      s3.destroy();
    }
  });
});

describe('HTTP handlers', () => {
  const answer = (event: unknown, resultCode: string, resultString: string) => {
    const e = event as { invocationSchemaVersion: string; invocationId: string; tasks: Array<{ taskId: string }> };
    return JSON.stringify({
      invocationSchemaVersion: e.invocationSchemaVersion,
      treatMissingKeysAs: 'PermanentFailure',
      invocationId: e.invocationId,
      results: [{ taskId: e.tasks[0]!.taskId, resultCode, resultString }],
    });
  };
  const task = { index: 3, bucket: 'b', key: 'x y', rawKey: 'x%20y', versionId: 'v7' };

  test('TemporaryFailure is retried with a fresh invocation until the function succeeds', async () => {
    const h = await startHttpHandler((event, n) => ({
      body: answer(event, n < 3 ? 'TemporaryFailure' : 'Succeeded', `attempt ${n}`),
    }));
    const s3 = s3Client();
    try {
      const lambda = new LambdaBridge({ [FN]: h.url });
      const outcome = await createTaskRunner(op('2.0'), deps(s3, { lambda }))(task);
      expect(outcome).toEqual({ status: 'succeeded', httpStatus: 200, resultMessage: 'attempt 3' });
      expect(h.events).toHaveLength(3);
      const ids = h.events.map((e) => (e as { invocationId: string }).invocationId);
      expect(new Set(ids).size).toBe(3);
      expect(h.events[0]).toMatchObject({ tasks: [{ s3Key: 'x%20y', s3VersionId: 'v7', s3Bucket: 'b' }] });
    } finally {
      s3.destroy();
      await h.close();
    }
  });

  test.each([
    [
      'TemporaryFailure on every attempt',
      (e: unknown) => ({ body: answer(e, 'TemporaryFailure', 'busy') }),
      3,
      { errorCode: 'TemporaryFailure', resultMessage: 'busy' },
    ],
    [
      'PermanentFailure',
      (e: unknown) => ({ body: answer(e, 'PermanentFailure', 'corrupt image') }),
      1,
      { errorCode: 'PermanentFailure', resultMessage: 'corrupt image' },
    ],
    [
      'a body that is not JSON',
      () => ({ body: '<html>oops</html>' }),
      1,
      {
        errorCode: 'PermanentFailure',
        resultMessage: expect.stringMatching(/^Invalid JSON returned in Lambda payload/),
      },
    ],
    [
      'a function error (X-Amz-Function-Error)',
      () => ({
        body: JSON.stringify({ errorMessage: 'Task timed out after 3.00 seconds', errorType: 'Timeout' }),
        headers: { 'x-amz-function-error': 'Unhandled' },
      }),
      1,
      {
        errorCode: 'PermanentFailure',
        resultMessage:
          'Lambda returned function error: {"errorMessage":"Task timed out after 3.00 seconds","errorType":"Timeout"}',
      },
    ],
  ])('%s → a failed task', async (_n, respond, calls, expected) => {
    const h = await startHttpHandler(respond);
    const s3 = s3Client();
    try {
      const lambda = new LambdaBridge({ [FN]: h.url });
      const outcome = await createTaskRunner(op('1.0'), deps(s3, { lambda }))(task);
      expect(outcome).toEqual({ status: 'failed', httpStatus: 200, ...expected });
      expect(h.events).toHaveLength(calls);
    } finally {
      s3.destroy();
      await h.close();
    }
  });
});
