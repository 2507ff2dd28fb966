/**
 * Cancelling a campaign while it builds its first-round manifests from an S3 Inventory report (phase
 * BuildingManifest). The worker's S3 traffic goes through a hold proxy, so the build is stopped at an exact point
 * until the cancel: while it still reads the inventory (the cancel interrupts it), or while it publishes its manifests
 * (a step it finishes whatever the cancel). Either way the campaign creates no job, leaves no multipart upload and no
 * half-written manifest, and ends with its report saying Cancelled.
 */
import path from 'node:path';

import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';

import type { ManifestProgress } from '../../src/inventory';
import { statusQuery } from '../../src/shared/campaign';
import { s3Client, stackEndpoints, uniqueName, waitFor, withBucket } from '../helpers';
import {
  getText,
  listJobs,
  manifestKeys,
  startCampaign,
  testSpec,
  withCampaignWorker,
  writeDailyInventory,
} from '../support/campaign';
import { HoldProxy, type ProxiedRequest } from '../support/hold-proxy';
import { activityCancelRequested, activityEnd, pendingActivity } from '../support/activity-history';

/** 5,000 objects in five data files of 1,000 rows; 2,000 per job: three manifests. */
const KEYS = Array.from({ length: 5_000 }, (_, i) => `obj-${String(i).padStart(5, '0')}`);
const MAX_OBJECTS_PER_JOB = 2_000;

const MOMENTS: Array<{
  moment: string;
  /** The request whose answer the worker never gets until the cancel has been processed. */
  hold: (r: ProxiedRequest) => boolean;
  /** Data files done when the build stops there. */
  filesDone: number;
  /** Uploads open then. */
  open: string[];
  /** Whether the held answer is let go once the workflow has asked the build to stop (else only the cancel ends it). */
  release: boolean;
  /** How the build's activity ended: interrupted by the cancel, or finished all the same. */
  end: string;
  /** Manifests visible afterwards: none, or every one complete. */
  visible: string[];
}> = [
  {
    moment: 'reads the inventory (the cancel interrupts the build)',
    hold: (r) => r.method === 'GET' && r.url.includes('/data/') && r.url.includes('-4.csv.gz'),
    filesDone: 4,
    open: ['manifest-00001.csv', 'manifest-00002.csv'],
    release: false,
    end: 'cancelled',
    visible: [],
  },
  {
    moment: 'publishes its manifests (the build finishes all the same)',
    hold: (r) => r.method === 'POST' && r.url.includes('/manifest-00001.csv?') && r.url.includes('uploadId='),
    filesDone: 5,
    // The first manifest's CompleteMultipartUpload reached S3; only its answer is held.
    open: ['manifest-00002.csv', 'manifest-00003.csv'],
    release: true,
    end: 'completed',
    visible: ['manifest-00001.csv', 'manifest-00002.csv', 'manifest-00003.csv'],
  },
];

describe('a campaign cancelled while it builds its manifests', () => {
  test.each(MOMENTS)(
    'while it $moment: no job, no upload left, no half-written manifest, and the report says Cancelled',
    async ({ hold, filesDone, open, release, end, visible }) => {
      await withBucket(async (bucket, s3) => {
        const manifest = await writeDailyInventory(
          s3,
          bucket,
          '2024-05-01T00:00:00Z',
          KEYS.map((k) => [k, '2024-04-01T00:00:00Z']),
        );
        const proxy = await HoldProxy.start(stackEndpoints().s3Endpoint);
        proxy.hold({ name: 'stop', match: hold });
        const workerS3 = s3Client(proxy.url);
        try {
          await withCampaignWorker(
            async (h) => {
              const id = uniqueName('building-cancel');
              const folder = `campaigns/${id}`;
              const handle = await startCampaign(
                h,
                id,
                testSpec(h, bucket, {
                  source: { type: 'inventory', manifest },
                  maxObjectsPerJob: MAX_OBJECTS_PER_JOB,
                  approval: { required: false },
                }),
              );
              await waitFor('the held request', async () => proxy.isHeld('stop'), Boolean);

              // The moment: BuildingManifest, and the server has the build's heartbeat from where it stopped.
              const progress = (await waitFor(
                'a heartbeat from where the build stopped',
                async () => (await pendingActivity(handle, 'buildCampaignManifests'))?.heartbeatDetails,
                (d) => (d as ManifestProgress | undefined)?.filesDone === filesDone,
              )) as ManifestProgress;
              expect({ filesDone: progress.filesDone, filesTotal: progress.filesTotal }).toEqual({
                filesDone,
                filesTotal: 5,
              });
              expect((await handle.query(statusQuery)).phase).toBe('BuildingManifest');
              const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: folder }));
              expect((uploads.Uploads ?? []).map((u) => path.basename(u.Key!)).sort()).toEqual(open);

              await handle.cancel();
              if (release) {
                // Once the workflow has asked the build to stop, the network comes back: the build finishes.
                await waitFor('the activity cancel request', () => activityCancelRequested(handle), Boolean);
                proxy.dropHeld();
              }
              const err = await handle.result().then(
                () => undefined,
                (e: unknown) => e,
              );
              expect(err).toBeInstanceOf(WorkflowFailedError);
              expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
              expect(await activityEnd(handle, 'buildCampaignManifests')).toBe(end);

              // No job: the campaign's fresh account has none.
              expect(await listJobs(h.accountId)).toEqual([]);
              // No upload left open, and no manifest but complete ones.
              const left = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: folder }));
              expect(left.Uploads ?? []).toEqual([]);
              const listed = await s3.send(
                new ListObjectsV2Command({ Bucket: bucket, Prefix: `${folder}/manifests/` }),
              );
              const manifests = (listed.Contents ?? []).map((o) => o.Key!).sort();
              expect(manifests.map((k) => path.basename(k))).toEqual(visible);
              const rows = (await Promise.all(manifests.map((k) => manifestKeys(s3, bucket, k)))).flat();
              expect(rows).toEqual(visible.length > 0 ? KEYS : []);

              // The report: Cancelled, before any job, with nothing counted as run.
              const report = JSON.parse(await getText(s3, bucket, `${folder}/campaign.json`)) as {
                outcome: string;
                jobs: unknown[];
                totals: { objects: number; jobs: number };
              };
              expect(report).toMatchObject({ outcome: 'Cancelled', jobs: [], totals: { objects: 0, jobs: 0 } });
              const status = await handle.query(statusQuery);
              expect({ phase: status.phase, outcome: status.outcome }).toEqual({ phase: 'Done', outcome: 'Cancelled' });
            },
            { s3: workerS3 },
          );
        } finally {
          workerS3.destroy();
          await proxy.close();
        }
      });
    },
  );
});
