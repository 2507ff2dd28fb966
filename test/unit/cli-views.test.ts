/**
 * The CLI's views, from the status query's answers and campaign.json: the watch line over a retry, the task rate of
 * successive polls, and the text of `status` and `report`.
 */
import { formatStatus } from '../../src/cli/campaign';
import { formatReport } from '../../src/cli/campaign-views';
import { progressLine, TaskRate } from '../../src/cli/progress';
import {
  campaignTotals,
  restoreAndCopyProgress,
  type CampaignResult,
  type CampaignState,
  type CampaignStatus,
  type RestoreAndCopyState,
  type RoundAnalysis,
} from '../../src/shared/campaign';

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

describe('a restore-and-copy campaign: requested / restored / copied out of N, the wave, the next sweep, expiring soon', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');
  const ended = (succeeded: number, failed = 0): CampaignResult => ({
    campaignId: 'child',
    outcome: failed ? 'CompletedWithFailures' : 'Succeeded',
    objects: succeeded + failed,
    succeeded,
    failed,
    jobs: 1,
  });
  /** 10 objects: 6 archived (restores asked for in one child), 4 readable; wave 1 copied 3, wave 2 copies 4. */
  function racStatus(phase: CampaignState['phase'], over: Partial<RestoreAndCopyState> = {}): CampaignStatus {
    const counts = { requested: 2, restored: 1, queued: 7, expired: 0, failed: 0, 'skipped-restored': 0 };
    const rac: RestoreAndCopyState = {
      sourceManifests: [manifest(10)],
      sorted: {
        objects: 10,
        counts: { ...counts, requested: 6, restored: 0, queued: 0, 'skipped-restored': 4 },
        restoreManifests: [manifest(6)],
        headRequests: 10,
      },
      restores: [{ workflowId: 'c1--restore-1', manifest: manifest(6), startedAt: 's', result: ended(6) }],
      waves: [
        { workflowId: 'c1--wave-1', manifest: manifest(3), startedAt: 's', waveId: 1, result: ended(3) },
        { workflowId: 'c1--wave-2', manifest: manifest(4), startedAt: 's', waveId: 2 },
      ],
      large: { batches: 0, objects: 0, copied: 0, failed: 0, bytes: 0, failureKeys: [] },
      steps: 4,
      consumers: 0,
      counts,
      nextSweepAt: '2026-11-25T12:00:45.000Z',
      nextEarliestExpiry: '2026-11-27T00:00:00.000Z',
      expiringSoon: 2,
      largeWaiting: 0,
      extensions: 1,
      headRequests: 20,
      eventsApplied: 0,
      ...over,
    };
    const st = status({ phase, restoreAndCopy: rac, stats: { ...status({}).stats!, rowsSelected: 10 } });
    return { ...st, operation: 'restore-and-copy', restoreAndCopyProgress: restoreAndCopyProgress(st) };
  }

  test('the watch line counts copies and shows each stage', () => {
    expect(progressLine(racStatus('Tracking'), undefined, now)).toBe(
      'Tracking         [#######-----------------]  30% 3/10 3 ok 0 failed · restored 8/10 · wave 2 copying 4 · next sweep in 45s · 2 expiring soon',
    );
    // Restore requests not all in yet: how many S3 accepted, out of those that need one.
    const restoring = racStatus('Tracking', {
      restores: [{ workflowId: 'c1--restore-1', manifest: manifest(6), startedAt: 's' }],
      waves: [],
      counts: undefined,
      expiringSoon: undefined,
    });
    expect(progressLine(restoring, undefined, now)).toBe(
      'Tracking         [------------------------]   0% 0/10 0 ok 0 failed · requested 0/6 · restored 4/10 · next sweep in 45s · 0 expiring soon',
    );
  });

  test('status shows the stages, the current wave, the next sweep and the copies expiring soon', () => {
    const text = formatStatus(racStatus('Tracking'));
    expect(text).toContain(
      '  restore    requested 6/6   restored 8/10   waiting 1   copying 4   copied 3/10 (verified)   failed 0\n' +
        '  waves      2   current wave 2 (4 objects, c1--wave-2)\n' +
        '  tracking   next sweep 2026-11-25T12:00:45.000Z   expiring soon 2   earliest expiry of a waiting copy 2026-11-27T00:00:00.000Z   extensions 1',
    );
  });

  test('status --json carries the same progress', () => {
    expect(racStatus('Tracking').restoreAndCopyProgress).toEqual({
      objects: 10,
      needRestore: 6,
      requested: 6,
      restored: 8,
      waiting: 1,
      copying: 4,
      copied: 3,
      failed: 0,
      waves: 2,
      currentWave: { waveId: 2, objects: 4, workflowId: 'c1--wave-2' },
      nextSweepAt: '2026-11-25T12:00:45.000Z',
      expiringSoon: 2,
      nextEarliestExpiry: '2026-11-27T00:00:00.000Z',
    });
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
