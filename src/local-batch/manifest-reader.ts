/**
 * Reads a job's manifest into tasks: a Batch Operations CSV manifest, or an S3 Inventory report (its manifest.json
 * and every gzip CSV data file it lists). Anything that makes the manifest unusable is a job-level failure
 * (`JobFailure`) whose reason names the object and, for bad rows, the line.
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';

import { CsvParser, CsvSyntaxError, type CsvRecord } from '../csv';
import { decodeManifestKey, encodeManifestKey } from '../inventory/key-encoding';
import {
  awsErrorInfo,
  bucketFromArn,
  FailureCode,
  jobFailure,
  parseObjectArn,
  s3Url,
  statusText,
  unquoteETag,
} from './failures';
import { JobFailure, type JobManifest, type TaskRef } from './types';

type CsvField = NonNullable<JobManifest['Spec']['Fields']>[number];

/** Fields assumed when a CSV manifest spec names none (the service requires them; we stay lenient). */
const DEFAULT_FIELDS: readonly CsvField[] = ['Bucket', 'Key'];

// One definition of the manifest key encoding for the whole project (see inventory/key-encoding).
export { decodeManifestKey, encodeManifestKey };

/**
 * Turns CSV manifest records into tasks. Incremental so that a manifest of millions of lines is parsed as it
 * streams in; `finish` checks what only the end can tell (trailing blank lines are fine, blank lines in the middle are
 * not; an empty manifest is invalid).
 */
export class CsvManifestRows {
  readonly tasks: TaskRef[] = [];
  private readonly bucketCol: number;
  private readonly keyCol: number;
  private readonly versionCol: number;
  private pendingBlankLine: number | undefined;

  constructor(
    private readonly fields: readonly CsvField[],
    private readonly where: string,
  ) {
    const count = (f: CsvField) => fields.filter((x) => x === f).length;
    if (count('Bucket') !== 1 || count('Key') !== 1 || count('VersionId') > 1) {
      throw jobFailure(
        FailureCode.InvalidManifest,
        `Manifest ${where}: Fields must name Bucket and Key once each (and VersionId at most once), got ${fields.join(', ')}`,
      );
    }
    this.bucketCol = fields.indexOf('Bucket');
    this.keyCol = fields.indexOf('Key');
    this.versionCol = fields.indexOf('VersionId');
  }

  add(records: readonly CsvRecord[]): void {
    for (const r of records) this.addOne(r);
  }

  private addOne(r: CsvRecord): void {
    if (r.fields.length === 1 && r.fields[0] === '') {
      this.pendingBlankLine ??= r.line;
      return;
    }
    if (this.pendingBlankLine !== undefined) {
      throw jobFailure(FailureCode.InvalidManifest, `Manifest ${this.where} line ${this.pendingBlankLine} is empty`);
    }
    const n = this.fields.length;
    if (r.fields.length !== n) {
      const hint = r.fields.length > n ? ' (keys must be URL-encoded: a comma is %2C)' : '';
      throw jobFailure(
        FailureCode.InvalidManifest,
        `Manifest ${this.where} line ${r.line} has ${r.fields.length} fields, expected ${n} (${this.fields.join(',')})${hint}`,
      );
    }
    const bucket = r.fields[this.bucketCol]!;
    const rawKey = r.fields[this.keyCol]!;
    if (bucket === '')
      throw jobFailure(FailureCode.InvalidManifest, `Manifest ${this.where} line ${r.line}: empty bucket`);
    if (rawKey === '')
      throw jobFailure(FailureCode.InvalidManifest, `Manifest ${this.where} line ${r.line}: empty key`);
    const task: TaskRef = { index: r.line - 1, bucket, key: decodeKeyAt(rawKey, this.where, r.line), rawKey };
    // An empty version id is kept as '' so that the task runner fails that one task, as the service does.
    if (this.versionCol >= 0) task.versionId = r.fields[this.versionCol]!;
    this.tasks.push(task);
  }

  finish(): TaskRef[] {
    if (this.tasks.length === 0) {
      throw jobFailure(FailureCode.InvalidManifest, `Manifest ${this.where} lists no objects`);
    }
    return this.tasks;
  }
}

function decodeKeyAt(rawKey: string, where: string, line: number): string {
  try {
    return decodeManifestKey(rawKey);
  } catch {
    throw jobFailure(
      FailureCode.InvalidManifest,
      `Manifest ${where} line ${line}: key ${JSON.stringify(rawKey)} is not valid URL encoding (write % as %25)`,
    );
  }
}

