/**
 * Writes an S3 Inventory report in the real delivery layout (CSV, gzip): `<prefix>/<source>/<config>/data/<n>.csv.gz`
 * and `<prefix>/<source>/<config>/<YYYY-MM-DDTHH-MMZ>/manifest.json` with `fileSchema`, MD5 checksums and an epoch-ms
 * `creationTimestamp`, plus `manifest.checksum`. For the demo and for tests on a local S3 that has no inventory job.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { encodeManifestKey } from '../inventory';

export interface InventoryRow {
  key: string;
  size: number;
  lastModified: Date;
  storageClass: string;
  etag?: string;
}

export interface WriteInventoryOptions {
  s3: S3Client;
  /** The bucket the report describes. */
  sourceBucket: string;
  /** Where reports are delivered. */
  destinationBucket: string;
  /** Destination prefix; reports go to `<prefix>/<sourceBucket>/<configId>/`. */
  prefix: string;
  /** @default 'daily' */
  configId?: string;
  /** The scan time; names the report folder. @default now */
  createdAt?: Date;
  rows: InventoryRow[];
  /** Rows per data file. @default 1000 */
  rowsPerFile?: number;
}

const SCHEMA = 'Bucket, Key, Size, LastModifiedDate, ETag, StorageClass';

function csvQuote(v: string): string {
  return `"${v.replace(/"/g, '""')}"`;
}

/** Returns the `s3://…/manifest.json` URI of the report written. */
export async function writeInventoryReport(opts: WriteInventoryOptions): Promise<string> {
  const configId = opts.configId ?? 'daily';
  const createdAt = opts.createdAt ?? new Date();
  const base = `${opts.prefix}/${opts.sourceBucket}/${configId}`;
  const stamp = createdAt.toISOString().slice(0, 16).replace(':', '-') + 'Z';
  const perFile = opts.rowsPerFile ?? 1000;
  const files: Array<{ key: string; size: number; MD5checksum: string }> = [];
  for (let i = 0; i < opts.rows.length || (i === 0 && opts.rows.length === 0); i += perFile) {
    const lines = opts.rows
      .slice(i, i + perFile)
      .map((r) =>
        [
          opts.sourceBucket,
          encodeManifestKey(r.key),
          String(r.size),
          r.lastModified.toISOString(),
          r.etag ?? createHash('md5').update(r.key).digest('hex'),
          r.storageClass,
        ]
          .map(csvQuote)
          .join(','),
      );
    const body = gzipSync(lines.map((l) => l + '\n').join(''));
    const key = `${base}/data/${stamp}-${files.length}.csv.gz`;
    await opts.s3.send(new PutObjectCommand({ Bucket: opts.destinationBucket, Key: key, Body: body }));
    files.push({ key, size: body.length, MD5checksum: createHash('md5').update(body).digest('hex') });
    if (opts.rows.length === 0) break;
  }
  const manifest = JSON.stringify({
    sourceBucket: opts.sourceBucket,
    destinationBucket: `arn:aws:s3:::${opts.destinationBucket}`,
    version: '2016-11-30',
    creationTimestamp: String(createdAt.getTime()),
    fileFormat: 'CSV',
    fileSchema: SCHEMA,
    files,
  });
  const manifestKey = `${base}/${stamp}/manifest.json`;
  await opts.s3.send(new PutObjectCommand({ Bucket: opts.destinationBucket, Key: manifestKey, Body: manifest }));
  await opts.s3.send(
    new PutObjectCommand({
      Bucket: opts.destinationBucket,
      Key: `${base}/${stamp}/manifest.checksum`,
      Body: createHash('md5').update(manifest).digest('hex'),
    }),
  );
  return `s3://${opts.destinationBucket}/${manifestKey}`;
}
