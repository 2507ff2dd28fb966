/** Small S3 reads shared by activities, reports and the CLI: a whole object as UTF-8 text. */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** The object's body as text ('' for an empty body). S3 errors are thrown as the SDK throws them. */
export async function getObjectText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body?.transformToString('utf8')) ?? '';
}

/** Like `getObjectText`, but undefined when the object does not exist (NoSuchKey / 404). */
export async function getObjectTextIfExists(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    return await getObjectText(s3, bucket, key);
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
}
