/**
 * Restores that take time (engine option `restoreLatencyMs`, CLI `--restore-latency`). moto completes a RestoreObject
 * at once, so locally nothing could wait for a restore. With a latency L > 0, an S3InitiateRestoreObject task that
 * would start a restore records a {@link PendingRestore} due at request time + L instead of calling moto; the object
 * stays archived (no `x-amz-restore`, GET and CopyObject fail with InvalidObjectState) until then. At the due time the
 * engine calls moto's RestoreObject with the requested days and sends `s3:ObjectRestore:Completed` to the bucket's
 * queues (notifications.ts).
 *
 * One timer serves every pending restore: the records sit in a min-heap by due time, the timer is set for the
 * earliest, and when it fires the due records complete, at most {@link RESTORE_COMPLETION_CONCURRENCY} at a time. The
 * table is durable (store.ts `RestoreLog`), so a restart completes what was pending at its due time, late ones at once.
 */
import { HeadObjectCommand, RestoreObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import type { Logger } from '../logging';
import { awsErrorInfo } from './failures';
import { type EventNotifier, nextSequencer, restoreExpiry } from './notifications';
import type { RestoreLog } from './store';
import type { PendingRestore, RestoreTier } from './types';

/**
 * Restores completed at once. Each costs three S3 calls and a few SQS calls; 16 keep moto busy without crowding out
 * the jobs' own tasks (16 per Active job).
 */
export const RESTORE_COMPLETION_CONCURRENCY = 16;
/** The longest latency accepted: 30 days, well past the 48 hours of the slowest real tier (DEEP_ARCHIVE BULK). */
export const MAX_RESTORE_LATENCY_MS = 30 * 86_400_000;
/** A completion that failed for a passing reason (5xx, network) is tried again after this long (ms)… */
const RETRY_DELAY_MS = 5000;
/** …at most this many times in all, then dropped with an error in the log (about 5 minutes of trying). */
const MAX_ATTEMPTS = 60;
/** Node timers cannot wait longer than 2^31-1 ms; a farther due time is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What finishing a restore came to: done, given up (S3 refused it for good), or worth another try later. */
export type CompletionResult = 'done' | 'dropped' | 'retry';

/** Finishes one pending restore (calls S3, sends events). May throw: that counts as `retry`. */
export type RestoreCompleter = (r: PendingRestore) => Promise<CompletionResult>;

/** What the S3InitiateRestoreObject runner needs from the pending-restore table. */
export interface RestoreDeferral {
  /** The simulated restore time in ms; 0 passes restores to S3 at once. */
  readonly latencyMs: number;
  /** The pending restore of an object version (undefined version: the unversioned object), if any. */
  get(bucket: string, key: string, versionId: string | undefined): PendingRestore | undefined;
  /**
   * Records a restore due `latencyMs` from now. The record is in the table when this returns (so a check with
   * {@link get} followed by `defer` is atomic); the promise resolves once it is durable.
   * @throws (the promise) when it could not be persisted; the record is then gone again.
   */
  defer(r: Omit<PendingRestore, 'id' | 'requestedAt' | 'dueAt'>): { record: PendingRestore; persisted: Promise<void> };
  /** Raises a pending restore's tier (a faster request with the same days, reference §8). */
  upgrade(r: PendingRestore, tier: RestoreTier): Promise<void>;
}

/** Counts for `GET /_local/restores`. */
export interface RestoreStats {
  /** @see RestoreDeferral.latencyMs */
  latencyMs: number;
  /** Restores accepted and not yet completed (in flight included). */
  pending: number;
  /** Restores being completed right now. */
  inFlight: number;
  /** The earliest due time among those not in flight (ISO-8601), or null. */
  nextDueAt: string | null;
  /** Completed since the engine started. */
  completed: number;
  /** Given up since the engine started (S3 refused with a 4xx, e.g. the object is gone, or kept failing). */
  failed: number;
}

/** One pending restore as the admin API lists it. */
export interface RestoreView {
  bucket: string;
  key: string;
  versionId?: string;
  tier: RestoreTier;
  days: number;
  requestedAt: string;
  dueAt: string;
}

/** A binary min-heap under `before` (true when `a` must come out before `b`). */
export class MinHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(a[i]!, a[parent]!)) break;
      const t = a[i]!;
      a[i] = a[parent]!;
      a[parent] = t;
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.before(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        const t = a[i]!;
        a[i] = a[m]!;
        a[m] = t;
        i = m;
      }
    }
    return top;
  }
}

/** Due time, then request order: the order in which pending restores complete. */
const dueFirst = (a: PendingRestore, b: PendingRestore) => (a.dueAt !== b.dueAt ? a.dueAt < b.dueAt : a.id < b.id);

function objectId(bucket: string, key: string, versionId: string | undefined): string {
  return `${bucket}\n${key}\n${versionId ?? ''}`;
}

