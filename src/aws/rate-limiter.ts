/**
 * An adaptive (AIMD) rate limiter for the S3 Control calls of one account in one worker (src/aws/throttling.ts
 * keeps one per account): every call waits for its turn at the
 * current rate; a throttling answer halves the rate, and each call that goes through raises it again slowly (about
 * +1 call/s for every second of calls without throttling). So 1,000 campaigns polling one account slow down
 * together when S3 Control says "too many", instead of each retrying on its own and failing.
 */

/** The limiter's settings; every field has a default. */
export interface AdaptiveRateLimiterOptions {
  /** Calls per second to start with. @default 20 */
  initialRate?: number;
  /** Never slower than this, in calls per second (a throttled worker still makes progress). @default 0.5 */
  minRate?: number;
  /** Never faster than this, in calls per second. @default 100 */
  maxRate?: number;
  /**
   * Throttling answers within this many milliseconds of a decrease count as one: a burst of calls sent at the old rate
   * all come back throttled, and one halving is the right answer to them. @default 1000
   */
  decreaseCooldownMs?: number;
  /** Milliseconds since some epoch. @default Date.now */
  now?: () => number;
  /** Waits this many milliseconds. @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

/** A snapshot of the limiter, for logs and benchmarks. */
export interface RateLimiterStats {
  /** The current rate, in calls per second. */
  rate: number;
  /** Calls admitted so far. */
  admitted: number;
  /** Throttling answers reported so far. */
  throttled: number;
  /** How often the rate was halved. */
  decreases: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class AdaptiveRateLimiter {
  private rateValue: number;
  private readonly minRate: number;
  private readonly maxRate: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** When the next call may start (virtual schedule: each admitted call moves it one interval on). */
  private nextAt = -Infinity;
  private lastDecreaseAt = -Infinity;
  private counts = { admitted: 0, throttled: 0, decreases: 0 };

  constructor(opts: AdaptiveRateLimiterOptions = {}) {
    this.minRate = opts.minRate ?? 0.5;
    this.maxRate = opts.maxRate ?? 100;
    this.rateValue = Math.min(this.maxRate, Math.max(this.minRate, opts.initialRate ?? 20));
    this.cooldownMs = opts.decreaseCooldownMs ?? 1000;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? defaultSleep;
  }

  /** The current rate, in calls per second. */
  get rate(): number {
    return this.rateValue;
  }

  stats(): RateLimiterStats {
    return { rate: this.rateValue, ...this.counts };
  }

  /**
   * Resolves when the caller may send its call. Callers are served in order, one interval (1 / rate) apart; a limiter
   * idle for a second lets a burst of up to one second's worth of calls through at once.
   */
  async acquire(): Promise<void> {
    const now = this.now();
    const interval = 1000 / this.rateValue;
    // Idle time earns at most a second of calls, so a quiet limiter does not let a thousand calls through at once.
    const at = Math.max(this.nextAt, now - 1000 + interval);
    this.nextAt = at + interval;
    this.counts.admitted++;
    if (at > now) await this.sleep(at - now);
  }

  /** A call went through: raise the rate by 1/rate (about +1 call/s per second at the current rate). */
  onSuccess(): void {
    this.rateValue = Math.min(this.maxRate, this.rateValue + 1 / this.rateValue);
  }

  /** S3 Control answered "too many requests" or "slow down": halve the rate (once per cooldown). */
  onThrottle(): void {
    this.counts.throttled++;
    const now = this.now();
    if (now - this.lastDecreaseAt < this.cooldownMs) return;
    this.lastDecreaseAt = now;
    this.counts.decreases++;
    this.rateValue = Math.max(this.minRate, this.rateValue / 2);
    // Calls already scheduled at the old rate move back, so the next ones are spaced at the new rate.
    this.nextAt = Math.max(this.nextAt, now + 1000 / this.rateValue);
  }
}
