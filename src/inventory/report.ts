/**
 * Finds and reads an S3 Inventory report: its `manifest.json` (from S3 or a local path), or the newest report under
 * an inventory destination prefix. The manifest is validated, checked against `manifest.checksum` when there is one,
 * and its data files are resolved to where they can be read.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';

import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';

import { invalidInventory, inventoryNotFound, s3Failure } from './errors';
import { parseFileSchema, type InventoryColumns, type InventoryFileFormat } from './fields';
import { bucketFromArn, formatLocation, parseLocation, type Location } from './location';

const InventoryManifestSchema = z.object({
  sourceBucket: z.string().min(1),
  destinationBucket: z.string().optional(),
  version: z.string().optional(),
  creationTimestamp: z.union([z.string(), z.number()]).optional(),
  fileFormat: z.string(),
  fileSchema: z.string().min(1),
  files: z
    .array(
      z.object({
        key: z.string().min(1),
        size: z.number().nonnegative().optional(),
        MD5checksum: z.string().regex(/^[0-9a-fA-F]{32}$/, 'MD5checksum must be 32 hex digits'),
      }),
    )
    .min(1),
});
export type InventoryManifest = z.infer<typeof InventoryManifestSchema>;

/** One data file of a report and where to read it. */
export interface DataFileRef {
  /** Position in the manifest's `files`. */
  index: number;
  /** The manifest's `key`, for messages. */
  key: string;
  location: Location;
  /** Expected MD5, lower-case hex. */
  md5: string;
  /** Size in bytes, when the manifest says. */
  size?: number;
}

/** A report, ready to read. */
export interface InventoryReport {
  /** Where its manifest.json is: `s3://…` or a path. */
  manifestLocation: string;
  manifest: InventoryManifest;
  format: InventoryFileFormat;
  columns: InventoryColumns;
  /** MD5 of the manifest.json bytes: identifies this exact report. */
  manifestMd5: string;
  files: DataFileRef[];
}

/** `YYYY-MM-DDTHH-MMZ`: the folder of one delivery (the time its scan started). */
const REPORT_FOLDER = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z$/;

async function readS3Text(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await out.Body?.transformToString('utf-8')) ?? '';
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
    throw s3Failure(err, `reading s3://${bucket}/${key}`);
  }
}

/** Report folders under an S3 prefix, newest first. */
async function listS3ReportFolders(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const folders: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3
      .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }))
      .catch((err: unknown) => {
        throw s3Failure(err, `listing s3://${bucket}/${prefix}`);
      });
    for (const p of page.CommonPrefixes ?? []) {
      const name = p.Prefix?.slice(prefix.length).replace(/\/$/, '') ?? '';
      if (REPORT_FOLDER.test(name)) folders.push(name);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return folders.sort().reverse();
}

/**
 * Resolves `inventory` (see `BuildManifestsInput.inventory`) to the location of one `manifest.json`. A prefix ending
 * in `/` picks its newest report folder that has a manifest.json (S3 writes it last, so a delivery in progress is
 * skipped).
 */
async function resolveManifestLocation(s3: S3Client, inventory: string): Promise<Location> {
  const loc = parseLocation(inventory);
  const isPrefix = inventory.endsWith('/') || (loc.kind === 's3' && loc.key === '');
  if (loc.kind === 's3') {
    if (!isPrefix) return loc;
    for (const folder of await listS3ReportFolders(s3, loc.bucket, loc.key)) {
      const key = `${loc.key}${folder}/manifest.json`;
      if ((await readS3Text(s3, loc.bucket, key)) !== undefined) return { kind: 's3', bucket: loc.bucket, key };
    }
    throw inventoryNotFound(`no inventory report (YYYY-MM-DDTHH-MMZ/manifest.json) under ${inventory}`);
  }
  const stat = await fsp.stat(loc.path).catch(() => undefined);
  if (!stat) throw inventoryNotFound(`inventory ${loc.path} does not exist`);
  if (!stat.isDirectory()) return loc;
  const direct = path.join(loc.path, 'manifest.json');
  if (existsSync(direct)) return { kind: 'local', path: direct };
  const folders = (await fsp.readdir(loc.path))
    .filter((n) => REPORT_FOLDER.test(n))
    .sort()
    .reverse();
  for (const folder of folders) {
    const p = path.join(loc.path, folder, 'manifest.json');
    if (existsSync(p)) return { kind: 'local', path: p };
  }
  throw inventoryNotFound(`no inventory report (YYYY-MM-DDTHH-MMZ/manifest.json) under ${loc.path}`);
}

