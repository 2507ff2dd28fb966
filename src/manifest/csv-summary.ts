/**
 * Reads a Batch Operations CSV manifest in S3 once, end to end, and tells what it lists: how many objects, in which
 * buckets, whether with version IDs, and a few keys. For previews (`s3-campaigns estimate`) and for scoping the
 * IAM policy to the manifest's buckets (`s3-campaigns iam-policy`); the campaign's own manifest activity validates
 * and re-shards the file separately, with the same line checks (`csv-manifest.ts`).
 */
import type { S3Client } from '@aws-sdk/client-s3';

import { readCsvManifest } from './csv-manifest';

export { CsvManifestError } from './csv-manifest';

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
  const buckets = new Set<string>();
  const sampleKeys: string[] = [];
  const read = await readCsvManifest(
    s3,
    uri,
    (row) => {
      buckets.add(row.bucket);
      if (sampleKeys.length < sampleSize) sampleKeys.push(row.decodedKey);
    },
    { signal: opts.signal },
  );
  return { rows: read.rows, buckets: [...buckets].sort(), versioned: read.versioned, sampleKeys };
}
