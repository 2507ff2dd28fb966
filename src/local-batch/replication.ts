/**
 * S3ReplicateObject (Batch Replication): replicates each task's object as the source bucket's replication
 * configuration says. moto stores that configuration (PutBucketReplication / GetBucketReplication) but never acts on
 * it, so the engine reads it and does the copying itself.
 *
 * Per task: the enabled rules whose filter admits the object (legacy `Prefix`, `Filter.Prefix`, `Filter.Tag`,
 * `Filter.And`, `Filter.Not`) are grouped by destination bucket, and for each destination the rule with the highest
 * `Priority` applies (as S3 resolves overlapping rules). The object (data, metadata, tags) is copied to that bucket
 * under the same key with the rule's `Destination.StorageClass`, or the source's class when the rule names none.
 * A delete marker named by the manifest is replicated (as a delete marker) only by rules with
 * `DeleteMarkerReplication` Enabled.
 *
 * Replication status: moto neither stores nor reports `x-amz-replication-status` (its PutObject/CopyObject ignore
 * the header and HEAD never sends it), so the engine keeps the status itself in a {@link ReplicationStatusTable}:
 * `COMPLETED` or `FAILED` for the source version, `REPLICA` for each replica written. `GET /_local/replication-status`
 * shows it. The replica gets a new version id in the destination (AWS keeps the source's; moto cannot).
 */
