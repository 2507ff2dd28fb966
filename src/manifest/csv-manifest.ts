/**
 * Reading a user's Batch Operations CSV manifest (`bucket,key[,versionId]`, URL-encoded keys, no header) from S3 and
 * checking every line the way a job would need it. One validator for every reader (the campaign's manifest activity,
 * `estimate`, `iam-policy`), so a line refused by one is refused by all, with the same message: the manifest, the
 * line and what is wrong.
 */
import type { Readable } from 'node:stream';

import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { CsvParser, CsvSyntaxError, type CsvRecord } from '../csv';
import { decodeManifestKey } from '../inventory/key-encoding';
import { parseS3Uri } from '../shared/campaign-spec';

/** A manifest line that no Batch Operations job would accept; the message names the manifest and the line. */
export class CsvManifestError extends Error {
  override name = 'CsvManifestError';
}

/** One object line of a CSV manifest. */
export interface CsvManifestRow {
  bucket: string;
  /** As written: URL-encoded. */
  key: string;
  /** The key decoded (`+` is a space). */
  decodedKey: string;
  versionId?: string;
  /** 1-based physical line. */
  line: number;
  /** The line as it goes into a manifest the campaign writes (fields joined by commas, no line break). */
  text: string;
}

/** S3 object keys are at most this many bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;
/**
 * Bucket names as S3 has allowed them (today's rules are stricter; legacy us-east-1 buckets may have upper case and
 * underscores, up to 255 characters).
 */
const BUCKET_NAME = /^[A-Za-z0-9._-]{3,255}$/;
/** C0 and C1 control characters and DEL: never raw in a URL-encoded key. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** What a `utf8` stream decodes bytes that are not UTF-8 into: the key read would not be the key written. */
const REPLACEMENT = '\ufffd';
/** A header row, which Batch Operations manifests do not have. */
const HEADER = /^bucket$/i;

const codePoint = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Checks the records of one manifest in order. */
export class CsvManifestValidator {
  /** 2 or 3, fixed by the first object line; 0 before it. */
  columns = 0;

  /** @param uri The manifest, for messages. */
  constructor(private readonly uri: string) {}

  private bad(line: number, why: string): CsvManifestError {
    return new CsvManifestError(`CSV manifest ${this.uri} line ${line}: ${why}`);
  }

  /** The error for a line the CSV parser could not read. */
  syntaxError(err: CsvSyntaxError): CsvManifestError {
    return this.bad(err.line, err.detail);
  }

  /** A problem with a field's characters (`what` names the field), or undefined. */
  private fieldProblem(what: string, value: string): string | undefined {
    const control = CONTROL.exec(value);
    if (control) {
      const c = control[0];
      return `${what} ${JSON.stringify(value)} contains the raw control character ${codePoint(c)}; keys must be URL-encoded (${encodeURIComponent(c)})`;
    }
    if (value.includes(REPLACEMENT)) {
      return `${what} ${JSON.stringify(value)} contains bytes that are not UTF-8 (or U+FFFD); keys must be URL-encoded`;
    }
    if (value.includes(',')) return `${what} ${JSON.stringify(value)} contains a raw comma; URL-encode it as %2C`;
    return undefined;
  }

  /**
   * Checks one record.
   * @returns the object line, or undefined for a blank line (skipped, as jobs skip them).
   * @throws CsvManifestError naming the line.
   */
  check(r: CsvRecord): CsvManifestRow | undefined {
    const { fields, line } = r;
    if (fields.length === 1 && fields[0] === '') return undefined;
    if (fields.length !== 2 && fields.length !== 3) {
      throw this.bad(
        line,
        `${fields.length} fields; expected bucket,key or bucket,key,versionId (URL-encode commas in keys as %2C)`,
      );
    }
    if (this.columns === 0 && HEADER.test(fields[0]!) && /^key$/i.test(fields[1]!)) {
      throw this.bad(line, 'looks like a header row; Batch Operations manifests have none: remove it');
    }
    this.columns ||= fields.length;
    if (fields.length !== this.columns) throw this.bad(line, 'version ids must be in all rows or in none');
    const [bucket, key, versionId] = fields as [string, string, string | undefined];
    if (!bucket || !key) throw this.bad(line, 'empty bucket or key');
    const problem = this.fieldProblem('key', key) ?? (versionId && this.fieldProblem('version id', versionId));
    if (problem) throw this.bad(line, problem);
    if (!BUCKET_NAME.test(bucket)) {
      throw this.bad(
        line,
        `bucket ${JSON.stringify(bucket)} is not a bucket name (3-255 letters, digits, '.', '-' or '_')`,
      );
    }
    if (versionId === '') throw this.bad(line, 'empty version id (write null for null-version objects)');
    let decodedKey: string;
    try {
      decodedKey = decodeManifestKey(key);
    } catch {
      throw this.bad(line, `key ${JSON.stringify(key)} is not valid URL encoding`);
    }
    const bytes = Buffer.byteLength(decodedKey, 'utf8');
    if (bytes > MAX_KEY_BYTES) {
      throw this.bad(line, `key is ${bytes} bytes decoded; S3 keys are at most ${MAX_KEY_BYTES} bytes`);
    }
    return { bucket, key, decodedKey, versionId, line, text: fields.join(',') };
  }
}

/** What one read of a CSV manifest saw. */
export interface CsvManifestRead {
  /** The ETag of the object read (quoted, as S3 returns it): pass it as `ifMatch` to read the same object again. */
  etag: string;
  /** Object lines. */
  rows: number;
  /** Whether the lines carry a version id. */
  versioned: boolean;
}

/**
 * Streams `s3://bucket/key.csv`, checks every line and hands each object line to `onRow` (awaited: back-pressure).
 * @param opts.ifMatch Read only this version of the object (an ETag from an earlier read); S3 answers 412 otherwise.
 * @throws CsvManifestError for a bad line; the S3 client's error when the object cannot be read; what `onRow` throws.
 */
export async function readCsvManifest(
  s3: S3Client,
  uri: string,
  onRow: (row: CsvManifestRow) => void | Promise<void>,
  opts: { ifMatch?: string; signal?: AbortSignal } = {},
): Promise<CsvManifestRead> {
  const { bucket, key } = parseS3Uri(uri);
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: opts.ifMatch }), {
    abortSignal: opts.signal,
  });
  const body = res.Body as Readable;
  const validator = new CsvManifestValidator(uri);
  const parser = new CsvParser();
  let rows = 0;
  let first = true;
  const take = async (records: CsvRecord[]) => {
    for (const r of records) {
      const row = validator.check(r);
      if (!row) continue;
      rows += 1;
      await onRow(row);
    }
  };
  try {
    body.setEncoding('utf8');
    for await (const chunk of body) {
      let text = chunk as string;
      // A byte-order mark (spreadsheet exports) is no part of the first bucket name.
      if (first && text.startsWith('\ufeff')) text = text.slice(1);
      first = false;
      await take(parser.push(text));
    }
    await take(parser.end());
  } catch (err) {
    body.destroy();
    if (err instanceof CsvSyntaxError) throw validator.syntaxError(err);
    throw err;
  }
  return { etag: res.ETag ?? '', rows, versioned: validator.columns === 3 };
}
