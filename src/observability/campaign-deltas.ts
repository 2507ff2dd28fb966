/**
 * What changed in a campaign's state since the last look, as metric points: the workflow calls `observe` each time it
 * publishes its state, and emits the points through the SDK's workflow metric meter. Pure and deterministic (the
 * workflow runs it on replay too: the meter drops replayed points, and the observer's memory still moves forward, so
 * a point is emitted once). Workflow code imports this file: no Node imports here.
 */
import type { CampaignJob, CampaignState } from '../shared/campaign';
import { CAMPAIGN_METRICS, errorCodeLabel } from './metric-names';

export interface MetricPoint {
  metric: keyof typeof CAMPAIGN_METRICS;
  value: number;
  labels: Record<string, string>;
}

const TERMINAL = new Set(['Complete', 'Failed', 'Cancelled']);

function seconds(fromIso: string | undefined, toIso: string | undefined): number | undefined {
  if (!fromIso || !toIso) return undefined;
  const d = (Date.parse(toIso) - Date.parse(fromIso)) / 1000;
  return Number.isFinite(d) && d >= 0 ? d : undefined;
}

const jobEnded = (j: CampaignJob) => j.status !== undefined && TERMINAL.has(j.status);

/**
 * Remembers what it has counted. `fresh`: the campaign's first run (it counts as started); a continued run starts
 * from its continuation's state with everything in it already counted by the runs before.
 */
export class CampaignObserver {
  private phase: CampaignState['phase'] | undefined;
  private awaitingSince: number | undefined;
  private readonly created = new Set<number>();
  private readonly ended = new Set<number>();
  private rounds = 0;
  private round = 0;
  private statsSeen = false;
  private readonly decided = new Set<number>();
  private outcomeSeen = false;
  private first = true;

  constructor(
    private readonly operation: string,
    private readonly fresh: boolean,
  ) {}

  /** The points since the last call; `nowMs` is the workflow's clock. */
  observe(st: CampaignState, nowMs: number): MetricPoint[] {
    const op = this.operation;
    const out: MetricPoint[] = [];
    const point = (metric: MetricPoint['metric'], value: number, labels: Record<string, string> = {}) => {
      if (value > 0 || CAMPAIGN_METRICS[metric].kind === 'histogram') {
        out.push({ metric, value, labels: { operation: op, ...labels } });
      }
    };
    const counting = !this.first || this.fresh;
    if (this.first && this.fresh) point('campaignsStarted', 1);

    if (st.phase !== this.phase) {
      if (counting) point('phaseEntered', 1, { phase: st.phase });
      // A continued run cannot tell when its round began to wait: it records no wait rather than a wrong one.
      if (st.phase === 'AwaitingApproval') this.awaitingSince = counting ? nowMs : undefined;
      this.phase = st.phase;
    }
    for (const j of st.jobs) {
      if (j.jobId !== undefined && !this.created.has(j.ordinal)) {
        this.created.add(j.ordinal);
        if (counting) point('jobsCreated', 1);
      }
      if (jobEnded(j) && !this.ended.has(j.ordinal)) {
        this.ended.add(j.ordinal);
        if (counting) {
          point('jobsEnded', 1, { status: j.status! });
          const d = seconds(j.createdAt, j.endedAt);
          if (d !== undefined) point('jobDuration', d, { status: j.status! });
        }
      }
    }
    for (const r of st.rounds.slice(this.rounds)) {
      if (!counting) continue;
      point('tasksSucceeded', r.succeeded);
      const byLabel = new Map<string, number>();
      for (const [code, n] of Object.entries(r.errorsByCode)) {
        const label = errorCodeLabel(code);
        byLabel.set(label, (byLabel.get(label) ?? 0) + n);
      }
      for (const [code, n] of byLabel) point('tasksFailed', n, { error_code: code });
    }
    this.rounds = st.rounds.length;
    if (st.round > this.round) {
      if (counting) point('retryRounds', st.round - this.round);
      this.round = st.round;
    }
    if (st.stats && !this.statsSeen) {
      this.statsSeen = true;
      if (counting) {
        point('objectsSelected', st.stats.rowsSelected);
        point(
          'bytesSelected',
          Object.values(st.stats.bytesByStorageClass).reduce((a, b) => a + b, 0),
        );
      }
    }
    // A decision is copied onto each job of its round: one wait per round.
    for (const j of st.jobs) {
      if (!j.approval || this.decided.has(j.round)) continue;
      this.decided.add(j.round);
      const waited =
        this.awaitingSince === undefined ? undefined : (Date.parse(j.approval.at) - this.awaitingSince) / 1000;
      if (counting && waited !== undefined && waited >= 0)
        point('approvalWait', waited, { decision: j.approval.decision });
    }
    if (st.outcome && st.phase === 'Done' && !this.outcomeSeen) {
      this.outcomeSeen = true;
      if (counting) point('campaignsEnded', 1, { outcome: st.outcome });
    }
    this.first = false;
    return out;
  }
}