import { createReadStream, existsSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';

import {
  CopyObjectCommand,
  type CopyObjectCommandInput,
  DeleteObjectCommand,
  GetBucketReplicationCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type ReplicationRule,
  type S3Client,
} from '@aws-sdk/client-s3';

import type { Logger } from '../logging';
import { awsErrorInfo, bucketFromArn, FailureCode, jobFailure, missingObjectOutcome } from './failures';
import type { TaskOutcome, TaskRef } from './types';

/** `x-amz-replication-status` values. */
export type ReplicationStatus = 'COMPLETED' | 'FAILED' | 'REPLICA' | 'PENDING';

/** The tags of an object, for tag filters. */
type Tags = ReadonlyArray<{ Key?: string; Value?: string }>;

/** A replication rule filter (any level of `Filter`, `And`, `Not`, `Or`). */
interface RuleFilter {
  Prefix?: string;
  Tag?: { Key?: string; Value?: string };
  Tags?: Tags;
  And?: RuleFilter;
  Not?: RuleFilter;
  Or?: RuleFilter;
}

const hasTag = (tags: Tags, t: { Key?: string; Value?: string }) =>
  tags.some((x) => x.Key === t.Key && (x.Value ?? '') === (t.Value ?? ''));

/** Whether one filter level admits the object: every condition it names holds (an `And` is the same test). */
function filterAdmits(f: RuleFilter, key: string, tags: Tags): boolean {
  if (f.Prefix !== undefined && !key.startsWith(f.Prefix)) return false;
  if (f.Tag && !hasTag(tags, f.Tag)) return false;
  if (f.Tags && !f.Tags.every((t) => hasTag(tags, t))) return false;
  if (f.And && !filterAdmits(f.And, key, tags)) return false;
  if (f.Not && filterAdmits(f.Not, key, tags)) return false;
  if (f.Or) {
    const alts: boolean[] = [];
    if (f.Or.Prefix !== undefined) alts.push(key.startsWith(f.Or.Prefix));
    if (f.Or.Tag) alts.push(hasTag(tags, f.Or.Tag));
    for (const t of f.Or.Tags ?? []) alts.push(hasTag(tags, t));
    if (alts.length > 0 && !alts.some(Boolean)) return false;
  }
  return true;
}

/** Whether `rule` (enabled or not) selects the object `key` with `tags`. */
export function ruleMatches(rule: ReplicationRule, key: string, tags: Tags): boolean {
  if (rule.Filter === undefined) return rule.Prefix === undefined || key.startsWith(rule.Prefix);
  return filterAdmits(rule.Filter as RuleFilter, key, tags);
}

/** What a task does for one destination bucket. */
export interface ReplicationTarget {
  rule: ReplicationRule;
  bucket: string;
}

/**
 * The rules that apply to an object: enabled, matching, one per destination bucket (the highest priority wins; a
 * tie goes to the earlier rule). For a delete marker only rules with DeleteMarkerReplication Enabled apply.
 */
export function selectRules(
  rules: readonly ReplicationRule[],
  key: string,
  tags: Tags,
  deleteMarker = false,
): ReplicationTarget[] {
  const best = new Map<string, ReplicationTarget>();
  for (const rule of rules) {
    if (rule.Status !== 'Enabled') continue;
    if (deleteMarker && rule.DeleteMarkerReplication?.Status !== 'Enabled') continue;
    if (!ruleMatches(rule, key, tags)) continue;
    const bucket = bucketFromArn(rule.Destination?.Bucket ?? '');
    if (!bucket) continue;
    const held = best.get(bucket);
    if (!held || (rule.Priority ?? 0) > (held.rule.Priority ?? 0)) best.set(bucket, { rule, bucket });
  }
  return [...best.values()];
}

/** One line of `replication-status.jsonl`. */
interface StatusLine {
  b: string;
  k: string;
  v?: string;
  s: ReplicationStatus;
}

/**
 * The replication status of object versions the engine replicated (what S3 would report as
 * `x-amz-replication-status`). With a state directory every change is appended to
 * `<stateDir>/replication-status.jsonl` and reloaded at start; the last line for a version wins.
 */
export class ReplicationStatusTable {
  private readonly statuses = new Map<string, ReplicationStatus>();
  private constructor(
    private readonly file: string | undefined,
    private readonly log: Logger,
  ) {}

  private static id(bucket: string, key: string, versionId: string | undefined): string {
    return `${bucket}\n${key}\n${versionId ?? ''}`;
  }

  /** A table that keeps nothing on disk. */
  static inMemory(log: Logger): ReplicationStatusTable {
    return new ReplicationStatusTable(undefined, log);
  }

  /** Loads the table from `stateDir` (if given). */
  static async open(stateDir: string | undefined, log: Logger): Promise<ReplicationStatusTable> {
    const file = stateDir ? path.join(stateDir, 'replication-status.jsonl') : undefined;
    const table = new ReplicationStatusTable(file, log);
    if (file && existsSync(file)) {
      const lines = readline.createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
      for await (const text of lines) {
        try {
          const l = JSON.parse(text) as StatusLine;
          table.statuses.set(ReplicationStatusTable.id(l.b, l.k, l.v), l.s);
        } catch {
          log.warn('skipping a damaged replication status line', { file });
        }
      }
    }
    return table;
  }

  /** The status of a version; without `versionId`, of the null/unversioned object. */
  get(bucket: string, key: string, versionId?: string): ReplicationStatus | undefined {
    return this.statuses.get(ReplicationStatusTable.id(bucket, key, versionId));
  }

  async set(bucket: string, key: string, versionId: string | undefined, status: ReplicationStatus): Promise<void> {
    this.statuses.set(ReplicationStatusTable.id(bucket, key, versionId), status);
    if (!this.file) return;
    const line: StatusLine = { b: bucket, k: key, s: status, ...(versionId !== undefined ? { v: versionId } : {}) };
    try {
      await mkdir(path.dirname(this.file), { recursive: true });
      await appendFile(this.file, JSON.stringify(line) + '\n');
    } catch (err) {
      this.log.warn('could not persist a replication status', { bucket, key, err });
    }
  }

  /** Every recorded status of `bucket` under `prefix` (at most `limit`), for `/_local/replication-status`. */
  list(
    bucket: string,
    prefix = '',
    limit = 1000,
  ): Array<{ key: string; versionId?: string; status: ReplicationStatus }> {
    const out: Array<{ key: string; versionId?: string; status: ReplicationStatus }> = [];
    for (const [id, status] of this.statuses) {
      const [b, key, v] = id.split('\n') as [string, string, string];
      if (b !== bucket || !key.startsWith(prefix)) continue;
      out.push({ key, ...(v ? { versionId: v } : {}), status });
      if (out.length >= limit) break;
    }
    return out;
  }
}

/** A value of moto's xmltodict form as one list: absent → [], one element → [it]. */
const asList = <T>(v: T | T[] | undefined | null): T[] =>
  v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];

