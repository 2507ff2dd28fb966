/**
 * The static summary and details a campaign carries in the Temporal UI from its start (set by whoever starts it:
 * the CLI, a Schedule). Pure.
 */
import { formatCostEstimate } from '../cost/estimate';
import { campaignTotals, type CampaignState } from '../shared/campaign';
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

/** One line: `restore · restore 2019 logs from Glacier`. */
export function campaignSummary(spec: CampaignSpec): string {
  return `${spec.operation.type} · ${spec.name}`.slice(0, 200);
}

/** A few lines of markdown: what the campaign does, to what, and under which policies. */
export function campaignDetails(spec: CampaignSpec): string {
  const { type, ...params } = spec.operation;
  const lines = [
    `**${spec.name}**`,
    '',
    `- operation: \`${type}\` ${Object.keys(params).length ? `\`${JSON.stringify(params)}\`` : ''}`.trimEnd(),
    `- source: ${sourceText(spec)}`,
  ];
  if (spec.filter && Object.keys(spec.filter).length) lines.push(`- filter: \`${JSON.stringify(spec.filter)}\``);
  lines.push(
    `- account ${spec.accountId}, ${spec.region}, role \`${spec.roleArn}\``,
    `- approval: ${spec.approval.required ? `required (timeout ${spec.approval.timeout})` : 'not required'}; retries: up to ${spec.retry.maxRetryJobs} job(s)`,
    `- reports: s3://${spec.report.bucket}/${spec.report.prefix}/`,
  );
  if (spec.incremental) lines.push(`- incremental (watermark \`${spec.incremental.stateKey ?? 'from the name'}\`)`);
  return lines.join('\n');
}

/**
 * The campaign's live "current details" in the Web UI (markdown): phase, counts, what awaits approval with its cost,
 * the last ten jobs as a list, and why it ended.
 */
export function campaignProgressDetails(spec: CampaignSpec, st: CampaignState): string {
  const t = campaignTotals(st);
  const lines = [
    `**${spec.name}** — ${spec.operation.type} — phase **${st.phase}**${st.outcome ? `, outcome **${st.outcome}**` : ''}`,
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
      'Send the `approve` or `reject` signal with `{"by": "you", "note": "why"}`.',
    );
    if (st.estimate && st.round === 0) {
      lines.push('', '```', formatCostEstimate(st.estimate), '```');
    }
  }
  // A blank line first: without it some renderers (the Web UI's) take the list for the paragraph's continuation.
  if (st.jobs.length > 0) lines.push('');
  for (const j of st.jobs.slice(-10)) {
    lines.push(
      `- job ${j.jobId ?? '(creating)'} round ${j.round} shard ${j.shard}: ${j.status ?? 'New'} ` +
        `${j.succeededTasks ?? 0}/${j.totalTasks ?? j.manifest.rows} ok, ${j.failedTasks ?? 0} failed`,
    );
  }
  if (st.ignoredSignals.length) {
    lines.push('', '**Ignored signals** (newest last):', '');
    for (const g of st.ignoredSignals.slice(-3)) lines.push(`- ${g.at} \`${g.name}\`: ${g.reason}`);
  }
  if (st.outcomeReason) lines.push('', st.outcomeReason);
  return lines.join('\n');
}
