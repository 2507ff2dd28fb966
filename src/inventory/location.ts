/** `s3://bucket/key` URLs and local paths: where an inventory is read from and where manifests go. */
import path from 'node:path';

/** An S3 object or prefix. */
export interface S3Location {
  kind: 's3';
  bucket: string;
  /** Key or prefix, without a leading `/`; may be empty. */
  key: string;
}

/** A local file or directory (absolute). */
export interface LocalLocation {
  kind: 'local';
  path: string;
}

export type Location = S3Location | LocalLocation;

/**
 * Parses `s3://bucket/key` (an S3 location) or anything else (a local path, resolved against the working directory).
 * @throws Error for an `s3://` URL without a bucket.
 */
export function parseLocation(value: string): Location {
  if (value.startsWith('s3://')) {
    const rest = value.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const key = slash === -1 ? '' : rest.slice(slash + 1);
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new Error(`${JSON.stringify(value)} does not name a valid bucket (s3://bucket/key)`);
    }
    return { kind: 's3', bucket, key };
  }
  return { kind: 'local', path: path.resolve(value) };
}

/** `s3://bucket/key` or the local path, for messages and summaries. */
export function formatLocation(loc: Location): string {
  return loc.kind === 's3' ? `s3://${loc.bucket}/${loc.key}` : loc.path;
}

/** The bucket name of `arn:aws:s3:::bucket` (or a plain bucket name). */
export function bucketFromArn(arnOrName: string): string {
  const m = /^arn:[^:]+:s3:::([^/]+)$/.exec(arnOrName);
  return m?.[1] ?? arnOrName;
}
