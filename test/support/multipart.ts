/**
 * Utilities for the large-object copy tests: S3 clients that count, crash, tamper or dawdle like a real worker's
 * would, moto's missing upload times put back, and object bodies compared by SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';

import {
  GetObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';

/** When each upload was created, for every client `withRealUploadTimes` wrapped. */
const initiated = new Map<string, Date>();

/**
 * moto lists every multipart upload as initiated on 2010-11-10. This records when each CreateMultipartUpload sent by
 * `s3` was answered and puts that time into ListMultipartUploads answers, as S3 does. Uploads created by other
 * clients keep moto's date, so they read as old.
 */
export function withRealUploadTimes(s3: S3Client): S3Client {
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const output = result.output as { UploadId?: string; Uploads?: { UploadId?: string; Initiated?: Date }[] };
      if (context.commandName === 'CreateMultipartUploadCommand' && output.UploadId) {
        initiated.set(output.UploadId, new Date());
      }
      if (context.commandName === 'ListMultipartUploadsCommand') {
        for (const u of output.Uploads ?? []) u.Initiated = (u.UploadId && initiated.get(u.UploadId)) || u.Initiated;
      }
      return result;
    },
    { step: 'initialize', name: 'realUploadTimes' },
  );
  return s3;
}

/** Counts the commands `s3` sends, by name without `Command` (`UploadPartCopy: 3`). */
export function countRequests(s3: S3Client): Record<string, number> {
  const counts: Record<string, number> = {};
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, '');
      counts[name] = (counts[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  return counts;
}

const crash = (what: string) =>
  Object.assign(new Error(`simulated worker crash ${what}`), {
    name: 'InternalError',
    $metadata: { httpStatusCode: 500 },
  });

/** A worker that dies right after its CompleteMultipartUpload reached S3: the object exists, the attempt failed. */
export function crashAfterComplete(s3: S3Client): S3Client {
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'CompleteMultipartUploadCommand') throw crash('after completing the upload');
      return result;
    },
    { step: 'initialize', name: 'crashAfterComplete' },
  );
  return s3;
}

/** UploadPartCopy of part `partNumber` copies `range` instead of its own: a target with wrong bytes of the right size. */
export function corruptPart(s3: S3Client, partNumber: number, range: string): S3Client {
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { PartNumber?: number; CopySourceRange?: string };
      if (context.commandName === 'UploadPartCopyCommand' && input.PartNumber === partNumber) {
        input.CopySourceRange = range;
      }
      return next(args);
    },
    { step: 'initialize', name: 'corruptPart' },
  );
  return s3;
}

/** Every UploadPartCopy of `s3` takes `ms` longer, so that a test can act while parts are being copied. */
export function slowPartCopies(s3: S3Client, ms: number): S3Client {
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'UploadPartCopyCommand') await new Promise((r) => setTimeout(r, ms));
      return next(args);
    },
    { step: 'initialize', name: 'slowPartCopies' },
  );
  return s3;
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Puts `bytes` random bytes and returns their SHA-256. */
export async function putRandomObject(
  s3: S3Client,
  input: Omit<PutObjectCommandInput, 'Body'>,
  bytes: number,
): Promise<{ sha256: string; etag: string; versionId?: string }> {
  const body = randomBytes(bytes);
  const out = await s3.send(new PutObjectCommand({ ...input, Body: body }));
  return { sha256: sha256(body), etag: out.ETag ?? '', versionId: out.VersionId };
}

/** The SHA-256 of an object's bytes as GET returns them. */
export async function sha256Of(s3: S3Client, bucket: string, key: string, versionId?: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  return sha256(await out.Body!.transformToByteArray());
}

/** The keys and ids of the multipart uploads in progress under `prefix`. */
export async function openUploads(s3: S3Client, bucket: string, prefix = ''): Promise<{ key: string; id: string }[]> {
  const out = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix || undefined }));
  return (out.Uploads ?? []).map((u) => ({ key: u.Key!, id: u.UploadId! }));
}
