import type { S3Client } from '@aws-sdk/client-s3';
import type { S3ControlClient } from '@aws-sdk/client-s3-control';
import type { SQSClient } from '@aws-sdk/client-sqs';

import { createCampaignFolderActivities } from './campaign-folder';
import { createCampaignReportActivities } from './campaign-report';
import { createConnectivityActivities } from './connectivity';
import { createGeneratedManifestActivities } from './generated-manifest';
import { createJobActivities } from './jobs';
import { createLargeCopyActivities } from './large-copy';
import { createManifestActivities } from './manifests';
import { createRestoreAndCopyReportActivities } from './restore-and-copy-report';
import { createRestoreTrackingActivities } from './restore-tracking';
import { createRoundActivities } from './rounds';
import { createWatermarkActivities } from './watermarks';

export interface ActivityDeps {
  s3: S3Client;
  s3control: S3ControlClient;
  /** Restore events; without it `consumeRestoreEvents` fails with InvalidInput. */
  sqs?: SQSClient;
}

/** Every activity of the worker, built from its clients (passed in, never built here). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createConnectivityActivities(deps),
    ...createCampaignFolderActivities(deps),
    ...createManifestActivities(deps),
    ...createJobActivities(deps),
    ...createGeneratedManifestActivities(deps),
    ...createRoundActivities(deps),
    ...createCampaignReportActivities(deps),
    ...createWatermarkActivities(deps),
    ...createLargeCopyActivities(deps),
    ...createRestoreTrackingActivities(deps),
    ...createRestoreAndCopyReportActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
