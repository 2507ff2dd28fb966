/** The CLI's views, from the status query's answers and campaign.json: the text of `status` and `report`. */
import { formatStatus } from '../../src/cli/campaign';
import { formatReport } from '../../src/cli/campaign-views';
import { campaignTotals, type CampaignState, type CampaignStatus } from '../../src/shared/campaign';

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