/**
 * Parses a whole `S3BatchOperations_CSV_20180820` manifest text (pure; `readJobManifest` streams instead).
 * @param where names the manifest in failure reasons, e.g. `s3://bucket/manifest.csv`.
 * @throws JobFailure for an invalid row, naming its line.
 */
export function parseCsvManifest(
  text: string,
  fields: readonly CsvField[] = DEFAULT_FIELDS,
  where = 'manifest',
): TaskRef[] {
  const rows = new CsvManifestRows(fields, where);
  const parser = new CsvParser();
  try {
    rows.add(parser.push(text.replace(/^\uFEFF/, '')));
    rows.add(parser.end());
  } catch (err) {
    throw csvFailure(err, where);
  }
  return rows.finish();
}

function csvFailure(err: unknown, where: string): unknown {
  if (err instanceof CsvSyntaxError) {
    return jobFailure(FailureCode.InvalidManifest, `Manifest ${where} is not valid CSV at ${err.message}`);
  }
  return err;
}

/** The parts of an S3 Inventory `manifest.json` the engine uses; other members are ignored. */
export const INVENTORY_MANIFEST_SCHEMA = z.object({
  sourceBucket: z.string().optional(),
  destinationBucket: z.string().optional(),
  version: z.string().optional(),
  creationTimestamp: z.string().optional(),
  fileFormat: z.string(),
  fileSchema: z.string(),
  files: z.array(z.object({ key: z.string().min(1), size: z.number().optional(), MD5checksum: z.string().optional() })),
});
export type InventoryManifest = z.infer<typeof INVENTORY_MANIFEST_SCHEMA>;

/** Column positions of an inventory CSV, read from `fileSchema` ("Bucket, Key, VersionId, …"). */
export interface InventoryColumns {
  bucket: number;
  key: number;
  /** Absent for a current-versions-only inventory. */
  versionId?: number;
  count: number;
}

/** @throws JobFailure when `fileSchema` lacks Bucket or Key. */
export function inventoryColumns(fileSchema: string, where: string): InventoryColumns {
  const names = fileSchema.split(',').map((s) => s.trim());
  const bucket = names.indexOf('Bucket');
  const key = names.indexOf('Key');
  if (bucket < 0 || key < 0) {
    throw jobFailure(FailureCode.InvalidManifest, `Inventory ${where}: fileSchema "${fileSchema}" lacks Bucket or Key`);
  }
  const versionId = names.indexOf('VersionId');
  return { bucket, key, versionId: versionId >= 0 ? versionId : undefined, count: names.length };
}

/** Parses and checks an inventory manifest.json. @throws JobFailure */
export function parseInventoryManifest(text: string, where: string): InventoryManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw jobFailure(
      FailureCode.InvalidManifest,
      `Inventory manifest ${where} is not valid JSON: ${(err as Error).message}`,
    );
  }
  const parsed = INVENTORY_MANIFEST_SCHEMA.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue ? issue.path.join('.') || '(root)' : '(root)';
    throw jobFailure(
      FailureCode.InvalidManifest,
      `Inventory manifest ${where} is invalid: ${field}: ${issue?.message ?? 'invalid'}`,
    );
  }
  if (parsed.data.fileFormat.toUpperCase() !== 'CSV') {
    throw jobFailure(
      FailureCode.UnsupportedManifestFormat,
      `Inventory ${where} has fileFormat ${parsed.data.fileFormat}; only CSV inventories can be job manifests`,
    );
  }
  return parsed.data;
}

/** Maps the records of one inventory data file to tasks, numbering them from `startIndex`. */
export function inventoryRowsToTasks(
  records: readonly CsvRecord[],
  cols: InventoryColumns,
  startIndex: number,
  where: string,
): TaskRef[] {
  const out: TaskRef[] = [];
  let index = startIndex;
  for (const r of records) {
    if (r.fields.length === 1 && r.fields[0] === '') continue;
    if (r.fields.length < cols.count) {
      throw jobFailure(
        FailureCode.InvalidManifest,
        `Inventory file ${where} line ${r.line} has ${r.fields.length} fields; fileSchema lists ${cols.count}`,
      );
    }
    const bucket = r.fields[cols.bucket]!;
    const rawKey = r.fields[cols.key]!;
    if (bucket === '' || rawKey === '') {
      throw jobFailure(FailureCode.InvalidManifest, `Inventory file ${where} line ${r.line}: empty bucket or key`);
    }
    const task: TaskRef = { index: index++, bucket, key: decodeKeyAt(rawKey, where, r.line), rawKey };
    // "All versions" inventories leave the version empty for null-version objects; the service fails those tasks,
    // so the empty string is kept for the runner to fail.
    if (cols.versionId !== undefined) task.versionId = r.fields[cols.versionId]!;
    out.push(task);
  }
  return out;
}

