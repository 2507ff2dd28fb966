/**
 * What a campaign shows in the Temporal Web UI: the static summary and details it carries from its start (set by
 * whoever starts it: the CLI, a Schedule, the demo, all through `campaignStartMetadata`), and the live current
 * details the workflow keeps up to date. Pure.
 */
import { formatCostEstimateMarkdown } from '../cost/estimate';
import { campaignTotals, type CampaignJob, type CampaignState } from '../shared/campaign';
import type { CampaignSpec } from '../shared/campaign-spec';

function sourceText(spec: CampaignSpec): string {
  const s = spec.source;
  switch (s.type) {
    case 'inventory':
      return `inventory report ${s.manifest}`;
    case 'inventory-latest':
      return `newest inventory report under ${s.destination}`;
    case 'csv':
      return `CSV manifest ${s.manifest}`;
    case 'keys':
      return `${s.keys.length} key(s) in s3://${s.bucket}`;
  }
}

/** Temporal shows a summary on one line; longer ones are cut with an ellipsis. */
const MAX_SUMMARY_CHARS = 200;

/** The source in a few words, with the object count when the spec knows it (a `keys` source). */
function sourceShort(spec: CampaignSpec): string {
  const s = spec.source;
  switch (s.type) {
    case 'inventory':
      return `inventory ${s.manifest}`;
    case 'inventory-latest':
      return `newest inventory under ${s.destination}`;
    case 'csv':
      return `CSV manifest ${s.manifest}`;
    case 'keys':
      return `${s.keys.length.toLocaleString('en-US')} object${s.keys.length === 1 ? '' : 's'} in s3://${s.bucket}`;
  }
}

/**
 * One line, as the Web UI shows a campaign's summary: operation, name, source, and the object count when it is known
 * at start (`keys` sources): `put-tags · tag 2026 logs · 2 objects in s3://logs`.
 */
export function campaignSummary(spec: CampaignSpec): string {
  return oneLine(`${spec.operation.type} · ${spec.name} · ${sourceShort(spec)}`);
}

/** A value in a details list: strings as they are, anything else as compact JSON with spaces so that it wraps. */
function detailValue(v: unknown): string {
  if (typeof v === 'string') return `\`${v}\``;
  return `\`${JSON.stringify(v).replace(/,"/g, ', "').replace(/":/g, '": ')}\``;
}

/**
 * Text for the Web UI's markdown: its renderer takes `$…$` for math, so a literal dollar is escaped. Code spans need
 * no escape.
 */
export function markdownText(text: string): string {
  return text.replace(/\$/g, '\\$');
}

/** How many keys of a `keys` source the details list by name. */
const DETAIL_KEYS = 5;

/**
 * The spec as markdown, for the Web UI's Details: every field that decides what the campaign does, to what, and
 * under which policies. The spec holds no secrets (credentials come from the worker's environment).
 */
