import { proxyActivities } from '@temporalio/workflow';

import type { Activities } from '../activities';
import type { CheckAwsAccessInput, CheckAwsAccessResult } from '../shared/activity-types';

/** One quick read-only call each to S3 and S3 Control; a wrong endpoint or credentials should fail fast. */
const connectivityCalls = {
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3, initialInterval: '1s' },
} as const;

const { checkAwsAccess } = proxyActivities<Activities>(connectivityCalls);

/**
 * Runs on the campaign worker's task queue and proves the worker's wiring end to end: Temporal reaches the worker,
 * the worker reaches S3 and S3 Control. `s3-campaigns dev` runs it once at start.
 */
export async function connectivityCheckWorkflow(input: CheckAwsAccessInput): Promise<CheckAwsAccessResult> {
  return await checkAwsAccess(input);
}