type XmlTag = { Key?: string; Value?: string | null };
type XmlFilter = { Prefix?: string | null; Tag?: XmlTag | XmlTag[]; And?: XmlFilter; Not?: XmlFilter; Or?: XmlFilter };

/** moto's xmltodict form of a filter level in the SDK's shape (`And` holds `Tags`, the others one `Tag`). */
function filterFromXml(f: XmlFilter | undefined | null, inAnd = false): RuleFilter | undefined {
  if (!f) return undefined;
  const tags = asList(f.Tag).map((t) => ({ Key: t.Key, Value: t.Value ?? '' }));
  return {
    ...(f.Prefix !== undefined ? { Prefix: f.Prefix ?? '' } : {}),
    ...(tags.length === 1 && !inAnd ? { Tag: tags[0] } : tags.length > 0 ? { Tags: tags } : {}),
    ...(f.And ? { And: filterFromXml(f.And, true) } : {}),
    ...(f.Not ? { Not: filterFromXml(f.Not) } : {}),
    ...(f.Or ? { Or: filterFromXml(f.Or) } : {}),
  };
}

/**
 * moto's GetBucketReplication answers every rule with `Filter: {Prefix: ""}` and `DeleteMarkerReplication:
 * Disabled`, whatever was stored; the stored configuration (as moto parsed the PutBucketReplication XML) is only in
 * its `/moto-api/data.json` model dump. `not-moto` when the endpoint has no such dump (real S3, another emulator).
 */
async function motoStoredRules(
  s3: S3Client,
  bucket: string,
): Promise<{ rules: ReplicationRule[] } | { error: string } | 'not-moto'> {
  let dump: { s3?: { FakeBucket?: Array<{ name?: string; replication?: { Rule?: unknown } | null }> } };
  try {
    const ep = await s3.config.endpoint?.();
    if (!ep) return 'not-moto';
    const base = `${ep.protocol}//${ep.hostname}${ep.port ? `:${ep.port}` : ''}`;
    const res = await fetch(`${base}/moto-api/data.json`, { signal: AbortSignal.timeout(MOTO_DUMP_TIMEOUT_MS) });
    if (res.status === 404) return 'not-moto';
    if (!res.ok) return { error: `HTTP ${res.status}` };
    dump = (await res.json()) as typeof dump;
  } catch (err) {
    return { error: awsErrorInfo(err).message };
  }
  const stored = dump.s3?.FakeBucket?.find((b) => b.name === bucket)?.replication;
  if (!stored) return { error: `bucket ${bucket} has no stored replication configuration in the dump` };
  return {
    rules: asList(stored.Rule as Record<string, unknown> | Array<Record<string, unknown>>).map((r) => {
      const rule = r as {
        ID?: string;
        Priority?: string | number;
        Status?: string;
        Prefix?: string | null;
        Filter?: XmlFilter | null;
        Destination?: { Bucket?: string; StorageClass?: string };
        DeleteMarkerReplication?: { Status?: string };
      };
      return {
        ID: rule.ID,
        Priority: rule.Priority === undefined ? undefined : Number(rule.Priority),
        Status: rule.Status as ReplicationRule['Status'],
        ...(rule.Prefix !== undefined ? { Prefix: rule.Prefix ?? '' } : {}),
        ...(rule.Filter !== undefined
          ? { Filter: (filterFromXml(rule.Filter) ?? {}) as ReplicationRule['Filter'] }
          : {}),
        Destination: rule.Destination as ReplicationRule['Destination'],
        DeleteMarkerReplication: rule.DeleteMarkerReplication as ReplicationRule['DeleteMarkerReplication'],
      };
    }),
  };
}

