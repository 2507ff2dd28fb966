/**
 * Streams the rows of a job's manifest stored in S3: a Batch Operations CSV manifest (no header,
 * `bucket,key[,versionId]`), or a manifest S3 generated (inventory-style manifest.json and CSV data files).
 */
import type { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';

import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { destroyOnAbort } from '../aws/s3-text';
import { CsvParser } from '../csv';

export interface ManifestRow {
  bucket: string;
  /** As written: URL-encoded. */
  rawKey: string;
  versionId?: string;
  /** 1-based line. */
  line: number;
}

export async function* readManifestRows(
  s3: S3Client,
  bucket: string,
  key: string,
  signal?: AbortSignal,
): AsyncGenerator<ManifestRow> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  const body = res.Body as Readable;
  destroyOnAbort(body, signal);
  body.setEncoding('utf8');
  const parser = new CsvParser();
  const rows = function* (records: ReturnType<CsvParser['push']>) {
    for (const r of records) {
      if (r.fields.length === 1 && r.fields[0] === '') continue;
      const [b, k, v] = r.fields;
      yield { bucket: b ?? '', rawKey: k ?? '', versionId: v, line: r.line };
    }
  };
  for await (const chunk of body) yield* rows(parser.push(chunk as string));
  yield* rows(parser.end());
}

/** A generated manifest's row: the CSV columns the analysis and the approval statistics need. */
export interface GeneratedManifestRow extends ManifestRow {
  /** Bytes, when the data files have a `Size` column. */
  size?: number;
  /** When the data files have a `StorageClass` column. */
  storageClass?: string;
}

/**
 * Streams the rows of a generated manifest (`S3InventoryReport_CSV_20211130`): its `manifest.json` names gzip (or
 * plain) CSV data files whose columns `fileSchema` lists (`Bucket, Key, …`). Data file keys are in
 * `destinationBucket` (an ARN) when manifest.json names one, else next to manifest.json.
 */
export async function* readGeneratedManifestRows(
  s3: S3Client,
  bucket: string,
  manifestKey: string,
  signal?: AbortSignal,
): AsyncGenerator<GeneratedManifestRow> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: manifestKey }), { abortSignal: signal });
  const manifest = JSON.parse((await res.Body?.transformToString('utf-8')) ?? '') as {
    destinationBucket?: string;
    fileSchema?: string;
    files?: Array<{ key: string }>;
  };
  const names = (manifest.fileSchema ?? '').split(',').map((s) => s.trim());
  const col = (name: string) => names.indexOf(name);
  const [b, k, v, size, cls] = [col('Bucket'), col('Key'), col('VersionId'), col('Size'), col('StorageClass')];
  if (b < 0 || k < 0)
    throw new Error(`s3://${bucket}/${manifestKey}: fileSchema "${manifest.fileSchema}" lacks Bucket or Key`);
  const dataBucket = manifest.destinationBucket?.replace(/^arn:[^:]+:s3:::/, '') || bucket;
  let line = 0;
  for (const file of manifest.files ?? []) {
    const obj = await s3.send(new GetObjectCommand({ Bucket: dataBucket, Key: file.key }), { abortSignal: signal });
    const bytes = Buffer.from(await obj.Body!.transformToByteArray());
    const text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
    const parser = new CsvParser();
    for (const r of [...parser.push(text), ...parser.end()]) {
      if (r.fields.length === 1 && r.fields[0] === '') continue;
      line += 1;
      const f = r.fields;
      const sizeText = size >= 0 ? f[size] : undefined;
      yield {
        bucket: f[b] ?? '',
        rawKey: f[k] ?? '',
        ...(v >= 0 && f[v] ? { versionId: f[v] } : {}),
        ...(sizeText ? { size: Number(sizeText) } : {}),
        ...(cls >= 0 && f[cls] ? { storageClass: f[cls] } : {}),
        line,
      };
    }
  }
}

/**
 * The rows of a job's manifest, whatever wrote it: a CSV manifest, or the manifest S3 generated for the job
 * (`format`). A generated manifest not known yet (the job never left Preparing) has no rows.
 */
export async function* readJobManifestRows(
  s3: S3Client,
  ref: { bucket: string; key: string; format?: string; generator?: unknown },
  signal?: AbortSignal,
): AsyncGenerator<ManifestRow> {
  if (ref.format === GENERATED_MANIFEST_FORMAT) yield* readGeneratedManifestRows(s3, ref.bucket, ref.key, signal);
  else if (ref.generator === undefined) yield* readManifestRows(s3, ref.bucket, ref.key, signal);
}

/** The format of the manifests S3 generates (CreateJob's ManifestGenerator). */
export const GENERATED_MANIFEST_FORMAT = 'S3InventoryReport_CSV_20211130';
