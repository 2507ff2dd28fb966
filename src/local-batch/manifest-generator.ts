/**
 * The task list of a `ManifestGenerator` job: list the source bucket (current objects, ListObjectsV2), keep the
 * objects the `Filter` selects, and with `EnableManifestOutput` write the list as an S3 Inventory style manifest.
 *
 * Filter fields the listing answers (key, size, last-modified time, storage class) cost nothing extra; the
 * replication status and the encryption come from one HeadObject per listed object that passed the other conditions,
 * and `EligibleForReplication` is checked against the bucket's replication configuration (rules' prefix and tag
 * filters; tags cost a GetObjectTagging). Generation is a pure function of the bucket, so a restart generates again
 * from the start and writes the same keys (the job's id names its folder).
 *
 * Generated manifest layout (the engine's choice; AWS's exact layout is not documented):
 * ```
 * s3://<ManifestOutputLocation.Bucket>/<ManifestPrefix>/job-<jobId>/manifest.json
 * s3://<ManifestOutputLocation.Bucket>/<ManifestPrefix>/job-<jobId>/data/<n>.csv.gz
 * ```
 * `manifest.json` has the members of an S3 Inventory manifest (`sourceBucket`, `destinationBucket`, `version`,
 * `creationTimestamp`, `fileFormat: "CSV"`, `fileSchema`, `files[{key,size,MD5checksum}]`); the data files are gzip
 * CSV with quoted fields and URL-encoded keys, columns `Bucket, Key, Size, LastModifiedDate, ETag, StorageClass`.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

import {
  GetBucketReplicationCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';

import { encodeManifestKey } from '../inventory/key-encoding';
import { awsErrorInfo, bucketFromArn, FailureCode, jobFailure, s3Url, statusText, unquoteETag } from './failures';
import type {
  GeneratedManifestDescriptor,
  ManifestGeneratorFilter,
  ManifestGeneratorSpec,
  ObjectEncryptionFilter,
  TaskRef,
} from './types';

/** Rows per generated data file: S3 Inventory splits its reports in files of this order of size. */
export const GENERATED_ROWS_PER_FILE = 1_000_000;
/** HeadObject / GetObjectTagging calls in flight while filtering (moto answers a few dozen at once comfortably). */
const HEAD_CONCURRENCY = 16;
/** The columns of a generated data file. */
export const GENERATED_FILE_SCHEMA = 'Bucket, Key, Size, LastModifiedDate, ETag, StorageClass';

/** One listed object with what the filter needs. */
interface Listed {
  key: string;
  size: number;
  lastModified: string;
  etag: string;
  storageClass: string;
}

/** A replication rule reduced to what decides eligibility. */
export interface RuleFilter {
  prefix: string;
  tags: Array<{ Key: string; Value: string }>;
}

export interface GeneratedManifest {
  tasks: TaskRef[];
  /** Present when the job asked for manifest output. */
  descriptor?: GeneratedManifestDescriptor;
}

/** Options of {@link generateManifest}. */
export interface GenerateOptions {
  jobId: string;
  /** Stops listing between pages and between HEAD batches. */
  signal?: AbortSignal;
  /** @default {@link GENERATED_ROWS_PER_FILE} */
  rowsPerFile?: number;
}

function bucketOf(arn: string, what: string): string {
  const b = bucketFromArn(arn);
  if (!b) throw jobFailure(FailureCode.BucketNotAccessible, `${what} ${arn} is not a bucket ARN`);
  return b;
}

function bucketFailure(err: unknown, bucket: string, doing: string) {
  const e = awsErrorInfo(err);
  const why = e.httpStatus === 404 || e.name === 'NoSuchBucket' ? 'does not exist' : statusText(e.httpStatus);
  return jobFailure(FailureCode.BucketNotAccessible, `${doing} ${s3Url(bucket)} failed: ${why} (${e.name})`);
}

