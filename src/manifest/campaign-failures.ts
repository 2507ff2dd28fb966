/**
 * Reading the failures of an earlier campaign (its `failed.csv`) as the objects of a new one: the `campaign-failures`
 * source, Step Functions' "redrive". One reader for every caller (the campaign's manifest activity, `estimate`,
 * `iam-policy`), so that all of them select the same rows and refuse the same input with the same message.
 *
 * A campaign writes `failed.csv` first and `campaign.json` last, both complete or absent: `campaign.json` is the sign
 * that the campaign ended and its failed.csv is whole. Rows are `bucket,key,versionId,errorCode,httpStatus,message,
 * round` with URL-encoded keys (the manifest encoding), found by the header's names.
 */
import type { Readable } from 'node:stream';

import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { CsvParser, CsvSyntaxError, type CsvRecord } from '../csv';
import { CsvManifestError, CsvManifestValidator, type CsvManifestRow } from './csv-manifest';

/** The source as the spec gives it (structurally, to keep this module free of the spec's schema). */
export interface CampaignFailuresSource {
  campaignId: string;
  errorCodes?: readonly string[];
  report?: { bucket: string; prefix?: string };
}

/** Where the campaign's report is: `s3://<bucket>/<folder>/failed.csv` and `…/campaign.json`. */
export interface CampaignFailuresLocation {
  campaignId: string;
  bucket: string;
  folder: string;
}

/** Input the reader cannot use; the message names the campaign, the file or the codes, and what to do. */
export class CampaignFailuresError extends Error {
  override name = 'CampaignFailuresError';
}

/**
 * The folder of the campaign whose failures run again: `source.report` when given, else where this campaign's own
 * report goes (`report`, the spec's bucket and prefix): campaigns of one team usually share them.
 */
export function campaignFailuresLocation(
  source: CampaignFailuresSource,
  report: { bucket: string; prefix: string },
): CampaignFailuresLocation {
  const bucket = source.report?.bucket ?? report.bucket;
  const prefix = source.report?.prefix ?? report.prefix;
  return { campaignId: source.campaignId, bucket, folder: `${prefix}/${source.campaignId}` };
}

export const failedCsvUri = (loc: CampaignFailuresLocation) => `s3://${loc.bucket}/${loc.folder}/failed.csv`;
const reportUri = (loc: CampaignFailuresLocation) => `s3://${loc.bucket}/${loc.folder}/campaign.json`;

/**
 * Whether a failed.csv error code is one of `wanted`. A restore-and-copy report prefixes the stage
 * (`CopyFailed:SlowDown`, `RestoreFailed:…`, `NotCopied:Cancelled`): `SlowDown` takes that row too, and `CopyFailed`
 * takes every copy failure. Exact otherwise (codes are case-sensitive, as S3 writes them).
 */
export function errorCodeMatches(code: string, wanted: readonly string[]): boolean {
  const colon = code.indexOf(':');
  return wanted.some(
    (w) => w === code || (colon > 0 && (w === code.slice(0, colon) || w === code.slice(code.lastIndexOf(':') + 1))),
  );
}

/** What one read of failed.csv saw. */
export interface CampaignFailuresRead {
  /** The ETag of failed.csv (quoted): pass it as `ifMatch` to read the same object again. */
  etag: string;
  /** Failure rows in the file. */
  rowsScanned: number;
  /** Rows with one of the wanted codes (all when no codes are given): the new campaign's objects. */
  rowsSelected: number;
  /** Whether the selected rows carry version ids. */
  versioned: boolean;
  /** The distinct buckets of the selected rows, sorted. */
  buckets: string[];
}

/** At most this many distinct codes are counted for the "matched none" message. */
const MAX_CODES_COUNTED = 1_000;

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

/**
 * Streams the campaign's failed.csv and hands each selected row to `onRow` as a manifest line (awaited:
 * back-pressure), checked as a CSV manifest line is.
 * @param opts.ifMatch Read only this version of failed.csv (an ETag from an earlier read); S3 answers 412 otherwise.
 *   Without it, the campaign's campaign.json must exist (the campaign ended).
 * @throws CampaignFailuresError when the campaign has no report, the file is not a failed.csv, a row could not be a
 *   manifest line, or no row has one of the codes; the S3 client's error when a file cannot be read.
 */
