/**
 * The keyspace of a listing as key ranges, and how a range is split so that its parts can be listed in parallel.
 *
 * A range is `(after, before]`: the keys `k` with `after < k <= before` in S3's order (UTF-8 bytes), either bound
 * open when absent. Ranges that share their bounds cover the keyspace with no gap and no overlap, whatever the split
 * points are: where the points fall only decides how evenly the work is spread, never which keys are listed. S3 can
 * start a listing after any string (`StartAfter`, `KeyMarker`), so a split point need not be a key that exists.
 */

/** Keys `k` with `after < k <= before` (S3's UTF-8 byte order); an absent bound is open. */
export interface KeyRange {
  /** Exclusive lower bound. @default the start of the listing's prefix */
  after?: string;
  /**
   * With `after`, a version of that key: the range goes on after it (ListObjectVersions' `VersionIdMarker`), not
   * after every version of the key.
   */
  afterVersion?: string;
  /** Inclusive upper bound. @default the end of the listing's prefix */
  before?: string;
}

/** Compares two keys the way S3 orders them: by their UTF-8 bytes. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Printable ASCII, the fallback alphabet for split points before any key has been seen. */
export const PRINTABLE: readonly number[] = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => 0x20 + i);

/**
 * Bytes seen in listed keys (after the prefix), ASCII only: split points are made of these, so that a bucket of hex
 * names is split among `0-9a-f` rather than evenly over every printable character.
 */
export class KeyAlphabet {
  private readonly seen = new Uint8Array(128);
  private cached: number[] | undefined;

  /** Notes the ASCII bytes of `key` after its first `skip` bytes (the listing's prefix). */
  learn(key: string, skip: number): void {
    const b = Buffer.from(key, 'utf8');
    for (let i = skip; i < b.length; i++) {
      const c = b[i]!;
      if (c >= 0x20 && c <= 0x7e && this.seen[c] === 0) {
        this.seen[c] = 1;
        this.cached = undefined;
      }
    }
  }

  /** The bytes seen, ascending; printable ASCII while none has been. */
  bytes(): readonly number[] {
    if (this.cached) return this.cached;
    const out: number[] = [];
    for (let c = 0; c < 128; c++) if (this.seen[c] === 1) out.push(c);
    this.cached = out.length > 0 ? out : [...PRINTABLE];
    return this.cached;
  }
}

/**
 * Up to `n` split points `s1 < s2 < … < sn` strictly between `lo` and `hi` (`hi` absent: no upper bound), each the
 * first bytes of `lo` (whole characters, at least `prefix`) followed by one byte of `alphabet`. The ranges
 * `(lo, s1], (s1, s2], …, (sn, hi]` then cover `(lo, hi]`.
 *
 * The split is made at the first byte position (after the prefix and after what `lo` and `hi` share) where the
 * alphabet has bytes above `lo`'s and below `hi`: so the keys that follow `lo` in its own "directory" stay in the first
 * range, and the rest is cut into even slices of the alphabet. Returns fewer (or none) when there is no room.
 *
 * @param lo A key the listing has reached (exclusive lower bound); it starts with `prefix`.
 * @param hi The range's upper bound (inclusive), or undefined.
 * @param prefix The listing's prefix: every split point starts with it.
 * @param n How many split points are wanted (the range becomes up to n + 1 ranges).
 * @param alphabet Candidate bytes, ascending (see `KeyAlphabet`).
 * @param from The byte position to try first (where the last page's keys began to differ, less one); coarser
 *   positions are tried only when it has no room.
 */
export function splitPoints(
  lo: string,
  hi: string | undefined,
  prefix: string,
  n: number,
  alphabet: readonly number[],
  from = 0,
): string[] {
  if (n <= 0) return [];
  const loB = Buffer.from(lo, 'utf8');
  const hiB = hi === undefined ? undefined : Buffer.from(hi, 'utf8');
  const shared = hiB ? sharedBytes(loB, hiB) : 0;
  const start = Math.max(Buffer.byteLength(prefix, 'utf8'), shared);
  // Where the keys just listed vary is where the next ones most likely do: try there first, then coarser.
  return pointsFrom(loB, hiB, Math.max(start, from), n, alphabet) ?? pointsFrom(loB, hiB, start, n, alphabet) ?? [];
}

/** Bytes `a` and `b` share at their start. */
export function sharedBytes(a: Uint8Array, b: Uint8Array): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function pointsFrom(
  loB: Buffer,
  hiB: Buffer | undefined,
  start: number,
  n: number,
  alphabet: readonly number[],
): string[] | undefined {
  for (let j = start; j <= loB.length; j++) {
    // Never cut a multi-byte character: the point must be valid UTF-8 to be sent as a key.
    if (j < loB.length && (loB[j]! & 0xc0) === 0x80) continue;
    const loByte = j < loB.length ? loB[j]! : -1;
    const base = loB.subarray(0, j);
    const candidates: Buffer[] = [];
    for (const c of alphabet) {
      if (c <= loByte) continue;
      const point = Buffer.concat([base, Buffer.of(c)]);
      if (hiB && Buffer.compare(point, hiB) >= 0) break;
      candidates.push(point);
    }
    if (candidates.length === 0) continue;
    const picked = new Set<number>();
    for (let i = 1; i <= n; i++)
      picked.add(Math.min(candidates.length - 1, Math.floor((i * candidates.length) / (n + 1))));
    return [...picked].sort((a, b) => a - b).map((i) => candidates[i]!.toString('utf8'));
  }
  return undefined;
}
