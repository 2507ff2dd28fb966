/**
 * The manifest S3 generated for a campaign's job (bucket source, `generator: "s3"`): once the job has left Preparing,
 * DescribeJob names it (`GeneratedManifestDescriptor`), and its rows give the approval its statistics and cost
 * estimate, and the round's analysis its object list.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { DescribeJobCommand, type S3ControlClient } from '@aws-sdk/client-s3-control';
import { Context, log } from '@temporalio/activity';

import { toApplicationFailure } from '../aws/errors';
import { estimateCost } from '../cost/estimate';
import type { PriceTable } from '../cost/price-table';
import { loadPriceTable } from '../cost/prices';
import { decodeManifestKey } from '../inventory/key-encoding';
import { GENERATED_MANIFEST_FORMAT, readGeneratedManifestRows } from '../manifest/read';
import type { SummarizeGeneratedManifestInput, SummarizeGeneratedManifestResult } from '../shared/activity-types';
import type { ManifestStats } from '../shared/campaign';

/** Keys shown to the approver, as for the other sources. */
const SAMPLE_SIZE = 10;
/** Heartbeat every this many rows while reading a large generated manifest. */
const HEARTBEAT_ROWS = 100_000;

function parseObjectArn(arn: string): { bucket: string; key: string } | undefined {
  const m = /^arn:[^:]+:s3:::([^/]+)\/(.+)$/s.exec(arn);
  return m ? { bucket: m[1]!, key: m[2]! } : undefined;
}

export function createGeneratedManifestActivities(deps: {
  s3: S3Client;
  s3control: S3ControlClient;
  prices?: PriceTable;
}) {
  return {
    /**
     * Reads where the job's generated manifest is and what it holds. A manifest whose rows cannot be read (a layout
     * this code does not know) still gives the job's task count, so the approval shows the count and its estimate.
     */
    async summarizeGeneratedManifest(
      input: SummarizeGeneratedManifestInput,
    ): Promise<SummarizeGeneratedManifestResult> {
      let job;
      try {
        job = (await deps.s3control.send(new DescribeJobCommand({ AccountId: input.accountId, JobId: input.jobId })))
          .Job;
      } catch (err) {
        throw toApplicationFailure(err, `describing Batch Operations job ${input.jobId}`);
      }
      const total = job?.ProgressSummary?.TotalNumberOfTasks ?? 0;
      const d = job?.GeneratedManifestDescriptor;
      const at = d?.Location?.ObjectArn ? parseObjectArn(d.Location.ObjectArn) : undefined;
      const stats: ManifestStats = { rowsScanned: 0, rowsSelected: total, bytesByStorageClass: {}, sampleKeys: [] };
      if (at) {
        try {
          const bytes: Record<string, number> = {};
          const rowsByClass: Record<string, number> = {};
          let rows = 0;
          let sized = true;
          for await (const row of readGeneratedManifestRows(deps.s3, at.bucket, at.key)) {
            rows += 1;
            if (rows % HEARTBEAT_ROWS === 0) Context.current().heartbeat({ rows });
            const cls = row.storageClass ?? 'UNKNOWN';
            rowsByClass[cls] = (rowsByClass[cls] ?? 0) + 1;
            if (row.size === undefined) sized = false;
            else bytes[cls] = (bytes[cls] ?? 0) + row.size;
            if (stats.sampleKeys.length < SAMPLE_SIZE) stats.sampleKeys.push(decodeManifestKey(row.rawKey));
          }
          stats.rowsSelected = rows;
          if (sized) stats.bytesByStorageClass = bytes;
          if (!rowsByClass.UNKNOWN) stats.rowsByStorageClass = rowsByClass;
        } catch (err) {
          log.warn('could not read the generated manifest; the approval shows the task count only', {
            jobId: input.jobId,
            manifest: `s3://${at.bucket}/${at.key}`,
            error: String(err),
          });
          stats.rowsSelected = total;
          stats.sampleKeys = [];
        }
      }
      const estimate =
        input.operation && stats.rowsSelected > 0
          ? estimateCost({ operation: input.operation, stats, jobs: 1, prices: deps.prices ?? loadPriceTable() })
          : undefined;
      return {
        ...(at
          ? {
              manifest: {
                bucket: at.bucket,
                key: at.key,
                etag: (d?.Location?.ETag ?? '').replace(/"/g, ''),
                format: GENERATED_MANIFEST_FORMAT,
              },
            }
          : {}),
        totalTasks: total,
        stats,
        ...(estimate ? { estimate } : {}),
      };
    },
  };
}
