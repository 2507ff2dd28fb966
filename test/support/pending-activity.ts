/**
 * What the Temporal server knows of a workflow's running activity (`describe()`'s pending activities): its attempt and
 * the details of the last heartbeat that reached the server, decoded. A test reads it to prove that an activity was
 * at a given point (and had heartbeated its progress there) when the test cancelled or killed something.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';

export interface PendingActivity {
  attempt: number;
  /** The last heartbeat's first detail as the activity sent it; undefined before the first heartbeat arrived. */
  heartbeatDetails: unknown;
}

/** The pending activity of type `activityType`, or undefined when none is pending. */
export async function pendingActivity(
  handle: WorkflowHandle,
  activityType: string,
): Promise<PendingActivity | undefined> {
  const { raw } = await handle.describe();
  const pending = raw.pendingActivities?.find((a) => a.activityType?.name === activityType);
  if (!pending) return undefined;
  const payload = pending.heartbeatDetails?.payloads?.[0];
  return {
    attempt: pending.attempt ?? 0,
    heartbeatDetails: payload ? defaultPayloadConverter.fromPayload(payload as Payload) : undefined,
  };
}
