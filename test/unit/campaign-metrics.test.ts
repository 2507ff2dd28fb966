/**
 * The campaign metrics' points from state changes (CampaignObserver): each fact counted once, a continued run
 * counting nothing its earlier runs counted, and label values bounded.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { CampaignObserver, type MetricPoint } from '../../src/observability/campaign-deltas';
import { CAMPAIGN_METRICS, CAMPAIGNS_BY_PHASE_GAUGE, errorCodeLabel } from '../../src/observability/metric-names';
import type { CampaignJob, CampaignState, RoundAnalysis } from '../../src/shared/campaign';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();

function state(over: Partial<CampaignState> = {}): CampaignState {
  return {
    campaignId: 'c',
    phase: 'BuildingManifest',
    startedAt: iso(0),
    updatedAt: iso(0),
    jobs: [],
    rounds: [],
    round: 0,
    ignoredSignals: [],
    runs: 1,
    ...over,
  };
}

function job(ordinal: number, over: Partial<CampaignJob> = {}): CampaignJob {
  return {
    ordinal,
    round: 0,
    shard: ordinal,
    manifest: { bucket: 'b', key: `m${ordinal}`, etag: 'e', rows: 10 },
    ...over,
  };
}

function round(over: Partial<RoundAnalysis>): RoundAnalysis {
  return {
    round: 0,
    succeeded: 0,
    retryable: 0,
    permanent: 0,
    neverRan: 0,
    errorsByCode: {},
    retryManifests: [],
    ...over,
  };
}

/** `metric{label=value,…}` → summed value, for readable expectations. */
function summary(points: MetricPoint[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of points) {
    const { operation, ...rest } = p.labels;
    expect(operation).toBe('copy');
    const labels = Object.entries(rest)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const key = labels ? `${p.metric}{${labels}}` : p.metric;
    out[key] = (out[key] ?? 0) + p.value;
  }
  return out;
}

describe('CampaignObserver', () => {
  test('a campaign from start to end: every fact once, in the step that made it known', () => {
    const o = new CampaignObserver('copy', true);
    const st = state();
    expect(summary(o.observe(st, T0))).toEqual({ campaignsStarted: 1, 'phaseEntered{phase=BuildingManifest}': 1 });
    // Publishing the same state again counts nothing.
    expect(o.observe(st, T0 + 500)).toEqual([]);

    st.stats = {
      rowsScanned: 30,
      rowsSelected: 20,
      bytesByStorageClass: { GLACIER: 700, STANDARD: 300 },
      sampleKeys: [],
    };
    st.phase = 'CreatingJobs';
    st.jobs = [job(0, { jobId: 'j0' }), job(1)];
    expect(summary(o.observe(st, T0 + 1000))).toEqual({
      'phaseEntered{phase=CreatingJobs}': 1,
      objectsSelected: 20,
      bytesSelected: 1000,
      jobsCreated: 1,
    });

    st.jobs[1]!.jobId = 'j1';
    st.phase = 'AwaitingApproval';
    expect(summary(o.observe(st, T0 + 10_000))).toEqual({ 'phaseEntered{phase=AwaitingApproval}': 1, jobsCreated: 1 });

    // The decision is copied onto both jobs of the round: one wait, from entering AwaitingApproval to the decision.
    const approval = { decision: 'approved' as const, by: 'me', at: iso(70), via: 'update' as const };
    st.jobs.forEach((j) => (j.approval = approval));
    st.phase = 'Running';
    const running = o.observe(st, T0 + 71_000);
    expect(summary(running)).toEqual({ 'phaseEntered{phase=Running}': 1, 'approvalWait{decision=approved}': 60 });

    st.jobs[0]!.status = 'Complete';
    st.jobs[0]!.createdAt = iso(5);
    st.jobs[0]!.endedAt = iso(365);
    st.jobs[1]!.status = 'Failed';
    expect(summary(o.observe(st, T0 + 400_000))).toEqual({
      'jobsEnded{status=Complete}': 1,
      'jobDuration{status=Complete}': 360,
      // A job without both times gets no duration rather than a wrong one.
      'jobsEnded{status=Failed}': 1,
    });

    st.phase = 'WaitingToRetry';
    st.rounds = [round({ succeeded: 15, retryable: 4, permanent: 1, errorsByCode: { SlowDown: 4, NoSuchKey: 1 } })];
    st.round = 1;
    expect(summary(o.observe(st, T0 + 401_000))).toEqual({
      'phaseEntered{phase=WaitingToRetry}': 1,
      tasksSucceeded: 15,
      'tasksFailed{error_code=SlowDown}': 4,
      'tasksFailed{error_code=NoSuchKey}': 1,
      retryRounds: 1,
    });

    // The outcome is set at Reporting; the campaign counts as ended when it is Done.
    st.outcome = 'CompletedWithFailures';
    st.phase = 'Reporting';
    expect(summary(o.observe(st, T0 + 402_000))).toEqual({ 'phaseEntered{phase=Reporting}': 1 });
    st.phase = 'Done';
    expect(summary(o.observe(st, T0 + 403_000))).toEqual({
      'phaseEntered{phase=Done}': 1,
      'campaignsEnded{outcome=CompletedWithFailures}': 1,
    });
    expect(o.observe(st, T0 + 404_000)).toEqual([]);
  });

  test('a continued run counts only what happens after it starts', () => {
    const carried = state({
      phase: 'Running',
      runs: 2,
      stats: { rowsScanned: 5, rowsSelected: 5, bytesByStorageClass: {}, sampleKeys: [] },
      jobs: [job(0, { jobId: 'j0', approval: { decision: 'approved', by: 'me', at: iso(3), via: 'signal' } })],
      rounds: [round({ succeeded: 3, errorsByCode: { SlowDown: 2 } })],
      round: 1,
    });
    const o = new CampaignObserver('copy', false);
    expect(o.observe(carried, T0)).toEqual([]);
    carried.jobs[0]!.status = 'Complete';
    carried.jobs[0]!.createdAt = iso(0);
    carried.jobs[0]!.endedAt = iso(30);
    carried.phase = 'Done';
    carried.outcome = 'Succeeded';
    expect(summary(o.observe(carried, T0 + 40_000))).toEqual({
      'phaseEntered{phase=Done}': 1,
      'jobsEnded{status=Complete}': 1,
      'jobDuration{status=Complete}': 30,
      'campaignsEnded{outcome=Succeeded}': 1,
    });
  });

  test('a continued run that starts awaiting approval records no wait (it cannot know when the wait began)', () => {
    const o = new CampaignObserver('copy', false);
    const st = state({ phase: 'AwaitingApproval', runs: 2, jobs: [job(0, { jobId: 'j0' })] });
    expect(o.observe(st, T0)).toEqual([]);
    st.jobs[0]!.approval = { decision: 'rejected', by: 'me', at: iso(100), via: 'update' };
    st.phase = 'Reporting';
    expect(summary(o.observe(st, T0 + 100_000))).toEqual({ 'phaseEntered{phase=Reporting}': 1 });
  });

  test('error codes outside the report vocabulary share the label value "other"', () => {
    expect(['SlowDown', '503', 'PermanentFailure', 'Lambda.Unhandled'].map(errorCodeLabel)).toEqual([
      'SlowDown',
      '503',
      'PermanentFailure',
      'Lambda.Unhandled',
    ]);
    expect(['', 'has space', 'x'.repeat(65), 'quote"d', 'new\nline'].map(errorCodeLabel)).toEqual(
      Array(5).fill('other'),
    );
  });

  test('every metric is named s3_campaigns_…, without a unit or _total suffix the exporter adds', () => {
    for (const def of Object.values(CAMPAIGN_METRICS)) {
      expect(def.name).toMatch(/^s3_campaigns_[a-z_]+$/);
      expect(def.name).not.toMatch(/_(total|seconds|bytes_total)$/);
      if (def.kind === 'histogram') expect('buckets' in def && def.buckets.length).toBeGreaterThan(3);
    }
  });
});

