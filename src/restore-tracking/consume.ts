/**
 * Reads restore events from an SQS queue and makes them durable facts of the tracking set, without a workflow,
 * signal or history event per object:
 *
 *   ReceiveMessage (long poll, 10 at a time) → parse → buffer → write one event file per shard touched
 *   (`<prefix>/tracking/events/NNNNN/<batch-id>.csv`, If-None-Match: *) → only then DeleteMessageBatch
 *
 * A crash anywhere loses nothing: a message is deleted only after its facts are in S3; a message whose facts were
 * written but whose delete did not happen comes back and is written again in another file, which the tracking step
 * applies idempotently (applying "restored until X" twice is the same as once). Buffering many messages per write
 * keeps the number of event files (PUTs now, GETs in the step) far below the number of events.
 */
import { setMaxListeners } from 'node:events';

import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { S3Client } from '@aws-sdk/client-s3';

import type { Logger } from '../logging';
import type { ConsumeRestoreEventsInput, ConsumeRestoreEventsResult } from '../shared/restore-tracking-types';
import { TrackingNotFoundError } from './advance';
import { parseRestoreMessage, type RestoreFact } from './events';
import { shardOf } from './shard-hash';
import { TrackingStore } from './store';

/** @see ConsumeRestoreEventsInput */
export const DEFAULT_CONSUME = {
  maxMessages: 10_000,
  maxDurationMs: 5 * 60_000,
  waitTimeSeconds: 20,
  // One flush writes one file per shard it touches (up to 200 at 10M objects): 10,000 messages make that about
  // 0.02 PUT per message, and hold ~3 MB.
  flushEveryMessages: 10_000,
  flushIntervalMs: 30_000,
  visibilityTimeoutSeconds: 300,
} as const;
/** SQS returns at most 10 messages per receive and deletes at most 10 per batch. */
const SQS_BATCH = 10;
/** Event files written at once in a flush. */
const WRITE_CONCURRENCY = 8;

export class ConsumeInputError extends Error {
  override name = 'ConsumeInputError';
}

export interface ConsumeHooks {
  signal?: AbortSignal;
  log: Logger;
  /** Temporal's attempt number; part of the event file names, so two attempts never write the same name. */
  attempt: number;
  onProgress: (p: { received: number; deleted: number; files: number }) => void;
  now?: () => number;
}

/** An S3-safe piece of a file name. */
const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);

export async function consumeRestoreEvents(
  s3: S3Client,
  sqs: SQSClient,
  input: ConsumeRestoreEventsInput,
  hooks: ConsumeHooks,
): Promise<ConsumeRestoreEventsResult> {
  const now = hooks.now ?? Date.now;
  const signal = hooks.signal;
  const o = { ...DEFAULT_CONSUME, ...stripUndefined(input) };
  if (o.visibilityTimeoutSeconds * 1000 <= o.flushIntervalMs) {
    throw new ConsumeInputError(
      `visibilityTimeoutSeconds (${o.visibilityTimeoutSeconds}) must exceed flushIntervalMs (${o.flushIntervalMs} ms): ` +
        'a buffered message would be delivered again before its facts are written',
    );
  }
  // Event files are written WRITE_CONCURRENCY at a time, each listening on the signal.
  if (signal) setMaxListeners(WRITE_CONCURRENCY + 16, signal);
  const store = new TrackingStore(s3, input.tracking, signal);
  const read = await store.readIndex();
  if (!read) throw new TrackingNotFoundError(`no tracking set at s3://${input.tracking.bucket}/${store.keys.index}`);
  const { shardCount } = read.index;
  const tracked = new Set(read.index.buckets);

  const started = now();
  const result: ConsumeRestoreEventsResult = {
    received: 0,
    deleted: 0,
    facts: 0,
    files: 0,
    notTracked: 0,
    ignored: 0,
    malformed: 0,
    deleteFailures: 0,
    receiveCalls: 0,
    deleteCalls: 0,
    durationMs: 0,
  };
  const prefix = `t${started}-${safe(input.consumerId)}-a${hooks.attempt}`;
  let flushes = 0;
  let pending: Message[] = [];
  let pendingFacts = new Map<number, RestoreFact[]>();
  let firstPendingAt = 0;

  const flush = async () => {
    if (pending.length === 0) return;
    const name = `${prefix}-${String(flushes++).padStart(6, '0')}`;
    const shards = [...pendingFacts.entries()];
    for (let i = 0; i < shards.length; i += WRITE_CONCURRENCY) {
      await Promise.all(
        shards.slice(i, i + WRITE_CONCURRENCY).map(async ([s, facts]) => {
          await store.writeEventFile(s, name, facts);
          result.files += 1;
          result.facts += facts.length;
        }),
      );
    }
    // The facts are durable: now the messages may go.
    for (let i = 0; i < pending.length; i += SQS_BATCH) {
      const batch = pending.slice(i, i + SQS_BATCH);
      result.deleteCalls += 1;
      const out = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: input.queue.queueUrl,
          Entries: batch.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })),
        }),
        { abortSignal: signal },
      );
      result.deleted += out.Successful?.length ?? 0;
      if (out.Failed?.length) {
        result.deleteFailures += out.Failed.length;
        hooks.log.warn('some messages could not be deleted; they will be delivered again', {
          failed: out.Failed.map((f) => f.Code),
        });
      }
    }
    pending = [];
    pendingFacts = new Map();
    hooks.onProgress({ received: result.received, deleted: result.deleted, files: result.files });
  };

  for (;;) {
    if (signal?.aborted) throw signal.reason;
    const elapsed = now() - started;
    const left = o.maxMessages - result.received;
    if (left <= 0 || elapsed >= o.maxDurationMs) break;
    const wait = Math.max(0, Math.min(o.waitTimeSeconds, Math.floor((o.maxDurationMs - elapsed) / 1000)));
    result.receiveCalls += 1;
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: input.queue.queueUrl,
        MaxNumberOfMessages: Math.min(SQS_BATCH, left),
        WaitTimeSeconds: wait,
        VisibilityTimeout: o.visibilityTimeoutSeconds,
      }),
      { abortSignal: signal },
    );
    const messages = out.Messages ?? [];
    for (const m of messages) {
      result.received += 1;
      if (pending.length === 0) firstPendingAt = now();
      pending.push(m);
      const parsed = parseRestoreMessage(m.Body);
      switch (parsed.kind) {
        case 'test-event':
          result.ignored += 1;
          break;
        case 'ignored':
          result.ignored += 1;
          break;
        case 'malformed':
          result.malformed += 1;
          hooks.log.warn('deleting a message that is not a restore event', {
            messageId: m.MessageId,
            reason: parsed.reason,
            body: (m.Body ?? '').slice(0, 200),
          });
          break;
        case 'facts': {
          if (parsed.facts.length === 0) {
            result.ignored += 1;
            break;
          }
          const mine = parsed.facts.filter((f) => tracked.has(f.bucket));
          if (mine.length === 0) result.notTracked += 1;
          for (const f of mine) {
            const s = shardOf(f.bucket, f.key, shardCount);
            const list = pendingFacts.get(s);
            if (list) list.push(f);
            else pendingFacts.set(s, [f]);
          }
          break;
        }
      }
    }
    if (pending.length >= o.flushEveryMessages || (pending.length > 0 && now() - firstPendingAt >= o.flushIntervalMs)) {
      await flush();
    }
    hooks.onProgress({ received: result.received, deleted: result.deleted, files: result.files });
    if (messages.length === 0 && input.stopWhenEmpty) break;
  }
  await flush();
  result.durationMs = now() - started;
  return result;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
