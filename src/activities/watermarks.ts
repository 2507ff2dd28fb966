/**
 * Watermarks of incremental campaigns: one small JSON object per recurring campaign in S3, read when a run starts and
 * written when it ends well. S3 (not the Schedule) holds it so that backfills, manual triggers and a recreated
 * schedule all see the same one.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/activity';

import { toApplicationFailure } from '../aws/errors';
import { getObjectTextIfExists } from '../aws/s3-text';
import type { SaveWatermarkInput, WatermarkLocation } from '../shared/activity-types';
import type { Watermark } from '../shared/campaign';
import { FailureType } from '../shared/errors';

export function createWatermarkActivities(deps: { s3: S3Client }) {
  /** The watermark, or undefined before the first successful run. */
  async function readWatermark(input: WatermarkLocation): Promise<Watermark | undefined> {
    const where = `s3://${input.bucket}/${input.key}`;
    let text: string | undefined;
    try {
      text = await getObjectTextIfExists(deps.s3, input.bucket, input.key);
    } catch (err) {
      throw toApplicationFailure(err, `reading the watermark ${where}`);
    }
    if (text === undefined) return undefined;
    let w: Partial<Watermark> | null = null;
    try {
      w = JSON.parse(text) as Partial<Watermark> | null;
    } catch {
      // reported below as not a watermark
    }
    if (
      !w ||
      typeof w.inventoryCreatedAt !== 'number' ||
      !Number.isFinite(w.inventoryCreatedAt) ||
      typeof w.campaignId !== 'string'
    ) {
      throw ApplicationFailure.nonRetryable(
        `${where} is not a watermark (needs inventoryCreatedAt and campaignId); delete it to start over`,
        FailureType.InvalidInput,
      );
    }
    return { inventoryCreatedAt: w.inventoryCreatedAt, campaignId: w.campaignId, writtenAt: w.writtenAt ?? '' };
  }

  return {
    readWatermark,

    async saveWatermark(input: SaveWatermarkInput): Promise<void> {
      // Never move it backwards: an overlapping run (a manual trigger beside the schedule) may have saved a later one.
      const current = await readWatermark(input).catch(() => undefined);
      if (current && current.inventoryCreatedAt >= input.watermark.inventoryCreatedAt) return;
      try {
        await deps.s3.send(
          new PutObjectCommand({
            Bucket: input.bucket,
            Key: input.key,
            Body: JSON.stringify(input.watermark, null, 2),
            ContentType: 'application/json',
          }),
        );
      } catch (err) {
        throw toApplicationFailure(err, `saving the watermark s3://${input.bucket}/${input.key}`);
      }
    },
  };
}
