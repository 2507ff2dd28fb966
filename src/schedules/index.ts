/**
 * Recurring campaigns on Temporal Schedules: each scheduled action starts a normal campaign workflow (same approval
 * policy, same report). Defaults: overlap SKIP (never two runs of one campaign at once) and pause on failure.
 */
import type { Client, ScheduleDescription, ScheduleOverlapPolicy, ScheduleSpec } from '@temporalio/client';

import { campaignStartMetadata } from '../campaign/summary';
import { CAMPAIGN_WORKFLOW_TYPE } from '../shared/campaign';
import { durationMs, formatDuration, type CampaignSpec } from '../shared/campaign-spec';

export const OVERLAP_POLICIES = [
  'skip',
  'buffer-one',
  'buffer-all',
  'cancel-other',
  'terminate-other',
  'allow-all',
] as const;
export type OverlapName = (typeof OVERLAP_POLICIES)[number];

export function overlapPolicy(name: OverlapName): ScheduleOverlapPolicy {
  return name.toUpperCase().replace(/-/g, '_') as ScheduleOverlapPolicy;
}

export interface CreateCampaignScheduleOptions {
  scheduleId: string;
  spec: CampaignSpec;
  taskQueue: string;
  /** Cron expressions (UTC), e.g. `0 3 * * *`. */
  cron?: string[];
  /** A fixed interval, e.g. `24h`. */
  every?: string;
  /** @default 'skip' */
  overlap?: OverlapName;
  paused?: boolean;
  note?: string;
}

/**
 * Creates the schedule. An incremental spec without a stateKey gets the schedule id, so every run of this schedule
 * shares one watermark.
 */
export async function createCampaignSchedule(client: Client, o: CreateCampaignScheduleOptions): Promise<void> {
  const spec: CampaignSpec =
    o.spec.incremental && !o.spec.incremental.stateKey
      ? { ...o.spec, incremental: { ...o.spec.incremental, stateKey: o.scheduleId } }
      : o.spec;
  const scheduleSpec: ScheduleSpec = o.cron?.length
    ? { cronExpressions: o.cron }
    : { intervals: [{ every: durationMs(o.every!) }] };
  await client.schedule.create({
    scheduleId: o.scheduleId,
    spec: scheduleSpec,
    action: {
      type: 'startWorkflow',
      workflowType: CAMPAIGN_WORKFLOW_TYPE,
      taskQueue: o.taskQueue,
      // Each run's workflow id is this prefix plus the scheduled time, so runs are easy to find.
      workflowId: o.scheduleId,
      args: [spec],
      ...campaignStartMetadata(spec),
    },
    policies: { overlap: overlapPolicy(o.overlap ?? 'skip'), pauseOnFailure: true },
    state: { paused: o.paused ?? false, note: o.note },
  });
}

/** A one-line summary of a schedule, for `schedule list`. */
export interface ScheduleLine {
  scheduleId: string;
  paused: boolean;
  spec: string;
  nextRun?: string;
  lastRun?: string;
  campaign?: string;
}

/** 86400000 → "1d", 5400000 → "90m" (the spec's own spelling of durations). */
export const formatMs = formatDuration;

function describeSpec(spec: ScheduleDescription['spec'] | undefined): string {
  if (!spec) return '(no spec)';
  const calendars = spec.calendars ?? [];
  const parts = calendars.length ? [`${calendars.length} calendar rule(s)`] : [];
  for (const i of spec.intervals ?? []) parts.push(`every ${formatMs(Number(i.every))}`);
  return parts.join('; ') || '(no spec)';
}

export async function listCampaignSchedules(client: Client): Promise<ScheduleLine[]> {
  const out: ScheduleLine[] = [];
  for await (const s of client.schedule.list()) {
    if (s.action?.type !== 'startWorkflow' || s.action.workflowType !== CAMPAIGN_WORKFLOW_TYPE) continue;
    out.push({
      scheduleId: s.scheduleId,
      paused: s.state.paused,
      spec: describeSpec(s.spec),
      nextRun: s.info.nextActionTimes[0]?.toISOString(),
      lastRun: s.info.recentActions[s.info.recentActions.length - 1]?.takenAt.toISOString(),
    });
  }
  return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}
