/**
 * S3 Batch Operations completion reports (`Report_CSV_20180820`): the row format, a lenient parser and a reader for
 * a whole report (its `manifest.json` and every results CSV it lists). The local engine writes reports with
 * `formatReportRow`; the campaign workflow's activities read them (real AWS or local) with `readCompletionReport`.
 *
 * Layout: `<prefix>/job-<id>/manifest.json` and `<prefix>/job-<id>/results/<40 hex>.csv`, each results file holding
 * only succeeded or only failed rows, no header.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';

import { destroyOnAbort, getObjectText } from '../aws/s3-text';
import { CsvParser, csvRow, type CsvRecord } from '../csv';

/** The only completion report format. */
export const REPORT_FORMAT = 'Report_CSV_20180820';

/**
 * The `ReportSchema` string of the report's manifest.json, exactly as AWS documents it. Note that it names ErrorCode
 * before HTTPStatusCode while every documented row (and ours) has the HTTP status first; readers must not trust the
 * order (see `parseReportCsv`).
 */
export const REPORT_SCHEMA = 'Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage';

/** The report's `manifest.json`. */
export const REPORT_MANIFEST_SCHEMA = z.object({
  Format: z.string(),
  /** ISO-8601, e.g. `2019-04-05T17:48:39.725Z`. */
  ReportCreationDate: z.string().optional(),
  Results: z.array(
    z.object({
      /** `succeeded` or `failed`: every row of the file has this status. */
      TaskExecutionStatus: z.string(),
      /** Bucket name (not an ARN). */
      Bucket: z.string(),
      /** Hex MD5 of the results file. */
      MD5Checksum: z.string().optional(),
      /** Full key of the results file, prefix included. */
      Key: z.string(),
    }),
  ),
  ReportSchema: z.string().optional(),
});
export type ReportManifest = z.infer<typeof REPORT_MANIFEST_SCHEMA>;

/** One row of a completion report: one task. */
export interface ReportRow {
  bucket: string;
  /** The key exactly as the report writes it: the URL-encoded form of the job's manifest. */
  key: string;
  /** `key` URL-decoded (`+` as a space); undefined when `key` is not valid percent-encoding. */
  decodedKey?: string;
  /** Absent when the report leaves it empty. */
  versionId?: string;
  taskStatus: 'succeeded' | 'failed';
  /** The HTTP status of the task's call (200 for Lambda tasks, even failed ones). */
  httpStatusCode?: number;
  /** S3 error code (`NoSuchKey`, …) or `PermanentFailure` / `TemporaryFailure` for Lambda tasks. */
  errorCode?: string;
  resultMessage?: string;
}

/** A report row or manifest that cannot be read. */
export class ReportParseError extends Error {
  override name = 'ReportParseError';
}

/** A results file whose MD5 differs from its manifest entry. */
export class ReportIntegrityError extends Error {
  override name = 'ReportIntegrityError';
}

/** The fields of one report row, as the local engine writes them. */
export interface ReportRowInput {
  bucket: string;
  /** URL-encoded, as in the manifest. */
  key: string;
  versionId?: string;
  taskStatus: 'succeeded' | 'failed';
  httpStatusCode: number;
  errorCode?: string;
  resultMessage?: string;
}

/**
 * One CSV line `Bucket,Key,VersionId,TaskStatus,HTTPStatusCode,ErrorCode,ResultMessage` (the column order of AWS's
 * example rows), with standard quoting and a trailing `\n`.
 */
export function formatReportRow(r: ReportRowInput): string {
  return csvRow([
    r.bucket,
    r.key,
    r.versionId ?? '',
    r.taskStatus,
    String(r.httpStatusCode),
    r.errorCode ?? '',
    r.resultMessage ?? '',
  ]);
}

