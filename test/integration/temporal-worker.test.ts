import { CreateJobCommand } from '@aws-sdk/client-s3-control';
import { NativeConnection } from '@temporalio/worker';

import { loadConfig } from '../../src/config';
import { missingSearchAttributes, registerSearchAttributesCommand } from '../../src/temporal-setup';
import { SEARCH_ATTRIBUTES } from '../../src/stack';
import { connectivityCheckWorkflow } from '../../src/workflows';
import { createWorker } from '../../src/worker';
import { workerEnv } from '../support/campaign';
import { jobInput, putManifest, uniqueAccountId } from '../support/engine';
import {
  controlClient,
  quietTemporalRuntime,
  stackEndpoints,
  temporalClient,
  uniqueName,
  withBucket,
  workflowBundle,
} from '../helpers';

describe('Temporal dev server + worker plumbing', () => {
  test('the dev server has the campaign search attributes registered', async () => {
    const { client, connection } = await temporalClient();
    try {
      const res = await connection.operatorService.listSearchAttributes({ namespace: client.options.namespace });
      const custom = res.customAttributes ?? {};
      expect(Object.keys(custom).sort()).toEqual(expect.arrayContaining(Object.keys(SEARCH_ATTRIBUTES)));
    } finally {
      await connection.close();
    }
  });

  test('the worker start check finds every campaign search attribute; the fix command names each missing one', async () => {
    const e = stackEndpoints();
    const temporal = loadConfig({ TEMPORAL_ADDRESS: e.temporalAddress }).temporal;
    expect(await missingSearchAttributes(temporal)).toEqual([]);
    // The dev server registers attributes for every namespace, so the missing case is checked on the command alone.
    expect(registerSearchAttributesCommand(['CampaignPhase', 'CampaignObjects'], 'prod')).toBe(
      'temporal operator search-attribute create --namespace prod --name CampaignPhase --type Keyword --name CampaignObjects --type Int',
    );
  });

  test('a worker built by createWorker runs a workflow whose activity reaches moto S3 and the local engine', async () => {
    const e = stackEndpoints();
    await withBucket(async (bucket, s3) => {
      const taskQueue = uniqueName('tq-plumbing');
      const config = loadConfig(workerEnv(taskQueue));
      quietTemporalRuntime();
      const connection = await NativeConnection.connect({ address: e.temporalAddress });
      const { worker } = await createWorker({
        config,
        connection,
        workerOptions: { workflowBundle: await workflowBundle() },
      });
      const { client, connection: clientConn } = await temporalClient();
      try {
        // An account of its own with two jobs in it (held for confirmation: they never run), so that the worker's
        // count can only be right if its S3 Control client reaches this engine and this account.
        const accountId = uniqueAccountId();
        const manifest = await putManifest(s3, bucket, ['k']);
        for (const description of ['plumbing 1', 'plumbing 2']) {
          await controlClient().send(
            new CreateJobCommand(jobInput({ accountId, manifest, confirmationRequired: true, description })),
          );
        }
        const result = await worker.runUntil(
          client.workflow.execute(connectivityCheckWorkflow, {
            taskQueue,
            workflowId: uniqueName('wf-plumbing'),
            args: [{ accountId }],
          }),
        );
        // The worker's S3 client lists this stack's buckets (at least the one made here: other tests add theirs),
        // and its S3 Control client finds exactly the two jobs of this account.
        expect(result.bucketCount).toBeGreaterThanOrEqual(1);
        expect(result.jobCount).toBe(2);
      } finally {
        await clientConn.close();
        await connection.close();
      }
    });
  });
});
