/** `start`, `approve`, `reject`, `status`: a campaign's life from the terminal. */
import { readFileSync } from 'node:fs';
import os from 'node:os';

import {
  defaultPayloadConverter,
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { Option, type Command } from 'commander';

import {
  approveUpdate,
  CAMPAIGN_WORKFLOW_TYPE,
  rejectUpdate,
  statusQuery,
  type CampaignStatus,
} from '../shared/campaign';
import { campaignStartMetadata } from '../campaign/summary';
import { formatCostEstimate } from '../cost/estimate';
import {
  campaignIdProblem,
  compactTimestamp,
  kebabName,
  MAX_WORKFLOW_ID_BYTES,
  parseCampaignSpec,
  SpecError,
  type CampaignSpec,
} from '../shared/campaign-spec';
import { CAMPAIGN_SEARCH_ATTRIBUTES as SA } from '../shared/search-attributes';
import { watchCampaign } from './campaign-views';
import { alreadyEnded, describeIfAllowed, endedAs } from './phases';
import { DecisionPending, parsePositiveInt, UsageError } from './flags';
import { parseJsonText } from './json-syntax';
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
    json = parseJsonText(text);
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

/** Temporal's default `limit.blobSize.error`: it refuses a single payload (the spec, as the start's input) above it. */
export const MAX_PAYLOAD_BYTES = 2 * 1024 * 1024;
/** Temporal's default `limit.blobSize.warn`: the server logs a warning above it, and the spec is in every history. */
export const WARN_PAYLOAD_BYTES = 512 * 1024;

const mb = (bytes: number) => `${Number((bytes / 1024 / 1024).toFixed(1))} MB`;

/**
 * Checks what Temporal or S3 would refuse only later, with a message that does not say which limit was hit: the
 * campaign id (non-empty, one path segment, within Temporal's id length, and short enough for every key the campaign
 * writes under `<report.prefix>/<id>/`) and the spec's size as the workflow's input. Returns warnings to print.
 */
export function checkStartInput(spec: CampaignSpec, id: string, file: string): string[] {
  checkCampaignId(spec, id);
  return checkSpecSize(spec, file);
}

function checkCampaignId(spec: CampaignSpec, id: string): void {
  const problem = campaignIdProblem(id, spec.report);
  if (problem === 'must not be empty') {
    throw new UsageError('--id must not be empty: give a campaign id, or leave --id out for campaign-<name>-<time>');
  }
  if (problem) throw new UsageError(`--id ${problem.replace('(shorten the id', '(shorten --id')}`);
}

/** The spec travels as one payload (the workflow's input, or a schedule's action): Temporal's size limits apply. */
export function checkSpecSize(spec: CampaignSpec, file: string): string[] {
  const payloadBytes = defaultPayloadConverter.toPayload(spec).data?.length ?? 0;
  if (payloadBytes > MAX_PAYLOAD_BYTES) {
    throw new UsageError(
      `${file} is ${mb(payloadBytes)} as a workflow input; Temporal refuses a payload over ${mb(MAX_PAYLOAD_BYTES)} ` +
        '(its default limit.blobSize.error). Put the objects in a CSV manifest (source.type "csv") or use an ' +
        'inventory source instead of listing them in the spec',
    );
  }
  return payloadBytes > WARN_PAYLOAD_BYTES
    ? [
        `${file} is ${Math.round(payloadBytes / 1024)} KB as a workflow input, above Temporal's warning size of ` +
          `${WARN_PAYLOAD_BYTES / 1024} KB; a CSV manifest or an inventory source keeps the campaign's history small`,
      ]
    : [];
}

/**
 * The UsageError for a campaign id Temporal already knows: `campaign X already exists (what, started when, its state
 * or outcome); choose another --id`, with a fresh id to use.
 */
async function idTaken(client: Client, id: string): Promise<UsageError> {
  const suggestion = `${id.slice(0, MAX_WORKFLOW_ID_BYTES - 40)}-${compactTimestamp(new Date())}`;
  let facts: string[] = [];
  try {
    const d = await client.workflow.getHandle(id).describe();
    // The workflow sets its search attributes in its first task; before a worker ran it, the summary names it.
    const name = d.typedSearchAttributes.get(SA.name) ?? (await d.staticSummary().catch(() => undefined));
    const phase = d.typedSearchAttributes.get(SA.phase);
    facts = [
      ...(name ? [name] : []),
      `started ${d.startTime.toISOString()}`,
      d.status.name === 'RUNNING' ? `still running${phase ? `, phase ${phase}` : ''}` : `outcome ${endedAs(d)}`,
    ];
  } catch {
    // Described or not, the id is taken: say so with what we know.
  }
  return new UsageError(
    `campaign ${id} already exists${facts.length ? ` (${facts.join(', ')})` : ''}; choose another --id, e.g. ` +
      `--id ${suggestion}, or leave --id out for a generated one. A campaign id is used once: it names the ` +
      `campaign's report folder and tags its jobs, so a second campaign under it would overwrite the first one's files`,
  );
}

/**
 * Starts a campaign under `workflowId` (default `campaign-<name>-<time>`). Temporal refuses an id it still knows,
 * open or closed (REJECT_DUPLICATE); that is a UsageError naming the campaign that holds it.
 */
export async function startCampaign(client: Client, spec: CampaignSpec, taskQueue: string, workflowId?: string) {
  const id = workflowId ?? defaultCampaignId(spec);
  try {
    await client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: id,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      args: [spec],
      ...campaignStartMetadata(spec),
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw await idTaken(client, id);
    throw err;
  }
  return id;
}

interface DecisionFlags extends TemporalFlags {
  by?: string;
  note?: string;
  /** `--reason`, the name an operator may reach for first: the same as `--note`. */
  reason?: string;
  jobId?: string;
  etag?: string;
  wait: number;
}

/** How long `approve`/`reject` wait for a worker to apply the decision, in seconds. */
const DEFAULT_DECISION_WAIT_S = 60;
/** How often a waiting `approve`/`reject` says it is still waiting, in ms. */
const WAITING_NOTE_EVERY_MS = 15_000;
/** `TASK_QUEUE_TYPE_WORKFLOW` of Temporal's API: the pollers that run workflow code, updates included. */
const TASK_QUEUE_TYPE_WORKFLOW = 1;

/** Workers that polled the task queue for workflow tasks in the last few minutes (the server's poller history). */
async function workflowPollers(client: Client, taskQueue: string): Promise<number | undefined> {
  try {
    const res = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
    });
    return res.pollers?.length ?? 0;
  } catch {
    return undefined; // Not allowed to look (e.g. a narrow API key): no hint then, the wait still says what happens.
  }
}

