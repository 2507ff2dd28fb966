/** `list`, `cancel`, `report`, `status --watch`: the operator's views of campaigns. */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { type Command, InvalidArgumentError } from 'commander';

import { createAwsClients } from '../aws/clients';
import { getObjectText } from '../aws/s3-text';
import { CAMPAIGN_WORKFLOW_TYPE, statusQuery, type CampaignResult, type CampaignStatus } from '../shared/campaign';
import { CAMPAIGN_SEARCH_ATTRIBUTES as SA } from '../shared/search-attributes';
import { cliAwsConfig, withTemporalClient, withTemporalFlags, type TemporalFlags } from './connect';
import { campaignProgress, progressLine, TaskRate } from './progress';
import { alreadyEnded, describeIfAllowed, endedAs, parsePhase } from './phases';

const tty = () => !!process.stdout.isTTY && !process.env.NO_COLOR;
const color = (code: number) => (text: string) => (tty() ? `\u001b[${code}m${text}\u001b[0m` : text);
const green = color(32);
const red = color(31);
const yellow = color(33);
const bold = color(1);

/** Prints rows as aligned columns; the first row is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The visibility query for `list`. */
export function listQuery(f: { phase?: string; operation?: string; name?: string }): string {
  const parts = [`WorkflowType = ${quote(CAMPAIGN_WORKFLOW_TYPE)}`];
  if (f.phase) parts.push(`${SA.phase.name} = ${quote(f.phase)}`);
  if (f.operation) parts.push(`${SA.operation.name} = ${quote(f.operation)}`);
  if (f.name) parts.push(`${SA.name.name} = ${quote(f.name)}`);
  return parts.join(' AND ');
}

interface ListRow {
  workflowId: string;
  name?: string;
  operation?: string;
  phase?: string;
  objects?: number;
  failed?: number;
  status: string;
  started: string;
}

function toRow(w: WorkflowExecutionInfo): ListRow {
  const sa = w.typedSearchAttributes;
  return {
    workflowId: w.workflowId,
    name: sa.get(SA.name),
    operation: sa.get(SA.operation),
    phase: sa.get(SA.phase),
    objects: sa.get(SA.objects),
    failed: sa.get(SA.failedTasks),
    status: w.status.name,
    started: w.startTime.toISOString(),
  };
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1000)
    throw new InvalidArgumentError(`--limit must be 1–1000, got ${JSON.stringify(value)}`);
  return n;
}

/** How often `status --watch` asks the campaign for its status, in ms. */
const WATCH_EVERY_MS = 2000;

async function watch(client: Client, id: string): Promise<CampaignStatus> {
  const handle = client.workflow.getHandle(id);
  const rate = new TaskRate();
  const style = { ok: green, failed: red };
  for (;;) {
    const s = await handle.query(statusQuery);
    const now = Date.now();
    const p = campaignProgress(s);
    // Only running tasks have a rate; each round is measured on its own.
    const perSecond =
      s.phase === 'Running' ? rate.observe(`round ${s.round}`, p.ok + p.failed, now) : rate.observe('idle', 0, now);
    const line = progressLine(s, perSecond, now, style);
    if (tty()) process.stdout.write(`\r\u001b[2K${line}`);
    else console.log(line);
    if (s.phase === 'Done') {
      if (tty()) process.stdout.write('\n');
      return s;
    }
    if (s.phase === 'AwaitingApproval' && s.awaitingApproval) {
      const msg = yellow(`awaiting approval: s3-campaigns approve ${id} --note "…"`);
      if (tty()) process.stdout.write(`  ${msg}`);
    }
    await new Promise((r) => setTimeout(r, WATCH_EVERY_MS));
  }
}

interface CampaignReportJson {
  name: string;
  outcome: string;
  reason?: string;
  startedAt: string;
  endedAt: string;
  /** `notRun` and `unknown` are absent in reports written before they existed. */
  totals: { objects: number; succeeded: number; failed: number; notRun?: number; unknown?: number; jobs: number };
  errorsByCode: Record<string, number>;
  /** Absent in restore-and-copy reports: their jobs belong to their child campaigns (`restoreAndCopy`). */
  jobs?: Array<{
    ordinal: number;
    round: number;
    jobId?: string;
    status?: string;
    totalTasks?: number;
    succeededTasks?: number;
    failedTasks?: number;
    approval?: { decision: string; by: string; at?: string; note?: string };
  }>;
  failedObjects: { bucket: string; key: string; count: number };
  restoreAndCopy?: {
    restores: ChildSummary[];
    waves: ChildSummary[];
    largeObjects: { objects: number; copied: number; failed: number; bytes: number; requeued?: number };
    requeued: number;
    extensions: number;
    headRequests: number;
    trackingSteps: number;
    restoreDurations: Array<{ group: string; count: number; p50Ms: number; p95Ms: number; maxMs: number }>;
  };
}

