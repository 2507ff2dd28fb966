/**
 * What the IAM policy needs to know about a campaign's source that the spec does not say: the buckets of the
 * objects (an inventory's `sourceBucket`, a CSV manifest's buckets) and whether the manifests carry version IDs.
 */
import type { S3Client } from '@aws-sdk/client-s3';

import { loadInventoryReport } from '../inventory/report';
import { campaignFailuresLocation, readCampaignFailures } from '../manifest/campaign-failures';
import { summarizeCsvManifest } from '../manifest/csv-summary';
import type { CampaignSpec } from '../shared/campaign-spec';

/** The facts `batchRolePolicies` takes as options. */
export interface SourceFacts {
  sourceBuckets: string[];
  versioned: boolean;
}

/**
 * Reads the inventory's manifest.json (the newest report for `inventory-latest`) or the whole CSV manifest. Keys
 * sources need no S3 access.
 * @throws whatever reading fails with (the caller falls back to a policy for any bucket and says so).
 */
export async function describeCampaignSource(spec: CampaignSpec, s3: () => S3Client): Promise<SourceFacts> {
  const src = spec.source;
  switch (src.type) {
    case 'keys':
      return { sourceBuckets: [src.bucket], versioned: false };
    case 'csv': {
      const csv = await summarizeCsvManifest(s3(), src.manifest, { sampleSize: 0 });
      return { sourceBuckets: csv.buckets, versioned: csv.versioned };
    }
    case 'inventory':
    case 'inventory-latest': {
      const location =
        src.type === 'inventory'
          ? src.manifest
          : src.destination.endsWith('/')
            ? src.destination
            : `${src.destination}/`;
      const report = await loadInventoryReport(s3(), location);
      return { sourceBuckets: [report.manifest.sourceBucket], versioned: report.columns.index.has('VersionId') };
    }
    case 'bucket':
      return { sourceBuckets: [src.bucket], versioned: src.versions };
    case 'campaign-failures': {
      const read = await readCampaignFailures(s3(), src, campaignFailuresLocation(src, spec.report), () => {});
      return { sourceBuckets: read.buckets, versioned: read.versioned };
    }
  }
}
