import { Readable } from 'node:stream';

import { ListJobsCommand, S3ControlClient } from '@aws-sdk/client-s3-control';
import type { HttpRequest } from '@smithy/types';

import { AdaptiveRateLimiter } from '../../src/aws/rate-limiter';
import { AccountRateLimiters, limitS3ControlCalls, THROTTLED_ATTEMPTS } from '../../src/aws/throttling';
import { isThrottlingError, toApplicationFailure } from '../../src/aws/errors';
import { FailureType } from '../../src/shared/errors';

/** A limiter on a fake clock: `sleep` moves the clock, so waits are measured, not waited for. */
function fakeLimiter(opts: ConstructorParameters<typeof AdaptiveRateLimiter>[0] = {}) {
  let now = 0;
  const limiter = new AdaptiveRateLimiter({
    ...opts,
    now: () => now,
    sleep: (ms) => {
      now += ms;
      return Promise.resolve();
    },
  });
  return { limiter, clock: () => now, advance: (ms: number) => (now += ms) };
}

describe('adaptive rate limiter', () => {
  test('admits one second of calls at once, then one per interval', async () => {
    const { limiter, clock } = fakeLimiter({ initialRate: 10 });
    for (let i = 0; i < 10; i++) await limiter.acquire();
    expect(clock()).toBe(0);
    for (let i = 0; i < 10; i++) await limiter.acquire();
    expect(clock()).toBe(1000);
  });

  test('a throttle halves the rate, once per burst, and later calls are spaced at the new rate', async () => {
    const { limiter, clock } = fakeLimiter({ initialRate: 10 });
    for (let i = 0; i < 10; i++) await limiter.acquire();
    for (let i = 0; i < 5; i++) limiter.onThrottle();
    expect(limiter.rate).toBe(5);
    expect(limiter.stats()).toMatchObject({ throttled: 5, decreases: 1 });
    const t = clock();
    for (let i = 0; i < 5; i++) await limiter.acquire();
    expect(clock() - t).toBeGreaterThanOrEqual(1000);
  });

  test('repeated throttling slows down to the floor and never below; successes recover slowly to the cap', () => {
    const { limiter, advance } = fakeLimiter({ initialRate: 16, minRate: 0.5, maxRate: 40 });
    for (let i = 0; i < 20; i++) {
      limiter.onThrottle();
      advance(1000);
    }
    expect(limiter.rate).toBe(0.5);
    // Additive increase: +1/rate per call, about +1 call/s for each second of calls at the current rate.
    let calls = 0;
    while (limiter.rate < 10) {
      limiter.onSuccess();
      calls++;
    }
    expect(calls).toBeGreaterThan(40);
    for (let i = 0; i < 10_000; i++) limiter.onSuccess();
    expect(limiter.rate).toBe(40);
  });
});

describe('throttling errors', () => {
  test.each([
    [{ name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } }, true],
    [{ name: 'SlowDown', $metadata: { httpStatusCode: 503 } }, true],
    [{ name: 'Unknown', $metadata: { httpStatusCode: 429 } }, true],
    [{ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }, true],
    [{ name: 'InternalServiceException', $metadata: { httpStatusCode: 500 } }, false],
    [{ name: 'NotFoundException', $metadata: { httpStatusCode: 404 } }, false],
  ])('%j slows the caller down: %s', (err, throttling) => {
    expect(isThrottlingError(err)).toBe(throttling);
  });

  test('a throttling error that outlasts the retries is Transient (retried), never a permanent failure', () => {
    const f = toApplicationFailure(
      { name: 'TooManyRequestsException', message: 'slow down', $metadata: { httpStatusCode: 429 } },
      'describing job j',
    );
    expect(f.type).toBe(FailureType.Transient);
    expect(f.nonRetryable).toBe(false);
  });
});

test('the limiter sits between the SDK retry and the signing step, once however often it is added', () => {
  const client = new S3ControlClient({ region: 'us-east-1' });
  limitS3ControlCalls(client);
  limitS3ControlCalls(client);
  const names = client.middlewareStack.identify().map((m) => m.split(' ')[0]);
  const at = (name: string) => names.indexOf(name);
  expect(names.filter((n) => n === 'adaptiveRateLimit')).toHaveLength(1);
  expect(at('retryMiddleware')).toBeLessThan(at('adaptiveRateLimit'));
  expect(at('adaptiveRateLimit')).toBeLessThan(at('httpSigningMiddleware'));
  client.destroy();
});

test('each account has its own limiter: one account throttled does not slow another down', async () => {
  const THROTTLED = '111111111111';
  const CALM = '222222222222';
  const seen: string[] = [];
  // S3 Control itself, as far as the SDK can tell: real serialization, signing and parsing, no network.
  const requestHandler = {
    handle: (req: HttpRequest) => {
      const account = req.headers['x-amz-account-id']!;
      seen.push(account);
      const throttled = account === THROTTLED;
      const body = throttled
        ? '<ErrorResponse><Error><Code>TooManyRequestsException</Code><Message>slow down</Message></Error></ErrorResponse>'
        : '<ListJobsResult><Jobs></Jobs></ListJobsResult>';
      return Promise.resolve({
        response: {
          statusCode: throttled ? 429 : 200,
          headers: { 'content-type': 'application/xml' },
          body: Readable.from([Buffer.from(body)]),
        },
      });
    },
  };
  const client = new S3ControlClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler,
    maxAttempts: 1,
  });
  const limiters = limitS3ControlCalls(client, new AccountRateLimiters(() => fakeLimiter({ initialRate: 20 }).limiter));

  await expect(client.send(new ListJobsCommand({ AccountId: THROTTLED }))).rejects.toMatchObject({
    name: 'TooManyRequestsException',
  });
  for (let i = 0; i < 5; i++) await client.send(new ListJobsCommand({ AccountId: CALM }));

  expect(limiters.accounts().sort()).toEqual([THROTTLED, CALM]);
  expect(seen.filter((a) => a === THROTTLED)).toHaveLength(THROTTLED_ATTEMPTS);
  const throttled = limiters.for(THROTTLED).stats();
  expect(throttled.throttled).toBe(THROTTLED_ATTEMPTS);
  expect(throttled.rate).toBeLessThan(20);
  const calm = limiters.for(CALM).stats();
  expect(calm).toMatchObject({ throttled: 0, decreases: 0, admitted: 5 });
  expect(calm.rate).toBeGreaterThan(20);
  client.destroy();
});
