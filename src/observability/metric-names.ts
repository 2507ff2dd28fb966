/**
 * The campaign metrics, defined once: the workflow emits them (src/workflows/campaign-metrics.ts), the worker's
 * `/metrics` serves them next to the Temporal SDK's own, the Grafana dashboard and the README name them. Workflow code
 * imports this file: no Node imports here.
 *
 * Names follow Prometheus' conventions: the `s3_campaigns_` prefix, the unit in the name, `_total` on counters (the
 * worker's exporter adds it), and labels with bounded values only (operation, phase, outcome, job status, error code
 * — never a key, a bucket or a campaign id).
 */

export interface CampaignMetricDef {
  kind: 'counter' | 'histogram';
  /** Without `_total` (the exporter appends it to counters) and without the unit suffix of histograms. */
  name: string;
  /** For histograms: the unit suffix the exporter appends (`seconds` → `…_seconds_bucket`). */
  unit?: 'seconds';
  help: string;
  labels: readonly string[];
  /** Histogram bucket bounds, in the unit. */
  buckets?: readonly number[];
}

const HOUR = 3600;

export const CAMPAIGN_METRICS = {
  campaignsStarted: {
    kind: 'counter',
    name: 's3_campaigns_campaigns_started',
    help: 'Campaigns started (a continued run does not count again).',
    labels: ['operation'],
  },
  campaignsEnded: {
    kind: 'counter',
    name: 's3_campaigns_campaigns_ended',
    help: 'Campaigns ended, by outcome.',
    labels: ['operation', 'outcome'],
  },
  phaseEntered: {
    kind: 'counter',
    name: 's3_campaigns_phase_entered',
    help: 'Times a campaign entered a phase.',
    labels: ['operation', 'phase'],
  },
  jobsCreated: {
    kind: 'counter',
    name: 's3_campaigns_jobs_created',
    help: 'S3 Batch Operations jobs created (first jobs and retry jobs).',
    labels: ['operation'],
  },
  jobsEnded: {
    kind: 'counter',
    name: 's3_campaigns_jobs_ended',
    help: 'Batch Operations jobs that reached a terminal status (Complete, Failed, Cancelled).',
    labels: ['operation', 'status'],
  },
  jobDuration: {
    kind: 'histogram',
    name: 's3_campaigns_job_duration',
    unit: 'seconds',
    help: "A job's time from creation to its terminal status, approval wait included.",
    labels: ['operation', 'status'],
    buckets: [60, 300, 900, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR, 48 * HOUR, 96 * HOUR],
  },
  tasksSucceeded: {
    kind: 'counter',
    name: 's3_campaigns_tasks_succeeded',
    help: 'Tasks (objects) that succeeded, counted when a round is analyzed.',
    labels: ['operation'],
  },
  tasksFailed: {
    kind: 'counter',
    name: 's3_campaigns_tasks_failed',
    help: "Tasks that failed, by the completion report's error code (retried ones count in each round).",
    labels: ['operation', 'error_code'],
  },
  retryRounds: {
    kind: 'counter',
    name: 's3_campaigns_retry_rounds',
    help: 'Retry rounds started.',
    labels: ['operation'],
  },
  approvalWait: {
    kind: 'histogram',
    name: 's3_campaigns_approval_wait',
    unit: 'seconds',
    help: 'Time from a round awaiting approval to its decision.',
    labels: ['operation', 'decision'],
    buckets: [10, 60, 300, 900, HOUR, 4 * HOUR, 12 * HOUR, 24 * HOUR, 72 * HOUR, 168 * HOUR],
  },
  objectsSelected: {
    kind: 'counter',
    name: 's3_campaigns_objects_selected',
    help: 'Objects selected for a campaign by its manifest build.',
    labels: ['operation'],
  },
  bytesSelected: {
    kind: 'counter',
    name: 's3_campaigns_bytes_selected',
    help: 'Bytes of the objects selected, where the source gives sizes (inventory reports).',
    labels: ['operation'],
  },
} as const satisfies Record<string, CampaignMetricDef>;

/**
 * The worker's own gauge, computed at scrape time from Temporal's visibility store (not emitted by workflows: a
 * gauge set by each campaign would keep only the last campaign's value).
 */
export const CAMPAIGNS_BY_PHASE_GAUGE = 's3_campaigns_campaigns_running';

/** An error code as a label value: the report's codes are S3's, HTTP statuses or Lambda's; anything else is `other`. */
export function errorCodeLabel(code: string): string {
  return /^[A-Za-z0-9._-]{1,64}$/.test(code) ? code : 'other';
}