/**
 * Where a local report's data file is: the manifest's `files[].key` is a key in the destination bucket, so look for
 * it under each ancestor of the manifest's folder (a mirrored bucket), then in `../data/` (the S3 layout), then next
 * to the manifest.
 */
function localDataFile(manifestPath: string, key: string): string {
  const dir = path.dirname(manifestPath);
  const candidates: string[] = [];
  for (let d = dir; ; d = path.dirname(d)) {
    candidates.push(path.join(d, key));
    if (path.dirname(d) === d) break;
  }
  candidates.push(path.join(dir, '..', 'data', path.basename(key)), path.join(dir, path.basename(key)));
  return candidates.find((c) => existsSync(c)) ?? path.join(dir, '..', 'data', path.basename(key));
}

function parseFormat(raw: string): InventoryFileFormat {
  const f = raw.toUpperCase();
  if (f === 'CSV') return 'CSV';
  if (f === 'PARQUET') return 'Parquet';
  if (f === 'ORC') return 'ORC';
  throw invalidInventory(`unknown inventory fileFormat ${JSON.stringify(raw)} (expected CSV, Parquet or ORC)`);
}

/**
 * Finds and reads an inventory report.
 * @throws ApplicationFailure NotFound when there is no such report; InvalidInput when its manifest is malformed, does
 *   not match manifest.checksum, or is in the ORC format (not supported yet).
 */
export async function loadInventoryReport(s3: S3Client, inventory: string): Promise<InventoryReport> {
  let loc: Location;
  try {
    loc = await resolveManifestLocation(s3, inventory);
  } catch (err) {
    if (err instanceof Error && err.name === 'Error') throw invalidInventory(`inventory: ${err.message}`);
    throw err;
  }
  const where = formatLocation(loc);
  let text: string | undefined;
  let checksum: string | undefined;
  if (loc.kind === 's3') {
    text = await readS3Text(s3, loc.bucket, loc.key);
    if (text !== undefined && loc.key.endsWith('manifest.json')) {
      checksum = await readS3Text(s3, loc.bucket, loc.key.replace(/manifest\.json$/, 'manifest.checksum'));
    }
  } else {
    text = await fsp.readFile(loc.path, 'utf-8').catch(() => undefined);
    const sum = loc.path.replace(/manifest\.json$/, 'manifest.checksum');
    if (sum !== loc.path) checksum = await fsp.readFile(sum, 'utf-8').catch(() => undefined);
  }
  if (text === undefined) throw inventoryNotFound(`inventory manifest ${where} does not exist`);
  const manifestMd5 = createHash('md5').update(text, 'utf-8').digest('hex');
  if (checksum !== undefined && checksum.trim().toLowerCase() !== manifestMd5) {
    throw invalidInventory(`inventory manifest ${where} does not match its manifest.checksum (MD5 ${manifestMd5})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalidInventory(`inventory manifest ${where} is not JSON`);
  }
  const parsed = InventoryManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw invalidInventory(`inventory manifest ${where} is not a valid S3 Inventory manifest: ${issues}`);
  }
  const manifest = parsed.data;
  const format = parseFormat(manifest.fileFormat);
  if (format === 'ORC') {
    throw invalidInventory(
      `ORC inventories are not supported yet, choose CSV or Parquet in the inventory configuration (${where})`,
    );
  }
  let columns: InventoryColumns;
  try {
    columns = parseFileSchema(format, manifest.fileSchema);
  } catch (err) {
    throw invalidInventory(`inventory manifest ${where}: ${(err as Error).message}`);
  }
  const dataBucket =
    loc.kind === 's3' ? (manifest.destinationBucket ? bucketFromArn(manifest.destinationBucket) : loc.bucket) : '';
  const files: DataFileRef[] = manifest.files.map((f, index) => ({
    index,
    key: f.key,
    location:
      loc.kind === 's3'
        ? { kind: 's3', bucket: dataBucket, key: f.key }
        : { kind: 'local', path: localDataFile(loc.path, f.key) },
    md5: f.MD5checksum.toLowerCase(),
    size: f.size,
  }));
  return { manifestLocation: where, manifest, format, columns, manifestMd5, files };
}

/** `creationTimestamp` (epoch ms as a string) as a number; 0 when absent. */
export function creationTime(manifest: InventoryManifest): number {
  const n = Number(manifest.creationTimestamp ?? 0);
  return Number.isFinite(n) ? n : 0;
}
