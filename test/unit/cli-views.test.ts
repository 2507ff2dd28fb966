/**
 * The CLI's views, from the status query's answers and campaign.json: the watch line over a retry, the task rate of
 * successive polls, and the text of `status` and `report`.
 */
import { formatStatus } from '../../src/cli/campaign';
import { formatReport } from '../../src/cli/campaign-views';
import { progressLine, TaskRate } from '../../src/cli/progress';
import { campaignTotals, type CampaignState, type CampaignStatus, type RoundAnalysis } from '../../src/shared/campaign';

const manifest = (rows: number) => ({ bucket: 'reports', key: `m${rows}.csv`, etag: 'e', rows });
const round = (r: number, succeeded: number, retryable: number, permanent = 0): RoundAnalysis => ({
  round: r,
  succeeded,
  retryable,
  permanent,
  neverRan: 0,
  errorsByCode: retryable ? { SlowDown: retryable } : {},
  retryManifests: retryable ? [manifest(retryable)] : [],
});

/** A status as the workflow's query builds it: totals from the analyses. */
function status(over: Partial<CampaignState>): CampaignStatus {
  const st: CampaignState = {
    campaignId: 'c1',
    phase: 'Running',
    startedAt: '2026-11-25T12:00:00Z',
    updatedAt: '2026-11-25T12:00:00Z',
    stats: { rowsScanned: 0, rowsSelected: 16, bytesByStorageClass: {}, sampleKeys: [] },
    jobs: [],
    rounds: [],
    round: 0,
    ignoredSignals: [],
    runs: 1,
    ...over,
  };
  return { ...st, name: 'tag logs', operation: 'put-tags', totals: campaignTotals(st) };
}

describe('status --watch: one line per poll, cumulative over the rounds', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');
  // 16 objects: 9 succeed in round 0, 7 fail with SlowDown and succeed in retry round 1.
  const job0 = { ordinal: 0, round: 0, shard: 0, manifest: manifest(16), jobId: 'j0', totalTasks: 16 };
  const job1 = { ordinal: 1, round: 1, shard: 0, manifest: manifest(7) };
  const sequence: Array<[string, CampaignStatus, number | undefined, string]> = [
    [
      'round 0 running',
      status({ jobs: [{ ...job0, status: 'Active', succeededTasks: 5, failedTasks: 3 }] }),
      4,
      'Running          [############------------]  50% 8/16 5 ok 3 failed 4.0/s ETA 2s',
    ],
    [
      'waiting for the retry round: the 9 that succeeded stay counted, and the retry time is shown',
      status({
        phase: 'WaitingToRetry',
        round: 1,
        retryAt: '2026-11-25T12:00:45.123Z',
        jobs: [{ ...job0, status: 'Complete', succeededTasks: 9, failedTasks: 7 }, job1],
        rounds: [round(0, 9, 7)],
      }),
      undefined,
      'WaitingToRetry   [#############-----------]  56% 9/16 9 ok 0 failed · 7 to retry in round 1 at 2026-11-25T12:00:45Z (in 45s)',
    ],
    [
      'the retry round running: cumulative counts, the rate, and the round on its own',
      status({
        round: 1,
        jobs: [
          { ...job0, status: 'Complete', succeededTasks: 9, failedTasks: 7 },
          { ...job1, jobId: 'j1', status: 'Active', totalTasks: 7, succeededTasks: 4, failedTasks: 0 },
        ],
        rounds: [round(0, 9, 7)],
      }),
      1.5,
      'Running          [###################-----]  81% 13/16 13 ok 0 failed 1.5/s ETA 2s · retry round 1: 4/7',
    ],
    [
      'done',
      status({
        phase: 'Done',
        outcome: 'Succeeded',
        round: 1,
        jobs: [
          { ...job0, status: 'Complete', succeededTasks: 9, failedTasks: 7 },
          { ...job1, jobId: 'j1', status: 'Complete', totalTasks: 7, succeededTasks: 7, failedTasks: 0 },
        ],
        rounds: [round(0, 9, 7), round(1, 7, 0)],
      }),
      undefined,
      'Done             [########################] 100% 16/16 16 ok 0 failed',
    ],
  ];
  test.each(sequence)('%s', (_what, s, rate, line) => {
    expect(progressLine(s, rate, now)).toBe(line);
  });

  test('a rate is shown only while tasks run', () => {
    expect(progressLine(sequence[1]![1], 3, now)).not.toMatch(/\/s/);
    expect(progressLine(sequence[0]![1], undefined, now)).not.toMatch(/\/s/);
  });

  test('a campaign that ends with objects never run says how many', () => {
    const s = status({
      phase: 'Done',
      outcome: 'Cancelled',
      jobs: [{ ...job0, status: 'Cancelled', succeededTasks: 4, failedTasks: 0 }],
      rounds: [{ ...round(0, 4, 0), neverRan: 12 }],
    });
    expect(progressLine(s, undefined, now)).toBe(
      'Done             [######------------------]  25% 4/16 4 ok 0 failed 12 not run',
    );
  });
});

