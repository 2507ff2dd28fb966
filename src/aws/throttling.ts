/**
 * Puts every S3 Control call of a client through one `AdaptiveRateLimiter`, and retries throttled calls at the
 * limiter's (now lower) pace instead of failing them: throttling slows the worker's pollers down, it fails nothing.
 */
import type { S3ControlClient } from '@aws-sdk/client-s3-control';
import type { FinalizeRequestMiddleware, MetadataBearer } from '@smithy/types';

import { isThrottlingError } from './errors';
import { AdaptiveRateLimiter } from './rate-limiter';

/**
 * Throttled attempts of one call before its error is thrown (then the activity retries it, with Temporal's backoff,
 * as `Transient`). Each attempt waits its turn at a rate halved by the throttling, so ten attempts span a while.
 */
export const THROTTLED_ATTEMPTS = 10;

const MIDDLEWARE_NAME = 'adaptiveRateLimit';

/**
 * Adds the limiter to the client's middleware stack, between the SDK's retry and signing steps: every HTTP attempt
 * (the SDK's own retries of 5xx too) waits for its turn and is signed only then, so a long wait never sends a stale
 * signature. Idempotent: a client gets one limiter. Returns the limiter (for its stats).
 */
export function limitS3ControlCalls(
  client: S3ControlClient,
  limiter: AdaptiveRateLimiter = new AdaptiveRateLimiter(),
): AdaptiveRateLimiter {
  const stack = client.middlewareStack;
  stack.remove(MIDDLEWARE_NAME);
  const limit: FinalizeRequestMiddleware<object, MetadataBearer> = (next) => async (args) => {
    for (let attempt = 1; ; attempt++) {
      await limiter.acquire();
      try {
        const out = await next(args);
        limiter.onSuccess();
        return out;
      } catch (err) {
        if (!isThrottlingError(err)) throw err;
        limiter.onThrottle();
        if (attempt >= THROTTLED_ATTEMPTS) throw err;
      }
    }
  };
  stack.addRelativeTo(limit, {
    name: MIDDLEWARE_NAME,
    relation: 'before',
    toMiddleware: 'httpSigningMiddleware',
    override: true,
  });
  return limiter;
}