/**
 * Sends the decision as an Update and waits up to `--wait` seconds for the workflow to apply it. An Update needs a
 * worker: without one, Temporal holds it until a worker picks the campaign up. The CLI says so up front when no
 * worker polls, every 15 s while waiting, and on timeout exits 3 with what will happen to the decision.
 */
async function decide(kind: 'approve' | 'reject', id: string, flags: DecisionFlags): Promise<void> {
  if (flags.note !== undefined && flags.reason !== undefined) {
    throw new UsageError('--reason is another name for --note: give one of them');
  }
  const why = flags.note ?? flags.reason;
  await withTemporalClient(flags, async (client) => {
    const handle = client.workflow.getHandle(id);
    const started = Date.now();
    const deadline = started + flags.wait * 1000;
    const d = await describeIfAllowed(handle);
    if (d && d.status.name !== 'RUNNING') throw alreadyEnded(id, endedAs(d), kind);
    if (d && (await workflowPollers(client, d.taskQueue)) === 0) {
      process.stderr.write(
        `s3-campaigns: no worker has polled task queue ${d.taskQueue} in the last few minutes; the ${kind} is ` +
          `applied when one starts (waiting up to ${flags.wait} s)\n`,
      );
    }
    const note = setInterval(() => {
      const waited = Math.round((Date.now() - started) / 1000);
      process.stderr.write(`s3-campaigns: still waiting for a worker to apply the ${kind} (${waited} s)\n`);
    }, WAITING_NOTE_EVERY_MS);
    try {
      const res = await client.withDeadline(deadline, () =>
        handle.executeUpdate(kind === 'approve' ? approveUpdate : rejectUpdate, {
          args: [{ by: flags.by ?? os.userInfo().username, note: why, jobId: flags.jobId, manifestEtag: flags.etag }],
        }),
      );
      console.log(`${res.decision}: job(s) ${res.jobIds.join(', ')}`);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new Error(`${kind} refused: ${err.cause?.message ?? err.message}`, { cause: err });
      }
      // The campaign ended while the update was on its way: Temporal says "workflow execution already completed".
      const now = await handle.describe().catch(() => undefined);
      if (now && now.status.name !== 'RUNNING') throw alreadyEnded(id, endedAs(now), kind);
      if (Date.now() >= deadline) {
        throw new DecisionPending(
          `${kind} not applied within ${flags.wait} s: no worker took it. It stays pending: the campaign decides ` +
            `on it when a worker picks the campaign up (and may still refuse it then, e.g. after the approval ` +
            `deadline). Until then it lives only in the Temporal server's memory, so a server restart drops it. ` +
            `Check with \`s3-campaigns status ${id}\`.`,
          { cause: err },
        );
      }
      throw err;
    } finally {
      clearInterval(note);
    }
  });
}

