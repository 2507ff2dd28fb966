/** Streams the rows of a Batch Operations CSV manifest stored in S3 (no header, `bucket,key[,versionId]`). */
import type { Readable } from 'node:stream';

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
