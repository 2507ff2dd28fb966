import { execFile, spawn } from 'node:child_process';

import { CreateJobCommand } from '@aws-sdk/client-s3-control';
import { NativeConnection } from '@temporalio/worker';

import { loadConfig } from '../../src/config';
import {
  checkSearchAttributes,
  missingSearchAttributes,
  registerSearchAttributesCommand,
  type SearchAttributeCheck,
} from '../../src/temporal-setup';
import { SEARCH_ATTRIBUTES } from '../../src/stack';
import { canConnect, freePort } from '../../src/stack/process';
import { findTemporalCli } from '../../src/stack/tools';
import { localAwsEnv, runCli } from '../support/cli';
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

  test('a namespace registered before the restore-and-copy attributes, one of them by hand as Int: the worker refuses to start and prints the commands for exactly those; after them, the check passes', async () => {
    // A Temporal server of its own whose namespace has only the first six campaign attributes, as one set up by an
    // earlier release.
    const registered = [
      'CampaignName',
      'CampaignOperation',
      'CampaignPhase',
      'CampaignBucket',
      'CampaignObjects',
      'CampaignFailedTasks',
    ]
      .flatMap((n) => ['--search-attribute', `${n}=${SEARCH_ATTRIBUTES[n]}`])
      // And one registered by hand under another type: as fatal to an upsert as a missing one.
      .concat('--search-attribute', 'CampaignCopied=Int');
    const cli = await findTemporalCli();
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const server = spawn(
      cli,
      [
        'server',
        'start-dev',
        '--headless',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--log-level',
        'error',
        ...registered,
      ],
      { stdio: 'ignore' },
    );
    try {
      const deadline = Date.now() + 60_000;
      while (!(await canConnect('127.0.0.1', port)) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 250));
      const temporal = loadConfig({ TEMPORAL_ADDRESS: address }).temporal;
      const missing = ['CampaignRestored', 'CampaignExpiringSoon'];
      // The frontend accepts connections a little before it answers: ask until it does.
      let found: SearchAttributeCheck | undefined;
      while (!found && Date.now() < deadline) found = await checkSearchAttributes(temporal).catch(() => undefined);
      expect(found).toEqual({
        missing,
        mistyped: [{ name: 'CampaignCopied', registered: 'Int', expected: 'Double' }],
      });

      const worker = await runCli(
        ['worker', '--temporal-address', address, '--task-queue', uniqueName('tq')],
        localAwsEnv(),
      );
      expect(worker.code).not.toBe(0);
      const command = registerSearchAttributesCommand(missing, 'default');
      expect(command).toBe(
        'temporal operator search-attribute create --namespace default --name CampaignRestored --type Double ' +
          '--name CampaignExpiringSoon --type Double',
      );
      expect(worker.stderr).toContain(`lacks the search attributes ${missing.join(', ')}`);
      expect(worker.stderr).toContain(command);
      const fixTypes = [
        'temporal operator search-attribute remove --namespace default --name CampaignCopied',
        'temporal operator search-attribute create --namespace default --name CampaignCopied --type Double',
      ];
      expect(worker.stderr).toContain('has CampaignCopied as Int (campaigns write Double)');
      for (const line of fixTypes) expect(worker.stderr).toContain(line);

      // The printed commands, run as printed, are all it takes.
      for (const line of [...fixTypes, command]) {
        const [, ...args] = line.split(' ');
        await new Promise<void>((resolve, reject) =>
          // remove asks for confirmation at a terminal; --yes answers it here.
          execFile(
            cli,
            [...args, '--address', address, ...(args[2] === 'remove' ? ['--yes'] : [])],
            (err, _out, stderr) => (err ? reject(new Error(`${line}: ${stderr}`)) : resolve()),
          ),
        );
      }
      expect(await checkSearchAttributes(temporal)).toEqual({ missing: [], mistyped: [] });
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
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
