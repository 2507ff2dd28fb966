/**
 * The final report of a restore-and-copy campaign: `failed.csv` of every object that did not make it, with the stage
 * in its `errorCode` (`RestoreFailed:<code>`, `CopyFailed:<code>`, `ExpiredBeforeCopy`, `Missing`), and
 * `campaign.json` with the restore, wave and large-object counts, the tracking counts and the restore durations.
 * failed.csv is streamed (children's failed.csv files, the tracking set's shards, the large-copy failure files) into
 * one upload, never held in memory. It names each object whose restore failed once: by that failure when its tracking
 * row is still `requested` or found missing (that row is left out), by what became of it when it went on anyway
 * (`WENT_ON`: its restore failure is left out), in bounded memory (`RestoreFailureIds`). Rows come in this order:
 * tracking rows, restore failures, copy failures, large-copy failures.
 */
import { Readable } from 'node:stream';

import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';

import { toApplicationFailure } from '../aws/errors';
import { uploadStream } from '../aws/upload';
import { CsvParser, csvRow } from '../csv';
import { encodeManifestKey } from '../inventory/key-encoding';
import { RestoreFailureIds } from '../restore-tracking/restore-failures';
import { TrackingStore } from '../restore-tracking/store';
import {
  campaignTotals,
  restoreAndCopyOutcome,
  type CampaignOutcome,
  type CampaignResult,
  type CampaignState,
  type CampaignTotals,
} from '../shared/campaign';
import type { CampaignSpec } from '../shared/campaign-spec';
import { UNRESTORED_COPY_ERROR_CODES, type TrackingState } from '../shared/restore-tracking-types';
import { CAMPAIGN_REPORT_VERSION } from './campaign-report';
import { FAILURE_CSV_HEADER, NOT_RUN_CODE } from './rounds';

export interface WriteRestoreAndCopyReportInput {
  spec: CampaignSpec;
  state: CampaignState;
  output: { bucket: string; prefix: string };
  /**
   * The campaign ended before its work did (cancelled, or failed for good): every tracked object not copied is named
   * in failed.csv as `NotCopied:<outcome>` (once: a child's `NotRun` rows of those objects are folded in, and an object
   * already named `RestoreFailed:<code>` is not named again), and the children that ended without a result are read
   * from their own reports. @default false
   */
  endedEarly?: boolean;
}

export interface WriteRestoreAndCopyReportResult {
  reportKey: string;
  failedObjectsKey: string;
  /** Rows of failed.csv. */
  failedObjects: number;
  /** With `endedEarly`: the results of child campaigns that ended without one (cancelled), from their reports. */
  childResults?: Array<{ workflowId: string; result: CampaignResult }>;
  /** @see RestoreAndCopyState.restoreFailuresAlsoTracked; absent when 0. */
  restoreFailuresAlsoTracked?: number;
  /** @see RestoreAndCopyState.restoreFailuresWentOn; absent when 0. */
  restoreFailuresWentOn?: number;
  /**
   * The campaign's outcome and reason derived again from its totals, when `restoreFailuresWentOn` or
   * `restoreFailuresAlsoTracked` changed them (the workflow derived them while those restore failures still counted
   * failed); absent otherwise, and after an early end (its outcome is not derived from the totals).
   */
  outcome?: CampaignOutcome;
  outcomeReason?: string;
}

/** Rows read between heartbeats where no file boundary comes to heartbeat (a few seconds of rows at most). */
const HEARTBEAT_EVERY_ROWS = 100_000;

/** What failed.csv says of an object still in the tracking set when the campaign ended early, by its state. */
const NOT_COPIED_BECAUSE: Partial<Record<TrackingState, string>> = {
  requested: 'its restore was asked for (or was to be) and had not completed',
  restored: 'restored, waiting for a copy wave',
  'skipped-restored': 'readable without a restore, waiting for a copy wave',
};

/**
 * Tracking states that show an object went on after its restore failed, readable anyway (overwritten as STANDARD after
 * the sort, or restored by a request that did go through): a sweep or an event saw it readable, so the restore
 * failure is not what became of it. failed.csv names it by what did: `queued` (put in a copy wave) by the wave's own
 * outcome (copied: not named; copy failed: its `CopyFailed:` row), `expired` (readable, then expired before its copy)
 * by `ExpiredBeforeCopy`, and `restored` or `skipped-restored` (readable, waiting for a wave: left only by a campaign
 * that ended early) by `NotCopied:`. Not `requested` (still waiting for the restore that failed) nor `failed` (found
 * gone, which the restore failure already says).
 */
