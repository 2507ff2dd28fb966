/**
 * The `campaign-failures` source ("redrive") on the real local stack: a campaign ends with failures of two kinds, the
 * cause of one kind is mended, and a second campaign takes exactly those failures from the first one's failed.csv,
 * with another operation. Then what an operator gets wrong: a code that no failure has, a campaign that has no report,
 * a report in another place, and `estimate` / `iam-policy`'s reading of the same source.
 */
import { GetObjectTaggingCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { WorkflowHandle } from '@temporalio/client';

import { previewCampaignManifest } from '../../src/cost/preview';
import { describeCampaignSource } from '../../src/iam/source';
import { statusQuery, type CampaignResult } from '../../src/shared/campaign';
import { parseCampaignSpec, type CampaignSpecInput } from '../../src/shared/campaign-spec';
import { FailureType } from '../../src/shared/errors';
import { CAMPAIGN_SEARCH_ATTRIBUTES } from '../../src/shared/search-attributes';
import { stackEndpoints, uniqueName, withBucket } from '../helpers';
import { applicationFailureIn } from '../support/bad-input';
import { localAwsEnv as awsEnv, runCli as cli, withSpecFile } from '../support/cli';
import {
  addFault,
  listJobs,
  manifestKeys,
  putObjects,
  removeFault,
  startCampaign,
  testSpec,
  withCampaignWorker,
  type CampaignHarness,
} from '../support/campaign';

async function tagsOf(s3: S3Client, bucket: string, key: string): Promise<Record<string, string>> {
  const out = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  return Object.fromEntries((out.TagSet ?? []).map((t) => [t.Key!, t.Value!]));
}

/** The error a campaign failed with, as [type, nonRetryable, message]. */
async function failureOf(handle: WorkflowHandle): Promise<[string | undefined, boolean | undefined, string]> {
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  const f = applicationFailureIn(err);
  return [f?.type ?? undefined, f?.nonRetryable ?? undefined, f?.message ?? String(err)];
}

describe('campaign-failures source (redrive)', () => {
  test('a second campaign runs exactly the failures with the chosen code, with another operation', async () => {
    await withBucket(async (bucket, s3) => {
      const present = ['ok/a.txt', 'ok/b c.txt', 'ok/d.txt'];
      const missing = ['gone/one.txt', 'gone/two words+ü.txt'];
      const denied = ['locked/x.txt', 'locked/y.txt'];
      await putObjects(s3, bucket, [...present, ...denied]);
      const fault = await addFault({
        match: { bucket, keyPrefix: 'locked/' },
        errorCode: 'AccessDenied',
        httpStatus: 403,
      });
      try {
        await withCampaignWorker(async (h) => {
          const firstId = uniqueName('wf-first');
          const first = await startCampaign(
            h,
            firstId,
            testSpec(h, bucket, {
              source: { type: 'keys', bucket, keys: [...present, ...missing, ...denied] },
              approval: { required: false },
            }),
          );
          expect(await first.result()).toMatchObject({ outcome: 'CompletedWithFailures', objects: 7, failed: 4 });

          // The missing objects appear; the locked ones stay locked. Only the NoSuchKey failures run again.
          await putObjects(s3, bucket, missing);
          const spec: CampaignSpecInput = testSpec(h, bucket, {
            source: { type: 'campaign-failures', campaignId: firstId, errorCodes: ['NoSuchKey'] },
            operation: { type: 'put-tags', tags: { redriven: 'yes' } },
            approval: { required: false },
          });
          // Through the CLI, as an operator would: another spec's operation over the old campaign's failures.
          const redriveId = uniqueName('wf-redrive');
          const env = {
            ...awsEnv(),
            TEMPORAL_ADDRESS: stackEndpoints().temporalAddress,
            TEMPORAL_TASK_QUEUE: h.taskQueue,
          };
          const started = await withSpecFile({ ...spec, source: { type: 'keys', bucket, keys: ['ignored'] } }, (file) =>
            cli(['redrive', firstId, '--error-code', 'NoSuchKey', '--spec', file, '--id', redriveId], env),
          );
          expect(started).toMatchObject({ code: 0, stdout: `${redriveId}\n` });
          expect(started.stderr).toContain(`redriving 2 of the 4 failure(s) of ${firstId}`);
          const redrive = h.client.workflow.getHandle(redriveId);
          const result = (await redrive.result()) as CampaignResult;
          expect(result).toMatchObject({ outcome: 'Succeeded', objects: 2, succeeded: 2, failed: 0, jobs: 1 });
          const status = await redrive.query(statusQuery);
          expect(status.stats).toMatchObject({ rowsScanned: 4, rowsSelected: 2 });
          expect(status.stats?.sampleKeys.slice().sort()).toEqual(missing.slice().sort());
          const job = status.jobs[0]!;
          expect((await manifestKeys(s3, job.manifest.bucket, job.manifest.key)).sort()).toEqual(
            missing.slice().sort(),
          );
          for (const key of missing) expect(await tagsOf(s3, bucket, key)).toEqual({ redriven: 'yes' });
          for (const key of [...present, ...denied]) expect((await tagsOf(s3, bucket, key)).redriven).toBeUndefined();
          expect(await listJobs(h.accountId)).toHaveLength(2);

          // estimate and iam-policy read the same source the same way.
          const parsed = parseCampaignSpec(spec);
          const preview = await previewCampaignManifest(parsed, { s3 });
          expect(preview).toMatchObject({
            rowsScanned: 4,
            rowsSelected: 2,
            jobs: 1,
            sourceBuckets: [bucket],
            versioned: false,
          });
          expect(await describeCampaignSource(parsed, () => s3)).toEqual({ sourceBuckets: [bucket], versioned: false });
          // Without codes: every failure, the denied ones too.
          const all = parseCampaignSpec({ ...spec, source: { type: 'campaign-failures', campaignId: firstId } });
          expect(await previewCampaignManifest(all, { s3 })).toMatchObject({ rowsSelected: 4 });
          // A stage-less code matches a restore-and-copy report's `Stage:Code` form, and the stage alone all of it.
          expect(
            (
              await previewCampaignManifest(
                parseCampaignSpec({
                  ...spec,
                  source: { type: 'campaign-failures', campaignId: firstId, errorCodes: ['AccessDenied', 'Nope'] },
                }),
                { s3 },
              )
            ).rowsSelected,
          ).toBe(2);
        });
      } finally {
        await removeFault(fault);
      }
    });
  });

  test('a code no failure has, a campaign with no report, and its own id are refused, naming what is wrong', async () => {
    await withBucket(async (bucket, s3) => {
      await withCampaignWorker(async (h: CampaignHarness) => {
        const firstId = uniqueName('wf-first');
        const first = await startCampaign(
          h,
          firstId,
          testSpec(h, bucket, {
            source: { type: 'keys', bucket, keys: ['nope/1.txt'] },
            approval: { required: false },
          }),
        );
        expect(await first.result()).toMatchObject({ outcome: 'Failed' });

        const typo = await startCampaign(
          h,
          uniqueName('wf-typo'),
          testSpec(h, bucket, { source: { type: 'campaign-failures', campaignId: firstId, errorCodes: ['NoSuchKy'] } }),
        );
        expect(await failureOf(typo)).toEqual([
          FailureType.InvalidInput,
          true,
          `source.errorCodes: none of NoSuchKy is the code of any of the 1 failure(s) of campaign "${firstId}"; its failed.csv has NoSuchKey (1)`,
        ]);

        const unknown = await startCampaign(
          h,
          uniqueName('wf-unknown'),
          testSpec(h, bucket, { source: { type: 'campaign-failures', campaignId: 'no-such-campaign' } }),
        );
        const [type, nonRetryable, message] = await failureOf(unknown);
        expect([type, nonRetryable]).toEqual([FailureType.InvalidInput, true]);
        expect(message).toContain(
          `source.campaignId: campaign "no-such-campaign" has no final report at s3://${bucket}/campaigns/no-such-campaign/campaign.json`,
        );

        const selfId = uniqueName('wf-self');
        const self = await startCampaign(
          h,
          selfId,
          testSpec(h, bucket, { source: { type: 'campaign-failures', campaignId: selfId } }),
        );
        expect(await failureOf(self)).toEqual([
          FailureType.InvalidInput,
          true,
          `source.campaignId "${selfId}" is this campaign: a campaign cannot redrive its own failures`,
        ]);
        // None of the refused campaigns created a job: only the first one did.
        expect(await listJobs(h.accountId)).toHaveLength(1);

        // The CLI: an unknown campaign, a campaign without failures, then the plain redrive (the old spec).
        const env = {
          ...awsEnv(),
          TEMPORAL_ADDRESS: stackEndpoints().temporalAddress,
          TEMPORAL_TASK_QUEUE: h.taskQueue,
        };
        const none = await cli(['redrive', 'no-such-campaign'], env);
        expect(none.code).not.toBe(0);
        expect(none.stderr).toContain('no-such-campaign');
        const failedEarly = await cli(['redrive', selfId], env);
        expect(failedEarly).toMatchObject({ code: 2 });
        // The refused campaign wrote its report all the same: an empty failed.csv.
        expect(failedEarly.stderr).toContain(`campaign ${selfId} has no failures to redrive (its failed.csv is empty)`);
        await putObjects(s3, bucket, ['nope/1.txt']);
        const plain = await cli(['redrive', firstId], env);
        expect(plain.code).toBe(0);
        const again = h.client.workflow.getHandle(plain.stdout.trim());
        expect(await again.result()).toMatchObject({ outcome: 'Succeeded', objects: 1, succeeded: 1 });
        const described = await again.describe();
        expect(described.typedSearchAttributes.get(CAMPAIGN_SEARCH_ATTRIBUTES.name)).toMatch(/ \(redrive\)$/);
        expect(await tagsOf(s3, bucket, 'nope/1.txt')).toEqual({ done: 'yes' });
      });
    });
  });

  test('source.report finds a campaign that wrote its folder elsewhere; versioned failures stay versioned', async () => {
    await withBucket(async (bucket, s3) => {
      await withBucket(async (other) => {
        // A report as a campaign writes it, in another bucket and prefix: versioned rows (null for the null version).
        const folder = 'team-b/old-campaign';
        const failed =
          'bucket,key,versionId,errorCode,httpStatus,message,round\n' +
          `${bucket},v/a.txt,3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY,SlowDown,503,"slow, down",0\n` +
          `${bucket},v/b%20c.txt,null,SlowDown,503,slow,1\n` +
          `${bucket},v/d.txt,7ddd,AccessDenied,403,no,0\n`;
        await s3.send(new PutObjectCommand({ Bucket: other, Key: `${folder}/failed.csv`, Body: failed }));
        await s3.send(new PutObjectCommand({ Bucket: other, Key: `${folder}/campaign.json`, Body: '{}' }));
        const spec = parseCampaignSpec(
          testSpec({ accountId: '123456789012' }, bucket, {
            source: {
              type: 'campaign-failures',
              campaignId: 'old-campaign',
              errorCodes: ['SlowDown'],
              report: { bucket: other, prefix: 'team-b' },
            },
          }),
        );
        const preview = await previewCampaignManifest(spec, { s3 });
        expect(preview).toMatchObject({
          rowsScanned: 3,
          rowsSelected: 2,
          sampleKeys: ['v/a.txt', 'v/b c.txt'],
          sourceBuckets: [bucket],
          versioned: true,
        });
        // A mix of rows with and without a version cannot be one manifest: refused, saying how to get out of it.
        await s3.send(
          new PutObjectCommand({
            Bucket: other,
            Key: `${folder}/failed.csv`,
            Body: failed + `${bucket},v/e.txt,,SlowDown,503,slow,0\n`,
          }),
        );
        await expect(previewCampaignManifest(spec, { s3 })).rejects.toThrow(
          `s3://${other}/${folder}/failed.csv line 5: version ids must be in all rows or in none (the selected failures mix objects with and without a version id: redrive them with errorCodes that keep one kind)`,
        );
      });
    });
  });
});
