/**
 * A campaign's folder (`<report.prefix>/<campaign id>/`) belongs to one campaign: the first run of a workflow claims
 * it with a small marker, `campaign-run.json`, before anything else is written there. A later campaign that reuses
 * the workflow id (Temporal allows it once the first one closed, and the Web UI's Start form does not ask) finds the
 * marker, or the earlier campaign's files, and fails with `AlreadyExists` instead of overwriting its manifests,
 * reports and failed.csv.
 */
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/activity';

import { toApplicationFailure } from '../aws/errors';
import { getObjectTextIfExists } from '../aws/s3-text';
import type { ClaimCampaignFolderInput } from '../shared/activity-types';
import { FailureType } from '../shared/errors';

/** The marker's name inside the campaign's folder. */
export const CAMPAIGN_MARKER = 'campaign-run.json';

/** What the marker holds: who owns the folder. */
interface CampaignMarker {
  campaignId: string;
  /** The first run id of the workflow that owns the folder (the same across continue-as-new). */
  runId: string;
  name: string;
  startedAt: string;
}

export function createCampaignFolderActivities(deps: { s3: S3Client }) {
  const s3 = deps.s3;

  /** `, which ended Succeeded` from the earlier campaign's report, when it has one. */
  async function earlierOutcome(bucket: string, prefix: string): Promise<string> {
    const text = await getObjectTextIfExists(s3, bucket, `${prefix}/campaign.json`).catch(() => undefined);
    if (text === undefined) return ', which has not written its report (it may still be running)';
    try {
      const report = JSON.parse(text) as { outcome?: string; endedAt?: string };
      return report.outcome ? `, which ended ${report.outcome}${report.endedAt ? ` at ${report.endedAt}` : ''}` : '';
    } catch {
      return '';
    }
  }

  async function refuse(input: ClaimCampaignFolderInput, owner: string): Promise<never> {
    const outcome = await earlierOutcome(input.bucket, input.prefix);
    throw ApplicationFailure.nonRetryable(
      `campaign id ${input.campaignId} is already taken: s3://${input.bucket}/${input.prefix}/ holds the files of ` +
        `${owner}${outcome}. Nothing was written; start this campaign with another id.`,
      FailureType.AlreadyExists,
    );
  }

  return {
    /** Claims the campaign's folder for this campaign, or fails with `AlreadyExists`. Idempotent for its owner. */
    async claimCampaignFolder(input: ClaimCampaignFolderInput): Promise<void> {
      const markerKey = `${input.prefix}/${CAMPAIGN_MARKER}`;
      const where = `s3://${input.bucket}/${markerKey}`;
      try {
        // Two rounds at most: a marker that appears between our read and our conditional write is read again.
        for (let attempt = 0; attempt < 2; attempt++) {
          const text = await getObjectTextIfExists(s3, input.bucket, markerKey);
          if (text !== undefined) {
            let marker: Partial<CampaignMarker> = {};
            try {
              marker = JSON.parse(text) as Partial<CampaignMarker>;
            } catch {
              // a damaged marker still means somebody owns the folder
            }
            if (marker.runId === input.runId) return;
            await refuse(
              input,
              `an earlier campaign${marker.name ? ` "${marker.name}"` : ''} (run ${marker.runId ?? 'unknown'}` +
                `${marker.startedAt ? `, started ${marker.startedAt}` : ''})`,
            );
          }
          // Campaigns started before the marker existed left files but no marker.
          const listed = await s3.send(
            new ListObjectsV2Command({ Bucket: input.bucket, Prefix: `${input.prefix}/`, MaxKeys: 1 }),
          );
          if ((listed.KeyCount ?? listed.Contents?.length ?? 0) > 0) await refuse(input, 'an earlier campaign');
          const marker: CampaignMarker = {
            campaignId: input.campaignId,
            runId: input.runId,
            name: input.name,
            startedAt: input.startedAt,
          };
          try {
            await s3.send(
              new PutObjectCommand({
                Bucket: input.bucket,
                Key: markerKey,
                Body: JSON.stringify(marker, null, 2),
                ContentType: 'application/json',
                // Only if absent: two claims can never both win.
                IfNoneMatch: '*',
              }),
            );
            return;
          } catch (err) {
            const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
            if (e.name !== 'PreconditionFailed' && e.$metadata?.httpStatusCode !== 412) throw err;
          }
        }
        throw ApplicationFailure.retryable(`${where} changed while it was being claimed`, FailureType.Transient);
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err;
        throw toApplicationFailure(err, `claiming the campaign folder ${where}`);
      }
    },
  };
}
