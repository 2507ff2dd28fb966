import { classifyFailure } from '../../src/activities/rounds';
import { campaignDetails, campaignSummary } from '../../src/campaign/summary';
import { listQuery, progressLine } from '../../src/cli/campaign-views';
import { formatMs, overlapPolicy } from '../../src/schedules';
import type { CampaignStatus } from '../../src/shared/campaign';
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

describe('operator views', () => {
  test('list query filters by the search attributes and quotes values', () => {
    expect(listQuery({})).toBe("WorkflowType = 'campaignWorkflow'");
    expect(listQuery({ phase: 'AwaitingApproval', operation: 'restore', name: "bob's" })).toBe(
      "WorkflowType = 'campaignWorkflow' AND CampaignPhase = 'AwaitingApproval' AND CampaignOperation = 'restore' AND CampaignName = 'bob\\'s'",
    );
  });

  test('progress line: share done, counts, rate and ETA of the current round', () => {
    const s = {
      phase: 'Running',
      round: 1,
      jobs: [
        { round: 0, totalTasks: 1000, succeededTasks: 990, failedTasks: 10, manifest: { rows: 1000 } },
        { round: 1, totalTasks: 10, succeededTasks: 4, failedTasks: 1, manifest: { rows: 10 } },
      ],
    } as unknown as CampaignStatus;
    expect(progressLine(s, 2.5)).toBe(
      'Running          [############------------]  50% 5/10 4 ok 1 failed 2.5/s ETA 2s',
    );
    expect(progressLine(s, undefined)).toBe('Running          [############------------]  50% 5/10 4 ok 1 failed');
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
