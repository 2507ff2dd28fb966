import { readFileSync } from 'node:fs';
import path from 'node:path';

import { GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeJobCommand } from '@aws-sdk/client-s3-control';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';

import {
  approveSignal,
  approveUpdate,
  rejectUpdate,
  CAMPAIGN_WORKFLOW_TYPE,
  type CampaignResult,
} from '../../src/shared/campaign';
import { writeInventoryReport } from '../../src/demo/inventory-writer';
import { controlClient, uniqueName, withBucket, workflowBundle } from '../helpers';
import {
  getText,
  listJobs,
  manifestKeys,
  putObjects,
  testSpec,
  waitForPhase,
  withCampaignWorker,
} from '../support/campaign';

/** Keys with the characters manifests must encode. */
const AWKWARD_KEYS = [
  'plain.txt',
  'with space.txt',
  'plus+sign.txt',
  'comma,key.txt',
  'quote"key.txt',
  'ünïcödé/ключ.txt',
  '100%.txt',
];

describe('campaign workflow: happy paths and approvals', () => {
  test('put-tags: approve through the Update; every object tagged; report written with the approver', async () => {
    await withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, AWKWARD_KEYS);
      await withCampaignWorker(async (h) => {
        const spec = testSpec(h, bucket, {
          source: { type: 'keys', bucket, keys: AWKWARD_KEYS },
          operation: { type: 'put-tags', tags: { project: 'atlas', stage: 'done' } },
        });
        const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
          taskQueue: h.taskQueue,
          workflowId: uniqueName('wf-tags'),
          args: [spec],
        });
        const waiting = await waitForPhase(handle, 'AwaitingApproval');
        expect(waiting.awaitingApproval?.objects).toBe(AWKWARD_KEYS.length);
        const [jobId] = waiting.awaitingApproval!.jobIds;
        // The engine holds the job, Suspended, until we approve.
        const held = await controlClient().send(new DescribeJobCommand({ AccountId: h.accountId, JobId: jobId }));
        expect(held.Job?.Status).toBe('Suspended');
        const decision = await handle.executeUpdate(approveUpdate, {
          args: [{ by: 'alice', note: 'looks right', jobId }],
        });
        expect(decision).toEqual({ decision: 'approved', jobIds: [jobId] });
        const result = (await handle.result()) as CampaignResult;
        expect(result).toMatchObject({
          outcome: 'Succeeded',
          objects: AWKWARD_KEYS.length,
          succeeded: AWKWARD_KEYS.length,
          failed: 0,
          jobs: 1,
        });
        for (const key of AWKWARD_KEYS) {
          const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
          expect(tags.TagSet?.sort((a, b) => a.Key!.localeCompare(b.Key!))).toEqual([
            { Key: 'project', Value: 'atlas' },
            { Key: 'stage', Value: 'done' },
          ]);
        }
        const report = JSON.parse(await getText(s3, bucket, result.report!.replace(`s3://${bucket}/`, '')));
        expect(report.outcome).toBe('Succeeded');
        expect(report.jobs[0].approval).toMatchObject({
          decision: 'approved',
          by: 'alice',
          note: 'looks right',
          via: 'update',
        });
        expect(report.jobs[0].jobId).toBe(jobId);
        expect(await getText(s3, bucket, result.failedObjects!.replace(`s3://${bucket}/`, ''))).toBe(
          'bucket,key,versionId,errorCode,httpStatus,message,round\n',
        );
        // The history replays against the current workflow code: it is deterministic.
        await Worker.runReplayHistory(
          { workflowBundle: await workflowBundle() },
          await handle.fetchHistory(),
          handle.workflowId,
        );
      });
    });
  });

  test('restore from a CSV manifest: approve through the Signal; the restore is initiated on each Glacier object', async () => {
    await withBucket(async (bucket, s3) => {
      const keys = ['cold/a.bin', 'cold/b c.bin', 'cold/d+e.bin'];
      await putObjects(s3, bucket, keys, 'GLACIER');
      const manifest = keys.map((k) => `${bucket},${k.split('/').map(encodeURIComponent).join('/')}`).join('\n') + '\n';
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'input/manifest.csv', Body: manifest }));
      await withCampaignWorker(async (h) => {
        const spec = testSpec(h, bucket, {
          source: { type: 'csv', manifest: `s3://${bucket}/input/manifest.csv` },
          operation: { type: 'restore', tier: 'STANDARD', expirationDays: 3 },
        });
        const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
          taskQueue: h.taskQueue,
          workflowId: uniqueName('wf-restore'),
          args: [spec],
        });
        await waitForPhase(handle, 'AwaitingApproval');
        await handle.signal(approveSignal, { by: 'ops-oncall', note: 'from the UI' });
        const result = (await handle.result()) as CampaignResult;
        expect(result).toMatchObject({ outcome: 'Succeeded', objects: 3, succeeded: 3, failed: 0 });
        for (const key of keys) {
          const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
          expect(head.Restore).toMatch(/ongoing-request="(true|false)"/);
        }
        const report = JSON.parse(await getText(s3, bucket, result.report!.replace(`s3://${bucket}/`, '')));
        expect(report.jobs[0].approval).toMatchObject({ decision: 'approved', by: 'ops-oncall', via: 'signal' });
      });
    });
  });

  test('copy with prefix and storage class, no approval required, sharded into several jobs', async () => {
    await withBucket(async (target) => {
      await withBucket(async (bucket, s3) => {
        const keys = ['a.txt', 'b.txt', 'c.txt', 'd.txt', 'e.txt'];
        await putObjects(s3, bucket, keys);
        await withCampaignWorker(async (h) => {
          const spec = testSpec(h, bucket, {
            source: { type: 'keys', bucket, keys },
            operation: { type: 'copy', targetBucket: target, targetKeyPrefix: 'dr/', storageClass: 'STANDARD_IA' },
            approval: { required: false },
            maxObjectsPerJob: 2,
          });
          const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
            taskQueue: h.taskQueue,
            workflowId: uniqueName('wf-copy'),
            args: [spec],
          });
          const result = (await handle.result()) as CampaignResult;
          expect(result).toMatchObject({ outcome: 'Succeeded', objects: 5, succeeded: 5, jobs: 3 });
          expect((await listJobs(h.accountId)).length).toBe(3);
          for (const key of keys) {
            const head = await s3.send(new HeadObjectCommand({ Bucket: target, Key: `dr/${key}` }));
            expect(head.StorageClass).toBe('STANDARD_IA');
          }
          const report = JSON.parse(await getText(s3, bucket, result.report!.replace(`s3://${bucket}/`, '')));
          expect(report.jobs.map((j: { manifest: { rows: number } }) => j.manifest.rows)).toEqual([2, 2, 1]);
          expect(
            report.jobs.every((j: { approval: { decision: string } }) => j.approval.decision === 'auto-approved'),
          ).toBe(true);
        });
      });
    });
  });

  test('inventory source with a filter: only the selected objects get a job, stats reach the approver', async () => {
    await withBucket(async (bucket, s3) => {
      const objects = [
        { key: 'keep/a.bin', size: 100, storageClass: 'GLACIER' },
        { key: 'keep/b c.bin', size: 250, storageClass: 'DEEP_ARCHIVE' },
        { key: 'keep/standard.bin', size: 10, storageClass: 'STANDARD' },
        { key: 'other/d.bin', size: 40, storageClass: 'GLACIER' },
      ];
      await putObjects(
        s3,
        bucket,
        objects.map((o) => o.key),
      );
      const manifest = await writeInventoryReport({
        s3,
        sourceBucket: bucket,
        destinationBucket: bucket,
        prefix: 'inv',
        rows: objects.map((o) => ({ ...o, lastModified: new Date('2024-01-01T00:00:00Z') })),
      });
      await withCampaignWorker(async (h) => {
        const spec = testSpec(h, bucket, {
          source: { type: 'inventory', manifest },
          filter: { keyPrefixes: ['keep/'], storageClasses: ['GLACIER', 'DEEP_ARCHIVE'] },
        });
        const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
          taskQueue: h.taskQueue,
          workflowId: uniqueName('wf-inventory'),
          args: [spec],
        });
        const waiting = await waitForPhase(handle, 'AwaitingApproval');
        expect(waiting.stats).toMatchObject({
          rowsScanned: 4,
          rowsSelected: 2,
          bytesByStorageClass: { GLACIER: 100, DEEP_ARCHIVE: 250 },
        });
        // The approver sees the estimate: one job, two objects, priced per object and per job at least.
        expect(waiting.estimate).toMatchObject({ operation: 'put-tags', objects: 2, jobs: 1 });
        expect(waiting.estimate!.totalUsd).toBeGreaterThanOrEqual(0.25);
        const job = waiting.jobs[0]!;
        expect((await manifestKeys(s3, job.manifest.bucket, job.manifest.key)).sort()).toEqual([
          'keep/a.bin',
          'keep/b c.bin',
        ]);
        await handle.executeUpdate(approveUpdate, { args: [{ by: 'dana' }] });
        expect(await handle.result()).toMatchObject({ outcome: 'Succeeded', objects: 2, succeeded: 2 });
        const untouched = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'other/d.bin' }));
        expect(untouched.TagSet).toEqual([]);
      });
    });
  });

  test('reject cancels the job and ends Rejected; the validator refuses decisions that do not apply', async () => {
    await withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, ['k1']);
      await withCampaignWorker(async (h) => {
        const spec = testSpec(h, bucket, { source: { type: 'keys', bucket, keys: ['k1'] } });
        const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
          taskQueue: h.taskQueue,
          workflowId: uniqueName('wf-reject'),
          args: [spec],
        });
        const waiting = await waitForPhase(handle, 'AwaitingApproval');
        const jobId = waiting.awaitingApproval!.jobIds[0]!;
        await expect(
          handle.executeUpdate(approveUpdate, { args: [{ by: 'eve', jobId: 'not-the-job' }] }),
        ).rejects.toThrow(WorkflowUpdateFailedError);
        await expect(
          handle.executeUpdate(approveUpdate, { args: [{ by: 'eve', manifestEtag: 'ffff' }] }),
        ).rejects.toThrow(WorkflowUpdateFailedError);
        await handle.executeUpdate(rejectUpdate, { args: [{ by: 'bob', note: 'too expensive' }] });
        const result = (await handle.result()) as CampaignResult;
        expect(result.outcome).toBe('Rejected');
        expect(result.reason).toContain('too expensive');
        const job = await controlClient().send(new DescribeJobCommand({ AccountId: h.accountId, JobId: jobId }));
        expect(job.Job?.Status).toBe('Cancelled');
        const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'k1' }));
        expect(tags.TagSet).toEqual([]);
        // Nothing awaits approval any more: a late approval is refused, not applied.
        await expect(handle.executeUpdate(approveUpdate, { args: [{ by: 'late' }] })).rejects.toThrow(
          /workflow execution already completed/,
        );
      });
    });
  });

  test('approval timeout cancels the job and ends ApprovalExpired', async () => {
    await withBucket(async (bucket, s3) => {
      await putObjects(s3, bucket, ['k1']);
      await withCampaignWorker(async (h) => {
        const spec = testSpec(h, bucket, {
          source: { type: 'keys', bucket, keys: ['k1'] },
          approval: { timeout: '2s' },
        });
        const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
          taskQueue: h.taskQueue,
          workflowId: uniqueName('wf-expire'),
          args: [spec],
        });
        const result = (await handle.result()) as CampaignResult;
        expect(result.outcome).toBe('ApprovalExpired');
        const [job] = await listJobs(h.accountId);
        expect(job?.Status).toBe('Cancelled');
      });
    });
  });

  test('a source with no objects ends NothingToDo and creates no job', async () => {
    await withBucket(async (bucket, s3) => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'empty.csv', Body: '' }));
      await withCampaignWorker(async (h) => {
        const spec = testSpec(h, bucket, { source: { type: 'csv', manifest: `s3://${bucket}/empty.csv` } });
        const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
          taskQueue: h.taskQueue,
          workflowId: uniqueName('wf-empty'),
          args: [spec],
        });
        const result = (await handle.result()) as CampaignResult;
        expect(result).toMatchObject({ outcome: 'NothingToDo', objects: 0, jobs: 0 });
        expect(await listJobs(h.accountId)).toEqual([]);
      });
    });
  });

  test('an invalid spec fails the workflow at once with InvalidInput naming the field', async () => {
    await withCampaignWorker(async (h) => {
      const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
        taskQueue: h.taskQueue,
        workflowId: uniqueName('wf-invalid'),
        args: [{ name: 'x', accountId: 'nope' }],
      });
      await expect(handle.result()).rejects.toMatchObject({
        cause: { type: 'InvalidInput', message: expect.stringContaining('accountId must be 12 digits') },
      });
    });
  });
});

