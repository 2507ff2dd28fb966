/**
 * The rows of a tracking shard and of an event file, and their CSV form. Both files start with a header row (they are
 * ours, not Batch Operations manifests); keys are URL-encoded as in manifests, so no field but `note` ever needs
 * quoting.
 */
import { CsvParser, csvRow, type CsvRecord } from '../csv';
import { decodeManifestKey, encodeManifestKey } from '../inventory/key-encoding';
import { TRACKING_STATES, type TrackingCounts, type TrackingState } from '../shared/restore-tracking-types';
import type { RestoreFact } from './events';

/** `expiresAt` of a restored object whose expiry no source has told yet (an event without one). */
export const EXPIRY_UNKNOWN = 'unknown';

/** One tracked object. Dates are ISO strings ('' when not known). */
export interface TrackingRow {
  bucket: string;
  /** Raw (decoded) key; URL-encoded in the file. */
  key: string;
  /** '' when the tracking set has no version column. */
  versionId: string;
  /** Bytes; undefined until a HEAD or an event tells. */
  size: number | undefined;
  /** '' until a HEAD or an event tells. */
  storageClass: string;
  state: TrackingState;
  requestedAt: string;
  restoredAt: string;
  /** ISO date; '' when the restored copy never expires (not archived, Intelligent-Tiering); `unknown`. */
  expiresAt: string;
  /** The copy wave the object was queued in; undefined before. */
  wave: number | undefined;
  /** Why the row is in its state when that is not obvious (e.g. `NoSuchKey`, `extended 2026-…`). */
  note: string;
}

export const SHARD_HEADER = [
  'bucket',
  'key',
  'versionId',
  'size',
  'storageClass',
  'state',
  'requestedAt',
  'restoredAt',
  'expiresAt',
  'wave',
  'note',
] as const;

export const EVENT_HEADER = ['kind', 'bucket', 'key', 'versionId', 'eventTime', 'expiresAt', 'storageClass', 'size'];

export class TrackingFileError extends Error {
  override name = 'TrackingFileError';
}

const STATES = new Set<string>(TRACKING_STATES);

export function emptyCounts(): TrackingCounts {
  return Object.fromEntries(TRACKING_STATES.map((s) => [s, 0])) as TrackingCounts;
}

export function countRows(rows: readonly TrackingRow[]): TrackingCounts {
  const c = emptyCounts();
  for (const r of rows) c[r.state] += 1;
  return c;
}

export function formatRow(r: TrackingRow): string {
  return csvRow([
    r.bucket,
    encodeManifestKey(r.key),
    r.versionId,
    r.size === undefined ? '' : String(r.size),
    r.storageClass,
    r.state,
    r.requestedAt,
    r.restoredAt,
    r.expiresAt,
    r.wave === undefined ? '' : String(r.wave),
    r.note,
  ]);
}

/** A whole shard generation as text. */
export function formatShard(rows: readonly TrackingRow[]): string {
  const parts: string[] = [csvRow([...SHARD_HEADER])];
  for (const r of rows) parts.push(formatRow(r));
  return parts.join('');
}

function parseRow(rec: CsvRecord, where: string): TrackingRow {
  const f = rec.fields;
  if (f.length !== SHARD_HEADER.length) {
    throw new TrackingFileError(`${where} line ${rec.line}: ${f.length} fields, expected ${SHARD_HEADER.length}`);
  }
  const state = f[5]!;
  if (!STATES.has(state)) throw new TrackingFileError(`${where} line ${rec.line}: unknown state ${state}`);
  let key: string;
  try {
    key = decodeManifestKey(f[1]!);
  } catch {
    throw new TrackingFileError(`${where} line ${rec.line}: key is not URL encoding`);
  }
  return {
    bucket: f[0]!,
    key,
    versionId: f[2]!,
    size: f[3] === '' ? undefined : Number(f[3]),
    storageClass: f[4]!,
    state: state as TrackingState,
    requestedAt: f[6]!,
    restoredAt: f[7]!,
    expiresAt: f[8]!,
    wave: f[9] === '' ? undefined : Number(f[9]),
    note: f[10]!,
  };
}

/** Streams CSV text chunks into records, checking and dropping the header row. */
export async function parseWithHeader(
  chunks: AsyncIterable<string>,
  header: readonly string[],
  where: string,
  onRecord: (rec: CsvRecord) => void,
): Promise<void> {
  const parser = new CsvParser();
  let first = true;
  const take = (records: CsvRecord[]) => {
    for (const rec of records) {
      if (first) {
        first = false;
        if (rec.fields.join(',') !== header.join(',')) {
          throw new TrackingFileError(`${where}: the header is not ${header.join(',')}`);
        }
        continue;
      }
      if (rec.fields.length === 1 && rec.fields[0] === '') continue;
      onRecord(rec);
    }
  };
  for await (const chunk of chunks) take(parser.push(chunk));
  take(parser.end());
  if (first) throw new TrackingFileError(`${where}: empty file (no header)`);
}

export async function parseShard(chunks: AsyncIterable<string>, where: string): Promise<TrackingRow[]> {
  const rows: TrackingRow[] = [];
  await parseWithHeader(chunks, SHARD_HEADER, where, (rec) => rows.push(parseRow(rec, where)));
  return rows;
}

export function formatFacts(facts: readonly RestoreFact[]): string {
  const parts = [csvRow(EVENT_HEADER)];
  for (const f of facts) {
    parts.push(
      csvRow([
        f.kind,
        f.bucket,
        encodeManifestKey(f.key),
        f.versionId,
        f.eventTime,
        f.expiresAt,
        f.storageClass,
        f.size === undefined ? '' : String(f.size),
      ]),
    );
  }
  return parts.join('');
}

export async function parseFacts(chunks: AsyncIterable<string>, where: string): Promise<RestoreFact[]> {
  const facts: RestoreFact[] = [];
  await parseWithHeader(chunks, EVENT_HEADER, where, (rec) => {
    const f = rec.fields;
    if (f.length !== EVENT_HEADER.length || (f[0] !== 'completed' && f[0] !== 'expired')) {
      throw new TrackingFileError(`${where} line ${rec.line}: not an event fact`);
    }
    facts.push({
      kind: f[0],
      bucket: f[1]!,
      key: decodeManifestKey(f[2]!),
      versionId: f[3]!,
      eventTime: f[4]!,
      expiresAt: f[5]!,
      storageClass: f[6]!,
      size: f[7] === '' ? undefined : Number(f[7]),
    });
  });
  return facts;
}

/** An object's identity in a set: bucket, decoded key and version id (the null version is no version). */
export const objectId = (bucket: string, key: string, versionId: string): string =>
  `${bucket}\n${key}\n${versionId === 'null' ? '' : versionId}`;

/** Whether an event's version id names this row's object. `null` is the null version, like no version at all. */
export function versionMatches(rowVersion: string, eventVersion: string): boolean {
  // A row without a version tracks the key's latest version; an event without one comes from an unversioned bucket.
  if (rowVersion === '') return true;
  const r = rowVersion === 'null' ? '' : rowVersion;
  const e = eventVersion === 'null' ? '' : eventVersion;
  return e === '' || r === e;
}
