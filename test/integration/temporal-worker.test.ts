import { ListJobsCommand } from '@aws-sdk/client-s3-control';
import { NativeConnection } from '@temporalio/worker';

import { loadConfig } from '../../src/config';
import { missingSearchAttributes, registerSearchAttributesCommand } from '../../src/temporal-setup';
import { SEARCH_ATTRIBUTES } from '../../src/stack';
import { connectivityCheckWorkflow } from '../../src/workflows';
import { createWorker } from '../../src/worker';
import { workerEnv } from '../support/campaign';
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
    await withBucket(async (bucket) => {
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
        // An account of its own, so that jobs other tests create on the shared engine don't count here.
        const accountId = String(100000000000 + Math.floor(Math.random() * 899999999999));
        const expectedJobs = (
          await controlClient().send(new ListJobsCommand({ AccountId: accountId, MaxResults: 100 }))
        ).Jobs?.length;
        const result = await worker.runUntil(
          client.workflow.execute(connectivityCheckWorkflow, {
            taskQueue,
            workflowId: uniqueName('wf-plumbing'),
            args: [{ accountId }],
          }),
        );
        // The bucket this test created is visible through the worker's own S3 client.
        expect(result.bucketCount).toBeGreaterThanOrEqual(1);
        expect(result.jobCount).toBe(expectedJobs ?? 0);
        expect(bucket).toMatch(/^test-/);
      } finally {
        await clientConn.close();
        await connection.close();
      }
    });
  });
});
