/**
 * `status --watch`'s progress line: where a campaign stands over all its rounds, the task rate measured from
 * successive polls, and when a waiting retry round starts. Pure functions of the status query's answers.
 */
import type { CampaignStatus, RestoreAndCopyProgress } from '../shared/campaign';

/** Where a campaign stands, counting every round: a retry round adds to what earlier rounds did. */
export interface CampaignProgress {
  /** Objects the campaign selected. */
  objects: number;
  /** Objects that succeeded, in any round so far. */
  ok: number;
  /** Objects that failed for good, plus the current round's failed tasks (a later round may retry these). */
  failed: number;
  /** The current round, when it is a retry round: its tasks done and its size. */
  retryRound?: { round: number; done: number; total: number };
  /** Tasks left in the current round. */
  remaining: number;
}

export function campaignProgress(s: CampaignStatus): CampaignProgress {
  // restore-and-copy: done means copied (or failed for good); its child campaigns' rounds are their own.
  const rac = s.restoreAndCopyProgress;
  if (rac) {
    return {
      objects: rac.objects,
      ok: rac.copied,
      failed: rac.failed,
      remaining: Math.max(0, rac.objects - rac.copied - rac.failed),
    };
  }
  const sum = <T>(items: T[], f: (item: T) => number) => items.reduce((n, item) => n + f(item), 0);
  const jobs = s.jobs.filter((j) => j.round === s.round);
  const roundTotal = sum(jobs, (j) => j.totalTasks ?? j.manifest.rows);
  // Before the manifest's statistics exist, the first round's jobs say how many objects there are.
  const objects =
    s.totals.objects ||
    sum(
      s.jobs.filter((j) => j.round === 0),
      (j) => j.totalTasks ?? j.manifest.rows,
    );
  if (s.rounds.some((r) => r.round === s.round)) {
    // The current round is analysed: the campaign's totals already count it.
    return { objects, ok: s.totals.succeeded, failed: s.totals.failed, remaining: 0 };
  }
  const earlier = s.rounds.filter((r) => r.round < s.round);
  const roundOk = sum(jobs, (j) => j.succeededTasks ?? 0);
  const roundFailed = sum(jobs, (j) => j.failedTasks ?? 0);
  return {
    objects,
    ok: sum(earlier, (r) => r.succeeded) + roundOk,
    failed: sum(earlier, (r) => r.permanent) + roundFailed,
    retryRound: s.round > 0 ? { round: s.round, done: roundOk + roundFailed, total: roundTotal } : undefined,
    remaining: Math.max(0, roundTotal - roundOk - roundFailed),
  };
}

/**
 * Tasks per second from successive polls' counts over wall time. The workflow refreshes a job's counts once per poll
 * (5 s to 10 min with `pollInterval: "auto"`, the default), so between two polls of `status` they often do not move,
 * and a rate from the last two polls alone reads 0.0/s most of the time. This one measures from the first change it saw to the latest one, and
 * lets the rate fall once no change came for longer than the longest gap between changes so far (a stall). It knows
 * nothing until it has seen two changes; a new `key` (another round) starts it over.
 */
export class TaskRate {
  private key: string | undefined;
  private last: { at: number; done: number } | undefined;
  private first: { at: number; done: number } | undefined;
  private latest: { at: number; done: number } | undefined;
  private longestGap = 0;

  /** Records a poll's count of finished tasks at `at` (ms); returns tasks per second, or undefined while unknown. */
  observe(key: string, done: number, at: number): number | undefined {
    if (key !== this.key || !this.last || done < this.last.done) {
      this.key = key;
      this.first = this.latest = undefined;
      this.longestGap = 0;
    } else if (done !== this.last.done) {
      if (this.latest) this.longestGap = Math.max(this.longestGap, at - this.latest.at);
      this.first ??= { at, done };
      this.latest = { at, done };
    }
    this.last = { at, done };
    if (!this.first || !this.latest || this.latest.at <= this.first.at) return undefined;
    const end = Math.max(this.latest.at, at - this.longestGap);
    return ((this.latest.done - this.first.done) / (end - this.first.at)) * 1000;
  }
}

/** `45s`, `3m05s`, `2h04m`: a wait as people read it. */
export function formatWait(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
}

/**
 * A restore-and-copy campaign's stages after the copied count: `· requested 4/6 · restored 7/9 · wave 3 copying 4 ·
 * next sweep in 45s · 0 expiring soon` (the restore requests while not all are in, the wave while one copies).
 */
export function restoreAndCopyParts(rac: RestoreAndCopyProgress, now: number): string[] {
  const parts: string[] = [];
  if (rac.requested < rac.needRestore) parts.push(`· requested ${rac.requested}/${rac.needRestore}`);
  parts.push(`· restored ${rac.restored}/${rac.objects}`);
  if (rac.currentWave) parts.push(`· wave ${rac.currentWave.waveId} copying ${rac.copying}`);
  if (rac.nextSweepAt) parts.push(`· next sweep in ${formatWait(Date.parse(rac.nextSweepAt) - now)}`);
  parts.push(`· ${rac.expiringSoon} expiring soon`);
  return parts;
}

/** Colours for the terminal; identity functions when output is not a terminal. */
export interface LineStyle {
  ok: (text: string) => string;
  failed: (text: string) => string;
}

const PLAIN: LineStyle = { ok: (t) => t, failed: (t) => t };
/** Characters of the bar. */
const BAR_WIDTH = 24;

/**
 * One line of progress, cumulative over the rounds:
 * `Running  [#############-----------]  56% 9/16 9 ok 0 failed 3.5/s ETA 2s · retry round 1: 2/7`, or while a
 * retry round waits, `… · 7 to retry in round 1 at 2026-11-25T12:03:04Z (in 45s)`. The rate is shown while tasks run.
 * A restore-and-copy campaign counts its copies and adds its stages ({@link restoreAndCopyParts}).
 */
export function progressLine(s: CampaignStatus, rate: number | undefined, now: number, style = PLAIN): string {
  const p = campaignProgress(s);
  const done = p.ok + p.failed;
  const pct = p.objects ? Math.min(100, Math.floor((done / p.objects) * 100)) : 0;
  const filled = Math.round((pct / 100) * BAR_WIDTH);
  const parts = [
    s.phase.padEnd(16),
    `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`,
    `${String(pct).padStart(3)}%`,
    `${done}/${p.objects}`,
    style.ok(`${p.ok} ok`),
    p.failed ? style.failed(`${p.failed} failed`) : '0 failed',
  ];
  if (s.phase === 'Done' && s.totals.notRun) parts.push(`${s.totals.notRun} not run`);
  if (s.phase === 'Running' && rate !== undefined) {
    parts.push(`${rate.toFixed(1)}/s`);
    if (rate > 0 && p.remaining > 0) parts.push(`ETA ${formatWait((p.remaining / rate) * 1000)}`);
  }
  const rac = s.restoreAndCopyProgress;
  if (rac && s.phase !== 'Done') parts.push(...restoreAndCopyParts(rac, now));
  if (s.phase === 'WaitingToRetry' && p.retryRound) {
    const at = s.retryAt
      ? ` at ${s.retryAt.replace(/\.\d+Z$/, 'Z')} (in ${formatWait(Date.parse(s.retryAt) - now)})`
      : '';
    parts.push(`· ${p.retryRound.total} to retry in round ${p.retryRound.round}${at}`);
  } else if (p.retryRound && s.phase !== 'Done') {
    parts.push(`· retry round ${p.retryRound.round}: ${p.retryRound.done}/${p.retryRound.total}`);
  }
  return parts.join(' ');
}
