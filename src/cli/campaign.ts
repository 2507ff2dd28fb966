/** `start`, `approve`, `reject`, `status`: a campaign's life from the terminal. */
import { readFileSync } from 'node:fs';
import os from 'node:os';

import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Command } from 'commander';

import {
  approveUpdate,
  CAMPAIGN_WORKFLOW_TYPE,
  rejectUpdate,
  statusQuery,
  type CampaignStatus,
} from '../shared/campaign';
import { campaignDetails, campaignSummary } from '../campaign/summary';
import { formatCostEstimate } from '../cost/estimate';
import { compactTimestamp, kebabName, parseCampaignSpec, SpecError, type CampaignSpec } from '../shared/campaign-spec';
import { watchCampaign } from './campaign-views';
import { UsageError } from './flags';
import { TEMPORAL_FLAG_HELP, withTemporalClient, withTemporalFlags, type TemporalFlags } from './connect';

export { UsageError };

/** Reads and validates a spec file; errors name the file and each bad field. */
export function readSpecFile(path: string): CampaignSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  try {
    return parseCampaignSpec(json);
  } catch (err) {
    if (err instanceof SpecError) throw new UsageError(`${path}: ${err.problems.map((p) => `\n  - ${p}`).join('')}`);
    throw err;
  }
}

/** `campaign-<name slug>-<UTC timestamp>`: readable in the UI, unique enough for people starting by hand. */
export function defaultCampaignId(spec: CampaignSpec, now = new Date()): string {
  return `campaign-${kebabName(spec.name).slice(0, 40)}-${compactTimestamp(now)}`;
}

export async function startCampaign(client: Client, spec: CampaignSpec, taskQueue: string, workflowId?: string) {
  const id = workflowId ?? defaultCampaignId(spec);
  await client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
    taskQueue,
    workflowId: id,
    args: [spec],
    staticSummary: campaignSummary(spec),
    staticDetails: campaignDetails(spec),
  });
  return id;
}

interface DecisionFlags extends TemporalFlags {
  by?: string;
  note?: string;
  jobId?: string;
  etag?: string;
}

async function decide(kind: 'approve' | 'reject', id: string, flags: DecisionFlags): Promise<void> {
  await withTemporalClient(flags, async (client) => {
    const handle = client.workflow.getHandle(id);
    try {
      const res = await handle.executeUpdate(kind === 'approve' ? approveUpdate : rejectUpdate, {
        args: [
          { by: flags.by ?? os.userInfo().username, note: flags.note, jobId: flags.jobId, manifestEtag: flags.etag },
        ],
      });
      console.log(`${res.decision}: job(s) ${res.jobIds.join(', ')}`);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new Error(`${kind} refused: ${err.cause?.message ?? err.message}`, { cause: err });
      }
      throw err;
    }
  });
}

function formatStatus(s: CampaignStatus): string {
  const lines = [
    `${s.name} (${s.campaignId})`,
    `  operation  ${s.operation}`,
    `  phase      ${s.phase}${s.outcome ? ` → ${s.outcome}` : ''}${s.outcomeReason ? ` (${s.outcomeReason})` : ''}`,
    `  objects    ${s.totals.objects}   succeeded ${s.totals.succeeded}   failed ${s.totals.failed}   jobs ${s.totals.jobs}   round ${s.round}`,
  ];
  if (s.stats && Object.keys(s.stats.bytesByStorageClass).length) {
    lines.push(
      `  bytes      ${Object.entries(s.stats.bytesByStorageClass)
        .map(([c, b]) => `${c} ${b}`)
        .join(', ')}`,
    );
  }
  if (s.awaitingApproval) {
    const a = s.awaitingApproval;
    lines.push(
      `  AWAITING APPROVAL${a.retry ? ' (retry job)' : ''}: ${a.objects} objects in job(s) ${a.jobIds.join(', ')}, until ${a.deadline ?? '—'}`,
      `    s3-campaigns approve ${s.campaignId} --note "…"    or    s3-campaigns reject ${s.campaignId} --note "…"`,
    );
    if (s.estimate && !a.retry) lines.push('', formatCostEstimate(s.estimate).replace(/^/gm, '    '), '');
  }
  if (s.jobs.length) {
    lines.push('  jobs:');
    for (const j of s.jobs) {
      lines.push(
        `    #${j.ordinal} round ${j.round} shard ${j.shard}  ${(j.jobId ?? '(creating)').padEnd(36)}  ${(j.status ?? 'New').padEnd(10)}  ` +
          `${j.succeededTasks ?? 0}/${j.totalTasks ?? j.manifest.rows} ok  ${j.failedTasks ?? 0} failed` +
          (j.approval ? `  ${j.approval.decision} by ${j.approval.by}` : ''),
      );
    }
  }
  if (s.reportKey) lines.push(`  report     ${s.reportKey}`);
  return lines.join('\n');
}

export function registerCampaignCommands(program: Command): void {
  withTemporalFlags(
    program
      .command('start <spec.json>')
      .description('validate a campaign spec and start the campaign; prints the workflow id')
      .option('--id <workflowId>', 'workflow id (default campaign-<name>-<timestamp>)')
      .option('--task-queue <name>', TEMPORAL_FLAG_HELP.taskQueue)
      .addHelpText(
        'after',
        '\nExamples:\n  s3-campaigns start restore.json\n  s3-campaigns start copy.json --id copy-to-dr-2026-11\n',
      ),
  ).action(async (file: string, flags: TemporalFlags & { id?: string }) => {
    const spec = readSpecFile(file);
    await withTemporalClient(flags, async (client, temporal) => {
      console.log(await startCampaign(client, spec, temporal.taskQueue, flags.id));
    });
  });

  for (const kind of ['approve', 'reject'] as const) {
    withTemporalFlags(
      program
        .command(`${kind} <workflowId>`)
        .description(`${kind} the job(s) awaiting approval (a Temporal update: fails if nothing awaits approval)`)
        .option('--by <name>', 'who decides (default: your user name)')
        .option('--note <text>', 'why, recorded in the campaign report')
        .option('--job-id <id>', `${kind} only if this is the job awaiting approval`)
        .option('--etag <etag>', `${kind} only if this is the manifest ETag awaiting approval`)
        .addHelpText(
          'after',
          `\nExample:\n  s3-campaigns ${kind} campaign-restore-logs-20261125T120000Z --note "cost checked"\n`,
        ),
    ).action(async (id: string, flags: DecisionFlags) => decide(kind, id, flags));
  }

  withTemporalFlags(
    program
      .command('status <workflowId>')
      .description("a campaign's phase, jobs and progress")
      .option('--json', 'print the full status as JSON')
      .option('--watch', 'follow progress live (tasks done/failed, rate, ETA) until the campaign ends')
      .addHelpText(
        'after',
        '\nExamples:\n  s3-campaigns status campaign-restore-logs-20261125T120000Z\n  s3-campaigns status demo-restore-20261125T170551Z --watch\n',
      ),
  ).action(async (id: string, flags: TemporalFlags & { json?: boolean; watch?: boolean }) => {
    await withTemporalClient(flags, async (client) => {
      const s = flags.watch ? await watchCampaign(client, id) : await client.workflow.getHandle(id).query(statusQuery);
      console.log(flags.json ? JSON.stringify(s, null, 2) : formatStatus(s));
    });
  });
}