/** A restore-and-copy campaign's child campaign, as its report lists it. */
interface ChildSummary {
  workflowId: string;
  waveId?: number;
  objects: number;
  outcome?: string;
  succeeded?: number;
  failed?: number;
  jobs?: number;
  error?: string;
}

/** `1.2 s`, `3.4 min`, `5.6 h`: a restore duration as people read it. */
function duration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** A restore-and-copy report's own lines: each child campaign, large copies, tracking, restore durations. */
function restoreAndCopyLines(rac: NonNullable<CampaignReportJson['restoreAndCopy']>): string[] {
  const child = (what: string, c: ChildSummary) => [
    what,
    c.workflowId,
    c.outcome ?? (c.error ? 'ended without a result' : '—'),
    String(c.objects),
    String(c.succeeded ?? '—'),
    String(c.failed ?? '—'),
  ];
  const l = rac.largeObjects;
  const lines = [
    table([
      ['STAGE', 'CHILD CAMPAIGN', 'OUTCOME', 'OBJECTS', 'OK', 'FAILED'],
      ...rac.restores.map((c, i) => child(`restore ${i + 1}`, c)),
      ...rac.waves.map((c) => child(`wave ${c.waveId ?? '?'}`, c)),
    ]),
    '',
    `large objects ${l.copied}/${l.objects} copied (${l.bytes} bytes), ${l.failed} failed` +
      `; back to waiting after a copy found them not restored ${rac.requeued}` +
      `; restore extensions ${rac.extensions}; tracking steps ${rac.trackingSteps}; HEAD requests ${rac.headRequests}`,
  ];
  for (const d of rac.restoreDurations) {
    lines.push(
      `restore duration ${d.group}: p50 ${duration(d.p50Ms)}, p95 ${duration(d.p95Ms)}, max ${duration(d.maxMs)} (${d.count} objects)`,
    );
  }
  return lines;
}

/**
 * Each decision once, with its note: one approval covers every job of a round, so the jobs that share a decision
 * share a line. `approved by carol at 2026-11-25T12:00:00Z (jobs #0, #1): "cost checked"`.
 */
function approvalLines(jobs: NonNullable<CampaignReportJson['jobs']>): string[] {
  const byDecision = new Map<string, { head: string; note?: string; ordinals: number[] }>();
  for (const j of jobs) {
    const a = j.approval;
    if (!a) continue;
    const head = `${a.decision} by ${a.by}${a.at ? ` at ${a.at}` : ''}`;
    const key = JSON.stringify([j.round, head, a.note ?? '']);
    const entry = byDecision.get(key) ?? { head, note: a.note, ordinals: [] };
    entry.ordinals.push(j.ordinal);
    byDecision.set(key, entry);
  }
  return [...byDecision.values()].map((e) => {
    const jobsText = `job${e.ordinals.length === 1 ? '' : 's'} ${e.ordinals.map((o) => `#${o}`).join(', ')}`;
    return `approval: ${e.head} (${jobsText})${e.note ? `: ${JSON.stringify(e.note)}` : ', no note'}`;
  });
}

/** The final report as people read it. */
export function formatReport(r: CampaignReportJson, where: string): string {
  const outcome =
    r.outcome === 'Succeeded'
      ? green(r.outcome)
      : r.outcome === 'CompletedWithFailures'
        ? yellow(r.outcome)
        : red(r.outcome);
  const lines = [
    `${bold(r.name)} — ${outcome}${r.reason ? ` (${r.reason})` : ''}`,
    `  ${r.startedAt} → ${r.endedAt}`,
    `  objects ${r.totals.objects}, succeeded ${r.totals.succeeded}, failed ${r.totals.failed}` +
      (r.totals.unknown ? ` (${r.totals.unknown} with an unknown outcome)` : '') +
      (r.totals.notRun ? `, not run ${r.totals.notRun}` : '') +
      `, jobs ${r.totals.jobs}`,
    '',
  ];
  if (r.restoreAndCopy) lines.push(...restoreAndCopyLines(r.restoreAndCopy));
  const jobs = r.jobs ?? [];
  if (jobs.length > 0 || !r.restoreAndCopy) {
    lines.push(
      table([
        ['#', 'ROUND', 'JOB', 'STATUS', 'TASKS', 'OK', 'FAILED', 'APPROVAL'],
        ...jobs.map((j) => [
          String(j.ordinal),
          String(j.round),
          j.jobId ?? '—',
          j.status ?? '—',
          String(j.totalTasks ?? '—'),
          String(j.succeededTasks ?? 0),
          String(j.failedTasks ?? 0),
          j.approval ? `${j.approval.decision} by ${j.approval.by}` : '—',
        ]),
      ]),
    );
  }
  const approvals = approvalLines(jobs);
  if (approvals.length) lines.push('', ...approvals);
  const codes = Object.entries(r.errorsByCode ?? {}).sort((a, b) => b[1] - a[1]);
  if (codes.length) lines.push('', table([['ERROR CODE', 'OBJECTS'], ...codes.map(([c, n]) => [c, String(n)])]));
  lines.push(
    '',
    `objects that did not succeed: s3://${r.failedObjects.bucket}/${r.failedObjects.key} (${r.failedObjects.count})`,
    `report: ${where}`,
  );
  return lines.join('\n');
}

