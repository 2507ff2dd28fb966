/**
 * The campaign's final report: `failed.csv` (every object that still failed at the end, with its last error) and
 * `campaign.json` (spec, jobs, counts, errors by code, approvals, timings), written in that order so that a reader
 * who finds campaign.json also finds a complete failed.csv. Neither is ever half-written: campaign.json is one
 * PutObject, failed.csv one upload (multipart when large) streamed from the rounds' failure files.
 */
import { Readable } from 'node:stream';

import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';

import { toApplicationFailure } from '../aws/errors';
import { uploadStream } from '../aws/upload';
import type { WriteCampaignReportInput, WriteCampaignReportResult } from '../shared/activity-types';
import { campaignTotals, type CampaignJob, type ErrorCounts } from '../shared/campaign';
import { FAILURE_CSV_HEADER } from './rounds';

/**
 * Each job with the key of its completion report's `manifest.json`, where S3 wrote one (`reports/job-<id>/`, as
 * the round analysis reads it): a job that ended before running anything, or whose report never came, has none.
 */
async function withReportKeys(s3: S3Client, bucket: string, prefix: string, jobs: CampaignJob[]) {
  return Promise.all(
    jobs.map(async (job) => {
      if (!job.jobId) return job;
      const key = `${prefix}/reports/job-${job.jobId}/manifest.json`;
      try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { ...job, reportKey: key };
      } catch (err) {
        if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return job;
        throw err;
      }
    }),
  );
}

/** A heartbeat per this many bytes of failed.csv copied. */
const HEARTBEAT_BYTES = 64 << 20;

/** The version of campaign.json's layout; bumped on incompatible changes. */
export const CAMPAIGN_REPORT_VERSION = 1;

export function createCampaignReportActivities(deps: { s3: S3Client }) {
  return {
    async writeCampaignReport(input: WriteCampaignReportInput): Promise<WriteCampaignReportResult> {
      const { state, spec, output } = input;
      const failedKey = `${output.prefix}/failed.csv`;
      const reportKey = `${output.prefix}/campaign.json`;
      try {
        // Permanent failures of every round, plus the retryable and never-run ones of the last analyzed round (no
        // later job took them): every object that did not succeed, once.
        const last = state.rounds[state.rounds.length - 1];
        const sources = state.rounds.map((r) => r.permanentFailuresKey).filter((k): k is string => !!k);
        if (last?.retryableFailuresKey && last.round === state.round) sources.push(last.retryableFailuresKey);
        // Counted from the analyses, not from lines: a quoted message may span lines.
        const totals = campaignTotals(state);
        const failedObjects = totals.failed + totals.notRun;
        // Streamed from the rounds' files into one upload (multipart when large, so complete or absent), never
        // held in memory: a campaign may have millions of failed objects.
        const s3 = deps.s3;
        let copied = 0;
        const body = Readable.from(
          (async function* () {
            yield Buffer.from(FAILURE_CSV_HEADER.join(',') + '\n');
            for (const key of sources) {
              const out = await s3.send(new GetObjectCommand({ Bucket: output.bucket, Key: key }));
              for await (const chunk of out.Body as Readable) {
                const before = copied;
                copied += (chunk as Buffer).length;
                // Large lists take a while: stay within the activity's heartbeat timeout.
                if (Math.floor(copied / HEARTBEAT_BYTES) > Math.floor(before / HEARTBEAT_BYTES)) {
                  Context.current().heartbeat({ failedCsvBytes: copied });
                }
                yield chunk as Buffer;
              }
            }
          })(),
        );
        await uploadStream(s3, { Bucket: output.bucket, Key: failedKey, ContentType: 'text/csv' }, body);

        const errorsByCode: ErrorCounts = {};
        for (const r of state.rounds) {
          for (const [code, n] of Object.entries(r.errorsByCode)) errorsByCode[code] = (errorsByCode[code] ?? 0) + n;
        }
        const report = {
          reportVersion: CAMPAIGN_REPORT_VERSION,
          campaignId: state.campaignId,
          name: spec.name,
          outcome: state.outcome,
          reason: state.outcomeReason,
          startedAt: state.startedAt,
          endedAt: new Date().toISOString(),
          totals,
          errorsByCode,
          stats: state.stats,
          jobs: await withReportKeys(s3, output.bucket, output.prefix, state.jobs),
          rounds: state.rounds,
          failedObjects: { bucket: output.bucket, key: failedKey, count: failedObjects },
          spec,
        };
        await deps.s3.send(
          new PutObjectCommand({
            Bucket: output.bucket,
            Key: reportKey,
            Body: JSON.stringify(report, null, 2),
            ContentType: 'application/json',
          }),
        );
        return { reportKey, failedObjectsKey: failedKey, failedObjects };
      } catch (err) {
        throw toApplicationFailure(err, `writing the campaign report to s3://${output.bucket}/${output.prefix}/`);
      }
    },
  };
}