/** Whether a GetBucketReplication answer has the shape moto gives every rule, whatever its real filter. */
function looksLikeMotoAnswer(rules: readonly ReplicationRule[]): boolean {
  return rules.every((r) => {
    const f = r.Filter as RuleFilter | undefined;
    return (
      r.Prefix === undefined &&
      f !== undefined &&
      Object.keys(f).length === 1 &&
      f.Prefix === '' &&
      r.DeleteMarkerReplication?.Status !== 'Enabled'
    );
  });
}

/**
 * The rules of `bucket` as stored. GetBucketReplication's answer is used when it can be trusted (real S3, or rules
 * that are not in moto's shape); otherwise the stored configuration comes from moto's model dump.
 * @throws JobFailure ReplicationRulesUnreadable when moto's dump fails: replicating with filters that may be wrong
 *   would copy objects that AWS would not.
 */
async function storedRules(s3: S3Client, bucket: string, answer: ReplicationRule[]): Promise<ReplicationRule[]> {
  if (!looksLikeMotoAnswer(answer)) return answer;
  const stored = await motoStoredRules(s3, bucket);
  if (stored === 'not-moto') return answer;
  if ('rules' in stored) return stored.rules;
  throw jobFailure(
    FailureCode.ReplicationRulesUnreadable,
    `moto answers GetBucketReplication of ${bucket} without its rules' filters, and its model dump ` +
      `(/moto-api/data.json), the only other place that holds them, failed: ${stored.error}`,
  );
}

/** How long the engine waits for moto's model dump before it falls back to GetBucketReplication's answer. */
const MOTO_DUMP_TIMEOUT_MS = 5000;

/**
 * Job-level check before any task runs: every bucket of the manifest has a replication configuration.
 * @returns the rules of each bucket.
 * @throws JobFailure ReplicationConfigurationNotFound (BucketNotAccessible for a missing bucket, ReplicationRulesUnreadable
 *   when moto hides the rules) naming the bucket.
 */
export async function loadReplicationRules(
  s3: S3Client,
  buckets: Iterable<string>,
): Promise<Map<string, ReplicationRule[]>> {
  const out = new Map<string, ReplicationRule[]>();
  for (const bucket of buckets) {
    let answer: ReplicationRule[];
    try {
      const res = await s3.send(new GetBucketReplicationCommand({ Bucket: bucket }));
      answer = res.ReplicationConfiguration?.Rules ?? [];
    } catch (err) {
      const e = awsErrorInfo(err);
      const why =
        e.name === 'ReplicationConfigurationNotFoundError'
          ? 'has no replication configuration'
          : e.name === 'NoSuchBucket'
            ? 'does not exist'
            : `could not be read (${e.name}: ${e.message})`;
      throw jobFailure(
        e.name === 'NoSuchBucket' ? FailureCode.BucketNotAccessible : FailureCode.ReplicationNotConfigured,
        `S3ReplicateObject needs a replication configuration on the source bucket; bucket ${bucket} ${why}`,
      );
    }
    out.set(bucket, await storedRules(s3, bucket, answer));
  }
  return out;
}

/** What the replication runner needs. */
export interface ReplicationDeps {
  s3: S3Client;
  statuses: ReplicationStatusTable;
  log: Logger;
  /** The rules of each source bucket, read once per job run. */
  rules: (bucket: string) => Promise<ReplicationRule[]>;
  /** Turns an SDK error into a failed outcome (operations.ts). */
  outcomeFromError: (err: unknown) => TaskOutcome;
}

const ARCHIVE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

function copySourceOf(t: TaskRef, versionId: string | undefined): string {
  const key = t.key.split('/').map(encodeURIComponent).join('/');
  return `${t.bucket}/${key}` + (versionId ? `?versionId=${encodeURIComponent(versionId)}` : '');
}

