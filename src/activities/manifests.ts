/**
 * Builds a campaign's first-round manifests from its source: an explicit list of keys, an existing CSV manifest
 * (validated and re-sharded into the campaign's folder), an S3 Inventory report (through `src/inventory`), or a
 * listing of a bucket (through `src/listing`).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure, Context } from '@temporalio/activity';

import { toApplicationFailure } from '../aws/errors';
import { estimateCost } from '../cost/estimate';
import type { PriceTable } from '../cost/price-table';
import { loadPriceTable } from '../cost/prices';
import { buildManifests } from '../inventory';
import { buildManifestsFromListing, listConcurrencyFromEnv } from '../listing';
import { encodeManifestKey } from '../inventory/key-encoding';
import { S3ManifestSink } from '../inventory/sink';
import { createLogger } from '../logging';
import {
  campaignFailuresLocation,
  CampaignFailuresError,
  failedCsvUri,
  readCampaignFailures,
} from '../manifest/campaign-failures';
import { CsvManifestError, readCsvManifest, type CsvManifestRow } from '../manifest/csv-manifest';
import type { BuildCampaignManifestsInput, BuildCampaignManifestsResult } from '../shared/activity-types';
import type { ManifestRef, ManifestStats } from '../shared/campaign';
import { FailureType } from '../shared/errors';
import { MAX_JOBS_PER_ROUND } from '../shared/limits';

const withSlash = (uri: string) => (uri.endsWith('/') ? uri : `${uri}/`);

/** Keys shown to the approver. */
const SAMPLE_SIZE = 10;
/** Heartbeat at most this often while streaming (ms). */
const HEARTBEAT_EVERY_MS = 5_000;

/** Lines batched into one write to the sink: few calls, little memory. */
const WRITE_BATCH_BYTES = 1 << 20;

/**
 * Fails when `objects` need more jobs than one round may have. Called before anything is written.
 * @param what The source, for the message (`source.keys`, `CSV manifest s3://…`).
 */
function checkJobCount(what: string, objects: number, maxObjectsPerJob: number): void {
  const jobs = Math.ceil(objects / maxObjectsPerJob);
  if (jobs <= MAX_JOBS_PER_ROUND) return;
  throw ApplicationFailure.nonRetryable(
    `${what} lists ${objects} objects: ${jobs} jobs at maxObjectsPerJob=${maxObjectsPerJob}, at most ` +
      `${MAX_JOBS_PER_ROUND} per round: raise maxObjectsPerJob to at least ${Math.ceil(objects / MAX_JOBS_PER_ROUND)}`,
    FailureType.InvalidInput,
  );
}

/**
 * What the streaming builds (inventory, listing) take from their activity: its cancellation, hand-over of the build
 * (uploads and all) to the next attempt when a worker shuts down or an attempt times out, heartbeats of durable
 * progress, and the last one to resume from.
 */
function resumable(ctx: Context) {
  return {
    signal: ctx.cancellationSignal,
    handOver: () => !!(ctx.cancellationDetails?.workerShutdown || ctx.cancellationDetails?.timedOut),
    onProgress: (p: unknown) => ctx.heartbeat(p),
    resumeFrom: ctx.info.heartbeatDetails as unknown,
  };
}

/** What a streaming build reports, as both builds name it. */
interface StreamedBuildSummary {
  fields: readonly string[];
  shards: ReadonlyArray<{ key: string; etag: string; rows: number }>;
  rowsScanned: number;
  rowsSelected: number;
  bytesByStorageClass: Record<string, number>;
  rowsByStorageClass?: Record<string, number>;
  sampleKeys: string[];
  /** Listing builds: list requests sent (earlier attempts' included). */
  listRequests?: number;
}

