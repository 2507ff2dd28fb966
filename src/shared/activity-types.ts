/**
 * Inputs and results of the campaign activities: the contract between the workflow (which imports these as types)
 * and `src/activities/`. Small JSON only: keys, counts and ETags, never object lists.
 */
import type { CampaignJob, CampaignState, ManifestRef, ManifestStats, RoundAnalysis, Watermark } from './campaign';
import type { CostEstimate } from '../cost/estimate';
import type { CampaignFilter, CampaignOperation, CampaignSource, CampaignSpec, OperationType } from './campaign-spec';

export interface CheckAwsAccessInput {
  /** The account whose Batch Operations jobs are listed. */
  accountId: string;
}

export interface CheckAwsAccessResult {
  /** How many buckets the worker's credentials can list. */
  bucketCount: number;
  /** How many Batch Operations jobs ListJobs returned on its first page. */
  jobCount: number;
}

/** Where a campaign keeps its files: `s3://bucket/<prefix>/<campaignId>/…`. */
export interface CampaignLocation {
  bucket: string;
  /** `<report.prefix>/<campaignId>`, no trailing slash. */
  prefix: string;
}

export interface ClaimCampaignFolderInput extends CampaignLocation {
  campaignId: string;
  /** The workflow's first run id: the same across continue-as-new, different for a campaign that reuses the id. */
  runId: string;
  name: string;
  startedAt: string;
}

export interface BuildCampaignManifestsInput {
  campaignId: string;
  source: CampaignSource;
  /** For the cost estimate. Optional so that histories recorded before it still replay. */
  operation?: CampaignOperation;
  filter?: CampaignFilter;
  maxObjectsPerJob: number;
  output: CampaignLocation;
}

export interface BuildCampaignManifestsResult {
  manifests: ManifestRef[];
  stats: ManifestStats;
  /** The first round's estimated cost, from the worker's price table. */
  estimate?: CostEstimate;
}

export interface CreateBatchJobInput {
  accountId: string;
  roleArn: string;
  priority: number;
  operation: CampaignOperation;
  manifest: ManifestRef;
  /** Completion reports go to `s3://<bucket>/<prefix>/job-<id>/…`. */
  report: { bucket: string; prefix: string };
  /** Derived from the workflow id, its first run id and the job ordinal: a retried activity gets the same job. */
  clientRequestToken: string;
  description: string;
  /** Job tags, e.g. the campaign id. */
  tags: Record<string, string>;
}

export interface SummarizeGeneratedManifestInput {
  accountId: string;
  /** A job created with a ManifestGenerator, past Preparing. */
  jobId: string;
  /** For the cost estimate. */
  operation?: CampaignOperation;
}

export interface SummarizeGeneratedManifestResult {
  /** Where the generated manifest.json is (absent when DescribeJob names none). */
  manifest?: { bucket: string; key: string; etag: string; format: 'S3InventoryReport_CSV_20211130' };
  /** The job's TotalNumberOfTasks. */
  totalTasks: number;
  stats: ManifestStats;
  estimate?: CostEstimate;
}

export interface CreateBatchJobResult {
  jobId: string;
}

export interface DescribeBatchJobsInput {
  accountId: string;
  jobIds: string[];
}

/** What the workflow needs of a DescribeJob answer. */
export interface JobSnapshot {
  jobId: string;
  status: string;
  totalTasks?: number;
  succeededTasks?: number;
  failedTasks?: number;
  elapsedActiveSeconds?: number;
  failureReasons: Array<{ code: string; reason: string }>;
  statusUpdateReason?: string;
  terminationDate?: string;
}

export interface UpdateBatchJobStatusInput {
  accountId: string;
  jobId: string;
  status: 'Ready' | 'Cancelled';
  /** Recorded as the job's StatusUpdateReason (≤ 256 characters). */
  reason: string;
}

export interface UpdateBatchJobStatusResult {
  /** The job's status after the call. */
  status: string;
  /** False when the job was already past the requested change (e.g. cancelling a finished job). */
  changed: boolean;
}

export interface AnalyzeRoundInput {
  campaignId: string;
  round: number;
  operationType: OperationType;
  retryableErrorCodes: string[];
  maxObjectsPerJob: number;
  jobs: Array<
    Pick<CampaignJob, 'jobId' | 'manifest' | 'status' | 'ordinal'> & {
      /** Tasks the job reported as run: with some, a missing completion report is a delay, not "nothing ran". */
      tasksRun?: number;
      /** The job's FailureReasons codes: a report that could not be written will never appear. */
      failureCodes?: string[];
      /** When the job ended (its TerminationDate): a report still missing well after it never will be. */
      endedAt?: string;
    }
  >;
  /** Where completion reports are (`<prefix>/job-<id>/manifest.json`). */
  reports: { bucket: string; prefix: string };
  output: CampaignLocation;
}

export interface WriteCampaignReportInput {
  spec: CampaignSpec;
  state: CampaignState;
  output: CampaignLocation;
}

export interface WriteCampaignReportResult {
  reportKey: string;
  failedObjectsKey: string;
  failedObjects: number;
}

export type { RoundAnalysis };

export interface WatermarkLocation {
  bucket: string;
  /** `<report.prefix>/incremental/<stateKey>.json` */
  key: string;
}

export interface SaveWatermarkInput extends WatermarkLocation {
  watermark: Watermark;
}
