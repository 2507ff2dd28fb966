/**
 * Workflow histories as JSON files (the replay fixtures), in the format of the SDK's `historyToJSON`.
 *
 * Why not `historyToJSON` / `historyFromJSON` from `@temporalio/common/lib/proto-utils` themselves: with this lock
 * file, npm installs two copies of protobufjs 8 (one under `@temporalio/common`, one under `@temporalio/proto`),
 * because the top level holds grpc's protobufjs 7. The SDK functions take `toJson` / `fromJson` from common's copy
 * and the History type from proto's, and its `instanceof Type` check throws "type must be a Type" both ways
 * (and so does `Worker.runReplayHistory` given JSON). Here both come from the copy `@temporalio/proto` uses.
 *
 * A fixture also names its workflow id (`workflowId`, next to `events`): a history does not hold it, and the
 * workflow reads it (it names the campaign's folder), so a replay under another id need not take the same path.
 */
import path from 'node:path';

import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

export type History = proto.temporal.api.history.v1.IHistory;

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }): unknown;
}

// `require`, not `import`: the module must be the one next to @temporalio/proto, resolved at run time.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const protojson = require(
  require.resolve('protobufjs/ext/protojson', { paths: [path.dirname(require.resolve('@temporalio/proto'))] }),
) as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType(
  'temporal.api.history.v1.History',
);

/** A history (as `WorkflowHandle.fetchHistory()` returns it) as proto3 JSON, like the SDK's `historyToJSON`. */
export function historyToJson(history: History): unknown {
  return protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history));
}

/** A history from its proto3 JSON, ready for `Worker.runReplayHistories`. Unknown fields (newer servers) are kept out. */
export function historyFromJson(json: unknown): History {
  return protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History;
}

/** A fixture file's content: the workflow id it ran under and its history, ready for `runReplayHistories`. */
export function fixtureFromJson(json: unknown): { workflowId: string; history: History } {
  const workflowId = (json as { workflowId?: unknown }).workflowId;
  if (typeof workflowId !== 'string') throw new TypeError('a history fixture needs its "workflowId"');
  return { workflowId, history: historyFromJson(json) };
}
