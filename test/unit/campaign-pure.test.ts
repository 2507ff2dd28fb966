import { classifyFailure } from '../../src/activities/rounds';
import { campaignDetails, campaignProgressDetails, campaignSummary } from '../../src/campaign/summary';
import { formatStatus } from '../../src/cli/campaign';
import { formatReport, listQuery } from '../../src/cli/campaign-views';
import { formatMs, overlapPolicy } from '../../src/schedules';
import type { CampaignState } from '../../src/shared/campaign';
import { DEFAULT_RETRYABLE_ERROR_CODES, parseCampaignSpec } from '../../src/shared/campaign-spec';

const retryable = new Set(DEFAULT_RETRYABLE_ERROR_CODES);

describe('failure classification', () => {
  test.each([
    [{ errorCode: 'SlowDown', httpStatusCode: 503 }, 'copy', 'retryable'],
    [{ errorCode: 'TemporaryFailure', httpStatusCode: 200 }, 'lambda', 'retryable'],
    [{ errorCode: 'PermanentFailure', httpStatusCode: 200 }, 'lambda', 'permanent'],
    [{ errorCode: 'NoSuchKey', httpStatusCode: 404 }, 'put-tags', 'permanent'],
    [{ errorCode: 'AccessDenied', httpStatusCode: 403 }, 'copy', 'permanent'],
    [{ errorCode: 'SomethingNew', httpStatusCode: 502 }, 'copy', 'retryable'],
    [{ errorCode: 'RestoreAlreadyInProgress', httpStatusCode: 409 }, 'restore', 'succeeded'],
    [{ errorCode: 'RestoreAlreadyInProgress', httpStatusCode: 409 }, 'copy', 'permanent'],
    [{ errorCode: undefined, httpStatusCode: undefined }, 'acl', 'permanent'],
  ] as const)('%o during %s → %s', (row, op, verdict) => {
    expect(classifyFailure(row, op, retryable)).toBe(verdict);
  });
});

describe('the Web UI current details', () => {
  const spec = parseCampaignSpec({
    name: 'tag logs',
    accountId: '123456789012',
    region: 'us-east-1',
    roleArn: 'arn:aws:iam::123456789012:role/BatchOps',
    source: { type: 'keys', bucket: 'my-bucket', keys: ['a', 'b', 'c'] },
    operation: { type: 'put-tags', tags: { a: 'b' } },
    report: { bucket: 'reports-bucket' },
  });
  const manifest = { bucket: 'reports-bucket', key: 'm.csv', etag: 'e', rows: 3 };
  const done: CampaignState = {
    campaignId: 'c1',
    phase: 'Done',
    outcome: 'Rejected',
    outcomeReason: 'rejected by bob',
    startedAt: '2026-12-01T00:00:00Z',
    updatedAt: '2026-12-01T00:00:00Z',
    stats: { rowsScanned: 0, rowsSelected: 3, bytesByStorageClass: {}, sampleKeys: [] },
    jobs: [{ ordinal: 0, round: 0, shard: 0, manifest, jobId: 'j1', status: 'Cancelled', totalTasks: 3 }],
    rounds: [{ round: 0, succeeded: 0, retryable: 0, permanent: 0, neverRan: 3, errorsByCode: {}, retryManifests: [] }],
    round: 0,
    ignoredSignals: [],
    runs: 1,
  };

  test('a done campaign lists its jobs as a markdown list, after a blank line, and counts never-run objects apart', () => {
    const lines = campaignProgressDetails(spec, done).split('\n');
    const first = lines.findIndex((l) => l.startsWith('- job j1'));
    expect(first).toBeGreaterThan(0);
    expect(lines[first - 1]).toBe('');
    expect(lines).toContain('Objects: 3 · succeeded 0 · failed 0 · not run 3 · jobs 1 · round 0');
    expect(lines[lines.length - 1]).toBe('rejected by bob');
  });

  test('ignored signals are shown, in the Web UI details and in `status`, with their reason', () => {
    const st: CampaignState = {
      ...done,
      phase: 'AwaitingApproval',
      outcome: undefined,
      outcomeReason: undefined,
      ignoredSignals: [{ name: 'approve', at: '2026-12-01T00:00:01Z', reason: 'the payload needs "by"' }],
    };
    expect(campaignProgressDetails(spec, st)).toContain(
      '**Ignored signals** (newest last):\n\n- 2026-12-01T00:00:01Z `approve`: the payload needs "by"',
    );
    const status = formatStatus({
      ...st,
      name: spec.name,
      operation: 'put-tags',
      totals: { objects: 3, succeeded: 0, failed: 0, unknown: 0, notRun: 0, jobs: 1 },
    });
    expect(status).toContain(
      '  ignored signals (newest last):\n    2026-12-01T00:00:01Z  approve: the payload needs "by"',
    );
  });
});

describe('operator views', () => {
  test('report prints failed, unknown and not-run objects apart; reports from before them print as they did', () => {
    const report = {
      name: 'tag logs',
      outcome: 'Rejected',
      startedAt: 's',
      endedAt: 'e',
      totals: { objects: 5, succeeded: 0, failed: 2, unknown: 1, notRun: 3, jobs: 1 },
      errorsByCode: {},
      jobs: [],
      failedObjects: { bucket: 'b', key: 'failed.csv', count: 5 },
    };
    const text = formatReport(report, 's3://b/campaign.json');
    expect(text).toContain('objects 5, succeeded 0, failed 2 (1 with an unknown outcome), not run 3, jobs 1');
    const old = formatReport({ ...report, totals: { objects: 5, succeeded: 5, failed: 0, jobs: 1 } }, 'x');
    expect(old).toContain('objects 5, succeeded 5, failed 0, jobs 1');
  });

  test('list query filters by the search attributes and quotes values', () => {
    expect(listQuery({})).toBe("WorkflowType = 'campaignWorkflow'");
    expect(listQuery({ phase: 'AwaitingApproval', operation: 'restore', name: "bob's" })).toBe(
      "WorkflowType = 'campaignWorkflow' AND CampaignPhase = 'AwaitingApproval' AND CampaignOperation = 'restore' AND CampaignName = 'bob\\'s'",
    );
  });

  test('schedule helpers', () => {
    expect(formatMs(86_400_000)).toBe('1d');
    expect(formatMs(5_400_000)).toBe('90m');
    expect(formatMs(1500)).toBe('1500ms');
    expect(overlapPolicy('buffer-one')).toBe('BUFFER_ONE');
  });

  test('static summary and details say what the campaign does', () => {
    const spec = parseCampaignSpec({
      name: 'restore logs',
      accountId: '123456789012',
      region: 'us-east-1',
      roleArn: 'arn:aws:iam::123456789012:role/R',
      source: { type: 'inventory-latest', destination: 's3://inv/x/' },
      filter: { storageClasses: ['GLACIER'] },
      operation: { type: 'restore' },
      report: { bucket: 'reports' },
    });
    expect(campaignSummary(spec)).toBe('restore · restore logs');
    const details = campaignDetails(spec);
    expect(details).toContain('- operation: `restore` `{"tier":"BULK","expirationDays":7}`');
    expect(details).toContain('- source: newest inventory report under s3://inv/x/');
    expect(details).toContain('- filter: `{"storageClasses":["GLACIER"]}`');
    expect(details).toContain('- approval: required (timeout 72h); retries: up to 3 job(s)');
  });
});
