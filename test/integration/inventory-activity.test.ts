/**
 * The campaign's manifest activity (`buildCampaignManifests`, registered by the project's worker wiring) inside a real
 * Temporal activity on the dev server, called with the campaign's activity options and the input a campaign derives
 * from its spec (activity-workflows.ts): a worker crash in the middle (simulated by an S3 failure the activity does not
 * survive) is retried, resumes from the heartbeat details without redoing finished files and produces the same
 * manifests as an uninterrupted build; a cancelled build stops and aborts its uploads.
 */
import path from 'node:path';

import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { bundleWorkflowCode, type ActivityInterceptorsFactory } from '@temporalio/worker';

import type { ManifestProgress } from '../../src/inventory';
import type { BuildCampaignManifestsResult } from '../../src/shared/activity-types';
import type { CampaignSpecInput } from '../../src/shared/campaign-spec';
import { crashingS3, s3Client, stackEndpoints, uniqueName, waitFor, withBucket } from '../helpers';
import { uploadInventory, type InventoryRow } from '../inventory-fixtures';
import { randomAccount, testSpec, withCampaignWorker, type CampaignHarness } from '../support/campaign';
import { HoldProxy } from '../support/hold-proxy';
import { activityEnd, pendingActivity } from '../support/activity-history';
import type { campaignManifestsWorkflow } from './activity-workflows';

async function bodies(s3: S3Client, bucket: string, keys: string[]): Promise<string[]> {
  return Promise.all(
    keys.map(
      async (key) =>
        (await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString()) ?? '',
    ),
  );
}

/** Long keys: about 11 MB of manifest rows per 50,000, so shards span several 8 MiB parts. */
function files(count: number, perFile: number): InventoryRow[][] {
  const pad = 'y'.repeat(180);
  return Array.from({ length: count }, (_, f) =>
    Array.from({ length: perFile }, (_, i) => ({
      Bucket: 'src',
      Key: `f${f}/${pad}/k ${String(i).padStart(6, '0')}`,
      Size: i,
      StorageClass: i % 5 === 0 ? 'STANDARD' : 'GLACIER',
    })),
  );
}

let workflowBundle: Awaited<ReturnType<typeof bundleWorkflowCode>>;
beforeAll(async () => {
  workflowBundle = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'activity-workflows.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never,
  });
});

/** A campaign spec whose source is the inventory at `manifestKey`; its folder is `campaigns/<workflow id>/`. */
function inventorySpec(bucket: string, manifestKey: string, over: Partial<CampaignSpecInput>): CampaignSpecInput {
  return testSpec({ accountId: randomAccount() }, bucket, {
    source: { type: 'inventory', manifest: `s3://${bucket}/${manifestKey}` },
    ...over,
  });
}

/** Builds the manifests of a campaign `workflowId` of `spec` in a worker wired as the product's, with `s3`. */
function buildManifests(
  spec: CampaignSpecInput,
  workflowId: string,
  worker: { s3?: S3Client; interceptors?: ActivityInterceptorsFactory[] } = {},
): Promise<BuildCampaignManifestsResult> {
  return withCampaignWorker(
    (h: CampaignHarness) =>
      h.client.workflow.execute<typeof campaignManifestsWorkflow>('campaignManifestsWorkflow', {
        taskQueue: h.taskQueue,
        workflowId,
        args: [spec],
      }),
    { s3: worker.s3, workerOptions: { workflowBundle, interceptors: { activity: worker.interceptors ?? [] } } },
  );
}