/**
 * Reads the job's manifest and returns its tasks in manifest order.
 *
 * - `S3BatchOperations_CSV_20180820`: columns per `Spec.Fields`, no header, URL-encoded keys (`+` is a space),
 *   version ids in every row or none (`null` for null versions; an empty one becomes a task that fails).
 * - `S3InventoryReport_CSV_20161130`: `ObjectArn` names an inventory manifest.json; every data file it lists is read
 *   (gzip or plain), its MD5 checked, its columns found by `fileSchema`.
 *
 * @throws JobFailure when the manifest is missing, forbidden, has another ETag, is not valid, or lists nothing.
 */
export async function readJobManifest(s3: S3Client, manifest: JobManifest): Promise<TaskRef[]> {
  const loc = parseObjectArn(manifest.Location.ObjectArn);
  if (!loc) {
    throw jobFailure(
      FailureCode.InvalidManifest,
      `Manifest ObjectArn ${manifest.Location.ObjectArn} is not an S3 object ARN (arn:aws:s3:::bucket/key)`,
    );
  }
  const where = s3Url(loc.bucket, loc.key);
  const obj = await getManifestObject(s3, loc.bucket, loc.key, manifest.Location.ObjectVersionId, 'manifest');
  const actual = unquoteETag(obj.ETag);
  const expected = unquoteETag(manifest.Location.ETag);
  if (actual !== expected) {
    destroyBody(obj);
    throw jobFailure(
      FailureCode.ManifestETagMismatch,
      `The ETag of manifest ${where} is ${actual}, not ${expected} as the job expects: the object changed`,
    );
  }
  switch (manifest.Spec.Format) {
    case 'S3BatchOperations_CSV_20180820':
      return readCsvManifestBody(obj, manifest.Spec.Fields ?? DEFAULT_FIELDS, where);
    case 'S3InventoryReport_CSV_20161130':
      return readInventory(s3, obj, loc.bucket, where);
    default: {
      destroyBody(obj);
      const format: string = manifest.Spec.Format;
      throw jobFailure(FailureCode.UnsupportedManifestFormat, `Manifest format ${format} is not supported (${where})`);
    }
  }
}

async function getManifestObject(
  s3: S3Client,
  bucket: string,
  key: string,
  versionId: string | undefined,
  what: string,
): Promise<GetObjectCommandOutput> {
  const where = s3Url(bucket, key) + (versionId ? ` (version ${versionId})` : '');
  try {
    return await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  } catch (err) {
    const e = awsErrorInfo(err);
    const detail = `${statusText(e.httpStatus)} (${e.name}) for ${where}`;
    if (e.httpStatus === 404 || e.name === 'NoSuchKey' || e.name === 'NoSuchBucket' || e.name === 'NoSuchVersion') {
      throw jobFailure(FailureCode.ManifestNotFound, `Reading the ${what} failed: ${detail}`);
    }
    if (e.httpStatus === 403 && e.name !== 'InvalidObjectState') {
      throw jobFailure(FailureCode.ManifestAccessDenied, `Reading the ${what} is forbidden: ${detail}`);
    }
    throw jobFailure(FailureCode.ManifestReadFailed, `Reading the ${what} failed: ${detail}: ${e.message}`);
  }
}

function destroyBody(obj: GetObjectCommandOutput): void {
  const body = obj.Body as Readable | undefined;
  body?.destroy?.();
}

