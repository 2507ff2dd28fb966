/**
 * `bucket` sources listed by the worker (`generator: list`) on the real local stack: a versioned campaign end to end
 * (prefix, filter, a delete marker skipped), the same manifests, stats and sample as an inventory of the same objects,
 * an empty listing (the campaign ends NothingToDo as with an inventory that selects nothing), and a build whose
 * worker dies mid-listing: the retry resumes from the heartbeat and every object lands in the manifests exactly once
 * (with parallel ranges, whose pages come back in any order, and with one range whose exact resume point is known).
 */
import path from 'node:path';

import {
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { bundleWorkflowCode, type ActivityInterceptorsFactory } from '@temporalio/worker';

import { createManifestActivities } from '../../src/activities/manifests';
import { encodeManifestKey } from '../../src/inventory';
import type { ListingProgress } from '../../src/listing';
import type { BuildCampaignManifestsInput, BuildCampaignManifestsResult } from '../../src/shared/activity-types';
import { CAMPAIGN_WORKFLOW_TYPE, type CampaignResult } from '../../src/shared/campaign';
import type { CampaignSpecInput } from '../../src/shared/campaign-spec';
import { FailureType } from '../../src/shared/errors';
import { crashingS3, s3Client, stackEndpoints, uniqueName, waitFor, withBucket } from '../helpers';
import { uploadInventory } from '../inventory-fixtures';
import { getText, listJobs, randomAccount, testSpec, withCampaignWorker } from '../support/campaign';
import { activityEnd, pendingActivity } from '../support/activity-history';
import { HoldProxy } from '../support/hold-proxy';
import type { campaignManifestsWorkflow } from './activity-workflows';

let activityBundle: Awaited<ReturnType<typeof bundleWorkflowCode>>;
beforeAll(async () => {
  activityBundle = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'activity-workflows.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never,
  });
});

/** Builds the manifests of campaign `workflowId` of `spec` in a worker wired as the product's. */
function buildManifests(
  spec: CampaignSpecInput,
  workflowId: string,
  worker: { s3?: S3Client; interceptors?: ActivityInterceptorsFactory[] } = {},
): Promise<BuildCampaignManifestsResult> {
  return withCampaignWorker(
    (h) =>
      h.client.workflow.execute<typeof campaignManifestsWorkflow>('campaignManifestsWorkflow', {
        taskQueue: h.taskQueue,
        workflowId,
        args: [spec],
      }),
    {
      s3: worker.s3,
      workerOptions: { workflowBundle: activityBundle, interceptors: { activity: worker.interceptors ?? [] } },
    },
  );
}

/** Every row of the manifests, sorted (a parallel listing writes them in no fixed order). */
async function manifestRows(s3: S3Client, res: BuildCampaignManifestsResult): Promise<string[]> {
  const texts = await Promise.all(res.manifests.map((m) => getText(s3, m.bucket, m.key)));
  return texts.flatMap((t) => t.split('\n').filter(Boolean)).sort();
}

async function putMany(
  s3: S3Client,
  bucket: string,
  objects: Array<{ key: string; body: string; cls?: StorageClass }>,
) {
  const queue = [...objects];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let o = queue.shift(); o; o = queue.shift()) {
        // A Buffer, not a string: the SDK cannot tell an empty string's length and warns of a stream of unknown length.
        const body = Buffer.from(o.body);
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: o.key, Body: body, StorageClass: o.cls }));
      }
    }),
  );
}

