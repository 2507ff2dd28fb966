/** Small S3 reads shared by activities, reports and the CLI: a whole object as UTF-8 text. */
import type { Readable } from 'node:stream';

import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/**
 * Runs `read` over a response body, destroying the body when `signal` aborts: the SDK's abortSignal ends the request
 * only until the headers arrive, and a stalled body would otherwise hold a cancelled activity (and a worker's
 * shutdown) for ever.
 */
export async function withAbort<T>(
  body: Readable,
  signal: AbortSignal | undefined,
  read: () => Promise<T>,
): Promise<T> {
  if (!signal) return await read();
  signal.throwIfAborted();
  const onAbort = () => body.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await read();
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Destroys a streamed body when `signal` aborts (a generator cannot wrap its consumer's reads in `withAbort`). The
 * listener goes with the signal: one per read, on an activity's own signal.
 */
export function destroyOnAbort(body: Readable, signal: AbortSignal | undefined): void {
  if (!signal) return;
  signal.throwIfAborted();
  const onAbort = () => body.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  body.once('close', () => signal.removeEventListener('abort', onAbort));
}

/** The object's body as text ('' for an empty body). S3 errors are thrown as the SDK throws them. */
export async function getObjectText(s3: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  const body = out.Body as (Readable & { transformToString(enc: string): Promise<string> }) | undefined;
  if (!body) return '';
  return await withAbort(body, signal, () => body.transformToString('utf8'));
}

/** Like `getObjectText`, but undefined when the object does not exist (NoSuchKey / 404). */
export async function getObjectTextIfExists(
  s3: S3Client,
  bucket: string,
  key: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  try {
    return await getObjectText(s3, bucket, key, signal);
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
}