/** Whether a HEAD error says the version is a delete marker (S3 answers 405 for a delete-marker version). */
function isDeleteMarkerError(err: unknown): boolean {
  const headers = (err as { $response?: { headers?: Record<string, string> } }).$response?.headers ?? {};
  return headers['x-amz-delete-marker'] === 'true';
}

/** Runs S3ReplicateObject on one task. Throws only what `createTaskRunner` turns into an outcome. */
export async function replicateObject(t: TaskRef, deps: ReplicationDeps): Promise<TaskOutcome> {
  const { s3 } = deps;
  const rules = await deps.rules(t.bucket);
  let head: HeadObjectCommandOutput | undefined;
  let deleteMarker = false;
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: t.bucket, Key: t.key, VersionId: t.versionId }));
  } catch (err) {
    if (!isDeleteMarkerError(err)) {
      const info = awsErrorInfo(err);
      if (info.httpStatus === 404) return missingObjectOutcome(t.versionId);
      throw err;
    }
    deleteMarker = true;
  }
  const versionId = t.versionId ?? head?.VersionId;
  let tags: Tags = [];
  if (!deleteMarker) {
    const tagging = await s3.send(new GetObjectTaggingCommand({ Bucket: t.bucket, Key: t.key, VersionId: versionId }));
    tags = tagging.TagSet ?? [];
  }
  const targets = selectRules(rules, t.key, tags, deleteMarker);
  if (targets.length === 0) {
    return {
      status: 'failed',
      httpStatus: 400,
      errorCode: 'InvalidRequest',
      resultMessage: deleteMarker
        ? `No enabled replication rule of bucket ${t.bucket} with DeleteMarkerReplication Enabled applies to this delete marker`
        : `No enabled replication rule of bucket ${t.bucket} applies to this object`,
    };
  }
  const cls = head?.StorageClass ?? 'STANDARD';
  if (head && ARCHIVE_CLASSES.has(cls) && !/ongoing-request="false"/.test(head.Restore ?? '')) {
    await deps.statuses.set(t.bucket, t.key, versionId, 'FAILED');
    return {
      status: 'failed',
      httpStatus: 403,
      errorCode: 'InvalidObjectState',
      resultMessage: `The object is in ${cls} and not restored; restore it before replicating`,
    };
  }
  const done: string[] = [];
  for (const target of targets) {
    try {
      if (deleteMarker) {
        await s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: t.key }));
        done.push(`delete marker to ${target.bucket} (rule ${target.rule.ID ?? '-'})`);
        continue;
      }
      const input: CopyObjectCommandInput = {
        Bucket: target.bucket,
        Key: t.key,
        CopySource: copySourceOf(t, versionId),
        MetadataDirective: 'COPY',
        TaggingDirective: 'COPY',
        StorageClass: (target.rule.Destination?.StorageClass ?? cls) as CopyObjectCommandInput['StorageClass'],
      };
      const out = await s3.send(new CopyObjectCommand(input));
      await deps.statuses.set(target.bucket, t.key, out.VersionId, 'REPLICA');
      done.push(`${target.bucket} (rule ${target.rule.ID ?? '-'}, ${input.StorageClass ?? 'STANDARD'})`);
    } catch (err) {
      deps.log.debug('replication to a destination failed', { key: t.key, destination: target.bucket, err });
      if (!deleteMarker) await deps.statuses.set(t.bucket, t.key, versionId, 'FAILED');
      const failed = deps.outcomeFromError(err);
      const first = failed.resultMessage ?? '';
      return {
        ...failed,
        resultMessage: `Replication to ${target.bucket} failed: ${first}${done.length ? `; replicated to ${done.join(', ')}` : ''}`,
      };
    }
  }
  if (!deleteMarker) await deps.statuses.set(t.bucket, t.key, versionId, 'COMPLETED');
  return { status: 'succeeded', httpStatus: 200, resultMessage: `Replicated to ${done.join(', ')}` };
}