describe('bucket source, listed by the worker', () => {
  test('a versioned campaign: prefix, filter and skipDeleteMarkers select exactly the versions, and each is tagged', async () => {
    await withBucket(
      async (bucket, s3) => {
        const put = async (Key: string, Body: string) =>
          (await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }))).VersionId!;
        const a1 = await put('data/a.txt', 'one');
        const a2 = await put('data/a.txt', 'two two');
        const odd = await put('data/b c+d,é%.txt', 'x');
        const gone = await put('data/gone.txt', 'bye');
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'data/gone.txt' }));
        await put('data/big.bin', 'not a .txt');
        await put('other/x.txt', 'outside the prefix');
        await withCampaignWorker(async (h) => {
          const spec = testSpec(h, bucket, {
            source: { type: 'bucket', bucket, prefix: 'data/', versions: true },
            filter: { keySuffixes: ['.txt'], skipDeleteMarkers: true },
            approval: { required: false },
          });
          const workflowId = uniqueName('wf-bucket-versions');
          const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
            taskQueue: h.taskQueue,
            workflowId,
            args: [spec],
          });
          const result = (await handle.result()) as CampaignResult;
          expect(result).toMatchObject({ outcome: 'Succeeded', objects: 4, succeeded: 4, failed: 0, jobs: 1 });
          const manifest = await getText(s3, bucket, `campaigns/${workflowId}/manifests/round-0/manifest-00001.csv`);
          const row = (key: string, v: string) => `${bucket},${encodeManifestKey(key)},${v}`;
          expect(manifest.split('\n').filter(Boolean).sort()).toEqual(
            [
              row('data/a.txt', a1),
              row('data/a.txt', a2),
              row('data/b c+d,é%.txt', odd),
              row('data/gone.txt', gone),
            ].sort(),
          );
          // The job tagged every selected version, the one under the delete marker included.
          for (const [Key, VersionId] of [
            ['data/a.txt', a1],
            ['data/a.txt', a2],
            ['data/b c+d,é%.txt', odd],
            ['data/gone.txt', gone],
          ] as const) {
            const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key, VersionId }));
            expect([Key, tags.TagSet]).toEqual([Key, [{ Key: 'done', Value: 'yes' }]]);
          }
          const untouched = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'other/x.txt' }));
          expect(untouched.TagSet).toEqual([]);
        });
      },
      { versioning: true },
    );
  });

  test('an empty listing ends the campaign NothingToDo with no job, as an inventory that selects nothing does', async () => {
    await withBucket(async (bucket, s3) => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'elsewhere/a', Body: 'x' }));
      await withCampaignWorker(async (h) => {
        const spec = testSpec(h, bucket, { source: { type: 'bucket', bucket, prefix: 'nothing-here/' } });
        const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
          taskQueue: h.taskQueue,
          workflowId: uniqueName('wf-bucket-empty'),
          args: [spec],
        });
        const result = (await handle.result()) as CampaignResult;
        expect(result).toMatchObject({ outcome: 'NothingToDo', objects: 0, jobs: 0 });
        expect(await listJobs(h.accountId)).toEqual([]);
      });
    });
  });

  test('the same rows, stats, sample and estimate as an inventory of the same objects, with the same filter', async () => {
    await withBucket(async (bucket, s3) => {
      const objects = Array.from({ length: 1500 }, (_, i) => ({
        key: `${['logs', 'img', 'tmp'][i % 3]}/${i % 7 === 0 ? 'a b+c,' : ''}k${String(i).padStart(5, '0')}.dat`,
        body: 'x'.repeat(i % 50),
        cls: (i % 4 === 0 ? 'GLACIER' : 'STANDARD') as StorageClass,
      }));
      await putMany(s3, bucket, objects);
      const inv = await uploadInventory(s3, bucket, {
        schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
        // Keys as the manifests encode them, so that CSV pass-through gives the same bytes (and sample hashes).
        keyStyle: 'percent',
        files: [objects.map((o) => ({ Bucket: bucket, Key: o.key, Size: o.body.length, StorageClass: o.cls }))],
      });
      const over: Partial<CampaignSpecInput> = {
        filter: { keyPrefixes: ['logs/', 'img/'], minSize: 10, storageClasses: ['GLACIER', 'STANDARD'] },
        maxObjectsPerJob: 300,
      };
      const spec = (source: CampaignSpecInput['source']) =>
        testSpec({ accountId: randomAccount() }, bucket, { source, ...over });
      const listed = await buildManifests(spec({ type: 'bucket', bucket }), uniqueName('bucket-same'));
      const fromInventory = await buildManifests(
        spec({ type: 'inventory', manifest: `s3://${bucket}/${inv.manifestKey}` }),
        uniqueName('inventory-same'),
      );
      const { inventoryCreatedAt, ...inventoryStats } = fromInventory.stats;
      expect(inventoryCreatedAt).toBeDefined();
      // The inventory lists its own files too; the listing saw the inventory's objects as well: compare selections.
      const { listRequests, ...listedStats } = listed.stats;
      expect({ ...listedStats, rowsScanned: 0 }).toEqual({ ...inventoryStats, rowsScanned: 0 });
      expect(listed.stats.rowsSelected).toBeGreaterThan(600);
      // The same estimate, and the listing's own requests on top (1,500 objects: two pages or more).
      expect(listRequests).toBeGreaterThanOrEqual(2);
      const listLine = listed.estimate!.items.find((i) => i.what.startsWith('LIST requests'));
      expect(listLine).toMatchObject({ quantity: listRequests });
      expect({ ...listed.estimate, items: listed.estimate!.items.filter((i) => i !== listLine), totalUsd: 0 }).toEqual({
        ...fromInventory.estimate,
        totalUsd: 0,
      });
      expect(listed.estimate!.totalUsd).toBeCloseTo(fromInventory.estimate!.totalUsd + listLine!.amountUsd!, 2);
      expect(listed.manifests.map((m) => m.rows)).toEqual(fromInventory.manifests.map((m) => m.rows));
      expect(await manifestRows(s3, listed)).toEqual(await manifestRows(s3, fromInventory));
    });
  });

  /**
   * Lists 3,000 keys (7 prefixes of 428 or 429) into 100-row manifests with a worker whose attempt 1 dies at its 16th
   * manifest upload; the retry resumes from the last heartbeat. `pageKeys` caps each listing page (S3 may return fewer
   * keys than asked for), `concurrency` is the worker's S3C_LIST_CONCURRENCY. Checks what holds in every run: every
   * object exactly once, no durable shard written again, no range listed from its start again, the same stats as an
   * uninterrupted build, every list request counted, no upload left open. Returns the heartbeat the retry resumed from.
   */
  async function dieMidListing(opts: { concurrency?: number; pageKeys?: number } = {}): Promise<ListingProgress> {
    return await withBucket(async (bucket, s3) => {
      const keys = Array.from({ length: 3000 }, (_, i) => `p${i % 7}/${(i * 7919) % 3001}-${i}`);
      await putMany(
        s3,
        bucket,
        keys.map((key) => ({ key, body: 'x' })),
      );
      const spec = testSpec({ accountId: randomAccount() }, bucket, {
        source: { type: 'bucket', bucket, prefix: 'p' },
        maxObjectsPerJob: 100,
      });
      const clean = await buildManifests(spec, uniqueName('bucket-clean'));
      expect(clean.manifests).toHaveLength(30);

      // Attempt 1 dies at its 16th manifest upload: the full shards uploaded before it are durable, the rest are not.
      const worker = crashingS3(16, { commands: ['UploadPartCommand'] });
      const calls: Array<{ attempt: number; command: string; startAfter?: string; key?: string }> = [];
      worker.middlewareStack.add(
        (next, context) => async (args) => {
          const command = String(context.commandName);
          const input = args.input as { StartAfter?: string; Key?: string; MaxKeys?: number };
          if (command === 'ListObjectsV2Command' || command === 'UploadPartCommand') {
            calls.push({
              attempt: Context.current().info.attempt,
              command,
              startAfter: input.StartAfter,
              key: input.Key,
            });
          }
          if (command === 'ListObjectsV2Command' && opts.pageKeys) input.MaxKeys = opts.pageKeys;
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
      const concurrency = process.env.S3C_LIST_CONCURRENCY;
      if (opts.concurrency) process.env.S3C_LIST_CONCURRENCY = String(opts.concurrency);
      let resumed: BuildCampaignManifestsResult;
      try {
        resumed = await buildManifests(spec, uniqueName('bucket-resumed'), {
          s3: worker,
          interceptors: [watchAttempts],
        });
      } finally {
        worker.destroy();
        if (concurrency === undefined) delete process.env.S3C_LIST_CONCURRENCY;
        else process.env.S3C_LIST_CONCURRENCY = concurrency;
      }

      expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
      const progress = attempts[1]!.heartbeatDetails as ListingProgress;
      expect(progress.kind).toBe('listing');
      // The second attempt went on from durable rows, not from the start: the rows in uploaded parts are those of the
      // pages it counts as done plus those it skips at the start of a range. The first page (the first 1,000 keys, or
      // `pageKeys`) is written and made durable before any other page.
      const durableRows = progress.resume.shards.reduce((n, s) => n + s.rows, 0);
      expect(durableRows).toBeGreaterThanOrEqual(Math.floor((opts.pageKeys ?? 1000) / 100) * 100);
      const skips = progress.resume.ranges.reduce((n, r) => n + r.skip, 0);
      expect(progress.resume.totals.rowsSelected + skips).toBe(durableRows);
      const uploads = (attempt: number) =>
        calls
          .filter((c) => c.attempt === attempt && c.command === 'UploadPartCommand')
          .map((c) => path.basename(c.key!));
      expect(uploads(1).length).toBeGreaterThanOrEqual(16);
      // No durable shard was written again, and no range was listed from its very start again.
      const durableShards = progress.resume.shards.filter((s) => s.rows === 100).length;
      expect(durableShards * 100).toBe(durableRows);
      for (let i = 1; i <= durableShards; i++) {
        expect(uploads(2)).not.toContain(`manifest-${String(i).padStart(5, '0')}.csv`);
      }
      const lists = (attempt: number) =>
        calls.filter((c) => c.attempt === attempt && c.command === 'ListObjectsV2Command');
      expect(lists(1).some((c) => c.startAfter === undefined)).toBe(true);
      expect(lists(2).length).toBeGreaterThan(0);
      expect(lists(2).every((c) => c.startAfter !== undefined)).toBe(true);

      // Every object exactly once, the same stats as the uninterrupted build, no upload left open.
      const expected = keys.map((k) => `${bucket},${encodeManifestKey(k)}`).sort();
      expect(await manifestRows(s3, resumed)).toEqual(expected);
      expect(await manifestRows(s3, clean)).toEqual(expected);
      const { listRequests: resumedRequests, ...resumedStats } = resumed.stats;
      const { listRequests: cleanRequests, ...cleanStats } = clean.stats;
      expect(resumedStats).toEqual(cleanStats);
      // Every list request paid for counts (the estimate prices them): the first attempt's, up to its last
      // heartbeat, and the retry's.
      expect(cleanRequests).toBeGreaterThanOrEqual(3);
      expect(resumedRequests).toBe(progress.listRequests + lists(2).length);
      expect(resumed.manifests.map((m) => m.rows)).toEqual(clean.manifests.map((m) => m.rows));
      const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      expect(open.Uploads ?? []).toEqual([]);
      return progress;
    });
  }

  test('a worker that dies mid-listing: the retry resumes from its heartbeat and writes every object exactly once', async () => {
    // Parallel ranges: which pages are durable when the worker dies depends on the order their responses came in.
    const progress = await dieMidListing();
    expect(progress.resume.shards.filter((s) => s.rows === 100).length).toBeGreaterThanOrEqual(10);
  });

  test('a retry skips exactly the durable rows of the page that straddles the last durable boundary', async () => {
    // One range, pages of 428 keys (ending at rows 428, 856, 1284 and 1712): attempt 1 dies at its 16th upload, in the
    // fourth page; its last checkpoint, after the third page, has 12 shards durable, 344 rows of the third page among
    // them. The retry lists on after the second page and skips those 344 rows.
    const progress = await dieMidListing({ concurrency: 1, pageKeys: 428 });
    expect(progress.resume.shards.filter((s) => s.rows === 100)).toHaveLength(12);
    expect(progress.resume.ranges).toHaveLength(1);
    expect(progress.resume.ranges[0]!.skip).toBe(1200 - 856);
    expect(progress.resume.totals.rowsSelected).toBe(856);
  });

  test('a cancelled listing stops its requests and aborts its uploads', async () => {
    await withBucket(async (bucket, s3) => {
      const keys = Array.from({ length: 3000 }, (_, i) => `p${i % 7}/${(i * 7919) % 3001}-${i}`);
      await putMany(
        s3,
        bucket,
        keys.map((key) => ({ key, body: 'x' })),
      );
      const workflowId = uniqueName('bucket-cancel');
      const folder = `campaigns/${workflowId}/`;
      // The worker's network stalls on the first listing of a split-off range: the build cannot end until cancelled.
      const proxy = await HoldProxy.start(stackEndpoints().s3Endpoint);
      proxy.hold({ name: 'range', match: (r) => r.method === 'GET' && r.url.includes('start-after=') });
      const worker = s3Client(proxy.url);
      try {
        await withCampaignWorker(
          async (h) => {
            const handle = await h.client.workflow.start<typeof campaignManifestsWorkflow>(
              'campaignManifestsWorkflow',
              {
                taskQueue: h.taskQueue,
                workflowId,
                args: [testSpec(h, bucket, { source: { type: 'bucket', bucket, prefix: 'p' }, maxObjectsPerJob: 100 })],
              },
            );
            await proxy.waitForHold('range');
            await waitFor(
              'a heartbeat with durable rows',
              async () => (await pendingActivity(handle, 'buildCampaignManifests'))?.heartbeatDetails,
              (d) => ((d as ListingProgress | undefined)?.resume.shards.length ?? 0) > 0,
            );
            const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: folder }));
            expect((open.Uploads ?? []).length).toBeGreaterThan(0);

            await handle.cancel();
            const err = await handle.result().then(
              () => undefined,
              (e: unknown) => e,
            );
            expect(err).toBeInstanceOf(WorkflowFailedError);
            expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
            expect(await activityEnd(handle, 'buildCampaignManifests')).toBe('cancelled');
          },
          { s3: worker, workerOptions: { workflowBundle: activityBundle } },
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

  test('a listing that needs more than 100 jobs fails InvalidInput before anything is published, leaving no upload', async () => {
    await withBucket(async (bucket, s3) => {
      await putMany(
        s3,
        bucket,
        Array.from({ length: 1010 }, (_, i) => ({ key: `k/${i}`, body: 'x' })),
      );
      const { buildCampaignManifests } = createManifestActivities({ s3 });
      const input: BuildCampaignManifestsInput = {
        campaignId: 'c1',
        source: { type: 'bucket', bucket, prefix: 'k/', versions: false, generator: 'list' },
        maxObjectsPerJob: 10,
        output: { bucket, prefix: 'campaigns/c1' },
      };
      const err: unknown = await new MockActivityEnvironment().run(buildCampaignManifests, input).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect((err as ApplicationFailure).type).toBe(FailureType.InvalidInput);
      expect((err as ApplicationFailure).nonRetryable).toBe(true);
      expect((err as ApplicationFailure).message).toMatch(
        /^the listing of s3:\/\/[^ ]+\/k\/ selects more than 1000 objects: more than 100 jobs at maxObjectsPerJob=10, .*raise maxObjectsPerJob$/,
      );
      const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'campaigns/' }));
      const objects = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'campaigns/' }));
      expect({ uploads: uploads.Uploads ?? [], objects: objects.Contents ?? [] }).toEqual({ uploads: [], objects: [] });
    });
  });

  test('a worker shutting down hands the listing over: the next worker resumes it, every object exactly once', async () => {
    await withBucket(async (bucket, s3) => {
      const keys = Array.from({ length: 3000 }, (_, i) => `p${i % 7}/${(i * 7919) % 3001}-${i}`);
      await putMany(
        s3,
        bucket,
        keys.map((key) => ({ key, body: 'x' })),
      );
      const workflowId = uniqueName('bucket-shutdown');
      const taskQueue = uniqueName('tq-bucket-shutdown');
      const accountId = randomAccount();
      // The first worker's network stalls on the first listing of a split-off range, so its build is still running
      // when it shuts down.
      const proxy = await HoldProxy.start(stackEndpoints().s3Endpoint);
      proxy.hold({ name: 'range', match: (r) => r.method === 'GET' && r.url.includes('start-after=') });
      const first = s3Client(proxy.url);
      const lists: Array<{ worker: number; startAfter?: string }> = [];
      const record = (client: S3Client, worker: number) =>
        client.middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName === 'ListObjectsV2Command') {
              lists.push({ worker, startAfter: (args.input as { StartAfter?: string }).StartAfter });
            }
            return next(args);
          },
          { step: 'initialize', name: 'recordLists', priority: 'high' },
        );
      record(first, 1);
      const second = s3Client();
      record(second, 2);
      let handed: ListingProgress | undefined;
      try {
        await withCampaignWorker(
          async (h) => {
            const handle = await h.client.workflow.start<typeof campaignManifestsWorkflow>(
              'campaignManifestsWorkflow',
              {
                taskQueue,
                workflowId,
                args: [testSpec(h, bucket, { source: { type: 'bucket', bucket, prefix: 'p' }, maxObjectsPerJob: 100 })],
              },
            );
            await proxy.waitForHold('range');
            handed = (await waitFor(
              'a heartbeat with durable rows',
              async () => (await pendingActivity(handle, 'buildCampaignManifests'))?.heartbeatDetails,
              (d) => ((d as ListingProgress | undefined)?.resume.shards.length ?? 0) > 0,
            )) as ListingProgress;
          },
          {
            taskQueue,
            accountId,
            s3: first,
            workerOptions: { workflowBundle: activityBundle, shutdownGraceTime: '1s' },
          },
        );
        // The first worker has shut down; its build was handed over with its uploads, not aborted.
        const open = await s3.send(
          new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `campaigns/${workflowId}/` }),
        );
        expect((open.Uploads ?? []).length).toBeGreaterThan(0);
        const res = (await withCampaignWorker((h) => h.client.workflow.getHandle(workflowId).result(), {
          taskQueue,
          accountId,
          s3: second,
          workerOptions: { workflowBundle: activityBundle },
        })) as BuildCampaignManifestsResult;
        expect(await manifestRows(s3, res)).toEqual(keys.map((k) => `${bucket},${encodeManifestKey(k)}`).sort());
        expect(res.stats).toMatchObject({ rowsScanned: 3000, rowsSelected: 3000 });
        // The second worker went on from the handed-over ranges: it never listed from the start.
        expect(handed!.resume.ranges.length).toBeGreaterThan(0);
        const secondLists = lists.filter((l) => l.worker === 2);
        expect(secondLists.length).toBeGreaterThan(0);
        expect(secondLists.every((l) => l.startAfter !== undefined)).toBe(true);
        const left = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
        expect(left.Uploads ?? []).toEqual([]);
      } finally {
        first.destroy();
        second.destroy();
        await proxy.close();
      }
    });
  });
});