describe('the campaign manifest activity in a Temporal worker', () => {
  test('a retried activity resumes from its heartbeat and writes the same manifests as an uninterrupted build', async () => {
    await withBucket(async (bucket, s3) => {
      const inv = await uploadInventory(s3, bucket, {
        schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
        files: files(6, 12_000),
      });
      const dataFiles = [...inv.objects.keys()].filter((k) => k.includes('/data/')).sort();
      const spec = inventorySpec(bucket, inv.manifestKey, {
        maxObjectsPerJob: 50_000,
        filter: { storageClasses: ['GLACIER'] },
      });
      const cleanId = uniqueName('inventory-clean');
      const clean = await buildManifests(spec, cleanId);
      expect(clean.manifests.map((m) => m.rows)).toEqual([50_000, 7_600]);
      expect(clean.manifests[0]!.etag).toMatch(/-2$/);
      expect(clean.manifests.map((m) => m.key)).toEqual([
        `campaigns/${cleanId}/manifests/round-0/manifest-00001.csv`,
        `campaigns/${cleanId}/manifests/round-0/manifest-00002.csv`,
      ]);

      // Attempt 1 dies at its 2nd part upload: the 1st part (rows of files 0-4) is durable, the rest is not.
      const worker = crashingS3(2, { commands: ['UploadPartCommand'] });
      /** What each attempt asked S3 for: data files read, manifest parts uploaded. */
      const calls: Array<{ attempt: number; command: string; key: string; part?: number }> = [];
      worker.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { Key?: string; PartNumber?: number };
          const command = String(context.commandName);
          if (command === 'GetObjectCommand' || command === 'UploadPartCommand') {
            calls.push({
              attempt: Context.current().info.attempt,
              command,
              key: input.Key ?? '',
              part: input.PartNumber,
            });
          }
          return next(args);
        },
        { step: 'initialize', name: 'recordAttempts', priority: 'high' },
      );
      const attempts: Array<{ attempt: number; heartbeatDetails: unknown }> = [];
      const watchAttempts: ActivityInterceptorsFactory = (ctx) => ({
        inbound: {
          execute: (input, next) => {
            attempts.push({ attempt: ctx.info.attempt, heartbeatDetails: ctx.info.heartbeatDetails });
            return next(input);
          },
        },
      });
      let resumed: BuildCampaignManifestsResult;
      try {
        resumed = await buildManifests(spec, uniqueName('inventory-resumed'), {
          s3: worker,
          interceptors: [watchAttempts],
        });
      } finally {
        worker.destroy();
      }

      // The second attempt started from the first one's last heartbeat: inside a data file past the first, after the
      // rows already durable in the part that was uploaded.
      expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
      expect(attempts[0]!.heartbeatDetails).toBeUndefined();
      const progress = attempts[1]!.heartbeatDetails as ManifestProgress;
      expect(progress.filesTotal).toBe(6);
      expect(progress.filesDone).toBeGreaterThan(0);
      expect(progress.resume.file).toBeGreaterThan(0);
      expect(progress.resume.skipRows).toBeGreaterThan(0);
      expect(progress.resume.shards[0]!.parts).toHaveLength(1);
      // It did not redo finished work: it read only the files from its resume point on, and uploaded no part again.
      const read = (attempt: number) =>
        calls.filter((c) => c.attempt === attempt && c.command === 'GetObjectCommand' && c.key.includes('/data/'));
      expect(read(1).map((c) => c.key)).toEqual(dataFiles);
      expect(read(2).map((c) => c.key)).toEqual(dataFiles.slice(progress.resume.file));
      const parts = (attempt: number) =>
        calls
          .filter((c) => c.attempt === attempt && c.command === 'UploadPartCommand')
          .map((c) => `${path.basename(c.key)}#${c.part}`);
      expect(parts(1)).toEqual(['manifest-00001.csv#1', 'manifest-00001.csv#2']);
      expect(parts(2)).toEqual(['manifest-00001.csv#2', 'manifest-00002.csv#1']);

      // And it wrote what the uninterrupted build wrote, byte for byte, and counted the same.
      expect(resumed.stats).toEqual(clean.stats);
      expect(resumed.estimate).toEqual(clean.estimate);
      expect(resumed.manifests.map((m) => [m.rows, m.etag])).toEqual(clean.manifests.map((m) => [m.rows, m.etag]));
      expect(
        await bodies(
          s3,
          bucket,
          resumed.manifests.map((m) => m.key),
        ),
      ).toEqual(
        await bodies(
          s3,
          bucket,
          clean.manifests.map((m) => m.key),
        ),
      );
      const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      expect(uploads.Uploads ?? []).toEqual([]);
    });
  });

  test('a cancelled activity stops and aborts its uploads', async () => {
    await withBucket(async (bucket, s3) => {
      const inv = await uploadInventory(s3, bucket, {
        schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
        files: files(6, 12_000),
      });
      const workflowId = uniqueName('inventory-cancel');
      const folder = `campaigns/${workflowId}/`;
      // The worker's network stalls on the first manifest part: the build cannot end until it is cancelled.
      const proxy = await HoldProxy.start(stackEndpoints().s3Endpoint);
      proxy.hold({ name: 'part', match: (r) => r.method === 'PUT' && r.url.includes('partNumber=1') });
      const worker = s3Client(proxy.url);
      try {
        await withCampaignWorker(
          async (h) => {
            const handle = await h.client.workflow.start<typeof campaignManifestsWorkflow>(
              'campaignManifestsWorkflow',
              {
                taskQueue: h.taskQueue,
                workflowId,
                args: [inventorySpec(bucket, inv.manifestKey, {})],
              },
            );
            await proxy.waitForHold('part');
            // The moment: an upload is open and the activity has heartbeated its progress to the server.
            await waitFor(
              'a heartbeat with progress',
              async () => (await pendingActivity(handle, 'buildCampaignManifests'))?.heartbeatDetails,
              (d) => ((d as ManifestProgress | undefined)?.filesDone ?? 0) > 0,
            );
            const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: folder }));
            expect((open.Uploads ?? []).map((u) => path.basename(u.Key!))).toEqual(['manifest-00001.csv']);

            const cancelledAt = Date.now();
            await handle.cancel();
            const err = await handle.result().then(
              () => undefined,
              (e: unknown) => e,
            );
            // Cancellation reaches an activity only in a heartbeat's answer: it must not wait out a long throttle.
            expect(Date.now() - cancelledAt).toBeLessThan(30_000);
            expect(err).toBeInstanceOf(WorkflowFailedError);
            expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
            // The activity itself answered the cancel (it did not time out or finish): ActivityTaskCanceled.
            expect(await activityEnd(handle, 'buildCampaignManifests')).toBe('cancelled');
          },
          { s3: worker, workerOptions: { workflowBundle } },
        );
      } finally {
        worker.destroy();
        await proxy.close();
      }
      const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: folder }));
      const objects = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: folder }));
      expect({ uploads: uploads.Uploads ?? [], objects: objects.Contents ?? [] }).toEqual({ uploads: [], objects: [] });
    });
  });
});
