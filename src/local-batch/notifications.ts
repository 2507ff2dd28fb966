/**
 * S3 event notifications that the engine sends itself. moto sends the notifications of the requests it serves, but a
 * restore that the engine holds back (`restoreLatencyMs`) completes inside the engine, so the engine reads the
 * bucket's notification configuration and delivers `s3:ObjectRestore:Completed` to the matching SQS queues, in the
 * message format of the S3 documentation ("Event message structure"):
 *
 * ```json
 * {"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"…",
 *   "eventName":"ObjectRestore:Completed",
 *   "s3":{"s3SchemaVersion":"1.0","configurationId":"…","bucket":{"name":"…","arn":"arn:aws:s3:::…"},
 *         "object":{"key":"cold/a+b.bin","size":5,"eTag":"…","versionId":"…","sequencer":"…"}},
 *   "glacierEventData":{"restoreEventData":{"lifecycleRestorationExpiryTime":"…","lifecycleRestoreStorageClass":"GLACIER"}}}]}
 * ```
 *
 * AWS's records also carry `userIdentity`, `requestParameters`, `responseElements` and `s3.bucket.ownerIdentity`.
 * Their values for a restore that S3 completes on its own are not documented, so the engine leaves them out, as moto
 * does in the messages it sends. Only SQS destinations are served (no SNS, Lambda or EventBridge).
 */
import {
  GetBucketNotificationConfigurationCommand,
  type GetBucketNotificationConfigurationCommandOutput,
  type QueueConfiguration,
  type S3Client,
} from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

import type { Logger } from '../logging';
import { awsErrorInfo } from './failures';

/** The event a completed restore raises, as named in a notification configuration. */
export const RESTORE_COMPLETED_EVENT = 's3:ObjectRestore:Completed';

/** A bucket's notification configuration is read again after this long (ms): changes show within a second. */
const CONFIG_TTL_MS = 1000;

/**
 * An object key as S3 writes it in event messages: URL-encoded as an HTML form is (`application/x-www-form-urlencoded`,
 * so a space is `+`, and `+` itself `%2B`), with `/` left as it is. S3 does not document which characters it leaves
 * unencoded; this follows the form encoding of `java.net.URLEncoder` (letters, digits, `-_.*`) plus `/`.
 */
export function eventKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/%2F/g, '/')
    .replace(/%20/g, '+')
    .replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Whether a configuration's key filter (`prefix` / `suffix` rules, names case-insensitive) admits `key`. */
export function keyFilterMatches(config: Pick<QueueConfiguration, 'Filter'>, key: string): boolean {
  for (const rule of config.Filter?.Key?.FilterRules ?? []) {
    const name = rule.Name?.toLowerCase();
    const value = rule.Value ?? '';
    if (name === 'prefix' && !key.startsWith(value)) return false;
    if (name === 'suffix' && !key.endsWith(value)) return false;
  }
  return true;
}

/** Whether `events` (e.g. `s3:ObjectRestore:*`) include `event` (e.g. `s3:ObjectRestore:Completed`). */
export function eventSelected(events: readonly string[] | undefined, event: string): boolean {
  const family = event.slice(0, event.lastIndexOf(':')) + ':*';
  return (events ?? []).some((e) => e === event || e === family);
}

/** The queue configurations of a bucket that receive `event` for `key`. */
export function queuesFor(
  config: Pick<GetBucketNotificationConfigurationCommandOutput, 'QueueConfigurations'>,
  event: string,
  key: string,
): QueueConfiguration[] {
  return (config.QueueConfigurations ?? []).filter(
    (q) => q.QueueArn !== undefined && eventSelected(q.Events, event) && keyFilterMatches(q, key),
  );
}

/** The expiry in an `x-amz-restore` header (`ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"`). */
export function restoreExpiry(header: string | undefined): Date | undefined {
  const m = /expiry-date="([^"]+)"/.exec(header ?? '');
  if (!m) return undefined;
  const t = Date.parse(m[1]!);
  return Number.isNaN(t) ? undefined : new Date(t);
}

let sequence = 0;

/**
 * An event sequencer: a hexadecimal string that grows with every event this process sends (milliseconds, then a
 * counter), so that events for one key sort in the order they were sent, as S3's do.
 */
export function nextSequencer(now = Date.now()): string {
  sequence = (sequence + 1) % 0x1000000;
  return (now.toString(16).padStart(12, '0') + sequence.toString(16).padStart(6, '0')).toUpperCase();
}

/** What a restore-completed message says about the object. */
export interface RestoreCompletedFacts {
  region: string;
  bucket: string;
  /** The decoded key; the message carries it URL-encoded ({@link eventKey}). */
  key: string;
  size: number;
  /** With or without the quotes HEAD gives it; the message carries it without. */
  eTag: string;
  /** Absent for an object of an unversioned bucket; the message then has no `versionId`. */
  versionId?: string;
  sequencer: string;
  /** When the restore completed. */
  eventTime: Date;
  /** When the restored copy expires. */
  expiry: Date;
  /** The archive class the object was restored from (`GLACIER`, `DEEP_ARCHIVE`). */
  storageClass: string;
  /** The `Id` of the notification configuration the message is sent for. */
  configurationId: string;
}

