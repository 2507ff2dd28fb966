import { AUTO_POLL, cancelWaitMs, jobPollMs, nextPollMs, type PollJobView } from '../../src/campaign/poll-interval';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();
const MIN = 60_000;
const HOUR = 60 * MIN;

/** An Active job approved `activeSeconds` ago, with `done` of `total` tasks run in that time. */
const active = (total: number, done: number, activeSeconds: number): PollJobView => ({
  status: 'Active',
  totalTasks: total,
  succeededTasks: done,
  failedTasks: 0,
  elapsedActiveSeconds: activeSeconds,
  createdAt: ago(activeSeconds * 1000 + 10 * MIN),
  approval: { at: ago(activeSeconds * 1000) },
});

describe('automatic poll interval', () => {
  test.each<[string, PollJobView, number]>([
    ['a job just created polls at the floor', { status: 'New', createdAt: ago(1000) }, AUTO_POLL.floorMs],
    ['Preparing for 1 min: half its age', { status: 'Preparing', createdAt: ago(MIN) }, 30_000],
    ['Preparing for an hour: at most a minute', { status: 'Preparing', createdAt: ago(HOUR) }, MIN],
    [
      'just approved, no progress yet: the floor',
      { status: 'Ready', createdAt: ago(HOUR), approval: { at: ago(2000) } },
      AUTO_POLL.floorMs,
    ],
    ['Active with no tasks done yet: by its age since approval', active(1000, 0, 40), 20_000],
    [
      'Cancelling: watched closely',
      { status: 'Cancelling', createdAt: ago(10 * MIN), approval: { at: ago(MIN) } },
      30_000,
    ],
    // 10M tasks at 1,000/s: 1.8 h left, observed for 1 h → the cap.
    ['hours left, long observed: the cap', active(10_000_000, 3_600_000, 3600), AUTO_POLL.capMs],
    // 1,000 of 100,000 in 10 s: 990 s left → 330 s, but only 10 s observed: trusted for 10 s.
    ['minutes left, barely observed: no jump to them', active(100_000, 1000, 10), 10_000],
    // 60,000 of 100,000 in 600 s: 400 s left → a third is 133 s.
    ['minutes left: a third of the time left', active(100_000, 60_000, 600), 133_333],
    ['about to end: the floor', active(100_000, 99_990, 600), AUTO_POLL.floorMs],
    ['Paused: a minute', { status: 'Paused', createdAt: ago(HOUR) }, MIN],
  ])('%s', (_, job, expected) => {
    expect(nextPollMs([job], NOW)).toBe(expected);
  });

  test('jobs that need no poll (ended, awaiting approval) do not set the pace', () => {
    expect(jobPollMs({ status: 'Complete' }, NOW)).toBe(Infinity);
    expect(jobPollMs({ status: 'Suspended' }, NOW)).toBe(Infinity);
    expect(nextPollMs([{ status: 'Suspended' }, { status: 'Preparing', createdAt: ago(MIN) }], NOW)).toBe(30_000);
  });

  test('the job that needs it soonest sets the pace of the whole poll', () => {
    const long = active(10_000_000, 3_600_000, 3600);
    const ending = active(100_000, 60_000, 600);
    expect(nextPollMs([long], NOW)).toBe(AUTO_POLL.capMs);
    expect(nextPollMs([long, ending], NOW)).toBe(133_333);
  });

  test('waits grow as a job ages and shrink as its end nears, within floor and cap', () => {
    const prep = [0, 10, 30, 60, 120, 240, 600, 3600].map((s) =>
      nextPollMs([{ status: 'Preparing', createdAt: ago(s * 1000) }], NOW),
    );
    expect(prep).toEqual([...prep].sort((a, b) => a - b));
    const nearing = [0.1, 0.5, 0.9, 0.99].map((f) => nextPollMs([active(1_000_000, 1_000_000 * f, 3600)], NOW));
    expect(nearing).toEqual([...nearing].sort((a, b) => b - a));
    for (const ms of [...prep, ...nearing]) {
      expect(ms).toBeGreaterThanOrEqual(AUTO_POLL.floorMs);
      expect(ms).toBeLessThanOrEqual(AUTO_POLL.capMs);
    }
  });

  test('waiting for cancelled jobs: 5 s, doubling to a minute', () => {
    expect([0, 1, 2, 3, 4, 5, 29].map(cancelWaitMs)).toEqual([5000, 10_000, 20_000, 40_000, MIN, MIN, MIN]);
  });
});