function bodyStream(obj: GetObjectCommandOutput): Readable {
  const body = obj.Body;
  if (body instanceof Readable) return body;
  if (body && typeof (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    return Readable.from(body as AsyncIterable<Uint8Array>);
  }
  return Readable.from([]);
}

async function readCsvManifestBody(
  obj: GetObjectCommandOutput,
  fields: readonly CsvField[],
  where: string,
): Promise<TaskRef[]> {
  const rows = new CsvManifestRows(fields, where);
  const parser = new CsvParser();
  const decoder = new TextDecoder('utf-8');
  try {
    for await (const chunk of bodyStream(obj)) {
      rows.add(parser.push(decoder.decode(chunk as Uint8Array, { stream: true })));
    }
    rows.add(parser.push(decoder.decode()));
    rows.add(parser.end());
  } catch (err) {
    destroyBody(obj);
    throw csvFailure(readFailure(err, where), where);
  }
  return rows.finish();
}

/** Network errors while streaming a body become job failures; JobFailure and CSV errors pass through. */
function readFailure(err: unknown, where: string): unknown {
  if (err instanceof CsvSyntaxError || err instanceof JobFailure) return err;
  return jobFailure(
    FailureCode.ManifestReadFailed,
    `Reading ${where} failed: ${(err as Error)?.message ?? String(err)}`,
  );
}

async function readBodyText(obj: GetObjectCommandOutput, where: string): Promise<string> {
  try {
    const parts: Buffer[] = [];
    for await (const chunk of bodyStream(obj)) parts.push(Buffer.from(chunk as Uint8Array));
    return Buffer.concat(parts).toString('utf8');
  } catch (err) {
    throw readFailure(err, where);
  }
}

async function readInventory(
  s3: S3Client,
  manifestObj: GetObjectCommandOutput,
  manifestBucket: string,
  where: string,
): Promise<TaskRef[]> {
  const inv = parseInventoryManifest(await readBodyText(manifestObj, where), where);
  const cols = inventoryColumns(inv.fileSchema, where);
  // Data file keys are relative to the inventory's destination bucket (an ARN in manifest.json).
  const dataBucket = (inv.destinationBucket && bucketFromArn(inv.destinationBucket)) || manifestBucket;
  if (inv.files.length === 0) {
    throw jobFailure(FailureCode.InvalidManifest, `Inventory manifest ${where} lists no data files`);
  }
  const tasks: TaskRef[] = [];
  for (const file of inv.files) {
    const fileWhere = s3Url(dataBucket, file.key);
    const obj = await getManifestObject(s3, dataBucket, file.key, undefined, `inventory data file`);
    const hash = createHash('md5');
    const parser = new CsvParser();
    try {
      for await (const text of inventoryText(bodyStream(obj), hash)) {
        for (const t of inventoryRowsToTasks(parser.push(text), cols, tasks.length, fileWhere)) tasks.push(t);
      }
      for (const t of inventoryRowsToTasks(parser.end(), cols, tasks.length, fileWhere)) tasks.push(t);
    } catch (err) {
      destroyBody(obj);
      const e = readFailure(err, fileWhere);
      if (e instanceof CsvSyntaxError) {
        throw jobFailure(FailureCode.InvalidManifest, `Inventory file ${fileWhere} is not valid CSV at ${e.message}`);
      }
      throw e;
    }
    const md5 = hash.digest('hex');
    if (file.MD5checksum && file.MD5checksum.toLowerCase() !== md5) {
      throw jobFailure(
        FailureCode.ManifestChecksumMismatch,
        `Inventory file ${fileWhere} has MD5 ${md5}, manifest.json says ${file.MD5checksum}`,
      );
    }
  }
  if (tasks.length === 0) throw jobFailure(FailureCode.InvalidManifest, `Inventory ${where} lists no objects`);
  return tasks;
}

/** The decoded text of an inventory data file, gunzipped when it starts with the gzip magic bytes. */
async function* inventoryText(body: Readable, hash: Hash): AsyncGenerator<string> {
  const it = body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  const first = await it.next();
  if (first.done) return;
  async function* raw(): AsyncGenerator<Uint8Array> {
    hash.update(first.value);
    yield first.value;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      hash.update(n.value);
      yield n.value;
    }
  }
  const head = Buffer.from(first.value);
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  let source: AsyncIterable<Uint8Array> = raw();
  let piped: Promise<void> | undefined;
  if (gzip) {
    const gunzip = createGunzip();
    piped = pipeline(Readable.from(raw()), gunzip);
    // The consumer below sees the same error through the gunzip stream; this only avoids an unhandled rejection.
    piped.catch(() => undefined);
    source = gunzip;
  }
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of source) yield decoder.decode(chunk, { stream: true });
  const rest = decoder.decode();
  if (rest) yield rest;
  if (piped) await piped;
}
