/** `schedule create|list|describe|pause|unpause|trigger|backfill|delete`: recurring campaigns on Temporal Schedules. */
import { type Command, InvalidArgumentError, Option } from 'commander';

import {
  createCampaignSchedule,
  formatMs,
  listCampaignSchedules,
  OVERLAP_POLICIES,
  type OverlapName,
} from '../schedules';
import {
  campaignIdProblem,
  durationMs,
  IncrementalSchema,
  kebabName,
  type CampaignSpec,
} from '../shared/campaign-spec';
import { checkSpecSize, readSpecFile, UsageError } from './campaign';
import { TEMPORAL_FLAG_HELP, withTemporalClient, withTemporalFlags, type TemporalFlags } from './connect';

function parseEvery(value: string): string {
  if (!/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/.test(value) || durationMs(value) < 1000) {
    throw new InvalidArgumentError(
      `--every must be a duration of at least 1s such as 30m, 24h or 7d, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function parseDate(flag: string): (value: string) => Date {
  return (value) => {
    const t = Date.parse(value);
    if (Number.isNaN(t))
      throw new InvalidArgumentError(
        `${flag} must be an ISO-8601 time such as 2026-11-01T00:00:00Z, got ${JSON.stringify(value)}`,
      );
    return new Date(t);
  };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

interface CreateFlags extends TemporalFlags {
  cron?: string[];
  every?: string;
  overlap: OverlapName;
  paused?: boolean;
  note?: string;
  id?: string;
}

/** How Temporal names each run of a schedule: `<schedule id>-<scheduled time>`, the longest such suffix. */
const RUN_ID_SUFFIX = '-2006-01-02T15:04:05Z';

/**
 * Refuses a schedule id whose runs could not start: each run's workflow id must be a valid campaign id, and an
 * incremental spec without a stateKey takes the schedule id as its watermark name.
 */
function checkScheduleId(spec: CampaignSpec, scheduleId: string): void {
  const problem = campaignIdProblem(`${scheduleId}${RUN_ID_SUFFIX}`, spec.report);
  if (scheduleId.trim() === '' || problem) {
    throw new UsageError(
      `--id ${JSON.stringify(scheduleId)}: each run is named <id>${RUN_ID_SUFFIX}, and that ${problem ?? 'must not be empty'}`,
    );
  }
  if (spec.incremental && !spec.incremental.stateKey) {
    const asKey = IncrementalSchema.shape.stateKey.safeParse(scheduleId);
    if (!asKey.success) {
      throw new UsageError(
        `--id ${JSON.stringify(scheduleId)} names the watermark of this incremental spec, so it must be 1–200 ` +
          'letters, digits, dots, underscores or hyphens (or set incremental.stateKey in the spec)',
      );
    }
  }
}

export function registerScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('recurring campaigns on Temporal Schedules');

  withTemporalFlags(
    schedule
      .command('create <spec.json>')
      .description('create a schedule that starts the campaign on a cron or an interval')
      .option('--id <scheduleId>', 'schedule id (default: the spec name in kebab case)')
      .option('--cron <expr>', 'cron expression in UTC, e.g. "0 3 * * *" (repeatable)', collect)
      .option('--every <duration>', 'fixed interval, e.g. 24h', parseEvery)
      .addOption(
        new Option('--overlap <policy>', 'what to do when a run is still going')
          .choices(OVERLAP_POLICIES)
          .default('skip'),
      )
      .option('--paused', 'create it paused')
      .option('--note <text>', 'a note shown with the schedule state')
      .option('--task-queue <name>', TEMPORAL_FLAG_HELP.taskQueue)
      .addHelpText(
        'after',
        '\nExamples:\n  s3-campaigns schedule create nightly-dr-copy.json --cron "0 3 * * *"\n' +
          '  s3-campaigns schedule create tags.json --every 24h --overlap buffer-one --paused\n' +
          '\nEvery run is a normal campaign. With "incremental" in the spec, each run takes only objects new or changed\n' +
          'since the last successful run. Failed runs pause the schedule.\n',
      ),
  ).action(async (file: string, flags: CreateFlags) => {
    if (!flags.cron?.length === !flags.every) throw new UsageError('give exactly one of --cron or --every');
    const spec = readSpecFile(file);
    for (const w of checkSpecSize(spec, file)) process.stderr.write(`s3-campaigns: warning: ${w}\n`);
    const scheduleId = flags.id ?? kebabName(spec.name);
    checkScheduleId(spec, scheduleId);
    await withTemporalClient(flags, async (client, temporal) => {
      await createCampaignSchedule(client, {
        scheduleId,
        spec,
        taskQueue: temporal.taskQueue,
        cron: flags.cron,
        every: flags.every,
        overlap: flags.overlap,
        paused: flags.paused,
        note: flags.note,
      });
      console.log(scheduleId);
    });
  });

  withTemporalFlags(schedule.command('list').description('campaign schedules').option('--json', 'JSON output')).action(
    async (flags: TemporalFlags & { json?: boolean }) => {
      await withTemporalClient(flags, async (client) => {
        const lines = await listCampaignSchedules(client);
        if (flags.json) return console.log(JSON.stringify(lines, null, 2));
        if (lines.length === 0) return console.log('no campaign schedules');
        const rows = [
          ['SCHEDULE', 'STATE', 'SPEC', 'NEXT RUN', 'LAST RUN'],
          ...lines.map((l) => [
            l.scheduleId,
            l.paused ? 'paused' : 'active',
            l.spec,
            l.nextRun ?? '—',
            l.lastRun ?? '—',
          ]),
        ];
        const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
        for (const r of rows)
          console.log(
            r
              .map((c, i) => c.padEnd(widths[i]!))
              .join('  ')
              .trimEnd(),
          );
      });
    },
  );

  withTemporalFlags(
    schedule
      .command('describe <scheduleId>')
      .description("a schedule's spec, state, policies and recent runs")
      .option('--json', 'JSON output'),
  ).action(async (id: string, flags: TemporalFlags & { json?: boolean }) => {
    await withTemporalClient(flags, async (client) => {
      const d = await client.schedule.getHandle(id).describe();
      const view = {
        scheduleId: d.scheduleId,
        paused: d.state.paused,
        note: d.state.note,
        overlap: d.policies.overlap,
        pauseOnFailure: d.policies.pauseOnFailure,
        intervals: (d.spec.intervals ?? []).map((i) => formatMs(Number(i.every))),
        calendars: d.spec.calendars?.length ?? 0,
        nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
        running: d.info.runningActions.map((a) => a.workflow.workflowId),
        recent: d.info.recentActions.map((a) => ({
          at: a.takenAt.toISOString(),
          workflowId: a.action.workflow.workflowId,
        })),
        skippedOverlap: d.info.numActionsSkippedOverlap,
        actions: d.info.numActionsTaken,
      };
      if (flags.json) return console.log(JSON.stringify(view, null, 2));
      console.log(`${view.scheduleId}: ${view.paused ? 'paused' : 'active'}${view.note ? ` (${view.note})` : ''}`);
      console.log(
        `  spec       ${[...view.intervals.map((i) => `every ${i}`), view.calendars ? `${view.calendars} calendar rule(s)` : ''].filter(Boolean).join('; ')}`,
      );
      console.log(`  overlap    ${view.overlap}, pause on failure ${view.pauseOnFailure ? 'on' : 'off'}`);
      console.log(`  next runs  ${view.nextRuns.join(', ') || '—'}`);
      console.log(`  running    ${view.running.join(', ') || '—'}`);
      console.log(`  actions    ${view.actions} taken, ${view.skippedOverlap} skipped (overlap)`);
      for (const r of view.recent) console.log(`  ran        ${r.at}  ${r.workflowId}`);
    });
  });

  for (const verb of ['pause', 'unpause'] as const) {
    withTemporalFlags(
      schedule
        .command(`${verb} <scheduleId>`)
        .description(`${verb} a schedule`)
        .option('--note <text>', 'why (shown with the schedule)'),
    ).action(async (id: string, flags: TemporalFlags & { note?: string }) => {
      await withTemporalClient(flags, async (client) => {
        const h = client.schedule.getHandle(id);
        await (verb === 'pause' ? h.pause(flags.note) : h.unpause(flags.note));
        console.log(`${id} ${verb}d`);
      });
    });
  }

  withTemporalFlags(
    schedule.command('trigger <scheduleId>').description("run now (under the schedule's overlap policy)"),
  ).action(async (id: string, flags: TemporalFlags) => {
    await withTemporalClient(flags, async (client) => {
      const h = client.schedule.getHandle(id);
      // The SDK's default for trigger is ALLOW_ALL; a campaign must not run twice at once unless its policy says so.
      const { policies } = await h.describe();
      await h.trigger(policies.overlap);
      console.log(`${id} triggered (overlap ${policies.overlap})`);
    });
  });

  withTemporalFlags(
    schedule
      .command('backfill <scheduleId> <from> <to>')
      .description('take the actions the schedule would have taken between two times')
      .addHelpText(
        'after',
        '\nExample:\n  s3-campaigns schedule backfill nightly-dr-copy 2026-11-01T00:00:00Z 2026-11-03T00:00:00Z\n',
      ),
  ).action(async (id: string, fromText: string, toText: string, flags: TemporalFlags) => {
    const from = parseDate('<from>')(fromText);
    const to = parseDate('<to>')(toText);
    if (from >= to) throw new UsageError('<from> must be before <to>');
    await withTemporalClient(flags, async (client) => {
      const h = client.schedule.getHandle(id);
      const { policies } = await h.describe();
      await h.backfill({ start: from, end: to, overlap: policies.overlap });
      console.log(`${id} backfilled ${from.toISOString()} → ${to.toISOString()}`);
    });
  });

  withTemporalFlags(
    schedule.command('delete <scheduleId>').description('delete a schedule (its campaigns keep running)'),
  ).action(async (id: string, flags: TemporalFlags) => {
    await withTemporalClient(flags, async (client) => {
      await client.schedule.getHandle(id).delete();
      console.log(`${id} deleted`);
    });
  });
}