/** The `ObjectRestore:Completed` event message (see the module comment for its format). */
export function restoreCompletedMessage(f: RestoreCompletedFacts): { Records: [Record<string, unknown>] } {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: f.region,
        eventTime: f.eventTime.toISOString(),
        eventName: RESTORE_COMPLETED_EVENT.slice('s3:'.length),
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: f.configurationId,
          bucket: { name: f.bucket, arn: `arn:aws:s3:::${f.bucket}` },
          object: {
            key: eventKey(f.key),
            size: f.size,
            eTag: f.eTag.replace(/"/g, ''),
            ...(f.versionId !== undefined ? { versionId: f.versionId } : {}),
            sequencer: f.sequencer,
          },
        },
        glacierEventData: {
          restoreEventData: {
            lifecycleRestorationExpiryTime: f.expiry.toISOString(),
            lifecycleRestoreStorageClass: f.storageClass,
          },
        },
      },
    ],
  };
}

/** `arn:aws:sqs:us-east-1:123456789012:name` → account and name. */
export function parseQueueArn(arn: string): { account: string; name: string } | undefined {
  const m = /^arn:[^:]+:sqs:[^:]*:(\d*):([^:]+)$/.exec(arn);
  return m ? { account: m[1]!, name: m[2]! } : undefined;
}

/** Codes with which SQS says the queue is not there; S3 drops such events, and so does the engine. */
const MISSING_QUEUE = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'NonExistentQueue']);

/** Delivers the engine's own event notifications (see the module comment). */
export class EventNotifier {
  private readonly configs = new Map<string, { at: number; config: Promise<QueueConfiguration[] | undefined> }>();
  private readonly queueUrls = new Map<string, Promise<string>>();

  constructor(
    private readonly deps: {
      s3: S3Client;
      sqs: SQSClient;
      log: Logger;
    },
  ) {}

  /**
   * Sends the restore-completed message (facts without `configurationId`) to every queue configured for it.
   * Resolves to the number of messages sent.
   * @throws when the configuration cannot be read or a queue refuses the message for a reason other than not existing
   *   (the caller tries again later: delivery is at least once, as on AWS).
   */
  async restoreCompleted(facts: Omit<RestoreCompletedFacts, 'configurationId'>): Promise<number> {
    const queues = await this.queueConfigurations(facts.bucket);
    let sent = 0;
    for (const q of queuesFor({ QueueConfigurations: queues }, RESTORE_COMPLETED_EVENT, facts.key)) {
      const body = JSON.stringify(restoreCompletedMessage({ ...facts, configurationId: q.Id ?? '' }));
      if (await this.send(q.QueueArn!, body)) sent++;
    }
    return sent;
  }

  private queueConfigurations(bucket: string): Promise<QueueConfiguration[] | undefined> {
    const now = Date.now();
    const cached = this.configs.get(bucket);
    if (cached && now - cached.at < CONFIG_TTL_MS) return cached.config;
    const config = this.deps.s3
      .send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }))
      .then((out) => out.QueueConfigurations)
      .catch((err: unknown) => {
        this.configs.delete(bucket);
        // A bucket deleted meanwhile has nobody to notify.
        if (awsErrorInfo(err).name === 'NoSuchBucket') return undefined;
        throw err;
      });
    this.configs.set(bucket, { at: now, config });
    return config;
  }

  /** Sends one message; false when the queue does not exist. */
  private async send(queueArn: string, body: string): Promise<boolean> {
    const q = parseQueueArn(queueArn);
    if (!q) {
      this.deps.log.warn('notification queue ARN not understood; event dropped', { queueArn });
      return false;
    }
    try {
      let url = this.queueUrls.get(queueArn);
      if (!url) {
        url = this.deps.sqs
          .send(
            new GetQueueUrlCommand({ QueueName: q.name, ...(q.account ? { QueueOwnerAWSAccountId: q.account } : {}) }),
          )
          .then((out) => out.QueueUrl ?? Promise.reject(new Error(`no URL for queue ${queueArn}`)));
        this.queueUrls.set(queueArn, url);
      }
      await this.deps.sqs.send(new SendMessageCommand({ QueueUrl: await url, MessageBody: body }));
      return true;
    } catch (err) {
      this.queueUrls.delete(queueArn);
      if (MISSING_QUEUE.has(awsErrorInfo(err).name)) {
        this.deps.log.warn('notification queue does not exist; event dropped', { queueArn });
        return false;
      }
      throw err;
    }
  }
}
