/**
 * `s3-campaigns redrive <campaignId>`: run an ended campaign's failures again, as Step Functions' "redrive" does, in
 * one command. It starts a new campaign whose source is the old one's failed.csv (`campaign-failures`), with the old
 * campaign's spec (operation, account, role, approval, report…) or with another spec's (`--spec`).
 */
import { type Client } from '@temporalio/client';
import type { Command } from 'commander';

import { createAwsClients } from '../aws/clients';
import { previewCampaignManifest } from '../cost/preview';
import { CampaignFailuresError } from '../manifest/campaign-failures';
import { parseCampaignSpec, SpecError, type CampaignSpec } from '../shared/campaign-spec';
import { checkSpecSize, defaultCampaignId, readSpecFile, startCampaign } from './campaign';
import { cliAwsConfig, TEMPORAL_FLAG_HELP, withTemporalClient, withTemporalFlags, type TemporalFlags } from './connect';
import { UsageError } from './flags';
import { describeIfAllowed, endedAs } from './phases';

interface RedriveFlags extends TemporalFlags {
  errorCode?: string[];
  spec?: string;
  id?: string;
}

const repeat = (value: string, previous: string[] = []) => [...previous, value];

/** Outcomes after which a campaign has a failed.csv: it wrote its report. */
const REPORTED = new Set(['Succeeded', 'CompletedWithFailures', 'Failed', 'Cancelled', 'Rejected', 'ApprovalExpired']);

/** A spec's name for the redrive: `<name> (redrive)`, within the 100 characters a name may have. */
export function redriveName(name: string): string {
  const suffix = ' (redrive)';
  return name.length + suffix.length <= 100 ? name + suffix : `${name.slice(0, 100 - suffix.length - 1)}…${suffix}`;
}

/**
 * The spec of the redrive: `base` (the old campaign's spec, or another) with the old campaign's failures as its
 * source. A filter or incremental setting of the base spec belonged to its old source and is dropped.
 */
export function redriveSpec(
  base: CampaignSpec,
  campaignId: string,
  errorCodes: string[] | undefined,
  oldReport: { bucket: string; prefix: string },
): CampaignSpec {
  const rest: Partial<CampaignSpec> = { ...base };
  delete rest.filter;
  delete rest.incremental;
  const sameFolder = oldReport.bucket === base.report.bucket && oldReport.prefix === base.report.prefix;
  return parseCampaignSpec({
    ...rest,
    name: redriveName(base.name),
    source: {
      type: 'campaign-failures',
      campaignId,
      ...(errorCodes?.length ? { errorCodes } : {}),
      ...(sameFolder ? {} : { report: oldReport }),
    },
  });
}

/** The spec a campaign was started with: the input of its run's first event (a continued run carries it too). */
async function campaignSpecOf(client: Client, id: string): Promise<CampaignSpec> {
  const res = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId: id },
    maximumPageSize: 1,
  });
  const payload = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error(`campaign ${id} has no start input in its history`);
  const input = client.options.loadedDataConverter.payloadConverter.fromPayload<Record<string, unknown>>(payload);
  const spec = { ...input };
  delete spec.continuation;
  try {
    return parseCampaignSpec(spec);
  } catch (err) {
    if (err instanceof SpecError) {
      throw new Error(`the spec of campaign ${id} no longer validates: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/**
 * Reads the failures the redrive would take, as its campaign will: a campaign without a report, a code no failure has,
 * or nothing to redrive is refused here rather than in a campaign that fails a moment later. When S3 cannot be read
 * from here (no credentials on this machine), the campaign checks for itself: a warning says so.
 */
async function checkFailures(spec: CampaignSpec, id: string): Promise<void> {
  const { aws } = await cliAwsConfig();
  const clients = createAwsClients(aws);
  try {
    const p = await previewCampaignManifest(spec, { s3: clients.s3 });
    if (p.rowsSelected === 0)
      throw new UsageError(`campaign ${id} has no failures to redrive (its failed.csv is empty)`);
    process.stderr.write(`s3-campaigns: redriving ${p.rowsSelected} of the ${p.rowsScanned} failure(s) of ${id}\n`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // The spec's field is this command's flag.
    if (err instanceof CampaignFailuresError) {
      throw new UsageError(err.message.replace(/^source\.errorCodes: /, '--error-code: '));
    }
    process.stderr.write(
      `s3-campaigns: warning: could not read the failures of ${id} from here (${(err as Error).message}); ` +
        'the campaign reads them itself\n',
    );
  } finally {
    clients.s3.destroy();
    clients.s3control.destroy();
  }
}

export function registerRedriveCommand(program: Command): void {
  withTemporalFlags(
    program
      .command('redrive <campaignId>')
      .description("start a campaign over an ended campaign's failures (its failed.csv); prints the new workflow id")
      .option(
        '--error-code <code>',
        'only the failures with this error code (repeatable; SlowDown also takes CopyFailed:SlowDown)',
        repeat,
      )
      .option('--spec <spec.json>', "use this spec (its operation, approval…) instead of the old campaign's")
      .option('--id <workflowId>', 'workflow id of the new campaign (default campaign-<name>-<timestamp>)')
      .option('--task-queue <name>', TEMPORAL_FLAG_HELP.taskQueue)
      .addHelpText(
        'after',
        '\nThe new campaign is the old one with source {"type": "campaign-failures", "campaignId": …}: same operation,\n' +
          'account, role, approval and report bucket unless --spec gives another. Its approval shows the objects.\n' +
          '\nExamples:\n' +
          '  s3-campaigns redrive campaign-restore-logs-20261201T090000Z\n' +
          '  s3-campaigns redrive nightly-copy --error-code SlowDown --error-code InternalError\n' +
          '  s3-campaigns redrive nightly-copy --spec copy-with-replace.json\n',
      ),
  ).action(async (id: string, flags: RedriveFlags) => {
    const other = flags.spec === undefined ? undefined : readSpecFile(flags.spec);
    await withTemporalClient(flags, async (client, temporal) => {
      const d = await describeIfAllowed(client.workflow.getHandle(id));
      if (d?.status.name === 'RUNNING') {
        throw new UsageError(`campaign ${id} is still running: its failures are known when it ends (see status ${id})`);
      }
      if (d && !REPORTED.has(endedAs(d))) {
        throw new UsageError(
          `campaign ${id} ended ${endedAs(d)}, without writing its report: it has no failed.csv to redrive`,
        );
      }
      const old = await campaignSpecOf(client, id);
      const spec = redriveSpec(other ?? old, id, flags.errorCode, old.report);
      checkSpecSize(spec, flags.spec ?? `the spec of ${id}`);
      await checkFailures(spec, id);
      const newId = await startCampaign(client, spec, temporal.taskQueue, flags.id ?? defaultCampaignId(spec));
      console.log(newId);
    });
  });
}
