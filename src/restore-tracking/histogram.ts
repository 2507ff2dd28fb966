/**
 * A bounded histogram of restore durations: log-scale buckets, 8 per doubling (each ~9% wide), from 1 s up to
 * 2^24 s (~194 days), plus a bucket for anything under a second. At most 193 counters per group whatever the number
 * of samples, so a 10M-object campaign's durations fit in the tracking index. Quantiles are bucket upper bounds
 * (never below the true value, at most ~9% above it); the maximum is exact.
 */
import type { RestoreDurationSummary } from '../shared/restore-tracking-types';

/** Buckets per doubling of the duration. */
const SUB = 8;
/** 2^24 s ≈ 194 days: longer than any restore; larger samples land in the last bucket. */
const MAX_LOG2_SECONDS = 24;
/** Bucket 0 holds durations under 1 s; bucket i ≥ 1 holds [2^((i-1)/SUB), 2^(i/SUB)) s. */
export const HISTOGRAM_BUCKETS = 1 + MAX_LOG2_SECONDS * SUB;

/** The JSON form kept in the index: sparse counts by bucket. */
export interface HistogramJson {
  n: number;
  maxMs: number;
  /** bucket index → count (only non-zero buckets). */
  b: Record<string, number>;
}

export function emptyHistogram(): HistogramJson {
  return { n: 0, maxMs: 0, b: {} };
}

/** The bucket of a duration in ms (negative durations count as 0: clocks of event and request may disagree). */
export function bucketOf(ms: number): number {
  const s = Math.max(0, ms) / 1000;
  if (s < 1) return 0;
  const i = 1 + Math.floor(Math.log2(s) * SUB);
  return Math.min(i, HISTOGRAM_BUCKETS - 1);
}

/** The upper bound of bucket `i`, ms. */
export function bucketUpperMs(i: number): number {
  return i === 0 ? 1000 : Math.pow(2, i / SUB) * 1000;
}

export function addSample(h: HistogramJson, ms: number): void {
  const i = bucketOf(ms);
  h.n += 1;
  h.maxMs = Math.max(h.maxMs, Math.max(0, ms));
  h.b[i] = (h.b[i] ?? 0) + 1;
}

/** Adds `from` into `into`. */
export function mergeHistogram(into: HistogramJson, from: HistogramJson): void {
  into.n += from.n;
  into.maxMs = Math.max(into.maxMs, from.maxMs);
  for (const [k, v] of Object.entries(from.b)) into.b[k] = (into.b[k] ?? 0) + v;
}

/** The q-quantile (0 < q ≤ 1) as the upper bound of its bucket, capped at the exact maximum; 0 when empty. */
export function quantileMs(h: HistogramJson, q: number): number {
  if (h.n === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * h.n));
  const buckets = Object.keys(h.b)
    .map(Number)
    .sort((a, b) => a - b);
  let seen = 0;
  for (const i of buckets) {
    seen += h.b[i] ?? 0;
    if (seen >= rank) return Math.min(bucketUpperMs(i), h.maxMs);
  }
  return h.maxMs;
}

/** Summaries of every group, in group order. */
export function summarize(groups: Record<string, HistogramJson>): RestoreDurationSummary[] {
  return Object.keys(groups)
    .sort()
    .map((group) => {
      const h = groups[group]!;
      return {
        group,
        count: h.n,
        p50Ms: Math.round(quantileMs(h, 0.5)),
        p95Ms: Math.round(quantileMs(h, 0.95)),
        maxMs: Math.round(h.maxMs),
      };
    });
}
