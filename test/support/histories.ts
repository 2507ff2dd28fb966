/**
 * Workflow histories as JSON files (the replay fixtures), in the format of the SDK's `historyToJSON`, which is also
 * what the Web UI downloads and `temporal workflow show -o json` prints.
 *
 * A fixture also names its workflow id (`workflowId`, next to `events`): a history does not hold it, and the
 * workflow reads it (it names the campaign's folder), so a replay under another id need not take the same path.
 */
import type { temporal } from '@temporalio/proto';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';

export type History = temporal.api.history.v1.IHistory;

/** A history (as `WorkflowHandle.fetchHistory()` returns it) as proto3 JSON. */
export function historyToJson(history: History): unknown {
  return JSON.parse(historyToJSON(history)) as unknown;
}

/** A fixture file's content: the workflow id it ran under and its history, ready for `runReplayHistories`. */
export function fixtureFromJson(json: unknown): { workflowId: string; history: History } {
  const workflowId = (json as { workflowId?: unknown }).workflowId;
  if (typeof workflowId !== 'string') throw new TypeError('a history fixture needs its "workflowId"');
  return { workflowId, history: historyFromJSON(json) };
}
