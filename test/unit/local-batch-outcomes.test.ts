/**
 * How the engine reports an S3 error in a task's outcome: the error's own code when S3 sent one, and a code chosen
 * by HTTP status when the body was no S3 error document (moto answers some keys with an HTML page), so a 4xx stays
 * permanent and keeps its status.
 */
import { outcomeFromError } from '../../src/local-batch/operations';

/** What the SDK throws when an error body is not XML: a plain Error named `Error`, with the HTTP status. */
function unparsable(status: number): Error {
  return Object.assign(new Error('@aws-sdk XML parse error: mismatched tags <html> and </title>.'), {
    $metadata: { httpStatusCode: status },
  });
}

describe('outcomeFromError', () => {
  test.each([
    [400, 'InvalidRequest'],
    [403, 'AccessDenied'],
    [404, 'NoSuchKey'],
    [409, 'InvalidRequest'],
    [429, 'SlowDown'],
    [500, 'InternalError'],
    [503, 'ServiceUnavailable'],
  ])('an unparsable %i answer keeps its status and is reported as %s', (status, code) => {
    const outcome = outcomeFromError(unparsable(status));
    expect(outcome).toMatchObject({ status: 'failed', errorCode: code, httpStatus: status });
    expect(outcome.resultMessage).toContain(`HTTP ${status}`);
    expect(outcome.resultMessage).toContain('XML parse error');
  });

  test('an S3 error keeps its own code and status', () => {
    const err = Object.assign(new Error('The specified key does not exist.'), {
      name: 'NoSuchKey',
      $metadata: { httpStatusCode: 404 },
    });
    expect(outcomeFromError(err)).toMatchObject({ errorCode: 'NoSuchKey', httpStatus: 404 });
  });

  test('an error without any response (a network error) is a retryable InternalError 500', () => {
    expect(outcomeFromError(new TypeError('fetch failed'))).toMatchObject({
      errorCode: 'InternalError',
      httpStatus: 500,
    });
  });
});
