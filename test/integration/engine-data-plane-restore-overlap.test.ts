/**
 * Overlapping restores (§8 of the reference): while a restore is still running, a BULK job's task fails with
 * RestoreAlreadyInProgress; a STANDARD job may upgrade it; once the restore is done a new job extends the expiry.
 *
 * moto completes restores at once by default; its state manager can keep them "ongoing" for a while, but that setting
 * is global to the server, so this file starts a moto of its own rather than change the shared one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { CreateBucketCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { createTaskRunner } from '../../src/local-batch/operations';
import { LOCAL_CREDENTIALS, startS3 } from '../../src/stack';
import { deps, putObjects } from '../support/data-plane';

/** How long moto keeps each restore state (not restored → ongoing → restored), in seconds. */
const STEP_SECONDS = 2;

let s3: S3Client;
let stop: () => Promise<void>;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'moto-restore-'));
  const { proc, endpoint } = await startS3({ dir });
  stop = () => proc.stop();
  const res = await fetch(`${endpoint}/moto-api/state-manager/set-transition`, {
    method: 'POST',
    body: JSON.stringify({ model_name: 's3::keyrestore', transition: { progression: 'time', seconds: STEP_SECONDS } }),
  });
  expect(res.status).toBe(201);
  s3 = new S3Client({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
}, 120_000);

afterAll(async () => {
  s3?.destroy();
  await stop?.();
  rmSync(dir, { recursive: true, force: true });
});

async function restoreHeader(bucket: string, key: string): Promise<string | undefined> {
  return (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).Restore;
}

test('a running restore fails a BULK task, lets a STANDARD task upgrade it, and a finished one is extended', async () => {
  const bucket = 'overlap';
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const [t] = await putObjects(s3, bucket, ['cold.bin'], { StorageClass: 'GLACIER' });
  const bulk = createTaskRunner(
    { type: 'S3InitiateRestoreObject', ExpirationInDays: 5, GlacierJobTier: 'BULK' },
    deps(s3),
  );
  const standard = createTaskRunner(
    { type: 'S3InitiateRestoreObject', ExpirationInDays: 5, GlacierJobTier: 'STANDARD' },
    deps(s3),
  );

  expect(await bulk(t!)).toMatchObject({ status: 'succeeded', resultMessage: 'Restore initiated (BULK, 5 days)' });
  await sleep(STEP_SECONDS * 1000 + 300);
  expect(await restoreHeader(bucket, 'cold.bin')).toBe('ongoing-request="true"');

  expect(await bulk(t!)).toMatchObject({ status: 'failed', errorCode: 'RestoreAlreadyInProgress', httpStatus: 409 });
  expect(await standard(t!)).toMatchObject({
    status: 'succeeded',
    resultMessage: 'Restore already in progress; upgraded to the STANDARD tier',
  });

  await sleep(STEP_SECONDS * 1000 + 300);
  expect(await restoreHeader(bucket, 'cold.bin')).toMatch(/^ongoing-request="false", expiry-date="/);
  expect(await bulk(t!)).toMatchObject({
    status: 'succeeded',
    resultMessage: 'Object already restored; restore expiry set to 5 days from now',
  });
});