export function registerCampaignViewCommands(program: Command): void {
  withTemporalFlags(
    program
      .command('list')
      .description('campaigns, newest first, from the search attributes')
      .option(
        '--phase <phase>',
        'a phase (e.g. AwaitingApproval, Running, WaitingToRetry) or, for finished campaigns, an outcome ' +
          '(e.g. Succeeded, Failed, Rejected)',
        parsePhase,
      )
      .option('--operation <type>', 'e.g. restore, copy')
      .option('--name <name>', 'exact campaign name')
      .option('--limit <n>', 'at most this many', parseLimit, 50)
      .option('--json', 'JSON output')
      .addHelpText(
        'after',
        '\nExamples:\n  s3-campaigns list --operation restore --phase AwaitingApproval\n  s3-campaigns list --json\n',
      ),
  ).action(
    async (
      flags: TemporalFlags & { phase?: string; operation?: string; name?: string; limit: number; json?: boolean },
    ) => {
      await withTemporalClient(flags, async (client) => {
        const rows: ListRow[] = [];
        for await (const w of client.workflow.list({ query: listQuery(flags) })) {
          rows.push(toRow(w));
          if (rows.length >= flags.limit) break;
        }
        if (flags.json) return console.log(JSON.stringify(rows, null, 2));
        if (rows.length === 0) return console.log('no campaigns');
        console.log(
          table([
            ['WORKFLOW ID', 'NAME', 'OPERATION', 'PHASE', 'OBJECTS', 'FAILED', 'STARTED'],
            ...rows.map((r) => [
              r.workflowId,
              r.name ?? '—',
              r.operation ?? '—',
              r.phase ?? r.status,
              String(r.objects ?? '—'),
              String(r.failed ?? '—'),
              r.started,
            ]),
          ]),
        );
      });
    },
  );

  withTemporalFlags(
    program
      .command('cancel <workflowId>')
      .description('cancel a campaign: its running jobs are cancelled and the final report is still written'),
  ).action(async (id: string, flags: TemporalFlags) => {
    await withTemporalClient(flags, async (client) => {
      const handle = client.workflow.getHandle(id);
      const d = await describeIfAllowed(handle);
      if (d && d.status.name !== 'RUNNING') throw alreadyEnded(id, endedAs(d), 'cancel');
      await handle.cancel();
      console.log(`cancellation requested for ${id}: its jobs are being cancelled; the report follows`);
    });
  });

  withTemporalFlags(
    program
      .command('report <workflowId>')
      .description("a finished campaign's report: jobs, counts, errors by code, failed objects")
      .option('--json', 'print campaign.json'),
  ).action(async (id: string, flags: TemporalFlags & { json?: boolean }) => {
    await withTemporalClient(flags, async (client) => {
      const handle = client.workflow.getHandle(id);
      const { status } = await handle.describe();
      if (status.name === 'RUNNING') {
        const s = await handle.query(statusQuery);
        throw new Error(`${id} is still running (phase ${s.phase}); use \`s3-campaigns status ${id} --watch\``);
      }
      // Completed: the result points at the report; cancelled: the final state (a query replays it) does.
      const uri =
        status.name === 'COMPLETED'
          ? ((await handle.result()) as CampaignResult).report
          : (await handle.query(statusQuery).catch(() => undefined))?.reportUri;
      if (!uri) throw new Error(`${id} ended ${status.name} without a report`);
      const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
      if (!m) throw new Error(`${id} ended ${status.name} without a readable report location (${uri})`);
      const { s3 } = createAwsClients((await cliAwsConfig(flags)).aws);
      try {
        const text = await getObjectText(s3, m[1]!, m[2]!);
        console.log(flags.json ? text : formatReport(JSON.parse(text) as CampaignReportJson, uri));
      } finally {
        s3.destroy();
      }
    });
  });
}

export { watch as watchCampaign };