/** What the listing alone decides. */
function passesListing(o: Listed, f: ManifestGeneratorFilter | undefined): boolean {
  if (!f) return true;
  const k = f.KeyNameConstraint;
  if (k?.MatchAnyPrefix && !k.MatchAnyPrefix.some((p) => o.key.startsWith(p))) return false;
  if (k?.MatchAnySuffix && !k.MatchAnySuffix.some((s) => o.key.endsWith(s))) return false;
  if (k?.MatchAnySubstring && !k.MatchAnySubstring.some((s) => o.key.includes(s))) return false;
  const t = Date.parse(o.lastModified);
  if (f.CreatedAfter !== undefined && !(t > Date.parse(f.CreatedAfter))) return false;
  if (f.CreatedBefore !== undefined && !(t < Date.parse(f.CreatedBefore))) return false;
  if (f.ObjectSizeGreaterThanBytes !== undefined && !(o.size > f.ObjectSizeGreaterThanBytes)) return false;
  if (f.ObjectSizeLessThanBytes !== undefined && !(o.size < f.ObjectSizeLessThanBytes)) return false;
  if (f.MatchAnyStorageClass && !f.MatchAnyStorageClass.includes(o.storageClass as never)) return false;
  return true;
}

/** The ObjectEncryptionFilter member an object's HEAD answer corresponds to. */
export function encryptionOf(head: {
  ServerSideEncryption?: ServerSideEncryption | string;
  SSECustomerAlgorithm?: string;
}): 'SSE-S3' | 'SSE-KMS' | 'DSSE-KMS' | 'SSE-C' | 'NOT-SSE' {
  if (head.SSECustomerAlgorithm) return 'SSE-C';
  switch (head.ServerSideEncryption) {
    case 'AES256':
      return 'SSE-S3';
    case 'aws:kms':
      return 'SSE-KMS';
    case 'aws:kms:dsse':
      return 'DSSE-KMS';
    default:
      return 'NOT-SSE';
  }
}

function matchesEncryption(
  filters: ObjectEncryptionFilter[],
  head: {
    ServerSideEncryption?: string;
    SSECustomerAlgorithm?: string;
    SSEKMSKeyId?: string;
    BucketKeyEnabled?: boolean;
  },
): boolean {
  const kind = encryptionOf(head);
  return filters.some((f) => {
    const [name, params] = Object.entries(f)[0] as [string, { KmsKeyArn?: string; BucketKeyEnabled?: boolean }];
    if (name !== kind) return false;
    if (params?.KmsKeyArn !== undefined && params.KmsKeyArn !== head.SSEKMSKeyId) return false;
    if (params?.BucketKeyEnabled !== undefined && params.BucketKeyEnabled !== (head.BucketKeyEnabled ?? false)) {
      return false;
    }
    return true;
  });
}

/**
 * Whether a replication rule applies to the object: some enabled rule's prefix starts its key and the object has all
 * of that rule's tags. Without `tags`, answers `needs-tags` when only the object's tags can decide.
 */
export function eligibleForReplication(
  rules: readonly RuleFilter[],
  key: string,
  tags?: ReadonlyArray<{ Key?: string; Value?: string }>,
): boolean | 'needs-tags' {
  const byPrefix = rules.filter((r) => key.startsWith(r.prefix));
  if (byPrefix.some((r) => r.tags.length === 0)) return true;
  if (byPrefix.length === 0) return false;
  if (tags === undefined) return 'needs-tags';
  const has = (t: { Key: string; Value: string }) => tags.some((x) => x.Key === t.Key && x.Value === t.Value);
  return byPrefix.some((r) => r.tags.every(has));
}

