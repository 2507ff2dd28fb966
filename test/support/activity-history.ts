/**
 * What the Temporal server knows of a workflow's activities: the running one's attempt and the details of the last
 * heartbeat that reached the server (`describe()`, decoded), and, from the history, whether the workflow asked an
 * activity to stop and how an activity ended. Tests read them to prove that an activity was at a given point (and had
 * heartbeated its progress there) when they cancelled or killed something, and what came of it.
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

/** Whether the workflow has asked an activity to stop (ActivityTaskCancelRequested). */
export async function activityCancelRequested(handle: WorkflowHandle): Promise<boolean> {
  const { events } = await handle.fetchHistory();
  return (events ?? []).some((e) => e.activityTaskCancelRequestedEventAttributes);
}

/**
 * How the last `activityType` activity of the workflow ended: `completed`, `cancelled` (it answered a cancel),
 * `failed` or `timed out` (its last attempt); undefined while it runs.
 */
export async function activityEnd(handle: WorkflowHandle, activityType: string): Promise<string | undefined> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType);
  const id = String(scheduled[scheduled.length - 1]?.eventId);
  for (const e of events) {
    const ends = {
      completed: e.activityTaskCompletedEventAttributes,
      cancelled: e.activityTaskCanceledEventAttributes,
      failed: e.activityTaskFailedEventAttributes,
      'timed out': e.activityTaskTimedOutEventAttributes,
    };
    for (const [how, a] of Object.entries(ends)) if (a && String(a.scheduledEventId) === id) return how;
  }
  return undefined;
}
