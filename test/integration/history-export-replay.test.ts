/**
 * What an operator does while debugging a stuck campaign: export its history with the Temporal CLI
 * (`temporal workflow show --output json`, the same JSON the Web UI downloads), load it with the SDK's
 * `historyFromJSON` and replay it against the current workflow code. This failed in this install ("type must be a
 * Type") while npm kept several copies of protobufjs 8; the project now pins one.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';

import { findTemporalCli } from '../../src/stack/tools';
import { stackEndpoints, uniqueName, withBucket, workflowBundle } from '../helpers';
import { putObjects, startCampaign, testSpec, withCampaignWorker } from '../support/campaign';

const execFileAsync = promisify(execFile);

test('a history exported with `temporal workflow show --output json` loads with historyFromJSON and replays', async () => {
  await withBucket(async (bucket, s3) => {
    await putObjects(s3, bucket, ['a', 'b']);
    const workflowId = uniqueName('wf-export');
    await withCampaignWorker(async (h) => {
      const spec = testSpec(h, bucket, {
        source: { type: 'keys', bucket, keys: ['a', 'b'] },
        approval: { required: false },
      });
      expect(await (await startCampaign(h, workflowId, spec)).result()).toMatchObject({ outcome: 'Succeeded' });
    });
    const e = stackEndpoints();
    const { stdout } = await execFileAsync(
      await findTemporalCli(),
      ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', e.temporalAddress],
      { maxBuffer: 64 << 20 },
    );
    const history = historyFromJSON(JSON.parse(stdout));
    expect(history.events?.length).toBeGreaterThan(10);
    // Throws a DeterminismViolationError (or any replay failure) if the code could not take the recorded path.
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId);
  });
});
