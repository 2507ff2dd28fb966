/**
 * A campaign's manifest preview without creating any job or writing anything to S3: how many objects the spec
 * selects, their bytes by storage class and a few sample keys, as the campaign's first round would see them. The
 * input of `s3-campaigns estimate`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { S3Client } from '@aws-sdk/client-s3';

import { buildManifests } from '../inventory';
import { countListing, listConcurrencyFromEnv } from '../listing';
import { campaignFailuresLocation, failedCsvUri, readCampaignFailures } from '../manifest/campaign-failures';
import { summarizeCsvManifest } from '../manifest/csv-summary';
import type { CampaignSpec } from '../shared/campaign-spec';
import type { CostStats } from './estimate';

/** Keys shown to the person deciding, as in the campaign's status. */
const SAMPLE_SIZE = 10;

/** What the campaign's first round would act on. */
export interface ManifestPreview extends CostStats {
  /** What was read: the inventory report, the CSV manifest, the listed bucket, or the spec's keys. */
  source: string;
  /** Inventory rows read (the CSV's rows; the spec's keys, duplicates included). */
  rowsScanned: number;
  /** Jobs of the first round: one per `maxObjectsPerJob` objects. */
  jobs: number;
  /** A few selected keys, decoded. */
  sampleKeys: string[];
  /** Buckets of the objects (the inventory's source bucket, a CSV's buckets, the keys' bucket). */
  sourceBuckets: string[];
  /** Whether the manifests would carry version IDs. */
  versioned: boolean;
}

/** What `previewCampaignManifest` needs besides the spec. */
export interface PreviewDeps {
  /** Reads the inventory or the CSV manifest; not needed for keys sources. */
  s3?: S3Client;
  /** Stops the inventory scan. */
  signal?: AbortSignal;
  /** Where the inventory build writes its throw-away manifests (a temporary directory, removed afterwards). @default os.tmpdir() */
  tmpDir?: string;
  /** Bucket sources: list requests in flight. @default S3C_LIST_CONCURRENCY, or DEFAULT_LIST_CONCURRENCY */
  listConcurrency?: number;
}

/**
 * Selects the campaign's objects as its manifest step would, and counts them. Inventory sources run the same
 * `buildManifests` as the campaign, into a temporary local directory that is deleted afterwards; bucket sources are
 * listed and counted as the worker lists them; csv sources are read once; keys sources are counted (duplicates once,
 * as the campaign does).
 */
export async function previewCampaignManifest(spec: CampaignSpec, deps: PreviewDeps = {}): Promise<ManifestPreview> {
  const src = spec.source;
  const jobsFor = (objects: number) => Math.ceil(objects / spec.maxObjectsPerJob);
  if (src.type === 'keys') {
    const distinct = [...new Set(src.keys)];
    return {
      source: `${src.keys.length} key(s) in the spec, bucket ${src.bucket}`,
      rowsScanned: src.keys.length,
      rowsSelected: distinct.length,
      jobs: jobsFor(distinct.length),
      bytesByStorageClass: {},
      sampleKeys: distinct.slice(0, SAMPLE_SIZE),
      sourceBuckets: [src.bucket],
      versioned: false,
    };
  }
  const s3 = deps.s3;
  if (!s3) throw new Error(`previewing a ${src.type} source needs an S3 client`);
  if (src.type === 'csv') {
    const csv = await summarizeCsvManifest(s3, src.manifest, { sampleSize: SAMPLE_SIZE, signal: deps.signal });
    return {
      source: src.manifest,
      rowsScanned: csv.rows,
      rowsSelected: csv.rows,
      jobs: jobsFor(csv.rows),
      bytesByStorageClass: {},
      sampleKeys: csv.sampleKeys,
      sourceBuckets: csv.buckets,
      versioned: csv.versioned,
    };
  }
  if (src.type === 'bucket') {
    // The worker's listing, counted instead of written: the same filter, stats and sample the campaign would get.
    const counted = await countListing(
      { bucket: src.bucket, prefix: src.prefix, versions: src.versions, filter: spec.filter, sampleSize: SAMPLE_SIZE },
      { s3, signal: deps.signal, concurrency: deps.listConcurrency ?? listConcurrencyFromEnv() },
    );
    return {
      source: `a listing of s3://${src.bucket}/${src.prefix ?? ''}${src.versions ? ' (every version)' : ''}`,
      rowsScanned: counted.rowsScanned,
      rowsSelected: counted.rowsSelected,
      // generator "s3": one job, whose manifest S3 generates.
      jobs: src.generator === 's3' ? 1 : jobsFor(counted.rowsSelected),
      bytesByStorageClass: counted.bytesByStorageClass,
      rowsByStorageClass: counted.rowsByStorageClass,
      // generator "s3": S3 lists the bucket itself, for the job's fees.
      ...(src.generator === 's3' ? {} : { listRequests: counted.listRequests }),
      sampleKeys: counted.sample.map(([, key]) => key),
      sourceBuckets: [src.bucket],
      versioned: src.versions,
    };
  }
  if (src.type === 'campaign-failures') {
    const loc = campaignFailuresLocation(src, spec.report);
    const sampleKeys: string[] = [];
    const read = await readCampaignFailures(
      s3,
      src,
      loc,
      (row) => {
        if (sampleKeys.length < SAMPLE_SIZE) sampleKeys.push(row.decodedKey);
      },
      { signal: deps.signal },
    );
    return {
      source: failedCsvUri(loc) + (src.errorCodes ? ` (codes ${src.errorCodes.join(', ')})` : ''),
      rowsScanned: read.rowsScanned,
      rowsSelected: read.rowsSelected,
      jobs: jobsFor(read.rowsSelected),
      bytesByStorageClass: {},
      sampleKeys,
      sourceBuckets: read.buckets,
      versioned: read.versioned,
    };
  }
  const inventory =
    src.type === 'inventory' ? src.manifest : src.destination.endsWith('/') ? src.destination : `${src.destination}/`;
  const dir = await mkdtemp(path.join(deps.tmpDir ?? os.tmpdir(), 's3c-estimate-'));
  try {
    const summary = await buildManifests(
      {
        inventory,
        filter: spec.filter ?? {},
        output: dir,
        maxObjectsPerJob: spec.maxObjectsPerJob,
        sampleSize: SAMPLE_SIZE,
      },
      { s3, signal: deps.signal },
    );
    return {
      source: summary.inventory.manifest,
      rowsScanned: summary.rowsScanned,
      rowsSelected: summary.rowsSelected,
      jobs: summary.shards.length,
      bytesByStorageClass: summary.bytesByStorageClass,
      rowsByStorageClass: summary.rowsByStorageClass,
      sampleKeys: summary.sampleKeys,
      sourceBuckets: [summary.inventory.sourceBucket],
      versioned: summary.fields.length === 3,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
