/**
 * How long a campaign waits before it describes its jobs again, when `pollInterval` is `"auto"` (the default).
 *
 * Pure and deterministic (the workflow calls it with workflow time): the same jobs at the same time give the same
 * interval. The idea: poll often while something is about to change (a job in New/Preparing, just approved, or
 * changing status), and rarely while a long job is only making progress, from an estimate of the time it has left
 * (tasks done per second of ElapsedTimeInActiveSeconds). An interval is never shorter than the floor nor longer
 * than the cap; the workflow polls at once, without waiting, after an approval and on a cancel.
 */

/** Bounds of the automatic interval, in milliseconds (README: "Polling"). */
export const AUTO_POLL = {
  /**
   * The shortest wait: S3 moves a job from one status to the next in seconds at best, and 1,000 campaigns polling
   * every 5 s are 200 DescribeJob calls per second, which the worker's limiter then paces.
   */
  floorMs: 5_000,
  /** The longest wait while a job is about to change (New, Preparing, just started, Cancelling …). */
  eventfulCapMs: 60_000,
  /** The longest wait of all: a job that will run for hours is seen to end at most this late. */
  capMs: 10 * 60_000,
  /**
   * Poll again after a third of a job's estimated time left: the end is seen within seconds of it (the waits shrink
   * toward the floor as it nears), and an estimate up to 3x too long still polls before the end. A tenth cost up to
   * twice the calls of short jobs (bench/poll-schedule.ts) and saw the end no sooner.
   */
  pollsPerRemaining: 3,
  /** A young state is polled at half its age: waits grow by half each poll, 5 s → 60 s in about 2 min. */
  ageDivisor: 2,
} as const;

/** What the interval depends on: one job as the workflow knows it. */
export interface PollJobView {
  status?: string;
  totalTasks?: number;
  succeededTasks?: number;
  failedTasks?: number;
  /** ElapsedTimeInActiveSeconds from the last DescribeJob. */
  elapsedActiveSeconds?: number;
  /** When the job was created (ISO 8601). */
  createdAt?: string;
  /** The decision that started it; its `at` is when the job was approved (ISO 8601). */
  approval?: { at: string };
}

const TERMINAL = new Set(['Complete', 'Failed', 'Cancelled']);
/** Statuses S3 leaves on its own within seconds to minutes: watched closely. */
const TRANSITIONAL = new Set(['New', 'Preparing', 'Ready', 'Pausing', 'Cancelling', 'Completing', 'Failing']);

const clamp = (ms: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, ms));

/** Milliseconds since an ISO time, 0 when unknown or in the future. */
function ageMs(iso: string | undefined, nowMs: number): number {
  const t = iso === undefined ? NaN : Date.parse(iso);
  return Number.isFinite(t) ? Math.max(0, nowMs - t) : 0;
}

/** The interval one job asks for; Infinity for a job that needs no poll (ended, or Suspended awaiting approval). */
export function jobPollMs(job: PollJobView, nowMs: number): number {
  const status = job.status ?? 'New';
  if (TERMINAL.has(status) || status === 'Suspended') return Infinity;
  const since = ageMs(job.approval?.at ?? job.createdAt, nowMs);
  const young = clamp(since / AUTO_POLL.ageDivisor, AUTO_POLL.floorMs, AUTO_POLL.eventfulCapMs);
  if (status === 'Paused') return AUTO_POLL.eventfulCapMs;
  if (TRANSITIONAL.has(status) || status !== 'Active') return young;
  const total = job.totalTasks ?? 0;
  const done = (job.succeededTasks ?? 0) + (job.failedTasks ?? 0);
  const elapsed = job.elapsedActiveSeconds ?? 0;
  if (total <= 0 || done <= 0 || elapsed <= 0) return young;
  if (done >= total) return AUTO_POLL.floorMs;
  const remainingMs = ((total - done) / (done / elapsed)) * 1000;
  // An estimate from a minute of progress is trusted for a minute, not for an hour: the wait grows no longer than
  // the time the job has been observed running (and never below what a young job gets).
  const trusted = Math.max(young, elapsed * 1000);
  return clamp(Math.min(remainingMs / AUTO_POLL.pollsPerRemaining, trusted), AUTO_POLL.floorMs, AUTO_POLL.capMs);
}

/** The wait before the next poll of these jobs (one DescribeJob each): the shortest any live job asks for. */
export function nextPollMs(jobs: readonly PollJobView[], nowMs: number): number {
  const ms = Math.min(...jobs.map((j) => jobPollMs(j, nowMs)));
  return Number.isFinite(ms) ? Math.round(clamp(ms, AUTO_POLL.floorMs, AUTO_POLL.capMs)) : AUTO_POLL.floorMs;
}

/**
 * The wait before poll `i` (0-based) for cancelled jobs to end: 5 s, 10 s, 20 s, 40 s, then every minute, so a
 * cancel that S3 applies in seconds is seen in seconds and a slow one is waited for about as long as before.
 */
export function cancelWaitMs(i: number): number {
  return Math.min(AUTO_POLL.eventfulCapMs, AUTO_POLL.floorMs * 2 ** Math.min(i, 10));
}