export function campaignDetails(spec: CampaignSpec): string {
  const { type, ...params } = spec.operation;
  // Fields as `name value` pairs on one line each: the UI's renderer shows nested lists inline anyway.
  const pairs = (o: object) =>
    Object.entries(o)
      .map(([k, v]) => `${k} ${detailValue(v)}`)
      .join(', ');
  const opParams = pairs(params);
  const lines = [`**${markdownText(spec.name)}**`, '', `- operation: \`${type}\`${opParams ? ` (${opParams})` : ''}`];
  let source = `- source: ${sourceText(spec)}`;
  if (spec.source.type === 'keys') {
    const keys = spec.source.keys;
    source += `: ${keys.slice(0, DETAIL_KEYS).map(detailValue).join(', ')}`;
    if (keys.length > DETAIL_KEYS) source += ` and ${keys.length - DETAIL_KEYS} more`;
  }
  lines.push(source);
  if (spec.filter && Object.keys(spec.filter).length) lines.push(`- filter: ${pairs(spec.filter)}`);
  const a = spec.approval;
  lines.push(
    `- account ${spec.accountId}, ${spec.region}, role \`${spec.roleArn}\``,
    `- approval: ${a.required ? `required (timeout ${a.timeout})` : 'not required'}` +
      (a.required ? `; retry jobs ${a.retryJobsRequireApproval ? 'need approval too' : 'run without approval'}` : ''),
    `- retries: up to ${spec.retry.maxRetryJobs} retry job(s), ${spec.retry.delay} apart, for ` +
      `${spec.retry.retryableErrorCodes.map((c) => `\`${c}\``).join(', ')} and 5xx`,
  );
  if (spec.failureTolerance) {
    lines.push(
      `- failure tolerance: cancel a job above ${spec.failureTolerance.maxFailedPercent}% failed tasks ` +
        `(after ${spec.failureTolerance.minTasks} tasks)`,
    );
  }
  lines.push(
    `- jobs: priority ${spec.priority}, at most ${spec.maxObjectsPerJob.toLocaleString('en-US')} objects each, ` +
      `polled every ${spec.pollInterval}`,
    `- reports: s3://${spec.report.bucket}/${spec.report.prefix}/`,
  );
  if (spec.incremental) {
    lines.push(
      `- incremental (watermark \`${spec.incremental.stateKey ?? 'from the name'}\`` +
        `${spec.incremental.since ? `, first run from ${spec.incremental.since}` : ''})`,
    );
  }
  if (spec.historyEventLimit) lines.push(`- continue as new after ${spec.historyEventLimit} history events`);
  return lines.join('\n');
}

/**
 * The user metadata every campaign start sets (the CLI's `start`, a Schedule's action, the demo): the one-line
 * summary and the spec as details. One helper, so that every campaign reads the same in the Web UI.
 */
export function campaignStartMetadata(spec: CampaignSpec): { staticSummary: string; staticDetails: string } {
  return { staticSummary: campaignSummary(spec), staticDetails: campaignDetails(spec) };
}

/**
 * The campaign's live "current details" in the Web UI (markdown): phase, counts, what awaits approval with its cost,
 * the last ten jobs as a list, and why it ended.
 */
export function campaignProgressDetails(spec: CampaignSpec, st: CampaignState): string {
  const t = campaignTotals(st);
  const lines = [
    `**${markdownText(spec.name)}** — ${spec.operation.type} — phase **${st.phase}**${st.outcome ? `, outcome **${st.outcome}**` : ''}`,
    '',
    `Objects: ${t.objects} · succeeded ${t.succeeded} · failed ${t.failed}${t.notRun ? ` · not run ${t.notRun}` : ''} · jobs ${t.jobs} · round ${st.round}`,
  ];
  const rac = st.restoreAndCopy;
  if (rac) {
    const c = rac.counts ?? rac.sorted?.counts;
    const runningWaves = rac.waves.filter((w) => !w.result && w.error === undefined);
    lines.push(
      '',
      `Restore → copy: requested ${c?.requested ?? 0} · restored waiting ${(c?.restored ?? 0) + (c?.['skipped-restored'] ?? 0)} · ` +
        `queued ${c?.queued ?? 0} · copied ${t.succeeded} of ${t.objects} · missing ${c?.failed ?? 0} · expired ${c?.expired ?? 0}`,
      `Restore jobs ${rac.restores.length} · waves ${rac.waves.length}${runningWaves.length ? ` (running: ${runningWaves.map((w) => w.waveId).join(', ')})` : ''} · ` +
        `large objects ${rac.large.copied}/${rac.large.objects} copied` +
        (rac.nextSweepAt && st.phase === 'Tracking' ? ` · next sweep ${rac.nextSweepAt}` : '') +
        (rac.nextEarliestExpiry ? ` · earliest expiry of a waiting copy ${rac.nextEarliestExpiry}` : '') +
        ` · expiring soon ${rac.expiringSoon ?? 0}` +
        ` · extensions ${rac.extensions}` +
        (rac.requeued ? ` · back to waiting after a copy found them not restored ${rac.requeued}` : ''),
    );
  }
  if (st.phase === 'AwaitingApproval') {
    const jobs = st.jobs.filter((j) => j.round === st.round);
    lines.push(
      '',
      `**Awaiting approval** until ${st.approvalDeadline ?? '—'}: ${jobs.length} job(s), ` +
        `${jobs.reduce((n, j) => n + (j.totalTasks ?? j.manifest.rows), 0)} objects.`,
      'Send the `approve` or `reject` signal (*More Actions* → *Send a Signal*) with `{"by": "you", "note": "why"}`.',
    );
    if (st.estimate && st.round === 0) {
      lines.push('', formatCostEstimateMarkdown(st.estimate));
    }
  }
  // A blank line first: without it some renderers (the Web UI's) take the list for the paragraph's continuation.
  if (st.jobs.length > 0) lines.push('');
  for (const j of st.jobs.slice(-10)) {
    const why = (j.failureReasons ?? []).map((f) => `${f.code}: ${f.reason}`).join('; ');
    lines.push(
      `- job ${j.jobId ?? '(creating)'} round ${j.round} shard ${j.shard}: ${j.status ?? 'New'} ` +
        `${j.succeededTasks ?? 0}/${j.totalTasks ?? j.manifest.rows} ok, ${j.failedTasks ?? 0} failed` +
        (why ? ` (${markdownText(why)})` : ''),
    );
  }
  if (st.ignoredSignals.length) {
    lines.push('', '**Ignored signals** (newest last):', '');
    for (const g of st.ignoredSignals.slice(-3)) lines.push(`- ${g.at} \`${g.name}\`: ${markdownText(g.reason)}`);
  }
  if (st.outcomeReason) {
    lines.push('', `**${st.outcome === 'Failed' ? 'Why it failed' : 'Outcome'}:** ${markdownText(st.outcomeReason)}`);
  }
  if (st.reportKey) {
    lines.push('', `**Report:** \`s3://${spec.report.bucket}/${st.reportKey}\``);
    if (st.failedObjectsKey && t.failed + t.notRun > 0)
      lines.push('', `**Failed objects:** \`s3://${spec.report.bucket}/${st.failedObjectsKey}\``);
  }
  return lines.join('\n');
}

