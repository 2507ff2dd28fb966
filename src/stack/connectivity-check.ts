/**
 * The connectivity check `s3-campaigns dev` runs at start: one `connectivityCheckWorkflow` on the campaign worker's
 * task queue proves that Temporal reaches the worker and the worker reaches S3 and S3 Control. A passed check is then
 * deleted, and so are the ended checks of earlier starts: the Web UI's workflow list shows campaigns only. A failed
 * check stays, for the operator to read.
 */
import type { Client } from '@temporalio/client';

import type { CheckAwsAccessInput, CheckAwsAccessResult } from '../shared/activity-types';

export const CONNECTIVITY_CHECK_WORKFLOW_TYPE = 'connectivityCheckWorkflow';

/** The ended checks of earlier starts: a failed one is deleted too once a later check passed. */
const ENDED_CHECKS = `WorkflowType = "${CONNECTIVITY_CHECK_WORKFLOW_TYPE}" AND ExecutionStatus != "Running"`;

async function deleteExecution(client: Client, workflowId: string, runId?: string): Promise<void> {
  await client.workflowService.deleteWorkflowExecution({
    namespace: client.options.namespace,
    workflowExecution: { workflowId, runId },
  });
}

/** Runs the check and, once it passed, deletes it and every ended check before it. */
export async function checkWorkerConnectivity(
  client: Client,
  taskQueue: string,
  accountId: string,
): Promise<CheckAwsAccessResult> {
  const workflowId = `connectivity-check-${Date.now()}`;
  const result = await client.workflow.execute<(i: CheckAwsAccessInput) => Promise<CheckAwsAccessResult>>(
    CONNECTIVITY_CHECK_WORKFLOW_TYPE,
    { taskQueue, workflowId, args: [{ accountId }], workflowExecutionTimeout: '2m' },
  );
  await deleteExecution(client, workflowId);
  for await (const w of client.workflow.list({ query: ENDED_CHECKS })) {
    // Best effort: another `dev` on the same server may have deleted it first.
    await deleteExecution(client, w.workflowId, w.runId).catch(() => undefined);
  }
  return result;
}
