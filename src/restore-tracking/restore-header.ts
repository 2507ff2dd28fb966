/**
 * The `x-amz-restore` header of HeadObject/GetObject (reference §8): absent when no restore exists,
 * `ongoing-request="true"` while one runs, `ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"` once
 * the temporary copy is readable (RFC 1123 date). Intelligent-Tiering restores move the object back to a readable tier
 * and carry no expiry date.
 */

export type RestoreStatus =
  | { state: 'none' }
  | { state: 'ongoing' }
  /** `expiresAt` undefined: no expiry date (Intelligent-Tiering) or one that could not be read (`badDate` set). */
  | { state: 'restored'; expiresAt?: Date; badDate?: string };

const ONGOING = /ongoing-request\s*=\s*"?\s*(true|false)\s*"?/i;
const EXPIRY = /expiry-date\s*=\s*"([^"]*)"/i;

/** Parses the header's value (`undefined` or empty when the header was absent). */
export function parseRestoreHeader(value: string | undefined | null): RestoreStatus {
  if (value === undefined || value === null || value.trim() === '') return { state: 'none' };
  const ongoing = ONGOING.exec(value);
  if (!ongoing) {
    // A header we cannot read says at least that a restore exists; treat it as still running rather than guess.
    return { state: 'ongoing' };
  }
  if (ongoing[1]!.toLowerCase() === 'true') return { state: 'ongoing' };
  const expiry = EXPIRY.exec(value);
  if (!expiry) return { state: 'restored' };
  const ms = Date.parse(expiry[1]!);
  if (Number.isNaN(ms)) return { state: 'restored', badDate: expiry[1] };
  return { state: 'restored', expiresAt: new Date(ms) };
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * When S3 will expire a copy restored (or extended) at `at` for `days` days: `at + days`, rounded up to the next
 * 00:00 UTC (reference §8). Used only when a HEAD after an extension does not show the new date yet.
 */
export function estimateRestoreExpiry(at: Date, days: number): Date {
  const t = at.getTime() + days * DAY_MS;
  return new Date(Math.ceil(t / DAY_MS) * DAY_MS);
}
