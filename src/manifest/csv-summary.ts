/**
 * Reads a Batch Operations CSV manifest in S3 once, end to end, and tells what it lists: how many objects, in which
 * buckets, whether with version IDs, and a few keys. For previews (`s3-campaigns estimate`) and for scoping the
 * IAM policy to the manifest's buckets (`s3-campaigns iam-policy`); the campaign's own manifest activity validates
 * and re-shards the file separately.
 */
import type { Readable } from 'node:stream';

import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { CsvParser, type CsvRecord } from '../csv';
import { decodeManifestKey } from '../inventory';
import { parseS3Uri } from '../shared/campaign-spec';

/** What a CSV manifest lists. */
export interface CsvManifestSummary {
  /** Object rows (blank lines are not counted). */
  rows: number;
  /** The distinct buckets of the rows, sorted. */
  buckets: string[];
  /** Whether the rows carry a third VersionId column. */
  versioned: boolean;
  /** The first `sampleSize` keys, decoded. */
  sampleKeys: string[];
}

/** A manifest line that no Batch Operations job would accept; the message names the manifest and the line. */
export class CsvManifestError extends Error {
  override name = 'CsvManifestError';
}

/**
 * Streams `s3://bucket/key.csv` (`bucket,key[,versionId]`, URL-encoded keys, no header).
 * @throws CsvManifestError for a malformed line; the S3 client's error when the object cannot be read.
 */
export async function summarizeCsvManifest(
  s3: S3Client,
  uri: string,
  opts: { sampleSize?: number; signal?: AbortSignal } = {},
): Promise<CsvManifestSummary> {
  const sampleSize = opts.sampleSize ?? 10;
  const { bucket, key } = parseS3Uri(uri);
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: opts.signal });
  const body = res.Body as Readable;
  body.setEncoding('utf8');
  const parser = new CsvParser();
  const buckets = new Set<string>();
  const sampleKeys: string[] = [];
  let rows = 0;
  let columns = 0;
  const bad = (line: number, why: string) => new CsvManifestError(`CSV manifest ${uri} line ${line}: ${why}`);
  const take = (records: CsvRecord[]) => {
    for (const r of records) {
      if (r.fields.length === 1 && r.fields[0] === '') continue;
      if (r.fields.length !== 2 && r.fields.length !== 3) {
        throw bad(r.line, `${r.fields.length} fields; expected bucket,key or bucket,key,versionId`);
      }
      columns ||= r.fields.length;
      if (r.fields.length !== columns) throw bad(r.line, 'version ids must be in all rows or in none');
      const [b, k] = r.fields as [string, string];
      if (!b || !k) throw bad(r.line, 'empty bucket or key');
      buckets.add(b);
      if (sampleKeys.length < sampleSize) {
        try {
          sampleKeys.push(decodeManifestKey(k));
        } catch {
          throw bad(r.line, `key ${JSON.stringify(k)} is not valid URL encoding`);
        }
      }
      rows += 1;
    }
  };
  try {
    for await (const chunk of body) take(parser.push(chunk as string));
    take(parser.end());
  } catch (err) {
    if ((err as Error).name === 'CsvSyntaxError')
      throw new CsvManifestError(`CSV manifest ${uri}: ${(err as Error).message}`);
    throw err;
  }
  return { rows, buckets: [...buckets].sort(), versioned: columns === 3, sampleKeys };
}