function decodeKey(key: string): string | undefined {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

const DIGITS = /^\d+$/;

/**
 * One parsed CSV record → a row. Lenient: of the two columns after TaskStatus, the all-digit one is the HTTP status
 * (either order is accepted); a message with unquoted commas is joined back together.
 * @throws ReportParseError when the record has fewer than 4 fields or an unknown TaskStatus.
 */
export function reportRowFromFields(fields: readonly string[], where = 'report', line?: number): ReportRow {
  const at = line === undefined ? where : `${where} line ${line}`;
  if (fields.length < 4) throw new ReportParseError(`${at}: ${fields.length} fields, a report row has at least 4`);
  const status = fields[3]!.trim().toLowerCase();
  if (status !== 'succeeded' && status !== 'failed') {
    throw new ReportParseError(`${at}: TaskStatus ${JSON.stringify(fields[3])} is neither succeeded nor failed`);
  }
  const a = fields[4] ?? '';
  const b = fields[5] ?? '';
  let http: string | undefined;
  let code: string | undefined;
  if (DIGITS.test(a.trim())) {
    http = a.trim();
    code = b;
  } else if (DIGITS.test(b.trim())) {
    http = b.trim();
    code = a;
  } else {
    code = a || b;
  }
  const message = fields.length > 6 ? fields.slice(6).join(',') : undefined;
  const key = fields[1]!;
  const row: ReportRow = { bucket: fields[0]!, key, decodedKey: decodeKey(key), taskStatus: status };
  if (fields[2]) row.versionId = fields[2];
  if (http !== undefined) row.httpStatusCode = Number(http);
  if (code) row.errorCode = code;
  if (message) row.resultMessage = message;
  return row;
}

function rowsOf(records: readonly CsvRecord[], where: string): ReportRow[] {
  const out: ReportRow[] = [];
  for (const r of records) {
    if (r.fields.length === 1 && r.fields[0] === '') continue;
    out.push(reportRowFromFields(r.fields, where, r.line));
  }
  return out;
}

/** Parses the text of one results CSV (no header; blank lines ignored). @throws ReportParseError */
export function parseReportCsv(text: string, where = 'report'): ReportRow[] {
  const p = new CsvParser();
  try {
    return [...rowsOf(p.push(text), where), ...rowsOf(p.end(), where)];
  } catch (err) {
    if (err instanceof ReportParseError) throw err;
    throw new ReportParseError(`${where}: ${(err as Error).message}`);
  }
}

/** Parses a report's manifest.json. @throws ReportParseError */
export function parseReportManifest(text: string, where = 'manifest.json'): ReportManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ReportParseError(`${where} is not JSON: ${(err as Error).message}`);
  }
  const parsed = REPORT_MANIFEST_SCHEMA.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new ReportParseError(`${where}: ${i ? i.path.join('.') || '(root)' : '(root)'}: ${i?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/**
 * Streams the rows of every results file a report manifest lists, file by file, checking each file's MD5.
 * @throws ReportIntegrityError on an MD5 mismatch (after the file's rows were yielded); ReportParseError on a bad row;
 * S3 errors as the SDK throws them.
 */
export async function* iterateReportRows(
  s3: S3Client,
  manifest: ReportManifest,
  signal?: AbortSignal,
): AsyncGenerator<ReportRow> {
  for (const file of manifest.Results) {
    const where = `s3://${file.Bucket}/${file.Key}`;
    const out = await s3.send(new GetObjectCommand({ Bucket: file.Bucket, Key: file.Key }), { abortSignal: signal });
    if (out.Body) destroyOnAbort(out.Body as Readable, signal);
    const hash = createHash('md5');
    const parser = new CsvParser();
    const decoder = new TextDecoder('utf-8');
    try {
      for await (const chunk of (out.Body ?? []) as Readable | never[]) {
        const bytes = chunk as Uint8Array;
        hash.update(bytes);
        for (const row of rowsOf(parser.push(decoder.decode(bytes, { stream: true })), where)) yield row;
      }
      for (const row of rowsOf([...parser.push(decoder.decode()), ...parser.end()], where)) yield row;
    } catch (err) {
      if (err instanceof ReportParseError) throw err;
      if ((err as Error).name === 'CsvSyntaxError') throw new ReportParseError(`${where}: ${(err as Error).message}`);
      throw err;
    }
    const md5 = hash.digest('hex');
    if (file.MD5Checksum && file.MD5Checksum.toLowerCase() !== md5) {
      throw new ReportIntegrityError(`${where} has MD5 ${md5}, its report manifest says ${file.MD5Checksum}`);
    }
  }
}

/**
 * Reads a whole completion report: `manifest.json` at `bucket`/`manifestKey`, then every results file it lists (their
 * own Bucket and Key, MD5 checked). Rows come in manifest order (files as listed, rows as written).
 */
export async function readCompletionReport(
  s3: S3Client,
  bucket: string,
  manifestKey: string,
): Promise<{ manifest: ReportManifest; rows: ReportRow[] }> {
  const manifest = parseReportManifest(await getObjectText(s3, bucket, manifestKey), `s3://${bucket}/${manifestKey}`);
  const rows: ReportRow[] = [];
  for await (const row of iterateReportRows(s3, manifest)) rows.push(row);
  return { manifest, rows };
}