export interface PendingRestoresOptions {
  /** The durable table; `open` loads it. */
  file: RestoreLog;
  /** @see RestoreDeferral.latencyMs */
  latencyMs: number;
  /** Finishes a due restore (see {@link createRestoreCompleter}). */
  complete: RestoreCompleter;
  /** Completions at once. @default {@link RESTORE_COMPLETION_CONCURRENCY} */
  concurrency?: number;
  log: Logger;
}

/** The pending-restore table and its timer loop (see the module comment). */
export class PendingRestores implements RestoreDeferral {
  readonly latencyMs: number;
  private readonly byObject = new Map<string, PendingRestore>();
  /** Every pending restore not yet attempted, by due time: the one index a million entries go into. */
  private readonly due = new MinHeap<PendingRestore>(dueFirst);
  /** The few whose completion failed and waits for another try, by the time of that try. */
  private readonly retries = new MinHeap<{ at: number; r: PendingRestore }>((a, b) => a.at < b.at);
  private readonly running = new Set<Promise<void>>();
  private readonly attempts = new Map<number, number>();
  private readonly concurrency: number;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private closed = false;
  private completed = 0;
  private failed = 0;

  private constructor(private readonly opts: PendingRestoresOptions) {
    this.latencyMs = opts.latencyMs;
    this.concurrency = opts.concurrency ?? RESTORE_COMPLETION_CONCURRENCY;
  }

  /** Loads the table and starts the loop; restores already due complete right away. */
  static async open(opts: PendingRestoresOptions): Promise<PendingRestores> {
    const table = new PendingRestores(opts);
    const loaded = await opts.file.load();
    for (const r of loaded) table.index(r);
    opts.file.attach(table.byObject);
    if (loaded.length > 0) {
      opts.log.info('pending restores loaded', { pending: loaded.length, nextDueAt: table.stats().nextDueAt });
    }
    table.schedule();
    return table;
  }

  get(bucket: string, key: string, versionId: string | undefined): PendingRestore | undefined {
    return this.byObject.get(objectId(bucket, key, versionId));
  }

  defer(input: Omit<PendingRestore, 'id' | 'requestedAt' | 'dueAt'>): {
    record: PendingRestore;
    persisted: Promise<void>;
  } {
    if (this.closed) throw new Error('the engine is shutting down');
    const now = Date.now();
    const record: PendingRestore = {
      id: this.opts.file.nextId(),
      bucket: input.bucket,
      key: input.key,
      tier: input.tier,
      days: input.days,
      requestedAt: now,
      dueAt: now + this.latencyMs,
    };
    if (input.versionId !== undefined) record.versionId = input.versionId;
    this.index(record);
    this.schedule();
    if (!this.opts.file.durable) return { record, persisted: Promise.resolve() };
    const persisted = this.opts.file.add(record).catch(async (err: unknown) => {
      this.unindex(record);
      await this.opts.file.done(record.id).catch(() => undefined);
      throw err;
    });
    return { record, persisted };
  }

  upgrade(r: PendingRestore, tier: RestoreTier): Promise<void> {
    r.tier = tier;
    return this.opts.file.setTier(r);
  }

  stats(): RestoreStats {
    const next = this.nextAt();
    return {
      latencyMs: this.latencyMs,
      pending: this.byObject.size,
      inFlight: this.running.size,
      nextDueAt: next === undefined ? null : new Date(next).toISOString(),
      completed: this.completed,
      failed: this.failed,
    };
  }

  /**
   * Pending restores of `bucket` (all buckets when absent) whose key starts with `prefix`, in the order they were
   * requested, at most `limit`; and how many match in all.
   */
  list(filter: { bucket?: string; prefix?: string; limit: number }): { matching: number; restores: RestoreView[] } {
    let matching = 0;
    const restores: RestoreView[] = [];
    for (const r of this.byObject.values()) {
      if (filter.bucket !== undefined && r.bucket !== filter.bucket) continue;
      if (filter.prefix !== undefined && !r.key.startsWith(filter.prefix)) continue;
      matching++;
      if (restores.length < filter.limit) {
        restores.push({
          bucket: r.bucket,
          key: r.key,
          ...(r.versionId !== undefined ? { versionId: r.versionId } : {}),
          tier: r.tier,
          days: r.days,
          requestedAt: new Date(r.requestedAt).toISOString(),
          dueAt: new Date(r.dueAt).toISOString(),
        });
      }
    }
    return { matching, restores };
  }

  /** Stops the loop, waits for the completions under way and for the table to be written. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    await this.opts.file.flush();
  }

  private index(r: PendingRestore): void {
    this.byObject.set(objectId(r.bucket, r.key, r.versionId), r);
    this.due.push(r);
  }

  /** When the next attempt is due (a first one or a retry), if any. */
  private nextAt(): number | undefined {
    const d = this.due.peek()?.dueAt;
    const r = this.retries.peek()?.at;
    return d === undefined ? r : r === undefined ? d : Math.min(d, r);
  }

