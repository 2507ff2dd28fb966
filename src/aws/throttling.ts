/**
 * Puts every S3 Control call of a client through an `AdaptiveRateLimiter` of its account, and retries throttled calls
 * at the limiter's (now lower) pace instead of failing them: throttling slows the worker's pollers down, it fails
 * nothing. S3 Control's rates are per account, so each account has a limiter of its own: a worker serving several
 * accounts does not slow one down because another is throttled.
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

/** One limiter per account, made on first use; every call of an account waits on that account's limiter. */
export class AccountRateLimiters {
  private readonly byAccount = new Map<string, AdaptiveRateLimiter>();

  constructor(private readonly make: () => AdaptiveRateLimiter = () => new AdaptiveRateLimiter()) {}

  /** The limiter of `accountId` (calls without one, which S3 Control does not have, share the `""` limiter). */
  for(accountId: string): AdaptiveRateLimiter {
    let limiter = this.byAccount.get(accountId);
    if (!limiter) {
      limiter = this.make();
      this.byAccount.set(accountId, limiter);
    }
    return limiter;
  }

  /** The accounts seen so far. */
  accounts(): string[] {
    return [...this.byAccount.keys()];
  }
}

/**
 * Adds the limiters to the client's middleware stack, between the SDK's retry and signing steps: every HTTP attempt
 * (the SDK's own retries of 5xx too) waits for its turn at its account's rate and is signed only then, so a long
 * wait never sends a stale signature. Idempotent: a client gets one set of limiters. Given one `AdaptiveRateLimiter`,
 * every account shares it (tests). Returns what it uses (for stats).
 */
export function limitS3ControlCalls<L extends AccountRateLimiters | AdaptiveRateLimiter = AccountRateLimiters>(
  client: S3ControlClient,
  limiters: L = new AccountRateLimiters() as L,
): L {
  const pick =
    limiters instanceof AdaptiveRateLimiter
      ? () => limiters
      : (accountId: string) => (limiters as AccountRateLimiters).for(accountId);
  const stack = client.middlewareStack;
  stack.remove(MIDDLEWARE_NAME);
  const limit: FinalizeRequestMiddleware<object, MetadataBearer> = (next) => async (args) => {
    const limiter = pick((args.input as { AccountId?: string }).AccountId ?? '');
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
  return limiters;
}
