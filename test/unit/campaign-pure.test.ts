import { readFileSync } from 'node:fs';
import path from 'node:path';

import { classifyFailure } from '../../src/activities/rounds';
import {
  campaignDetails,
  campaignProgressDetails,
  campaignStartMetadata,
  campaignSummary,
  pollSummary,
} from '../../src/campaign/summary';
import { CAMPAIGN_LIST_VIEWS, savedViewLink } from '../../src/campaign/ui-views';
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
    expect(lines[lines.length - 1]).toBe('**Outcome:** rejected by bob');
  });

  test.each([
    ['Succeeded', undefined, undefined],
    [
      'Failed',
      'activity createBatchJob failed: AccessDenied: no',
      '**Why it failed:** activity createBatchJob failed: AccessDenied: no',
    ],
    ['CompletedWithFailures', '1 object(s) failed', '**Outcome:** 1 object(s) failed'],
  ] as const)('a campaign done with outcome %s names its report with the bucket, and why', (outcome, reason, line) => {
    const st: CampaignState = {
      ...done,
      outcome,
      outcomeReason: reason,
      reportKey: 'campaigns/c1/campaign.json',
      // Written for every campaign; named only when some object did not make it.
      failedObjectsKey: 'campaigns/c1/failed.csv',
      ...(outcome === 'Succeeded'
        ? {
            jobs: [{ ...done.jobs[0]!, status: 'Complete', succeededTasks: 3 }],
            rounds: [{ ...done.rounds[0]!, succeeded: 3, neverRan: 0 }],
          }
        : {}),
    };
    const lines = campaignProgressDetails(spec, st).split('\n');
    expect(lines).toContain('**Report:** `s3://reports-bucket/campaigns/c1/campaign.json`');
    if (line) expect(lines).toContain(line);
    else expect(lines.some((l) => l.startsWith('**Why') || l.startsWith('**Outcome'))).toBe(false);
    expect(lines.includes('**Failed objects:** `s3://reports-bucket/campaigns/c1/failed.csv`')).toBe(
      outcome !== 'Succeeded',
    );
  });

  test('a failed job shows its failure reasons on its line', () => {
    const st: CampaignState = {
      ...done,
      outcome: 'Failed',
      jobs: [
        {
          ...done.jobs[0]!,
          status: 'Failed',
          failureReasons: [{ code: 'ManifestNotFound', reason: 'the manifest is gone' }],
        },
      ],
    };
    expect(campaignProgressDetails(spec, st)).toContain(
      '- job j1 round 0 shard 0: Failed 0/3 ok, 0 failed (ManifestNotFound: the manifest is gone)',
    );
  });

  test('awaiting approval: the deadline, where to send the signal, and the cost as a list (never a wide block)', () => {
    const st: CampaignState = {
      ...done,
      phase: 'AwaitingApproval',
      outcome: undefined,
      outcomeReason: undefined,
      approvalDeadline: '2026-12-02T00:00:00Z',
      jobs: [{ ...done.jobs[0]!, status: 'Suspended' }],
      estimate: {
        operation: 'put-tags',
        objects: 3,
        jobs: 1,
        bytes: null,
        items: [
          { what: 'Batch Operations jobs', quantity: 1, unit: 'job', per: 1, unitPriceUsd: 0.25, amountUsd: 0.25 },
        ],
        totalUsd: 0.25,
        complete: true,
        notes: [],
        prices: { region: 'us-east-1', takenOn: '2026-11-25', currency: 'USD', usesUnconfirmed: false },
      },
    };
    const md = campaignProgressDetails(spec, st);
    expect(md).toContain('**Awaiting approval** until 2026-12-02T00:00:00Z: 1 job(s), 3 objects.');
    expect(md).toContain('*More Actions* → *Send a Signal*');
    expect(md).toContain('- Batch Operations jobs: 1 job × \\$0.25 / job = **\\$0.25**');
    expect(md).not.toContain('```');
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
    expect(campaignSummary(spec)).toBe('restore · restore logs · newest inventory under s3://inv/x/');
    const details = campaignDetails(spec).split('\n');
    expect(details).toEqual(
      expect.arrayContaining([
        '- operation: `restore` (tier `BULK`, expirationDays `7`)',
        '- source: newest inventory report under s3://inv/x/',
        '- filter: storageClasses `["GLACIER"]`',
        '- approval: required (timeout 72h); retry jobs run without approval',
        '- jobs: priority 10, at most 10,000,000 objects each, polled adaptively (every 5s to 10m)',
        '- reports: s3://reports/s3-campaigns/',
      ]),
    );
    expect(details.find((l) => l.startsWith('- retries:'))).toMatch(
      /^- retries: up to 3 retry job\(s\), 1m apart, for `SlowDown`/,
    );
    expect(campaignStartMetadata(spec)).toEqual({
      staticSummary: campaignSummary(spec),
      staticDetails: campaignDetails(spec),
    });
  });

  test.each([
    [{ type: 'keys', bucket: 'logs', keys: ['a', 'b'] }, 'put-tags · tag · 2 objects in s3://logs'],
    [{ type: 'keys', bucket: 'logs', keys: ['a'] }, 'put-tags · tag · 1 object in s3://logs'],
    [{ type: 'csv', manifest: 's3://manifests/x.csv' }, 'put-tags · tag · CSV manifest s3://manifests/x.csv'],
    [
      { type: 'inventory', manifest: 's3://inventory/a/manifest.json' },
      'put-tags · tag · inventory s3://inventory/a/manifest.json',
    ],
  ])('the summary of a campaign over %o is one line with the count when known', (source, summary) => {
    const spec = parseCampaignSpec({
      name: 'tag',
      accountId: '123456789012',
      region: 'us-east-1',
      roleArn: 'arn:aws:iam::123456789012:role/R',
      source,
      operation: { type: 'put-tags', tags: { a: 'b' } },
      report: { bucket: 'reports' },
    });
    expect(campaignSummary(spec)).toBe(summary);
    const long = campaignSummary({ ...spec, name: 'x\n'.repeat(100) });
    expect(long).toHaveLength(200);
    expect(long).not.toContain('\n');
    expect(long.endsWith('…')).toBe(true);
  });

  test('dollars in text are escaped for the Web UI, which renders $…$ as math; code spans keep them', () => {
    const spec = parseCampaignSpec({
      name: 'tag $5 and $6 files',
      accountId: '123456789012',
      region: 'us-east-1',
      roleArn: 'arn:aws:iam::123456789012:role/R',
      source: { type: 'keys', bucket: 'logs', keys: ['a$b'] },
      operation: { type: 'put-tags', tags: { a: 'b' } },
      report: { bucket: 'reports' },
    });
    const details = campaignDetails(spec).split('\n');
    expect(details[0]).toBe('**tag \\$5 and \\$6 files**');
    expect(details).toContain('- source: 1 key(s) in s3://logs: `a$b`');
  });

  test('poll summaries say what the last poll saw', () => {
    const m = { bucket: 'b', key: 'k', etag: 'e', rows: 100 };
    const job = { ordinal: 0, round: 0, shard: 0, manifest: m };
    expect(
      pollSummary([
        { ...job, jobId: '3a4e5f6a-1111-2222', status: 'Active', totalTasks: 100, succeededTasks: 50, failedTasks: 2 },
      ]),
    ).toBe('poll job 3a4e5f6a… (Active, 52%)');
    expect(pollSummary([{ ...job, jobId: 'j1' }])).toBe('poll job j1 (New)');
    expect(
      pollSummary([
        { ...job, jobId: 'a', status: 'Active', totalTasks: 100, succeededTasks: 100 },
        { ...job, jobId: 'b', status: 'Active', totalTasks: 100 },
        { ...job, jobId: 'c', status: 'Complete', totalTasks: 100, succeededTasks: 100 },
      ]),
    ).toBe('poll 3 jobs (Active 2, Complete 1; 66%)');
  });

  test('the ready-made list views query the campaign search attributes; their links save them in the Web UI', () => {
    expect(CAMPAIGN_LIST_VIEWS.awaitingApproval.query).toBe(
      'WorkflowType = "campaignWorkflow" AND CampaignPhase = "AwaitingApproval"',
    );
    expect(CAMPAIGN_LIST_VIEWS.failed.query).toBe(
      'WorkflowType = "campaignWorkflow" AND (CampaignPhase = "Failed" OR ExecutionStatus IN ("Failed", "Terminated", "TimedOut"))',
    );
    const link = new URL(savedViewLink('http://127.0.0.1:8233/', 'default', CAMPAIGN_LIST_VIEWS.failed));
    expect(link.pathname).toBe('/namespaces/default/workflows');
    expect(link.searchParams.get('query')).toBe(CAMPAIGN_LIST_VIEWS.failed.query);
    expect(link.searchParams.get('savedQuery')).toBe('Failed campaigns');
    // The README's links and queries are these, for the local stack.
    const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    for (const view of Object.values(CAMPAIGN_LIST_VIEWS)) {
      expect(readme).toContain(`(${savedViewLink('http://127.0.0.1:8233', 'default', view)})`);
      expect(readme).toContain(`| \`${view.query}\` |`);
    }
  });
});