/** A streaming build's shards and stats as the activity's result (versioned when the manifests have 3 columns). */
function streamedBuildResult(
  input: BuildCampaignManifestsInput,
  summary: StreamedBuildSummary,
): BuildCampaignManifestsResult {
  const versioned = summary.fields.length === 3;
  return {
    manifests: summary.shards.map((s) => ({
      bucket: input.output.bucket,
      key: s.key,
      etag: s.etag,
      rows: s.rows,
      versioned: versioned || undefined,
    })),
    stats: {
      rowsScanned: summary.rowsScanned,
      rowsSelected: summary.rowsSelected,
      bytesByStorageClass: summary.bytesByStorageClass,
      rowsByStorageClass: summary.rowsByStorageClass,
      sampleKeys: summary.sampleKeys,
      ...(summary.listRequests !== undefined ? { listRequests: summary.listRequests } : {}),
    },
  };
}

export function createManifestActivities(deps: { s3: S3Client; prices?: PriceTable }) {
  /**
   * Writes lines into the round's manifests (`manifests/round-0/manifest-NNNNN.csv`, the inventory path's sink): every
   * upload stays open until all lines are in, so nothing appears under a final name unless the whole build succeeds.
   * Uploads a lost attempt left open are aborted first; any failure aborts this attempt's uploads.
   */
  async function writeManifests(
    input: BuildCampaignManifestsInput,
    versioned: boolean,
    produce: (write: (line: string) => Promise<void>) => Promise<void>,
  ): Promise<ManifestRef[]> {
    const ctx = Context.current();
    const sink = new S3ManifestSink(
      deps.s3,
      input.output.bucket,
      `${input.output.prefix}/manifests/round-0`,
      input.maxObjectsPerJob,
      [],
      createLogger('manifests', { attrs: { campaign: input.campaignId } }),
      ctx.cancellationSignal,
    );
    let batch = '';
    let batchRows = 0;
    const flush = async () => {
      if (batchRows === 0) return;
      await sink.write(Buffer.from(batch, 'utf8'), batchRows);
      batch = '';
      batchRows = 0;
    };
    try {
      await sink.prepare();
      await produce(async (line) => {
        batch += line + '\n';
        batchRows += 1;
        if (batch.length >= WRITE_BATCH_BYTES) await flush();
      });
      await flush();
      const shards = await sink.finish();
      return shards.map((s) => ({
        bucket: input.output.bucket,
        key: s.key,
        etag: s.etag,
        rows: s.rows,
        versioned: versioned || undefined,
      }));
    } catch (err) {
      // A retry starts over (and aborts what is left anyway): nothing here is worth keeping for it.
      await sink.abort();
      throw err;
    }
  }

  async function fromKeys(input: BuildCampaignManifestsInput & { source: { type: 'keys' } }) {
    const { bucket, keys } = input.source;
    // One task per object: a duplicate would run the operation twice.
    const unique = [...new Set(keys)];
    checkJobCount('source.keys', unique.length, input.maxObjectsPerJob);
    const manifests = await writeManifests(input, false, async (write) => {
      for (const key of unique) await write(`${bucket},${encodeManifestKey(key)}`);
    });
    const stats: ManifestStats = {
      rowsScanned: keys.length,
      rowsSelected: unique.length,
      bytesByStorageClass: {},
      sampleKeys: unique.slice(0, SAMPLE_SIZE),
    };
    return { manifests, stats };
  }

  /**
   * CSV sources are read twice: a first pass checks every line and counts the jobs before anything is written, a
   * second one (pinned to the first one's ETag, so both read the same object) writes the manifests. Reading twice
   * keeps the worker's disk and memory out of it, whatever the manifest's size.
   */
  async function fromCsv(input: BuildCampaignManifestsInput & { source: { type: 'csv' } }) {
    const uri = input.source.manifest;
    const ctx = Context.current();
    let lastBeat = 0;
    const beat = (pass: number, rows: number) => {
      if (Date.now() - lastBeat < HEARTBEAT_EVERY_MS) return;
      ctx.heartbeat({ pass, rows });
      lastBeat = Date.now();
    };
    const read = async (pass: number, onRow: (row: CsvManifestRow) => void | Promise<void>, ifMatch?: string) => {
      let rows = 0;
      try {
        return await readCsvManifest(
          deps.s3,
          uri,
          async (row) => {
            await onRow(row);
            beat(pass, ++rows);
          },
          { ifMatch, signal: ctx.cancellationSignal },
        );
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err;
        if (err instanceof CsvManifestError)
          throw ApplicationFailure.nonRetryable(err.message, FailureType.InvalidInput);
        if ((err as { name?: string }).name === 'PreconditionFailed') {
          throw ApplicationFailure.retryable(
            `the CSV manifest ${uri} changed while it was read; the retry reads it again`,
            FailureType.Transient,
          );
        }
        throw toApplicationFailure(err, `reading the CSV manifest ${uri}`);
      }
    };
    const sample: string[] = [];
    const checked = await read(1, (row) => {
      if (sample.length < SAMPLE_SIZE) sample.push(row.decodedKey);
    });
    checkJobCount(`CSV manifest ${uri}`, checked.rows, input.maxObjectsPerJob);
    let manifests: ManifestRef[] = [];
    if (checked.rows > 0) {
      manifests = await writeManifests(input, checked.versioned, async (write) => {
        await read(2, (row) => write(row.text), checked.etag);
      });
    }
    const rows = checked.rows;
    return { manifests, stats: { rowsScanned: rows, rowsSelected: rows, bytesByStorageClass: {}, sampleKeys: sample } };
  }

  /**
   * An earlier campaign's failures (its failed.csv, optionally only some error codes), read twice as a CSV source is:
   * a first pass selects and checks every row and counts the jobs, a second one pinned to the first one's ETag writes
   * the manifests.
   */
  async function fromCampaignFailures(input: BuildCampaignManifestsInput & { source: { type: 'campaign-failures' } }) {
    const source = input.source;
    // The campaign's folder is `<report.prefix>/<campaign id>`: the other campaign's is beside it unless the source
    // says where.
    const reportPrefix = input.output.prefix.slice(0, -(input.campaignId.length + 1));
    const loc = campaignFailuresLocation(source, { bucket: input.output.bucket, prefix: reportPrefix });
    if (loc.bucket === input.output.bucket && loc.folder === input.output.prefix) {
      throw ApplicationFailure.nonRetryable(
        `source.campaignId ${JSON.stringify(source.campaignId)} is this campaign: a campaign cannot redrive its own failures`,
        FailureType.InvalidInput,
      );
    }
    const ctx = Context.current();
    let lastBeat = 0;
    const read = async (pass: number, onRow: (row: CsvManifestRow) => void | Promise<void>, ifMatch?: string) => {
      let rows = 0;
      try {
        return await readCampaignFailures(
          deps.s3,
          source,
          loc,
          async (row) => {
            await onRow(row);
            rows += 1;
            if (Date.now() - lastBeat >= HEARTBEAT_EVERY_MS) {
              ctx.heartbeat({ pass, rows });
              lastBeat = Date.now();
            }
          },
          { ifMatch, signal: ctx.cancellationSignal },
        );
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err;
        if (err instanceof CampaignFailuresError)
          throw ApplicationFailure.nonRetryable(err.message, FailureType.InvalidInput);
        if ((err as { name?: string }).name === 'PreconditionFailed') {
          throw ApplicationFailure.retryable(
            `${failedCsvUri(loc)} changed while it was read; the retry reads it again`,
            FailureType.Transient,
          );
        }
        throw toApplicationFailure(err, `reading ${failedCsvUri(loc)}`);
      }
    };
    const sample: string[] = [];
    const checked = await read(1, (row) => {
      if (sample.length < SAMPLE_SIZE) sample.push(row.decodedKey);
    });
    checkJobCount(`the failures of campaign ${source.campaignId}`, checked.rowsSelected, input.maxObjectsPerJob);
    let manifests: ManifestRef[] = [];
    if (checked.rowsSelected > 0) {
      manifests = await writeManifests(input, checked.versioned, async (write) => {
        await read(2, (row) => write(row.text), checked.etag);
      });
    }
    const stats: ManifestStats = {
      rowsScanned: checked.rowsScanned,
      rowsSelected: checked.rowsSelected,
      bytesByStorageClass: {},
      sampleKeys: sample,
    };
    return { manifests, stats };
  }

  /** Inventory sources: the streaming generator, heartbeating its progress and resuming from the last heartbeat. */
  async function fromInventory(
    input: BuildCampaignManifestsInput,
    inventory: string,
  ): Promise<BuildCampaignManifestsResult> {
    const ctx = Context.current();
    const summary = await buildManifests(
      {
        inventory,
        filter: input.filter ?? {},
        output: `s3://${input.output.bucket}/${input.output.prefix}/manifests/round-0`,
        maxObjectsPerJob: input.maxObjectsPerJob,
        maxManifests: MAX_JOBS_PER_ROUND,
        sampleSize: SAMPLE_SIZE,
      },
      {
        s3: deps.s3,
        ...resumable(ctx),
        log: createLogger('inventory', { attrs: { campaign: input.campaignId } }),
      },
    );
    const res = streamedBuildResult(input, summary);
    res.stats.inventoryCreatedAt = summary.inventory.creationTimestamp;
    return res;
  }

  /**
   * Bucket sources the worker lists (`generator: list`): the parallel lister, heartbeating durable progress and
   * resuming from the last heartbeat, as the inventory path does.
   */
  async function fromBucket(
    input: BuildCampaignManifestsInput & { source: { type: 'bucket' } },
  ): Promise<BuildCampaignManifestsResult> {
    const { source } = input;
    if ((source.generator ?? 'list') !== 'list') {
      throw ApplicationFailure.nonRetryable(
        `source.generator ${source.generator}: S3 generates this manifest on CreateJob; the worker lists only ` +
          'generator "list"',
        FailureType.InvalidInput,
      );
    }
    let concurrency: number;
    try {
      concurrency = listConcurrencyFromEnv();
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`the worker's ${(err as Error).message}`, FailureType.InvalidInput);
    }
    const ctx = Context.current();
    const summary = await buildManifestsFromListing(
      {
        bucket: source.bucket,
        prefix: source.prefix,
        versions: source.versions,
        filter: input.filter,
        output: { bucket: input.output.bucket, prefix: `${input.output.prefix}/manifests/round-0` },
        maxObjectsPerJob: input.maxObjectsPerJob,
        maxManifests: MAX_JOBS_PER_ROUND,
        sampleSize: SAMPLE_SIZE,
      },
      {
        s3: deps.s3,
        ...resumable(ctx),
        concurrency,
        log: createLogger('listing', { attrs: { campaign: input.campaignId } }),
      },
    );
    return streamedBuildResult(input, summary);
  }

  return {
    async buildCampaignManifests(input: BuildCampaignManifestsInput): Promise<BuildCampaignManifestsResult> {
      const source = input.source;
      let res: BuildCampaignManifestsResult;
      switch (source.type) {
        case 'keys':
          res = await fromKeys({ ...input, source });
          break;
        case 'csv':
          res = await fromCsv({ ...input, source });
          break;
        case 'inventory':
        case 'inventory-latest':
          res = await fromInventory(
            input,
            source.type === 'inventory' ? source.manifest : withSlash(source.destination),
          );
          break;
        case 'bucket':
          res = await fromBucket({ ...input, source });
          break;
        case 'campaign-failures':
          res = await fromCampaignFailures({ ...input, source });
          break;
      }
      if (input.operation && res.manifests.length > 0) {
        // The worker's price table (S3C_PRICE_TABLE overrides the shipped one): the workflow cannot read files.
        res.estimate = estimateCost({
          operation: input.operation,
          stats: res.stats,
          jobs: res.manifests.length,
          prices: deps.prices ?? loadPriceTable(),
        });
      }
      return res;
    },
  };
}