/** Every series name `/metrics` serves for the campaign metrics (the exporter's suffixes applied). */
function exportedNames(): Set<string> {
  const names = new Set<string>([
    CAMPAIGNS_BY_PHASE_GAUGE,
    's3_campaigns_process_resident_memory_bytes',
    's3_campaigns_process_heap_used_bytes',
  ]);
  for (const def of Object.values(CAMPAIGN_METRICS)) {
    if (def.kind === 'counter') names.add(`${def.name}_total`);
    else for (const s of ['bucket', 'sum', 'count']) names.add(`${def.name}_${def.unit}_${s}`);
  }
  return names;
}

/** The Temporal SDK metrics the dashboard uses (names as the worker's exporter prints them, seen in a real scrape). */
const SDK_METRICS = new Set([
  'temporal_worker_task_slots_available',
  'temporal_activity_schedule_to_start_latency_seconds_bucket',
  'temporal_workflow_task_schedule_to_start_latency_seconds_bucket',
  'temporal_activity_execution_failed_total',
  'temporal_workflow_task_execution_failed_total',
]);

describe('the metrics as documented and charted', () => {
  const root = path.join(__dirname, '..', '..');
  test('the README table lists every campaign metric by its exported name', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    for (const def of Object.values(CAMPAIGN_METRICS)) {
      const exported = def.kind === 'counter' ? `${def.name}_total` : `${def.name}_${def.unit}`;
      expect(readme).toContain(`| \`${exported}\` | ${def.kind} | ${def.labels.join(', ')} |`);
    }
  });

  test('the Grafana dashboard queries only metrics the worker serves', () => {
    const dashboard = JSON.parse(readFileSync(path.join(root, 'deploy', 'grafana', 's3-campaigns.json'), 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const known = new Set([...exportedNames(), ...SDK_METRICS]);
    const used = new Set<string>();
    for (const p of dashboard.panels) {
      expect(p.targets.length).toBeGreaterThan(0);
      for (const t of p.targets) {
        for (const m of t.expr.matchAll(/\b((?:s3_campaigns|temporal)_[a-z_]+)\b/g)) used.add(m[1]!);
      }
    }
    expect([...used].filter((n) => !known.has(n))).toEqual([]);
    // Every campaign metric is on the dashboard somewhere.
    const uncharted = Object.values(CAMPAIGN_METRICS)
      .map((def) => def.name)
      .filter((name) => ![...used].some((n) => n.startsWith(name)));
    expect(uncharted).toEqual([]);
  });
});
