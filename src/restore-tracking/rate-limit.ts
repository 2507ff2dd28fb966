/**
 * Request pacing for HEAD sweeps: a token bucket (requests per second, with a small burst) shared by every request
 * of a step, and a pool that keeps at most N requests in flight. Both honour an AbortSignal.
 */

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A token bucket in its GCRA form: each `take` reserves the next slot, so concurrent callers need no lock. Up to
 * `burst` requests may go at once after a quiet period; over any longer window the rate never exceeds `ratePerSecond`.
 */
export class TokenBucket {
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  /** The theoretical arrival time of the next request. */
  private tat = 0;

  /**
   * @param ratePerSecond requests per second; 0, negative or Infinity means unlimited
   * @param burst requests allowed at once after a pause. @default a tenth of a second's worth, at least 1
   */
  constructor(
    ratePerSecond: number,
    burst?: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    const unlimited = !(ratePerSecond > 0) || !Number.isFinite(ratePerSecond);
    this.intervalMs = unlimited ? 0 : 1000 / ratePerSecond;
    const b = burst ?? Math.max(1, Math.floor(ratePerSecond / 10));
    this.toleranceMs = unlimited ? 0 : (Math.max(1, b) - 1) * this.intervalMs;
  }

  /** Waits for a token. */
  async take(signal?: AbortSignal): Promise<void> {
    if (this.intervalMs === 0) return;
    const now = this.now();
    const tat = Math.max(this.tat, now);
    this.tat = tat + this.intervalMs;
    await sleep(tat - this.toleranceMs - now, signal);
  }
}

/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight, each after a token from `bucket`. Stops
 * starting new calls at the first failure (or abort) and rethrows it once the calls in flight have settled.
 */
export async function forEachPaced<T>(
  items: readonly T[],
  opts: { concurrency: number; bucket: TokenBucket; signal?: AbortSignal },
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        if (opts.signal?.aborted) throw opts.signal.reason;
        await opts.bucket.take(opts.signal);
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency, items.length));
  await Promise.all(Array.from({ length: n }, worker));
  if (failure) throw failure.err;
}
