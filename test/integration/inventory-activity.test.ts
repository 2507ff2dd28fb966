/**
 * The build inside a real Temporal activity on the dev server: a worker crash in the middle (simulated by an S3
 * failure the activity does not survive) is retried, resumes from the heartbeat details and produces the same
 * manifests as an uninterrupted build; a cancelled activity aborts its uploads.
 */
import path from 'node:path';

import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';

import { buildManifests, type BuildManifestsInput, type ManifestProgress } from '../../src/inventory';
import {
  crashingS3,
  quietTemporalRuntime,
  s3Client,
  stackEndpoints,
  temporalClient,
  uniqueName,
  withBucket,
} from '../helpers';
import { uploadInventory, type InventoryRow } from '../inventory-fixtures';
import type { InventoryTestActivities, inventoryManifestsWorkflow } from './inventory-workflows';

const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

/** An S3 client on a slow network: every UploadPart takes a second longer, so a build outlives a heartbeat or two. */
function slowS3(): S3Client {
  const s3 = s3Client();
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'UploadPartCommand') await new Promise((r) => setTimeout(r, 1_000));
      return next(args);
    },
    { step: 'initialize', name: 'slowNetwork' },
  );
  return s3;
}

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

let bundle: Awaited<ReturnType<typeof bundleWorkflowCode>>;
beforeAll(async () => {
  quietTemporalRuntime();
  bundle = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'inventory-workflows.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never,
  });
});

async function runInWorker<T>(activities: InventoryTestActivities, fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = uniqueName('tq-inventory');
  const connection = await NativeConnection.connect({ address: stackEndpoints().temporalAddress });
  try {
    const worker = await Worker.create({ connection, taskQueue, workflowBundle: bundle, activities });
    return await worker.runUntil(fn(taskQueue));
  } finally {
    await connection.close();
  }
}

describe('inventory build as a Temporal activity', () => {
  test('a retried activity resumes from its heartbeat and writes the same manifests as an uninterrupted build', async () => {
    await withBucket(async (bucket, s3) => {
      const inv = await uploadInventory(s3, bucket, {
        schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
        files: files(6, 12_000),
      });
      const input = (prefix: string): BuildManifestsInput => ({
        inventory: `s3://${bucket}/${inv.manifestKey}`,
        output: `s3://${bucket}/${prefix}`,
        maxObjectsPerJob: 50_000,
        filter: { storageClasses: ['GLACIER'] },
        concurrency: 1,
      });
      const clean = await buildManifests(input('clean'), { s3, log: quiet });
      expect(clean.shards.map((s) => s.rows)).toEqual([50_000, 7_600]);
      expect(clean.shards[0]!.etag).toMatch(/-2$/);

      const heartbeats: ManifestProgress[] = [];
      const resumedFrom: unknown[] = [];
      const activities: InventoryTestActivities = {
        async buildInventoryManifests(activityInput) {
          const ctx = Context.current();
          // Attempt 1 dies at its 2nd part upload: the 1st part (rows of files 0-4) is durable, the rest is not.
          const client = ctx.info.attempt === 1 ? crashingS3(2, { commands: ['UploadPartCommand'] }) : s3Client();
          resumedFrom.push(ctx.info.heartbeatDetails);
          try {
            const summary = await buildManifests(activityInput, {
              s3: client,
              signal: ctx.cancellationSignal,
              resumeFrom: ctx.info.heartbeatDetails,
              onProgress: (p) => {
                heartbeats.push(p);
                ctx.heartbeat(p);
              },
              log: quiet,
            });
            return { ...summary, attempt: ctx.info.attempt };
          } finally {
            client.destroy();
          }
        },
      };
      const { client, connection } = await temporalClient();
      try {
        const result = await runInWorker(activities, (taskQueue) =>
          client.workflow.execute<typeof inventoryManifestsWorkflow>('inventoryManifestsWorkflow', {
            taskQueue,
            workflowId: uniqueName('wf-inventory-resume'),
            args: [input('resumed')],
          }),
        );
        expect(result.attempt).toBe(2);
        expect(result.resumed).toBe(true);
        // It resumed inside a data file: rows before the durable part's end are skipped, not rewritten.
        const resume = (resumedFrom[1] as ManifestProgress).resume;
        expect(resume.file).toBeGreaterThan(0);
        expect(resume.skipRows).toBeGreaterThan(0);
        expect(heartbeats.filter((h) => h.filesDone === 6)).not.toHaveLength(0);
        expect(result.rowsSelected).toBe(clean.rowsSelected);
        expect(result.rowsScanned).toBe(clean.rowsScanned);
        expect(result.bytesByStorageClass).toEqual(clean.bytesByStorageClass);
        expect(result.sampleKeys).toEqual(clean.sampleKeys);
        expect(result.shards.map((s) => s.rows)).toEqual(clean.shards.map((s) => s.rows));
        expect(
          await bodies(
            s3,
            bucket,
            result.shards.map((s) => s.key),
          ),
        ).toEqual(
          await bodies(
            s3,
            bucket,
            clean.shards.map((s) => s.key),
          ),
        );
        const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
        expect(uploads.Uploads ?? []).toEqual([]);
      } finally {
        await connection.close();
      }
    });
  });

  test('a cancelled activity stops and aborts its uploads', async () => {
    await withBucket(async (bucket, s3) => {
      const inv = await uploadInventory(s3, bucket, {
        schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
        files: files(6, 12_000),
      });
      let cancelledInActivity = false;
      const slow = slowS3();
      const activities: InventoryTestActivities = {
        async buildInventoryManifests(activityInput) {
          const ctx = Context.current();
          try {
            const summary = await buildManifests(activityInput, {
              s3: slow,
              progressIntervalMs: 200,
              signal: ctx.cancellationSignal,
              onProgress: (p) => ctx.heartbeat(p),
              log: quiet,
            });
            return { ...summary, attempt: ctx.info.attempt };
          } catch (err) {
            cancelledInActivity = ctx.cancellationSignal.aborted;
            throw err;
          }
        },
      };
      const { client, connection } = await temporalClient();
      try {
        const err = await runInWorker(activities, async (taskQueue) => {
          const handle = await client.workflow.start<typeof inventoryManifestsWorkflow>('inventoryManifestsWorkflow', {
            taskQueue,
            workflowId: uniqueName('wf-inventory-cancel'),
            args: [{ inventory: `s3://${bucket}/${inv.manifestKey}`, output: `s3://${bucket}/cancel`, concurrency: 1 }],
          });
          // Cancel once the build has an upload open.
          for (;;) {
            const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'cancel/' }));
            if ((open.Uploads ?? []).length > 0) break;
            await new Promise((r) => setTimeout(r, 20));
          }
          await handle.cancel();
          return await handle.result().then(
            () => undefined,
            (e: unknown) => e,
          );
        });
        expect(err).toBeInstanceOf(WorkflowFailedError);
        expect(cancelledInActivity).toBe(true);
        const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'cancel/' }));
        const objects = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'cancel/' }));
        expect({ uploads: uploads.Uploads ?? [], objects: objects.Contents ?? [] }).toEqual({
          uploads: [],
          objects: [],
        });
        expect((err as WorkflowFailedError).cause?.name).toBe('CancelledFailure');
      } finally {
        slow.destroy();
        await connection.close();
      }
    });
  });
});
