/**
 * Builds a campaign's first-round manifests from its source: an explicit list of keys, an existing CSV manifest
 * (validated and re-sharded into the campaign's folder), or an S3 Inventory report (through `src/inventory`).
 */
import type { Readable } from 'node:stream';

import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure, Context } from '@temporalio/activity';

import { toApplicationFailure } from '../aws/errors';
import { estimateCost } from '../cost/estimate';
import type { PriceTable } from '../cost/price-table';
import { loadPriceTable } from '../cost/prices';
import { buildManifests } from '../inventory';
import { createLogger } from '../logging';
import { CsvParser } from '../csv';
import { decodeManifestKey, encodeManifestKey } from '../inventory/key-encoding';
import { ManifestShardWriter } from '../manifest/shard-writer';
import type { BuildCampaignManifestsInput, BuildCampaignManifestsResult } from '../shared/activity-types';
import type { ManifestStats } from '../shared/campaign';
import { parseS3Uri } from '../shared/campaign-spec';
import { FailureType } from '../shared/errors';

const withSlash = (uri: string) => (uri.endsWith('/') ? uri : `${uri}/`);

/** Keys shown to the approver. */
const SAMPLE_SIZE = 10;
/** Heartbeat at most this often while streaming (ms). */
const HEARTBEAT_EVERY_MS = 5_000;

export function createManifestActivities(deps: { s3: S3Client; prices?: PriceTable }) {
  const writer = (input: BuildCampaignManifestsInput, versioned: boolean) =>
    new ManifestShardWriter({
      s3: deps.s3,
      bucket: input.output.bucket,
      keyPrefix: `${input.output.prefix}/manifests/round-0`,
      maxRows: input.maxObjectsPerJob,
      versioned,
      signal: Context.current().cancellationSignal,
    });

  async function fromKeys(input: BuildCampaignManifestsInput & { source: { type: 'keys' } }) {
    const { bucket, keys } = input.source;
    const w = writer(input, false);
    const seen = new Set<string>();
    for (const key of keys) {
      if (seen.has(key)) continue; // one task per object: a duplicate would run the operation twice
      seen.add(key);
      await w.write(`${bucket},${encodeManifestKey(key)}`);
    }
    const manifests = await w.close();
    const stats: ManifestStats = {
      rowsScanned: keys.length,
      rowsSelected: seen.size,
      bytesByStorageClass: {},
      sampleKeys: [...seen].slice(0, SAMPLE_SIZE),
    };
    return { manifests, stats };
  }

  async function fromCsv(input: BuildCampaignManifestsInput & { source: { type: 'csv' } }) {
    const uri = input.source.manifest;
    const { bucket, key } = parseS3Uri(uri);
    let body: Readable;
    try {
      const res = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      body = res.Body as Readable;
    } catch (err) {
      throw toApplicationFailure(err, `reading the CSV manifest ${uri}`);
    }
    const parser = new CsvParser();
    let w: ManifestShardWriter | undefined;
    let columns = 0;
    let rows = 0;
    const sample: string[] = [];
    let lastBeat = 0;
    const bad = (line: number, why: string) =>
      ApplicationFailure.nonRetryable(`CSV manifest ${uri} line ${line}: ${why}`, FailureType.InvalidInput);
    const take = async (records: ReturnType<CsvParser['push']>) => {
      for (const r of records) {
        if (r.fields.length === 1 && r.fields[0] === '') continue; // blank (trailing) lines
        if (r.fields.length !== 2 && r.fields.length !== 3) {
          throw bad(
            r.line,
            `${r.fields.length} fields; expected bucket,key or bucket,key,versionId (URL-encode commas in keys as %2C)`,
          );
        }
        columns ||= r.fields.length;
        if (r.fields.length !== columns) throw bad(r.line, 'version ids must be in all rows or in none');
        const [b, k, v] = r.fields as [string, string, string | undefined];
        if (!b || !k) throw bad(r.line, 'empty bucket or key');
        if (v === '') throw bad(r.line, 'empty version id (write null for null-version objects)');
        try {
          if (sample.length < SAMPLE_SIZE) sample.push(decodeManifestKey(k));
          else decodeManifestKey(k);
        } catch {
          throw bad(r.line, `key ${JSON.stringify(k)} is not valid URL encoding`);
        }
        w ??= writer(input, columns === 3);
        await w.write(r.fields.join(','));
        rows += 1;
        if (Date.now() - lastBeat > HEARTBEAT_EVERY_MS) {
          Context.current().heartbeat({ rows });
          lastBeat = Date.now();
        }
      }
    };
    try {
      body.setEncoding('utf8');
      for await (const chunk of body) await take(parser.push(chunk as string));
      await take(parser.end());
    } catch (err) {
      await w?.abort();
      if (err instanceof ApplicationFailure) throw err;
      if ((err as Error).name === 'CsvSyntaxError') throw bad(0, (err as Error).message);
      throw toApplicationFailure(err, `reading the CSV manifest ${uri}`);
    }
    const manifests = w ? await w.close() : [];
    return { manifests, stats: { rowsScanned: rows, rowsSelected: rows, bytesByStorageClass: {}, sampleKeys: sample } };
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
        sampleSize: SAMPLE_SIZE,
      },
      {
        s3: deps.s3,
        signal: ctx.cancellationSignal,
        onProgress: (p) => ctx.heartbeat(p),
        resumeFrom: ctx.info.heartbeatDetails,
        log: createLogger('inventory', { attrs: { campaign: input.campaignId } }),
      },
    );
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
        inventoryCreatedAt: summary.inventory.creationTimestamp,
      },
    };
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