export async function readCampaignFailures(
  s3: S3Client,
  source: CampaignFailuresSource,
  loc: CampaignFailuresLocation,
  onRow: (row: CsvManifestRow) => void | Promise<void>,
  opts: { ifMatch?: string; signal?: AbortSignal } = {},
): Promise<CampaignFailuresRead> {
  const uri = failedCsvUri(loc);
  if (opts.ifMatch === undefined) {
    try {
      await s3.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: `${loc.folder}/campaign.json` }), {
        abortSignal: opts.signal,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      throw new CampaignFailuresError(
        `source.campaignId: campaign ${JSON.stringify(loc.campaignId)} has no final report at ${reportUri(loc)}: ` +
          'either it has not ended yet (a campaign writes its report when it ends) or no campaign of that id wrote ' +
          'its folder there (check the id, and source.report when it used another report bucket or prefix)',
      );
    }
  }
  let res;
  try {
    res = await s3.send(
      new GetObjectCommand({ Bucket: loc.bucket, Key: `${loc.folder}/failed.csv`, IfMatch: opts.ifMatch }),
      {
        abortSignal: opts.signal,
      },
    );
  } catch (err) {
    if (!isNotFound(err)) throw err;
    throw new CampaignFailuresError(
      `campaign ${JSON.stringify(loc.campaignId)} has a report but no ${uri}: it was deleted, or the folder is not a campaign's`,
    );
  }
  const body = res.Body as Readable;
  const wanted = source.errorCodes;
  const validator = new CsvManifestValidator(uri);
  const parser = new CsvParser();
  const buckets = new Set<string>();
  const codes = new Map<string, number>();
  let columns: { bucket: number; key: number; versionId: number; errorCode: number } | undefined;
  let rowsScanned = 0;
  let rowsSelected = 0;
  const take = async (records: CsvRecord[]) => {
    for (const r of records) {
      if (r.fields.length === 1 && r.fields[0] === '') continue;
      if (!columns) {
        const at = (name: string) => r.fields.indexOf(name);
        columns = { bucket: at('bucket'), key: at('key'), versionId: at('versionId'), errorCode: at('errorCode') };
        if (columns.bucket < 0 || columns.key < 0 || columns.errorCode < 0) {
          throw new CampaignFailuresError(
            `${uri} line ${r.line}: expected the header of a campaign's failed.csv (bucket,key,versionId,errorCode,…), found ${JSON.stringify(r.fields.slice(0, 4).join(','))}`,
          );
        }
        continue;
      }
      rowsScanned += 1;
      const code = r.fields[columns.errorCode] ?? '';
      if (codes.has(code) || codes.size < MAX_CODES_COUNTED) codes.set(code, (codes.get(code) ?? 0) + 1);
      if (wanted && !errorCodeMatches(code, wanted)) continue;
      const versionId = columns.versionId < 0 ? '' : (r.fields[columns.versionId] ?? '');
      const fields = [r.fields[columns.bucket] ?? '', r.fields[columns.key] ?? ''];
      if (versionId !== '') fields.push(versionId);
      const row = validator.check({ fields, line: r.line });
      if (!row) continue;
      rowsSelected += 1;
      buckets.add(row.bucket);
      await onRow(row);
    }
  };
  try {
    body.setEncoding('utf8');
    for await (const chunk of body) await take(parser.push(chunk as string));
    await take(parser.end());
  } catch (err) {
    body.destroy();
    if (err instanceof CsvSyntaxError) throw new CampaignFailuresError(`${uri} ${err.message}`);
    if (err instanceof CsvManifestError) {
      throw new CampaignFailuresError(
        err.message.replace(/^CSV manifest /, '') +
          (/version ids must be/.test(err.message)
            ? ' (the selected failures mix objects with and without a version id: redrive them with errorCodes that keep one kind)'
            : ''),
      );
    }
    throw err;
  }
  if (wanted && rowsScanned > 0 && rowsSelected === 0) {
    const found = [...codes.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([c, n]) => `${c || '(empty)'} (${n})`)
      .join(', ');
    throw new CampaignFailuresError(
      `source.errorCodes: none of ${wanted.join(', ')} is the code of any of the ${rowsScanned} failure(s) of ` +
        `campaign ${JSON.stringify(loc.campaignId)}; its failed.csv has ${found}`,
    );
  }
  return {
    etag: res.ETag ?? '',
    rowsScanned,
    rowsSelected,
    versioned: validator.columns === 3,
    buckets: [...buckets].sort(),
  };
}