const WENT_ON: ReadonlySet<TrackingState> = new Set<TrackingState>([
  'queued',
  'expired',
  'restored',
  'skipped-restored',
]);

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

  /** A child campaign's result from its campaign.json, or undefined when it wrote none. */
  async function childReport(bucket: string, prefix: string): Promise<CampaignResult | undefined> {
    const key = `${prefix}/campaign.json`;
    let report: { outcome: CampaignResult['outcome']; reason?: string; campaignId: string; totals: CampaignTotals };
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      report = JSON.parse(await out.Body!.transformToString('utf8')) as typeof report;
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey') return undefined;
      throw err;
    }
    const t = report.totals;
    return {
      campaignId: report.campaignId,
      outcome: report.outcome,
      reason: report.reason,
      objects: t.objects,
      succeeded: t.succeeded,
      failed: t.failed,
      notRun: t.notRun,
      jobs: t.jobs,
      report: `s3://${bucket}/${key}`,
      failedObjects: `s3://${bucket}/${prefix}/failed.csv`,
    };
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
      const { spec, output } = input;
      const failedKey = `${output.prefix}/failed.csv`;
      const reportKey = `${output.prefix}/campaign.json`;
      const notCopied = `NotCopied:${input.state.outcome ?? 'Failed'}`;
      let rows = 0;
      let restoreFailures: RestoreFailureIds | undefined;
      let wentOnIds: RestoreFailureIds | undefined;
      try {
        // Children that ended without a result (cancelled) wrote their report all the same, in their own folder.
        const childResults: NonNullable<WriteRestoreAndCopyReportResult['childResults']> = [];
        if (input.endedEarly) {
          for (const c of [...input.state.restoreAndCopy!.restores, ...input.state.restoreAndCopy!.waves]) {
            if (c.result) continue;
            const result = await childReport(spec.report.bucket, `${spec.report.prefix}/${c.workflowId}`);
            if (result) childResults.push({ workflowId: c.workflowId, result });
          }
        }
        const state: CampaignState = structuredClone(input.state);
        const rac = state.restoreAndCopy!;
        for (const { workflowId, result } of childResults) {
          const run = [...rac.restores, ...rac.waves].find((r) => r.workflowId === workflowId);
          if (run) run.result = result;
        }
        const children = [
          ...rac.restores.map((c) => ({ c, stage: 'RestoreFailed' })),
          ...rac.waves.map((c) => ({ c, stage: 'CopyFailed' })),
        ];
        const store = new TrackingStore(s3, output);
        /** failed.csv rows by errorCode, as `campaign.json`'s `errorsByCode` (what `report` prints). */
        const errorsByCode: Record<string, number> = {};
        const row = (fields: string[]) => {
          rows += 1;
          const code = fields[3] ?? '';
          errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
          return csvRow(fields);
        };
        /** A child's failed.csv rows as this report writes them (stage in the error code), in file order. */
        async function* childRows(c: (typeof children)[number]['c'], stage: string): AsyncGenerator<string[]> {
          if (!c.result?.failedObjects) return;
          const at = parseS3Uri(c.result.failedObjects);
          // A wave's copies that found their source not restored went back to waiting; a later wave copied them.
          const requeued = (c.requeued ?? 0) > 0 ? new Set(UNRESTORED_COPY_ERROR_CODES) : undefined;
          for await (const f of csvRows(at.bucket, at.key)) {
            if (requeued?.has(f[3] ?? '')) continue;
            const fields = [...f];
            if (input.endedEarly && f[3] === NOT_RUN_CODE) {
              // A restore never run: the object is still `requested` in the tracking set, named below.
              if (stage === 'RestoreFailed') continue;
              fields[3] = notCopied;
              fields[5] = `its copy wave was stopped: ${fields[5] ?? ''}`.trim();
            } else {
              fields[3] = `${stage}:${fields[3] ?? ''}`;
            }
            yield fields;
          }
        }
        const failedObject = (f: string[]) => ({ bucket: f[0] ?? '', key: f[1] ?? '', versionId: f[2] ?? '' });
        /** The restore children's rows, each with whether its child counts it failed (a cancelled one's NotRun not). */
        async function* restoreRows(): AsyncGenerator<{ fields: string[]; countedFailed: boolean }> {
          for (const { c, stage } of children) {
            if (stage !== 'RestoreFailed') continue;
            const cancelled = c.result?.outcome === 'Cancelled';
            for await (const fields of childRows(c, stage)) {
              yield { fields, countedFailed: !(cancelled && fields[3] === `${stage}:${NOT_RUN_CODE}`) };
            }
            Context.current().heartbeat({ rows });
          }
        }
        /** Objects both a restore child and the tracking set count as failed (see `restoreFailuresAlsoTracked`). */
        let alsoTracked = 0;
        /** Restore failures left out because their object went on (see `restoreFailuresWentOn`). */
        let wentOnCount = 0;
        const body = Readable.from(
          (async function* () {
            yield FAILURE_CSV_HEADER.join(',') + '\n';
            const index = await store.readIndex();
            const entries = index?.index.shards ?? [];
            const shardCount = index?.index.shardCount ?? 1;
            const versioned = index?.index.versioned ?? false;
            // failed.csv names each object once. An object whose restore failed and that stayed `requested` (or was
            // found missing) is named by its restore failure, not again by its tracking row. One that went on anyway
            // (WENT_ON) is named by what became of it, not by its restore failure. So the restore failures are noted
            // first, the tracking rows are read (those of noted objects that went on are noted in turn), and the
            // restore failures are then read again without the latter (past the cap, by way of local files).
            const restoreFailed = (restoreFailures = new RestoreFailureIds(shardCount, { versioned }));
            for await (const { fields } of restoreRows()) await restoreFailed.note(failedObject(fields));
            const wentOn = (wentOnIds = new RestoreFailureIds(shardCount, { versioned }));
            const toRead = entries.flatMap(({ counts: c }, shard) => {
              const waiting = input.endedEarly ? c.requested + c.restored + c['skipped-restored'] : 0;
              const onward = restoreFailed.notedIn(shard) > 0 ? c.restored + c['skipped-restored'] + c.queued : 0;
              return c.failed + c.expired + waiting + onward === 0 ? [] : [shard];
            });
            const shards = restoreFailed.trackingRows(toRead, (shard) => store.readShard(shard, entries[shard]!.gen));
            for await (const { rows: kept, dropped } of shards) {
              const trackingRows = [...kept];
              for (const r of dropped) {
                if (WENT_ON.has(r.state)) {
                  await wentOn.noteRow(r);
                  trackingRows.push(r);
                } else if (r.state === 'failed') alsoTracked += 1;
              }
              for (const r of trackingRows) {
                const why = input.endedEarly ? NOT_COPIED_BECAUSE[r.state] : undefined;
                if (why) {
                  yield row([r.bucket, encodeManifestKey(r.key), r.versionId, notCopied, '', why, '0']);
                  continue;
                }
                if (r.state !== 'failed' && r.state !== 'expired') continue;
                const code = r.state === 'failed' ? 'Missing' : 'ExpiredBeforeCopy';
                yield row([r.bucket, encodeManifestKey(r.key), r.versionId, code, '', r.note, '0']);
              }
              Context.current().heartbeat({ rows });
            }
            await restoreFailed.close();
            let marked = 0;
            for await (const { item, noted } of wentOn.mark(restoreRows(), (x) => failedObject(x.fields))) {
              if (!noted) yield row(item.fields);
              else if (item.countedFailed) wentOnCount += 1;
              // Past the cap the rows come back from local files, not through restoreRows (which heartbeats).
              if (++marked % HEARTBEAT_EVERY_ROWS === 0) Context.current().heartbeat({ rows });
            }
            for (const { c, stage } of children) {
              if (stage === 'RestoreFailed') continue;
              for await (const fields of childRows(c, stage)) yield row(fields);
              Context.current().heartbeat({ rows });
            }
            for (const key of rac.large.failureKeys) {
              for await (const f of csvRows(output.bucket, key)) yield row(f);
            }
          })(),
        );
        await uploadStream(s3, { Bucket: output.bucket, Key: failedKey, ContentType: 'text/csv' }, body);
        // An outcome the workflow derived from the totals (it counted these restore failures failed) is derived again.
        const failedChild = [...rac.restores, ...rac.waves].find((r) => r.error !== undefined);
        const before = restoreAndCopyOutcome(campaignTotals(state), failedChild);
        const derived = state.outcome === before.outcome && state.outcomeReason === before.reason;
        if (alsoTracked > 0) rac.restoreFailuresAlsoTracked = alsoTracked;
        if (wentOnCount > 0) rac.restoreFailuresWentOn = wentOnCount;
        let outcome: ReturnType<typeof restoreAndCopyOutcome> | undefined;
        if (!input.endedEarly && derived && alsoTracked + wentOnCount > 0) {
          outcome = restoreAndCopyOutcome(campaignTotals(state), failedChild);
          state.outcome = outcome.outcome;
          state.outcomeReason = outcome.reason;
        }
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
          errorsByCode,
          stats: state.stats,
          restoreAndCopy: {
            sorted: rac.sorted,
            tracking: rac.counts ?? rac.sorted?.counts,
            restoreDurations: rac.durations ?? [],
            restores: rac.restores.map(childSummary),
            waves: rac.waves.map(childSummary),
            largeObjects: { ...rac.large, failureKeys: undefined },
            requeued: rac.requeued ?? 0,
            ...(rac.restoreFailuresAlsoTracked ? { restoreFailuresAlsoTracked: rac.restoreFailuresAlsoTracked } : {}),
            ...(rac.restoreFailuresWentOn ? { restoreFailuresWentOn: rac.restoreFailuresWentOn } : {}),
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
        return {
          reportKey,
          failedObjectsKey: failedKey,
          failedObjects: rows,
          ...(input.endedEarly ? { childResults } : {}),
          ...(alsoTracked > 0 ? { restoreFailuresAlsoTracked: alsoTracked } : {}),
          ...(wentOnCount > 0 ? { restoreFailuresWentOn: wentOnCount } : {}),
          ...(outcome ? { outcome: outcome.outcome, outcomeReason: outcome.reason } : {}),
        };
      } catch (err) {
        throw toApplicationFailure(err, `writing the campaign report to s3://${output.bucket}/${output.prefix}/`);
      } finally {
        await restoreFailures?.close().catch(() => undefined);
        await wentOnIds?.close().catch(() => undefined);
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
