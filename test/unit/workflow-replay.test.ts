/**
 * Replays the recorded campaign histories (test/fixtures/histories/) with the current workflow code. Campaigns run
 * for days, so a worker of this release picks up campaigns that an earlier release started: every change to the
 * workflow's commands must sit behind `patched()`, and every release's fixtures must keep replaying. A failure here
 * is a nondeterminism error that would stall those campaigns.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { temporal } from '@temporalio/proto';
import { Worker, type ReplayResult } from '@temporalio/worker';

import { quietTemporalRuntime, workflowBundle } from '../helpers';
import { fixtureFromJson } from '../support/histories';

const DIR = path.join(__dirname, '..', 'fixtures', 'histories');
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
/** Events that end a run: a fixture cut short would replay fine and prove nothing. */
const { EventType } = temporal.api.enums.v1;
const CLOSING_EVENTS = new Set([
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
]);

const fixtures = FILES.map((f) => fixtureFromJson(JSON.parse(readFileSync(path.join(DIR, f), 'utf8'))));
const results: ReplayResult[] = [];

beforeAll(async () => {
  quietTemporalRuntime();
  // One replay worker for all: it replays the histories one after another and yields their results in that order.
  const replay = Worker.runReplayHistories(
    { workflowBundle: await workflowBundle(), replayName: 'workflow-replay-test' },
    fixtures,
  );
  for await (const result of replay) results.push(result);
});

test('fixtures of the first release and of the current code are there', () => {
  expect(FILES.some((f) => f.startsWith('v0.1-17858ff-'))).toBe(true);
  expect(FILES.some((f) => f.startsWith('current-'))).toBe(true);
});

test.each(FILES.map((file, i) => [file, i] as const))('%s replays with the current workflow code', (_file, i) => {
  const { workflowId, history } = fixtures[i]!;
  const events = history.events ?? [];
  expect(CLOSING_EVENTS).toContain(events[events.length - 1]?.eventType);
  expect(results).toHaveLength(FILES.length);
  expect(results[i]?.workflowId).toBe(workflowId);
  expect(results[i]?.error).toBeUndefined();
});