/** Enabled rules of the bucket's replication configuration; none when it has no configuration. */
async function replicationRules(s3: S3Client, bucket: string): Promise<RuleFilter[]> {
  try {
    const res = await s3.send(new GetBucketReplicationCommand({ Bucket: bucket }));
    const rules: RuleFilter[] = [];
    for (const r of res.ReplicationConfiguration?.Rules ?? []) {
      if (r.Status !== 'Enabled') continue;
      const f = r.Filter;
      const and = f?.And;
      rules.push({
        prefix: and?.Prefix ?? f?.Prefix ?? r.Prefix ?? '',
        tags: [
          ...(and?.Tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' })),
          ...(f?.Tag ? [{ Key: f.Tag.Key ?? '', Value: f.Tag.Value ?? '' }] : []),
        ],
      });
    }
    return rules;
  } catch (err) {
    const e = awsErrorInfo(err);
    if (e.name === 'ReplicationConfigurationNotFoundError' || e.httpStatus === 404) return [];
    throw bucketFailure(err, bucket, 'Reading the replication configuration of');
  }
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Keeps the objects whose HEAD (and tags) satisfy the conditions a listing cannot answer. */
async function filterByHead(
  s3: S3Client,
  bucket: string,
  objects: Listed[],
  f: ManifestGeneratorFilter,
  rules: RuleFilter[] | undefined,
): Promise<Listed[]> {
  const keep = await mapLimited(objects, HEAD_CONCURRENCY, async (o) => {
    if (rules) {
      let verdict = eligibleForReplication(rules, o.key);
      if (verdict === 'needs-tags') {
        const tags = (await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: o.key }))).TagSet ?? [];
        verdict = eligibleForReplication(rules, o.key, tags);
      }
      if (verdict !== true) return false;
    }
    if (!f.ObjectReplicationStatuses && !f.MatchAnyObjectEncryption) return true;
    let head: {
      ServerSideEncryption?: string;
      SSECustomerAlgorithm?: string;
      SSEKMSKeyId?: string;
      BucketKeyEnabled?: boolean;
      ReplicationStatus?: string;
    };
    try {
      head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: o.key }));
    } catch (err) {
      const e = awsErrorInfo(err);
      // Deleted since the listing: it is not in the bucket any more, so not in the manifest.
      if (e.httpStatus === 404) return false;
      // S3 refuses a HEAD without the customer key on an SSE-C object with 400.
      if (e.httpStatus === 400) head = { SSECustomerAlgorithm: 'AES256' };
      else throw err;
    }
    if (f.ObjectReplicationStatuses) {
      const status = head.ReplicationStatus === 'COMPLETE' ? 'COMPLETED' : (head.ReplicationStatus ?? 'NONE');
      if (!f.ObjectReplicationStatuses.includes(status as never)) return false;
    }
    if (f.MatchAnyObjectEncryption && !matchesEncryption(f.MatchAnyObjectEncryption, head)) return false;
    return true;
  });
  return objects.filter((_, i) => keep[i]);
}