// ---- summaries of the workflow's activities and timers (the Web UI's event history and timeline) ----------------

/** A job id as the event history shows it: its first 8 characters. */
export function shortJobId(jobId: string | undefined): string {
  if (!jobId) return '(no id yet)';
  return jobId.length > 9 ? `${jobId.slice(0, 8)}…` : jobId;
}

/** Share of a job's tasks that ran, as a whole percent; undefined before the job knows its task count. */
function percentDone(j: CampaignJob): number | undefined {
  const total = j.totalTasks ?? 0;
  if (total <= 0) return undefined;
  return Math.floor((((j.succeededTasks ?? 0) + (j.failedTasks ?? 0)) / total) * 100);
}

/**
 * A poll's summary, from what the last poll saw: `poll job 3a4e5f6a… (Active, 52%)`, or for several jobs
 * `poll 3 jobs (Active 2, Complete 1; 52%)`.
 */
export function pollSummary(jobs: CampaignJob[]): string {
  if (jobs.length === 1) {
    const j = jobs[0]!;
    const pct = percentDone(j);
    return `poll job ${shortJobId(j.jobId)} (${j.status ?? 'New'}${pct === undefined ? '' : `, ${pct}%`})`;
  }
  const byStatus = new Map<string, number>();
  for (const j of jobs) byStatus.set(j.status ?? 'New', (byStatus.get(j.status ?? 'New') ?? 0) + 1);
  const total = jobs.reduce((n, j) => n + (j.totalTasks ?? 0), 0);
  const ran = jobs.reduce((n, j) => n + (j.succeededTasks ?? 0) + (j.failedTasks ?? 0), 0);
  const statuses = [...byStatus].map(([s, n]) => `${s} ${n}`).join(', ');
  return `poll ${jobs.length} jobs (${statuses}${total > 0 ? `; ${Math.floor((ran / total) * 100)}%` : ''})`;
}

/** `build manifests from newest inventory under s3://…`. */
export function buildManifestsSummary(spec: CampaignSpec): string {
  return oneLine(`build manifests from ${sourceShort(spec)}`);
}

/** Summaries are one line each, and short: Temporal limits their size. */
export function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > MAX_SUMMARY_CHARS ? `${line.slice(0, MAX_SUMMARY_CHARS - 1)}…` : line;
}