describe('the Temporal UI contract', () => {
  test('the documented restore example, typed as raw JSON into "Start workflow" and approved by signal, runs', async () => {
    await withBucket(async (bucket, s3) => {
      const objects = [
        { key: '2019/a.log', storageClass: 'GLACIER' },
        { key: '2019/b.log', storageClass: 'DEEP_ARCHIVE' },
        { key: '2019/c.log', storageClass: 'STANDARD' },
        { key: '2020/d.log', storageClass: 'GLACIER' },
      ];
      for (const o of objects)
        await s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: o.key, Body: 'x', StorageClass: o.storageClass as 'GLACIER' }),
        );
      await writeInventoryReport({
        s3,
        sourceBucket: bucket,
        destinationBucket: bucket,
        prefix: 'inventory',
        rows: objects.map((o) => ({ ...o, size: 1, lastModified: new Date() })),
      });
      await withCampaignWorker(async (h) => {
        // examples/restore.json as the README shows it, with this test's account and buckets put in.
        const text = readFileSync(path.join(__dirname, '..', '..', 'examples', 'restore.json'), 'utf8')
          .replaceAll('111122223333', h.accountId)
          .replace('s3://inventory-bucket/inventory/logs-bucket/daily/', `s3://${bucket}/inventory/${bucket}/daily/`)
          .replace('"ops-reports"', JSON.stringify(bucket));
        const handle = await h.client.workflow.start('campaignWorkflow', {
          taskQueue: h.taskQueue,
          workflowId: uniqueName('wf-ui'),
          // Only the poll interval is changed: the documented default (60s) is too slow for a test.
          args: [{ ...JSON.parse(text), pollInterval: '1s' }],
        });
        const waiting = await waitForPhase(handle, 'AwaitingApproval');
        expect(waiting.awaitingApproval?.objects).toBe(2);
        await handle.signal('approve', { by: 'ui-user', note: 'from the form' });
        expect(await handle.result()).toMatchObject({ outcome: 'Succeeded', objects: 2, succeeded: 2 });
      });
    });
  });
});