  /** Takes the next attempt if it is due by `now`. */
  private takeDue(now: number): PendingRestore | undefined {
    const d = this.due.peek();
    const r = this.retries.peek();
    if (r && r.at <= now && (!d || r.at <= d.dueAt)) return this.retries.pop()!.r;
    if (d && d.dueAt <= now) return this.due.pop();
    return undefined;
  }

  /** Forgets a record whose `add` failed; its heap entry is skipped when it comes up. */
  private unindex(r: PendingRestore): void {
    const id = objectId(r.bucket, r.key, r.versionId);
    if (this.byObject.get(id) === r) this.byObject.delete(id);
  }

  /** Starts every due restore there is room for, then sets the one timer for the next. */
  private schedule(): void {
    if (this.closed) return;
    const now = Date.now();
    while (this.running.size < this.concurrency) {
      const r = this.takeDue(now);
      if (!r) break;
      // A record whose `add` failed is no longer in the table.
      if (this.get(r.bucket, r.key, r.versionId) === r) this.start(r);
    }
    const next = this.nextAt();
    // With every slot busy, the next completion to end calls schedule() again.
    if (next === undefined || this.running.size >= this.concurrency) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.timer && this.timerAt === next) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.schedule();
      },
      Math.min(Math.max(0, next - now), MAX_TIMER_MS),
    );
    this.timer.unref();
  }

  private start(r: PendingRestore): void {
    const p = (async () => {
      let result: CompletionResult;
      try {
        result = await this.opts.complete(r);
      } catch (err) {
        this.opts.log.warn('restore completion failed; trying again', { bucket: r.bucket, key: r.key, err });
        result = 'retry';
      }
      const attempts = (this.attempts.get(r.id) ?? 0) + 1;
      if (result === 'retry' && attempts < MAX_ATTEMPTS && !this.closed) {
        this.attempts.set(r.id, attempts);
        this.retries.push({ at: Date.now() + RETRY_DELAY_MS, r });
        return;
      }
      // Closing with a retry pending leaves the record in the table: the next start tries again.
      if (result === 'retry' && this.closed) return;
      this.attempts.delete(r.id);
      this.unindex(r);
      if (result === 'done') this.completed++;
      else this.failed++;
      if (result === 'retry') {
        this.opts.log.error('restore given up after repeated failures', { bucket: r.bucket, key: r.key, attempts });
      }
      await this.opts.file.done(r.id).catch(() => undefined);
    })();
    this.running.add(p);
    void p.finally(() => {
      this.running.delete(p);
      this.schedule();
    });
  }
}

/**
 * The completion of a pending restore against S3: RestoreObject with the requested days and tier (moto then shows
 * `ongoing-request="false", expiry-date=…`), HEAD for the object's size, ETag and expiry, then the
 * `ObjectRestore:Completed` notifications. An object (or bucket) gone meanwhile ends the restore quietly, as S3 would
 * end it; 5xx and network errors are tried again. A retry after RestoreObject succeeded does not call it again.
 */
export function createRestoreCompleter(deps: {
  s3: S3Client;
  notifier: EventNotifier;
  region: string;
  log: Logger;
}): RestoreCompleter {
  const restored = new Set<number>();
  const permanent = (err: unknown) => {
    const e = awsErrorInfo(err);
    return e.httpStatus !== undefined && e.httpStatus >= 400 && e.httpStatus < 500 && e.httpStatus !== 429;
  };
  return async (r) => {
    const target = { Bucket: r.bucket, Key: r.key, VersionId: r.versionId };
    try {
      if (!restored.has(r.id)) {
        await deps.s3.send(
          new RestoreObjectCommand({
            ...target,
            RestoreRequest: { Days: r.days, GlacierJobParameters: { Tier: r.tier === 'BULK' ? 'Bulk' : 'Standard' } },
          }),
        );
        restored.add(r.id);
      }
      const head = await deps.s3.send(new HeadObjectCommand(target));
      const now = new Date();
      const sent = await deps.notifier.restoreCompleted({
        region: deps.region,
        bucket: r.bucket,
        key: r.key,
        size: head.ContentLength ?? 0,
        eTag: head.ETag ?? '',
        versionId: head.VersionId,
        sequencer: nextSequencer(now.getTime()),
        eventTime: now,
        expiry: restoreExpiry(head.Restore) ?? new Date(now.getTime() + r.days * 86_400_000),
        storageClass: head.StorageClass ?? 'GLACIER',
      });
      restored.delete(r.id);
      deps.log.debug('restore completed', { bucket: r.bucket, key: r.key, notifications: sent });
      return 'done';
    } catch (err) {
      if (!permanent(err)) throw err;
      restored.delete(r.id);
      deps.log.warn('pending restore dropped: S3 refused to complete it', { bucket: r.bucket, key: r.key, err });
      return 'dropped';
    }
  };
}
