/**
 * The objects a restore-and-copy report already names as `RestoreFailed:<code>`, so that the tracking set's rows of
 * the same objects are left out and failed.csv names each object once. An object whose restore failed stays
 * `requested` (a cancel then finds it waiting) or is found gone by a sweep (`failed`): without this it would be
 * listed a second time, and a redrive of the report would take it twice.
 *
 * Memory stays bounded however many restores failed (10 million objects, all AccessDenied): the report notes each
 * restore failure as it streams the restore children's failed.csv files anyway, keeping only a count per tracking
 * shard, and their ids while there are at most `cap` of them. When there are more, consecutive shards are grouped
 * into ranges whose failures fit the cap, and for each range the failure files are streamed again to collect the ids
 * of that range's shards only. So: no failure, nothing more; up to `cap`, no extra read; more, one read per range.
 */
import { decodeManifestKey } from '../inventory/key-encoding';
import { objectId, type TrackingRow } from './rows';
import { shardOf } from './shard-hash';

/**
 * Object ids held in memory at most (~150 bytes each in a Set: some 30 MB). A tracking shard holds at most 50,000
 * rows, so a range is never less than four shards.
 */
export const RESTORE_FAILURE_IDS_CAP = 200_000;

/** A failed.csv row's object: its key URL-encoded as failed.csv has it. */
export interface FailedCsvObject {
  bucket: string;
  key: string;
  versionId: string;
}

/** A range of shards `[from, to)` and the restore failures it holds. */
export interface ShardRange {
  from: number;
  to: number;
  failures: number;
}

/**
 * Consecutive shards grouped so that each range's weights sum to at most `cap`; a shard heavier than `cap` is a range
 * of its own (with the weightless shards after it). Every shard is in exactly one range, in order.
 */
export function shardRanges(weights: ArrayLike<number>, cap: number): ShardRange[] {
  const ranges: ShardRange[] = [];
  let current: ShardRange | undefined;
  for (let s = 0; s < weights.length; s++) {
    const w = weights[s] ?? 0;
    if (current && w > 0 && current.failures > 0 && current.failures + w > cap) {
      ranges.push(current);
      current = undefined;
    }
    current ??= { from: s, to: s, failures: 0 };
    current.to = s + 1;
    current.failures += w;
  }
  if (current) ranges.push(current);
  return ranges;
}

/** Where an object of failed.csv lives among `shardCount` shards, and its id; undefined when its key is not URL encoding. */
function locate(o: FailedCsvObject, shardCount: number): { shard: number; id: string } | undefined {
  let key: string;
  try {
    key = decodeManifestKey(o.key);
  } catch {
    // No tracking row can have it: tracking rows are written with encodeManifestKey, which always decodes.
    return undefined;
  }
  return { shard: shardOf(o.bucket, key, shardCount), id: objectId(o.bucket, key, o.versionId) };
}

/** The restore failures of one report, noted while they are written; then the tracking rows without their objects. */
export class RestoreFailureIds {
  private readonly perShard: Uint32Array;
  private held: Set<string> | undefined = new Set();
  /** Rows noted (each object once per row). */
  noted = 0;

  /**
   * @param shardCount the tracking set's shard count
   * @param cap object ids held in memory at most. @default RESTORE_FAILURE_IDS_CAP
   */
  constructor(
    private readonly shardCount: number,
    private readonly cap = RESTORE_FAILURE_IDS_CAP,
  ) {
    this.perShard = new Uint32Array(Math.max(1, shardCount));
  }

  /** Notes one `RestoreFailed:` row of failed.csv. */
  note(o: FailedCsvObject): void {
    const at = locate(o, this.shardCount);
    if (!at) return;
    this.noted += 1;
    this.perShard[at.shard]! += 1;
    if (!this.held) return;
    this.held.add(at.id);
    if (this.held.size > this.cap) this.held = undefined;
  }

  /**
   * The rows of the given shards, in that order, without those of noted objects (`dropped`).
   * @param shards the shards to read (ascending); others are neither read nor yielded
   * @param readShard reads one shard's rows
   * @param again streams every row given to `note` again (called once per range, only when the ids exceeded the cap)
   */
  async *trackingRows(
    shards: readonly number[],
    readShard: (shard: number) => Promise<TrackingRow[]>,
    again: () => AsyncIterable<FailedCsvObject>,
  ): AsyncGenerator<{ shard: number; rows: TrackingRow[]; dropped: TrackingRow[] }> {
    const weights = new Uint32Array(this.perShard.length);
    for (const s of shards) if (s < weights.length) weights[s] = this.perShard[s]!;
    const ranges = this.held
      ? [{ from: 0, to: Number.MAX_SAFE_INTEGER, failures: this.noted }]
      : shardRanges(weights, this.cap);
    let next = 0;
    for (const range of ranges) {
      let ids = this.held;
      if (!ids && range.failures > 0) {
        ids = new Set();
        for await (const o of again()) {
          const at = locate(o, this.shardCount);
          if (at && at.shard >= range.from && at.shard < range.to) ids.add(at.id);
        }
      }
      for (; next < shards.length && shards[next]! < range.to; next++) {
        const shard = shards[next]!;
        const rows = await readShard(shard);
        if (!ids || (this.perShard[shard] ?? 0) === 0) {
          yield { shard, rows, dropped: [] };
          continue;
        }
        const kept: TrackingRow[] = [];
        const dropped: TrackingRow[] = [];
        for (const r of rows) (ids.has(objectId(r.bucket, r.key, r.versionId)) ? dropped : kept).push(r);
        yield { shard, rows: kept, dropped };
      }
    }
  }
}
