/**
 * Test-only workflows that each run one campaign activity exactly as the campaign workflow runs it: with its activity
 * options (`manifestCalls`, `reportCalls`: timeouts, heartbeat timeout, retry policy, cancellation type) and, for the
 * manifests, the input the campaign derives from its spec. The worker registers the project's own activities
 * (`createWorker`). Bundled by the activity tests.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';

import type { Activities } from '../../src/activities';
import type { AnalyzeRoundInput, BuildCampaignManifestsResult } from '../../src/shared/activity-types';
import type { RoundAnalysis } from '../../src/shared/campaign';
import { parseCampaignSpec, type CampaignSpecInput } from '../../src/shared/campaign-spec';
import { manifestBuildInput, manifestCalls, reportCalls } from '../../src/workflows/campaign';

const { buildCampaignManifests } = proxyActivities<Activities>(manifestCalls);
const { analyzeRound } = proxyActivities<Activities>(reportCalls);

/** The first step of a campaign of `spec` whose id is this workflow's id: its manifests, in its folder. */
export async function campaignManifestsWorkflow(spec: CampaignSpecInput): Promise<BuildCampaignManifestsResult> {
  return await buildCampaignManifests(manifestBuildInput(parseCampaignSpec(spec), workflowInfo().workflowId));
}

/** One round's analysis, as a campaign asks for it after the round's jobs ended. */
export async function analyzeRoundWorkflow(input: AnalyzeRoundInput): Promise<RoundAnalysis> {
  return await analyzeRound(input);
}
