/**
 * The campaign's manifest activity on moto, for every kind of source: a build that fails (a bad line, too many jobs
 * for one round, a crash in the middle) leaves nothing under a final name and no open upload, limits are checked
 * before anything is written, and a retried activity converges on the same manifests in the one layout every source
 * shares.
 */
import { ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';

import { createManifestActivities } from '../../src/activities/manifests';
import type { BuildCampaignManifestsInput, BuildCampaignManifestsResult } from '../../src/shared/activity-types';
import type { CampaignSource } from '../../src/shared/campaign-spec';
import { FailureType } from '../../src/shared/errors';
import { crashingS3, withBucket } from '../helpers';
import { uploadInventory } from '../inventory-fixtures';
import { getText } from '../support/campaign';

const PREFIX = 'campaigns/c1';

/** The keys under the campaign's folder and the multipart uploads still open there. */
async function leftovers(s3: S3Client, bucket: string): Promise<{ objects: string[]; uploads: string[] }> {
  const objects = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${PREFIX}/` }));
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${PREFIX}/` }));
  return {
    objects: (objects.Contents ?? []).map((o) => o.Key!),
    uploads: (uploads.Uploads ?? []).map((u) => u.Key!),
  };
}

function build(s3: S3Client, input: BuildCampaignManifestsInput): Promise<BuildCampaignManifestsResult> {
  const { buildCampaignManifests } = createManifestActivities({ s3 });
  return new MockActivityEnvironment().run(buildCampaignManifests, input);
}

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

const rows = (bucket: string, n: number) => Array.from({ length: n }, (_, i) => `${bucket},k${i}`);

/** Sets up one source in `bucket` and returns it. */
type SourceSetup = (s3: S3Client, bucket: string) => Promise<CampaignSource>;

const csvSource =
  (body: (bucket: string) => string): SourceSetup =>
  async (s3, bucket) => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/m.csv', Body: body(bucket) }));
    return { type: 'csv', manifest: `s3://${bucket}/in/m.csv` };
  };

const keysSource =
  (n: number): SourceSetup =>
  async (_s3, bucket) => ({ type: 'keys', bucket, keys: Array.from({ length: n }, (_, i) => `k${i}`) });

const inventorySource =
  (n: number): SourceSetup =>
  async (s3, bucket) => {
    const inv = await uploadInventory(s3, bucket, {
      schema: ['Bucket', 'Key'],
      files: [Array.from({ length: n }, (_, i) => ({ Bucket: bucket, Key: `k${i}` }))],
    });
    return { type: 'inventory', manifest: `s3://${bucket}/${inv.manifestKey}` };
  };

describe('buildCampaignManifests', () => {
  test.each<[string, SourceSetup, number, RegExp]>([
    [
      'a CSV manifest with an unclosed quote at line 1501',
      csvSource((b) => [...rows(b, 1500), `${b},"k1500`, ...rows(b, 499)].join('\n') + '\n'),
      1000,
      /^CSV manifest s3:\/\/[^ ]+\/in\/m\.csv line 1501: unclosed quoted field$/,
    ],
    [
      'a CSV manifest with a raw control character in a key at line 7',
      csvSource((b) => [...rows(b, 6), `${b},tab\there`, ...rows(b, 10)].join('\n')),
      5,
      /^CSV manifest s3:\/\/[^ ]+ line 7: key "tab\\there" contains the raw control character U\+0009; .*URL-encoded/,
    ],
    [
      'a CSV manifest of 3,000 rows at maxObjectsPerJob 10',
      csvSource((b) => rows(b, 3000).join('\n')),
      10,
      /CSV manifest s3:\/\/[^ ]+ lists 3000 objects: 300 jobs at maxObjectsPerJob=10, at most 100 per round/,
    ],
    [
      '1,001 keys at maxObjectsPerJob 10',
      keysSource(1001),
      10,
      /source\.keys lists 1001 objects: 101 jobs at maxObjectsPerJob=10, at most 100 per round/,
    ],
    [
      'an inventory that selects 1,050 objects at maxObjectsPerJob 10',
      inventorySource(1050),
      10,
      /more than 1000 objects: more than 100 jobs at maxObjectsPerJob=10, at most 100 per round/,
    ],
  ])('%s fails as InvalidInput and leaves nothing behind', async (_name, setup, maxObjectsPerJob, message) => {
    await withBucket(async (bucket, s3) => {
      const source = await setup(s3, bucket);
      const err = await failure(
        build(s3, { campaignId: 'c1', source, maxObjectsPerJob, output: { bucket, prefix: PREFIX } }),
      );
      expect(err.type).toBe(FailureType.InvalidInput);
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toMatch(message);
      expect(await leftovers(s3, bucket)).toEqual({ objects: [], uploads: [] });
    });
  });

  test.each<[string, SourceSetup]>([
    ['keys', keysSource(50)],
    ['csv', csvSource((b) => rows(b, 50).join('\n') + '\n')],
  ])(
    '%s source: a crash in the middle leaves nothing under a final name; the retry writes every manifest once and closes every upload',
    async (_name, setup) => {
      await withBucket(async (bucket, s3) => {
        const source = await setup(s3, bucket);
        const input: BuildCampaignManifestsInput = {
          campaignId: 'c1',
          source,
          maxObjectsPerJob: 10,
          output: { bucket, prefix: PREFIX },
        };
        const crashing = crashingS3(3, { commands: ['PutObjectCommand', 'UploadPartCommand'], noCleanup: true });
        try {
          const err = await failure(build(crashing, input));
          expect(err.nonRetryable).toBe(false);
        } finally {
          crashing.destroy();
        }
        const afterCrash = await leftovers(s3, bucket);
        expect(afterCrash.objects).toEqual([]);
        expect(afterCrash.uploads.length).toBeGreaterThan(0);

        const res = await build(s3, input);
        const keys = [1, 2, 3, 4, 5].map((n) => `${PREFIX}/manifests/round-0/manifest-0000${n}.csv`);
        expect(res.manifests.map((m) => [m.key, m.rows])).toEqual(keys.map((k) => [k, 10]));
        const written = await Promise.all(keys.map((k) => getText(s3, bucket, k)));
        expect(written.join('')).toBe(rows(bucket, 50).join('\n') + '\n');
        expect(await leftovers(s3, bucket)).toEqual({ objects: keys, uploads: [] });
      });
    },
  );
});
