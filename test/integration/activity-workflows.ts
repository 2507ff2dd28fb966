/**
 * A test-only workflow that runs one inventory build activity with the options a campaign would use: heartbeats,
 * retries after a failure, cancellation. Bundled by inventory-activity.test.ts.
 */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';

import type { BuildManifestsInput, ManifestSummary } from '../../src/inventory/types';

export interface InventoryTestActivities {
  buildInventoryManifests(input: BuildManifestsInput): Promise<ManifestSummary & { attempt: number }>;
}

const { buildInventoryManifests } = proxyActivities<InventoryTestActivities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: '2s',
  retry: { initialInterval: '100ms', maximumAttempts: 3 },
  // The workflow ends only after the activity has aborted its uploads.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

export async function inventoryManifestsWorkflow(
  input: BuildManifestsInput,
): Promise<ManifestSummary & { attempt: number }> {
  return await buildInventoryManifests(input);
}