/** `status` as people read it: phase, counts, what awaits approval, the jobs, ignored signals. */
export function formatStatus(s: CampaignStatus): string {
  const lines = [
    `${s.name} (${s.campaignId})`,
    `  operation  ${s.operation}`,
    `  phase      ${s.phase}${s.outcome ? ` → ${s.outcome}` : ''}`,
    ...(s.outcomeReason ? [`  reason     ${s.outcomeReason}`] : []),
    `  objects    ${s.totals.objects}   succeeded ${s.totals.succeeded}   failed ${s.totals.failed}` +
      (s.totals.notRun ? `   not run ${s.totals.notRun}` : '') +
      `   jobs ${s.totals.jobs}   round ${s.round}`,
  ];
  if (s.phase === 'WaitingToRetry' && s.retryAt) lines.push(`  retry      round ${s.round} starts at ${s.retryAt}`);
  const rac = s.restoreAndCopyProgress;
  if (rac) {
    const large = s.restoreAndCopy?.large;
    lines.push(
      `  restore    requested ${rac.requested}/${rac.needRestore}   restored ${rac.restored}/${rac.objects}   ` +
        `waiting ${rac.waiting}   copying ${rac.copying}   copied ${rac.copied}/${rac.objects} (verified)   failed ${rac.failed}`,
      `  waves      ${rac.waves}` +
        (rac.currentWave
          ? `   current wave ${rac.currentWave.waveId} (${rac.currentWave.objects} objects, ${rac.currentWave.workflowId})`
          : '') +
        (large?.objects ? `   large objects ${large.copied}/${large.objects} copied` : ''),
      `  tracking   ` +
        [
          rac.nextSweepAt ? `next sweep ${rac.nextSweepAt}` : '',
          `expiring soon ${rac.expiringSoon}`,
          rac.nextEarliestExpiry ? `earliest expiry of a waiting copy ${rac.nextEarliestExpiry}` : '',
          `extensions ${s.restoreAndCopy?.extensions ?? 0}`,
        ]
          .filter(Boolean)
          .join('   '),
    );
  }
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
  if (s.ignoredSignals.length) {
    lines.push('  ignored signals (newest last):');
    for (const g of s.ignoredSignals) lines.push(`    ${g.at}  ${g.name}: ${g.reason}`);
  }
  // reportUri names the bucket; a status from before it existed has only the key.
  if (s.reportUri ?? s.reportKey) lines.push(`  report     ${s.reportUri ?? s.reportKey}`);
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
    const id = flags.id ?? defaultCampaignId(spec);
    for (const w of checkStartInput(spec, id, file)) process.stderr.write(`s3-campaigns: warning: ${w}\n`);
    await withTemporalClient(flags, async (client, temporal) => {
      console.log(await startCampaign(client, spec, temporal.taskQueue, id));
    });
  });

  for (const kind of ['approve', 'reject'] as const) {
    withTemporalFlags(
      program
        .command(`${kind} <workflowId>`)
        .description(`${kind} the job(s) awaiting approval (a Temporal update: fails if nothing awaits approval)`)
        .option('--by <name>', 'who decides (default: your user name)')
        .option('--note <text>', 'why, recorded in the campaign report')
        .addOption(new Option('--reason <text>', 'the same as --note').hideHelp())
        .option('--job-id <id>', `${kind} only if this is the job awaiting approval`)
        .option('--etag <etag>', `${kind} only if this is the manifest ETag awaiting approval`)
        .option(
          '--wait <seconds>',
          'how long to wait for a worker to apply the decision; then exit 3, the decision still pending',
          parsePositiveInt('--wait', 24 * 3600),
          DEFAULT_DECISION_WAIT_S,
        )
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
