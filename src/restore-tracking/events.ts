/**
 * Restore events as they arrive in an SQS message body, in the three shapes S3 delivers them:
 * - an S3 event notification (`{"Records": [...]}`, `eventName` `ObjectRestore:Completed` / `ObjectRestore:Delete`,
 *   the key URL-encoded with `+` for spaces, `glacierEventData.restoreEventData.lifecycleRestorationExpiryTime`);
 * - the same wrapped by SNS (`{"Type": "Notification", "Message": "<the JSON above>"}`);
 * - an EventBridge event routed to SQS (`"source": "aws.s3"`, `"detail-type": "Object Restore Completed"` /
 *   `"Object Restore Expired"`, `detail.object.key` as is, `detail["restore-expiry-time"]`).
 * The `s3:TestEvent` S3 sends when a notification is configured is recognised so that it can be deleted.
 */
import { decodeManifestKey } from '../inventory/key-encoding';

/** What one event says about one object. */
export interface RestoreFact {
  /** `completed`: the temporary copy is readable; `expired`: it is gone (ObjectRestore:Delete). */
  kind: 'completed' | 'expired';
  bucket: string;
  /** The raw (decoded) key. */
  key: string;
  /** '' when the event carries none (unversioned buckets). */
  versionId: string;
  /** When S3 says it happened (ISO), '' if absent. */
  eventTime: string;
  /** When the restored copy expires (ISO), '' if absent. */
  expiresAt: string;
  /** The archived object's storage class, '' if absent. */
  storageClass: string;
  /** Bytes, when the event carries it. */
  size?: number;
}

export type ParsedRestoreMessage =
  /** `facts` may be empty when every record was of another kind (`ignored` counts those records). */
  | { kind: 'facts'; facts: RestoreFact[]; ignored: number }
  | { kind: 'test-event' }
  | { kind: 'ignored'; reason: string }
  | { kind: 'malformed'; reason: string };

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/** ISO form of a timestamp string, or '' when it is absent or not a date. */
function isoOrEmpty(v: unknown): string {
  const s = str(v);
  if (s === '') return '';
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}

function sizeOf(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function fromS3Record(r: Json): RestoreFact | 'ignored' | { malformed: string } {
  const name = str(r.eventName).replace(/^s3:/, '');
  const kind =
    name === 'ObjectRestore:Completed' ? 'completed' : name === 'ObjectRestore:Delete' ? 'expired' : undefined;
  if (!kind) return 'ignored';
  const s3 = isObject(r.s3) ? r.s3 : {};
  const bucket = str(isObject(s3.bucket) ? s3.bucket.name : undefined);
  const object = isObject(s3.object) ? s3.object : {};
  const rawKey = str(object.key);
  if (!bucket || !rawKey) return { malformed: `${name} record without s3.bucket.name or s3.object.key` };
  let key: string;
  try {
    key = decodeManifestKey(rawKey);
  } catch {
    return { malformed: `${name} record with a key that is not URL encoding: ${JSON.stringify(rawKey)}` };
  }
  const restore = isObject(r.glacierEventData) && isObject(r.glacierEventData.restoreEventData);
  const data = restore ? ((r.glacierEventData as Json).restoreEventData as Json) : {};
  return {
    kind,
    bucket,
    key,
    versionId: str(object.versionId),
    eventTime: isoOrEmpty(r.eventTime),
    expiresAt: kind === 'completed' ? isoOrEmpty(data.lifecycleRestorationExpiryTime) : '',
    storageClass: str(data.lifecycleRestoreStorageClass),
    size: sizeOf(object.size),
  };
}

function fromEventBridge(e: Json): ParsedRestoreMessage {
  const type = str(e['detail-type']);
  const kind =
    type === 'Object Restore Completed' ? 'completed' : type === 'Object Restore Expired' ? 'expired' : undefined;
  if (!kind) return { kind: 'ignored', reason: `EventBridge ${type || 'event without detail-type'}` };
  const d = isObject(e.detail) ? e.detail : {};
  const bucket = str(isObject(d.bucket) ? d.bucket.name : undefined);
  const object = isObject(d.object) ? d.object : {};
  // EventBridge carries the key as it is (AWS's examples, moto and LocalStack all send it unencoded).
  const key = str(object.key);
  if (!bucket || !key) return { kind: 'malformed', reason: `EventBridge ${type} without detail.bucket.name or key` };
  return {
    kind: 'facts',
    ignored: 0,
    facts: [
      {
        kind,
        bucket,
        key,
        versionId: str(object['version-id']),
        eventTime: isoOrEmpty(e.time),
        expiresAt: kind === 'completed' ? isoOrEmpty(d['restore-expiry-time']) : '',
        storageClass: str(d['source-storage-class']),
        size: sizeOf(object.size),
      },
    ],
  };
}

function fromJson(v: unknown, depth: number): ParsedRestoreMessage {
  if (!isObject(v)) return { kind: 'malformed', reason: 'not a JSON object' };
  if (str(v.Event) === 's3:TestEvent') return { kind: 'test-event' };
  if (Array.isArray(v.Records)) {
    const facts: RestoreFact[] = [];
    let ignored = 0;
    for (const r of v.Records) {
      if (!isObject(r)) return { kind: 'malformed', reason: 'a record that is not an object' };
      const f = fromS3Record(r);
      if (f === 'ignored') ignored += 1;
      else if ('malformed' in f) return { kind: 'malformed', reason: f.malformed };
      else facts.push(f);
    }
    return { kind: 'facts', facts, ignored };
  }
  if (str(v.source) === 'aws.s3' && 'detail-type' in v) return fromEventBridge(v);
  if (str(v.Type) === 'Notification' && typeof v.Message === 'string' && depth === 0) {
    return parseRestoreMessage(v.Message, depth + 1);
  }
  if ('detail-type' in v) return { kind: 'ignored', reason: `EventBridge event from ${str(v.source) || 'unknown'}` };
  return { kind: 'malformed', reason: 'neither an S3 event notification, an EventBridge event nor an SNS envelope' };
}

/** Parses one SQS message body. Never throws. */
export function parseRestoreMessage(body: string | undefined, depth = 0): ParsedRestoreMessage {
  let v: unknown;
  try {
    v = JSON.parse(body ?? '');
  } catch {
    return { kind: 'malformed', reason: 'not JSON' };
  }
  return fromJson(v, depth);
}