/** Lists the source bucket and applies the filter: the tasks of the job, in key order. */
async function listSelected(
  s3: S3Client,
  bucket: string,
  f: ManifestGeneratorFilter | undefined,
  signal?: AbortSignal,
) {
  const prefixes = f?.KeyNameConstraint?.MatchAnyPrefix;
  // One prefix (the model allows exactly one) narrows the listing itself.
  const prefix = prefixes?.length === 1 ? prefixes[0] : undefined;
  const rules = f?.EligibleForReplication ? await replicationRules(s3, bucket) : undefined;
  const selected: Listed[] = [];
  let token: string | undefined;
  do {
    signal?.throwIfAborted();
    let page;
    try {
      page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    } catch (err) {
      throw bucketFailure(err, bucket, 'Listing the source bucket');
    }
    const listed: Listed[] = (page.Contents ?? []).map((o) => ({
      key: o.Key ?? '',
      size: o.Size ?? 0,
      lastModified: (o.LastModified ?? new Date(0)).toISOString(),
      etag: unquoteETag(o.ETag),
      storageClass: o.StorageClass ?? 'STANDARD',
    }));
    const cheap = listed.filter((o) => o.key !== '' && passesListing(o, f));
    const needsHead = f && (rules || f.ObjectReplicationStatuses || f.MatchAnyObjectEncryption);
    for (const o of needsHead ? await filterByHead(s3, bucket, cheap, f, rules) : cheap) selected.push(o);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return selected;
}

/** One data file line as S3 Inventory writes it: every field quoted, LF-terminated. */
function quotedRow(fields: readonly string[]): string {
  return fields.map((f) => `"${f.replace(/"/g, '""')}"`).join(',') + '\n';
}

function joinKey(prefix: string | undefined, rest: string): string {
  if (!prefix) return rest;
  return prefix.endsWith('/') ? prefix + rest : `${prefix}/${rest}`;
}

/** Writes the data files and manifest.json; returns the descriptor DescribeJob shows. */
async function writeGeneratedManifest(
  s3: S3Client,
  spec: ManifestGeneratorSpec,
  sourceBucket: string,
  objects: Listed[],
  opts: GenerateOptions,
): Promise<GeneratedManifestDescriptor> {
  const out = spec.ManifestOutputLocation!;
  const bucket = bucketOf(out.Bucket, 'ManifestOutputLocation.Bucket');
  const folder = joinKey(out.ManifestPrefix, `job-${opts.jobId}`);
  const enc = out.ManifestEncryption;
  const sse = enc?.['SSE-KMS']
    ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: enc['SSE-KMS'].KeyId }
    : enc?.['SSE-S3']
      ? { ServerSideEncryption: 'AES256' as const }
      : {};
  const put = async (key: string, body: Buffer | string, contentType: string) => {
    try {
      return await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, ...sse }),
      );
    } catch (err) {
      throw bucketFailure(err, bucket, `Writing the generated manifest ${key} to`);
    }
  };
  const perFile = opts.rowsPerFile ?? GENERATED_ROWS_PER_FILE;
  const files: Array<{ key: string; size: number; MD5checksum: string }> = [];
  for (let start = 0, n = 0; start < objects.length || (start === 0 && n === 0); start += perFile, n++) {
    const rows = objects
      .slice(start, start + perFile)
      .map((o) =>
        quotedRow([sourceBucket, encodeManifestKey(o.key), String(o.size), o.lastModified, o.etag, o.storageClass]),
      );
    const body = gzipSync(Buffer.from(rows.join(''), 'utf8'));
    const key = `${folder}/data/${n}.csv.gz`;
    await put(key, body, 'application/gzip');
    files.push({ key, size: body.length, MD5checksum: createHash('md5').update(body).digest('hex') });
    if (objects.length === 0) break;
  }
  const manifest = {
    sourceBucket,
    destinationBucket: `arn:aws:s3:::${bucket}`,
    version: '2021-11-30',
    creationTimestamp: String(Date.now()),
    fileFormat: 'CSV',
    fileSchema: GENERATED_FILE_SCHEMA,
    files,
  };
  const manifestKey = `${folder}/manifest.json`;
  const res = await put(manifestKey, JSON.stringify(manifest), 'application/json');
  return {
    Format: 'S3InventoryReport_CSV_20211130',
    Location: { ObjectArn: `arn:aws:s3:::${bucket}/${manifestKey}`, ETag: unquoteETag(res.ETag) },
  };
}

/**
 * Generates the task list of a ManifestGenerator job (and its manifest output, when enabled).
 *
 * @throws JobFailure when the source bucket cannot be listed or the output cannot be written.
 */
export async function generateManifest(
  s3: S3Client,
  spec: ManifestGeneratorSpec,
  opts: GenerateOptions,
): Promise<GeneratedManifest> {
  const sourceBucket = bucketOf(spec.SourceBucket, 'SourceBucket');
  const objects = await listSelected(s3, sourceBucket, spec.Filter, opts.signal);
  const tasks: TaskRef[] = objects.map((o, index) => ({
    index,
    bucket: sourceBucket,
    key: o.key,
    rawKey: encodeManifestKey(o.key),
  }));
  if (!spec.EnableManifestOutput) return { tasks };
  opts.signal?.throwIfAborted();
  return { tasks, descriptor: await writeGeneratedManifest(s3, spec, sourceBucket, objects, opts) };
}