describe('the task rate of successive polls', () => {
  test('counts that move in steps (the workflow polls its jobs every pollInterval) give their true rate', () => {
    const rate = new TaskRate();
    const seen = [
      [0, 0],
      [2000, 0],
      [4000, 10], // first change: the reference
      [6000, 10],
      [8000, 30], // 20 tasks in 4 s
      [10_000, 30], // within the longest gap between changes: still 5/s
      [14_000, 30], // 6 s without a change, longer than any gap so far: a stall, the rate falls
    ].map(([at, done]) => rate.observe('round 0', done!, at!));
    expect(seen).toEqual([undefined, undefined, undefined, undefined, 5, 5, 20 / 6]);
  });

  test('counts that move on every poll give tasks per second of wall time', () => {
    const rate = new TaskRate();
    rate.observe('round 0', 0, 0);
    rate.observe('round 0', 100, 1000);
    expect(rate.observe('round 0', 400, 3000)).toBe(150);
  });

  test('another round (or phase) starts the measurement over', () => {
    const rate = new TaskRate();
    for (const [at, done] of [
      [0, 0],
      [1000, 10],
      [2000, 20],
    ]) {
      rate.observe('round 0', done!, at!);
    }
    expect(rate.observe('round 1', 0, 3000)).toBeUndefined();
    expect(rate.observe('round 1', 5, 4000)).toBeUndefined();
    expect(rate.observe('round 1', 7, 5000)).toBe(2);
  });
});

describe('status text', () => {
  test('a failed campaign says why, and where its report is, bucket included', () => {
    const text = formatStatus({
      ...status({
        phase: 'Done',
        outcome: 'Failed',
        outcomeReason: '2 object(s) failed',
        reportKey: 'campaigns/c1/campaign.json',
      }),
      reportUri: 's3://reports/campaigns/c1/campaign.json',
    });
    expect(text).toContain('  phase      Done → Failed\n  reason     2 object(s) failed\n');
    expect(text).toMatch(/ {2}report {5}s3:\/\/reports\/campaigns\/c1\/campaign\.json$/);
  });

  test('a campaign waiting for a retry round says when it starts', () => {
    const text = formatStatus(status({ phase: 'WaitingToRetry', round: 2, retryAt: '2026-11-25T12:05:00.000Z' }));
    expect(text).toContain('  retry      round 2 starts at 2026-11-25T12:05:00.000Z');
  });
});

describe('report text', () => {
  const report = {
    name: 'tag logs',
    outcome: 'Succeeded',
    startedAt: 's',
    endedAt: 'e',
    totals: { objects: 3, succeeded: 3, failed: 0, jobs: 3 },
    errorsByCode: {},
    failedObjects: { bucket: 'b', key: 'failed.csv', count: 0 },
  };
  const carol = { decision: 'approved', by: 'carol smith', at: '2026-11-25T12:00:00Z', note: 'cost "checked"' };

  test('each decision once, with its jobs and its note', () => {
    const text = formatReport(
      {
        ...report,
        jobs: [
          { ordinal: 0, round: 0, approval: carol },
          { ordinal: 1, round: 0, approval: carol },
          { ordinal: 2, round: 1, approval: { decision: 'auto-approved', by: 'policy' } },
        ],
      },
      's3://b/campaign.json',
    );
    expect(text).toContain(
      'approval: approved by carol smith at 2026-11-25T12:00:00Z (jobs #0, #1): "cost \\"checked\\""\n' +
        'approval: auto-approved by policy (job #2), no note\n',
    );
  });

  test('a report without decisions has no approval lines', () => {
    expect(formatReport({ ...report, jobs: [{ ordinal: 0, round: 0 }] }, 'x')).not.toContain('approval:');
  });
});
