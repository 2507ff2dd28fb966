import type { S3Client } from '@aws-sdk/client-s3';
import type { S3ControlClient } from '@aws-sdk/client-s3-control';

import { createCampaignFolderActivities } from './campaign-folder';
import { createCampaignReportActivities } from './campaign-report';
import { createConnectivityActivities } from './connectivity';
import { createJobActivities } from './jobs';
import { createLargeCopyActivities } from './large-copy';
import { createManifestActivities } from './manifests';
import { createRoundActivities } from './rounds';
import { createWatermarkActivities } from './watermarks';

export interface ActivityDeps {
  s3: S3Client;
  s3control: S3ControlClient;
}

/** Every activity of the worker, built from its clients (passed in, never built here). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createConnectivityActivities(deps),
    ...createCampaignFolderActivities(deps),
    ...createManifestActivities(deps),
    ...createJobActivities(deps),
    ...createRoundActivities(deps),
    ...createCampaignReportActivities(deps),
    ...createWatermarkActivities(deps),
    ...createLargeCopyActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
