/**
 * One object from a stream of unknown length: a single PutObject when it is small, a multipart upload (each part
 * retried by the SDK, no 5 GB cap) when it is large. Either way the object is complete or absent, never partial.
 */
import type { Readable } from 'node:stream';

import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

/** 16 MiB parts allow objects of up to ~156 GiB (10,000 parts). */
export const UPLOAD_PART_BYTES = 16 << 20;

export async function uploadStream(
  s3: S3Client,
  target: { Bucket: string; Key: string; ContentType: string },
  body: Readable,
): Promise<void> {
  await new Upload({ client: s3, params: { ...target, Body: body }, partSize: UPLOAD_PART_BYTES }).done();
}
