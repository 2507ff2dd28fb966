import { lambdaFunctionName, parseLambdaMapping, LambdaBridge } from '../../src/local-batch/lambda';
import { lambdaEvent, lambdaResultFor } from '../../src/local-batch/operations';

const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:resize';

describe('Lambda mappings', () => {
  test.each([
    [`${ARN}=./handler.js`, [ARN, './handler.js']],
    [`${ARN}:prod=http://127.0.0.1:9000/invoke?a=b`, [`${ARN}:prod`, 'http://127.0.0.1:9000/invoke?a=b']],
  ])('%s parses', (spec, expected) => {
    expect(parseLambdaMapping(spec)).toEqual(expected);
  });

  test.each([
    ['resize=./h.js', /"resize" is not a Lambda function ARN/],
    [`${ARN}`, /expected <function ARN>=<module path or http\(s\) URL>/],
    [`${ARN}=`, /the handler after "=" is empty/],
    [`${ARN}=ftp://host/x`, /only http\(s\) URLs and module paths/],
    [`${ARN}=http://`, /is not a valid URL/],
  ])('%s is refused clearly', (spec, message) => {
    expect(() => parseLambdaMapping(spec)).toThrow(message);
  });

  test('a registration matches the same function under any qualifier', () => {
    const bridge = new LambdaBridge({ [ARN]: './h.js' });
    expect(bridge.has(ARN)).toBe(true);
    expect(bridge.has(`${ARN}:$LATEST`)).toBe(true);
    expect(bridge.has(`${ARN}:prod`)).toBe(true);
    expect(bridge.has('arn:aws:lambda:us-east-1:123456789012:function:other')).toBe(false);
    expect(lambdaFunctionName(`${ARN}:7`)).toBe('resize');
  });
});

describe('Lambda events and responses', () => {
  const task = { index: 4, bucket: 'photos', key: 'a b/c+d.jpg', rawKey: 'a%20b/c%2Bd.jpg' };

  test('schema 1.0 carries the bucket ARN and the URL-encoded key', () => {
    const e = lambdaEvent({ type: 'LambdaInvoke', FunctionArn: ARN }, 'job-1', task, 1);
    expect(e).toEqual({
      invocationSchemaVersion: '1.0',
      invocationId: expect.any(String),
      job: { id: 'job-1' },
      tasks: [
        { taskId: expect.any(String), s3Key: 'a%20b/c%2Bd.jpg', s3VersionId: null, s3BucketArn: 'arn:aws:s3:::photos' },
      ],
    });
  });

  test('schema 2.0 carries the bucket name, the version and the user arguments', () => {
    const e = lambdaEvent(
      { type: 'LambdaInvoke', FunctionArn: ARN, InvocationSchemaVersion: '2.0', UserArguments: { size: 'small' } },
      'job-1',
      { ...task, versionId: 'v1' },
      2,
    );
    expect(e).toMatchObject({
      invocationSchemaVersion: '2.0',
      job: { id: 'job-1', userArguments: { size: 'small' } },
      tasks: [{ s3Key: 'a%20b/c%2Bd.jpg', s3VersionId: 'v1', s3Bucket: 'photos' }],
    });
    // Each retry is a new invocation of the same task.
    const again = lambdaEvent(
      { type: 'LambdaInvoke', FunctionArn: ARN, InvocationSchemaVersion: '2.0' },
      'job-1',
      task,
      3,
    );
    expect(again.invocationId).not.toBe(e.invocationId);
    expect((again.tasks as Array<{ taskId: string }>)[0]!.taskId).toBe(
      (e.tasks as Array<{ taskId: string }>)[0]!.taskId,
    );
  });

  test.each([
    [{ results: [{ taskId: 't', resultCode: 'Succeeded', resultString: 'ok' }] }, { code: 'Succeeded', message: 'ok' }],
    [
      { results: [{ taskId: 't', resultCode: 'PermanentFailure', resultString: { why: 1 } }] },
      { code: 'PermanentFailure', message: '{"why":1}' },
    ],
    [
      { treatMissingKeysAs: 'TemporaryFailure', results: [] },
      { code: 'TemporaryFailure', message: expect.stringContaining('treatMissingKeysAs') },
    ],
    [{ results: [] }, { code: 'PermanentFailure', message: expect.any(String) }],
    [{ result: [{ taskId: 't', resultCode: 'Succeeded' }] }, { invalid: 'the payload has no results array' }],
    ['just a string', { invalid: 'the payload is not a JSON object' }],
    [{ results: [{ taskId: 't', resultCode: 'Done' }] }, { invalid: expect.stringContaining('"Done"') }],
  ])('response %j → %j', (payload, expected) => {
    expect(lambdaResultFor(payload, 't')).toEqual(expected);
  });
});
