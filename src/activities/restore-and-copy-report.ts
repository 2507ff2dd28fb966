/**
 * The final report of a restore-and-copy campaign: `failed.csv` of every object that did not make it, with the stage
 * in its `errorCode` (`RestoreFailed:<code>`, `CopyFailed:<code>`, `ExpiredBeforeCopy`, `Missing`), and
 * `campaign.json` with the restore, wave and large-object counts, the tracking counts and the restore durations.
 * failed.csv is streamed (children's failed.csv files, the tracking set's shards, the large-copy failure files) into
 * one upload, never held in memory.
 */
import { Readable } from 'node:stream';

import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';

import { toApplicationFailure } from '../aws/errors';
import { uploadStream } from '../aws/upload';
import { CsvParser, csvRow } from '../csv';
import { encodeManifestKey } from '../inventory/key-encoding';
import { TrackingStore } from '../restore-tracking/store';
import { campaignTotals, type CampaignState } from '../shared/campaign';
import type { CampaignSpec } from '../shared/campaign-spec';
import { UNRESTORED_COPY_ERROR_CODES } from '../shared/restore-tracking-types';
import { CAMPAIGN_REPORT_VERSION } from './campaign-report';
import { FAILURE_CSV_HEADER } from './rounds';

export interface WriteRestoreAndCopyReportInput {
  spec: CampaignSpec;
  state: CampaignState;
  output: { bucket: string; prefix: string };
}

export interface WriteRestoreAndCopyReportResult {
  reportKey: string;
  failedObjectsKey: string;
  /** Rows of failed.csv. */
  failedObjects: number;
}

/** Where a large copy's failure rows go (already in failed.csv's columns, stage included). */
export interface WriteLargeCopyFailuresInput {
  bucket: string;
  key: string;
  rows: Array<{ bucket: string; key: string; versionId?: string; errorCode: string; message: string }>;
}

function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  return { bucket: m?.[1] ?? '', key: m?.[2] ?? '' };
}

export function createRestoreAndCopyReportActivities(deps: { s3: S3Client }) {
  const { s3 } = deps;

  /** The data rows of a failed.csv in S3 (its header skipped), each field as written. */
  async function* csvRows(bucket: string, key: string): AsyncGenerator<string[]> {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = out.Body as Readable;
    body.setEncoding('utf8');
    const parser = new CsvParser();
    let first = true;
    const take = function* (records: ReturnType<CsvParser['push']>) {
      for (const r of records) {
        if (first) {
          first = false;
          if (r.fields[0] === 'bucket') continue;
        }
        if (r.fields.length === 1 && r.fields[0] === '') continue;
        yield r.fields;
      }
    };
    for await (const chunk of body) yield* take(parser.push(chunk as string));
    yield* take(parser.end());
  }

  return {
    /** Writes the failures of a batch of large-object copies as failed.csv rows (without header). */
    async writeLargeCopyFailures(input: WriteLargeCopyFailuresInput): Promise<void> {
      const body = input.rows
        .map((r) => csvRow([r.bucket, encodeManifestKey(r.key), r.versionId ?? '', r.errorCode, '', r.message, '0']))
        .join('');
      await s3.send(
        new PutObjectCommand({ Bucket: input.bucket, Key: input.key, Body: body, ContentType: 'text/csv' }),
      );
    },

    async writeRestoreAndCopyReport(input: WriteRestoreAndCopyReportInput): Promise<WriteRestoreAndCopyReportResult> {
      const { state, spec, output } = input;
      const rac = state.restoreAndCopy!;
      const failedKey = `${output.prefix}/failed.csv`;
      const reportKey = `${output.prefix}/campaign.json`;
      let rows = 0;
      try {
        const children = [
          ...rac.restores.map((c) => ({ c, stage: 'RestoreFailed' })),
          ...rac.waves.map((c) => ({ c, stage: 'CopyFailed' })),
        ];
        const store = new TrackingStore(s3, output);
        const body = Readable.from(
          (async function* () {
            yield FAILURE_CSV_HEADER.join(',') + '\n';
            for (const { c, stage } of children) {
              if (!c.result?.failedObjects) continue;
              const at = parseS3Uri(c.result.failedObjects);
              // A wave's copies that found their source not restored went back to waiting; a later wave copied them.
              const requeued = (c.requeued ?? 0) > 0 ? new Set(UNRESTORED_COPY_ERROR_CODES) : undefined;
              for await (const f of csvRows(at.bucket, at.key)) {
                if (requeued?.has(f[3] ?? '')) continue;
                rows += 1;
                const fields = [...f];
                fields[3] = `${stage}:${fields[3] ?? ''}`;
                yield csvRow(fields);
              }
              Context.current().heartbeat({ rows });
            }
            const index = await store.readIndex();
            for (const [shard, entry] of (index?.index.shards ?? []).entries()) {
              if (entry.counts.failed + entry.counts.expired === 0) continue;
              for (const r of await store.readShard(shard, entry.gen)) {
                if (r.state !== 'failed' && r.state !== 'expired') continue;
                rows += 1;
                const code = r.state === 'failed' ? 'Missing' : 'ExpiredBeforeCopy';
                yield csvRow([r.bucket, encodeManifestKey(r.key), r.versionId, code, '', r.note, '0']);
              }
              Context.current().heartbeat({ rows });
            }
            for (const key of rac.large.failureKeys) {
              for await (const f of csvRows(output.bucket, key)) {
                rows += 1;
                yield csvRow(f);
              }
            }
          })(),
        );
        await uploadStream(s3, { Bucket: output.bucket, Key: failedKey, ContentType: 'text/csv' }, body);
        const report = {
          reportVersion: CAMPAIGN_REPORT_VERSION,
          campaignId: state.campaignId,
          name: spec.name,
          operation: spec.operation.type,
          outcome: state.outcome,
          reason: state.outcomeReason,
          startedAt: state.startedAt,
          endedAt: new Date().toISOString(),
          totals: campaignTotals(state),
          stats: state.stats,
          restoreAndCopy: {
            sorted: rac.sorted,
            tracking: rac.counts ?? rac.sorted?.counts,
            restoreDurations: rac.durations ?? [],
            restores: rac.restores.map(childSummary),
            waves: rac.waves.map(childSummary),
            largeObjects: { ...rac.large, failureKeys: undefined },
            requeued: rac.requeued ?? 0,
            extensions: rac.extensions,
            headRequests: rac.headRequests,
            eventsApplied: rac.eventsApplied,
            trackingSteps: rac.steps,
          },
          failedObjects: { bucket: output.bucket, key: failedKey, count: rows },
          spec,
        };
        await s3.send(
          new PutObjectCommand({
            Bucket: output.bucket,
            Key: reportKey,
            Body: JSON.stringify(report, null, 2),
            ContentType: 'application/json',
          }),
        );
        return { reportKey, failedObjectsKey: failedKey, failedObjects: rows };
      } catch (err) {
        throw toApplicationFailure(err, `writing the campaign report to s3://${output.bucket}/${output.prefix}/`);
      }
    },
  };
}

function childSummary(c: NonNullable<CampaignState['restoreAndCopy']>['waves'][number]) {
  return {
    workflowId: c.workflowId,
    waveId: c.waveId,
    objects: c.manifest.rows,
    startedAt: c.startedAt,
    outcome: c.result?.outcome,
    succeeded: c.result?.succeeded,
    failed: c.result?.failed,
    jobs: c.result?.jobs,
    report: c.result?.report,
    failedObjects: c.result?.failedObjects,
    ...(c.requeued ? { requeued: c.requeued } : {}),
    error: c.error,
  };
}
