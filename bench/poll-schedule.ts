/**
 * DescribeJob calls per job and per job-hour under `pollInterval: "auto"` against a fixed interval, for jobs from a
 * minute to a day long — jobs too long to run on the local stack. A simulation of the workflow's poll loop with the
 * workflow's own interval function (src/campaign/poll-interval.ts): a job is created, Preparing for `prepare`, then
 * Suspended until approved (at once here), then Active with steady progress for `run`, then Complete.
 *
 *   node dist/bench/poll-schedule.js [--fixed 60s]
 *
 * Prints, for each shape: the polls of each policy, calls per job-hour, how late the end was seen (worst case), and
 * the ratio of calls fixed : auto.
 */
import { nextPollMs, type PollJobView } from '../src/campaign/poll-interval';
import { durationMs } from '../src/shared/campaign-spec';

interface Shape {
  name: string;
  prepareS: number;
  runS: number;
  tasks: number;
}

const SHAPES: Shape[] = [
  // Durations off the minute, so that a fixed interval's polls do not land on the end by luck.
  { name: '1 min job (10k tasks)', prepareS: 23, runS: 67, tasks: 10_000 },
  { name: '10 min job (100k tasks)', prepareS: 71, runS: 613, tasks: 100_000 },
  { name: '1 h job (1M tasks)', prepareS: 307, runS: 3631, tasks: 1_000_000 },
  { name: '6 h job (10M tasks)', prepareS: 913, runS: 6 * 3600 + 37, tasks: 10_000_000 },
  { name: '24 h job (10M tasks)', prepareS: 1811, runS: 24 * 3600 + 41, tasks: 10_000_000 },
];

/** The job as DescribeJob shows it `t` ms after its creation. */
function jobAt(shape: Shape, t: number, approvedAt: number | undefined): PollJobView {
  const created = new Date(0).toISOString();
  const prepareMs = shape.prepareS * 1000;
  if (t < prepareMs) return { status: 'Preparing', createdAt: created };
  if (approvedAt === undefined) return { status: 'Suspended', createdAt: created };
  const active = (t - approvedAt) / 1000;
  const approval = { at: new Date(approvedAt).toISOString() };
  if (active >= shape.runS) {
    return { status: 'Complete', createdAt: created, approval, totalTasks: shape.tasks, succeededTasks: shape.tasks };
  }
  return {
    status: 'Active',
    createdAt: created,
    approval,
    totalTasks: shape.tasks,
    succeededTasks: Math.floor((shape.tasks * active) / shape.runS),
    failedTasks: 0,
    elapsedActiveSeconds: Math.floor(active),
  };
}

/** Polls until the job is seen Suspended, approval at that poll, polls again at once, then until seen Complete. */
function simulate(shape: Shape, interval: (job: PollJobView, t: number) => number) {
  let t = 0;
  let polls = 0;
  let approvedAt: number | undefined;
  for (;;) {
    const job = jobAt(shape, t, approvedAt);
    polls++;
    if (job.status === 'Suspended') {
      approvedAt = t; // the workflow applies the approval and describes the job right away
      continue;
    }
    if (job.status === 'Complete') {
      const endedAt = approvedAt! + shape.runS * 1000;
      return { polls, hours: endedAt / 3_600_000, seenLateMs: t - endedAt };
    }
    t += interval(job, t);
  }
}

function main() {
  const i = process.argv.indexOf('--fixed');
  const fixed = i >= 0 ? process.argv[i + 1]! : '60s';
  const fixedMs = durationMs(fixed);
  const rows = SHAPES.map((s) => {
    const a = simulate(s, (job, t) => nextPollMs([job], t));
    const f = simulate(s, () => fixedMs);
    return [
      s.name.padEnd(24),
      `fixed ${fixed}: ${String(f.polls).padStart(5)} calls (${(f.polls / f.hours).toFixed(0).padStart(4)}/job-hour, end seen ${(f.seenLateMs / 1000).toFixed(0)} s late)`,
      `auto: ${String(a.polls).padStart(4)} calls (${(a.polls / a.hours).toFixed(0).padStart(4)}/job-hour, end seen ${(a.seenLateMs / 1000).toFixed(0)} s late)`,
      `fixed/auto ${(f.polls / a.polls).toFixed(2)}x`,
    ].join('  ');
  });
  console.log(`bench:poll-schedule — DescribeJob calls of one job, pollInterval auto vs ${fixed} (simulated)`);
  console.log(rows.join('\n'));
}

main();
