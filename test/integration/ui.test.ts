/**
 * The Temporal Web UI as the campaign console, checked in a real browser (Debian's Chromium, 1400×900): `dev` leaves
 * only campaigns in the workflow list; the ready-made "awaiting approval" view lists the demo campaign with its
 * `Campaign*` columns; the User Metadata tab shows its summary, its spec and current details with the approval and
 * the cost, nothing clipped; the event history says what each activity and timer is for; and approving from
 * More Actions → Send a Signal ends the campaign with its report named in the current details.
 *
 * With S3C_UI_SCREENSHOTS set (`npm run ui:screenshots`), the same steps also write the README's screenshots.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import type { Browser, Page } from 'puppeteer-core';

import { CAMPAIGN_LIST_VIEWS, savedViewLink } from '../../src/campaign/ui-views';
import { startDemoCampaign } from '../../src/demo';
import { demoObjects } from '../../src/demo/data';
import { statusQuery, type CampaignResult } from '../../src/shared/campaign';
import { DEFAULT_TASK_QUEUE } from '../../src/shared/task-queue';
import { CONNECTIVITY_CHECK_WORKFLOW_TYPE } from '../../src/stack/connectivity-check';
import { LOCAL_CREDENTIALS } from '../../src/aws/local-credentials';
import { waitFor } from '../helpers';
import {
  chooseSignal,
  clickVisible,
  clippedElements,
  configureListColumns,
  launchBrowser,
  newPage,
  listRows,
  metadataFrame,
  openAndWaitForText,
  savedViews,
  scrollToText,
  shoot,
  startDev,
  textOf,
  typeInto,
  UI_TIMEOUT_MS,
  waitForText,
  workflowTabUrl,
  type DevProcess,
} from '../support/ui';

/** The objects the restore demo selects (its filter: GLACIER and DEEP_ARCHIVE). */
const ARCHIVED = demoObjects().filter((o) => o.storageClass === 'GLACIER' || o.storageClass === 'DEEP_ARCHIVE').length;

jest.setTimeout(300_000);

let dev: DevProcess;
let connection: Connection;
let client: Client;
let s3: S3Client;
let browser: Browser;
let page: Page;
let workflowId: string;
let runId: string;

const ns = () => dev.endpoints.temporalNamespace;
const ui = () => dev.endpoints.temporalUiUrl;
const tab = (name: string) => workflowTabUrl(ui(), ns(), workflowId, runId, name);

beforeAll(async () => {
  dev = await startDev();
  connection = await Connection.connect({ address: dev.endpoints.temporalAddress });
  client = new Client({ connection, namespace: ns() });
  // This test's own stack, not the test run's: it also runs alone, for `npm run ui:screenshots`.
  s3 = new S3Client({
    endpoint: dev.endpoints.s3Endpoint,
    region: dev.endpoints.region,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
  });
  // The restore demo: one job awaiting approval, the shape the screenshots and assertions below describe.
  workflowId = await startDemoCampaign({
    client,
    s3,
    endpoints: dev.endpoints,
    taskQueue: DEFAULT_TASK_QUEUE,
    kind: 'restore',
  });
  const handle = client.workflow.getHandle(workflowId);
  await waitFor(
    'the demo campaign to await approval',
    () => handle.query(statusQuery),
    (s) => s.phase === 'AwaitingApproval',
    120_000,
  );
  runId = (await handle.describe()).runId;
  browser = await launchBrowser();
  page = await newPage(browser);
});

afterAll(async () => {
  await browser?.close();
  s3?.destroy();
  await connection?.close();
  await dev?.stop();
});

test('the workflow list shows campaigns only; the "awaiting approval" view lists the demo with Campaign columns', async () => {
  // dev deletes its connectivity check once it passed; the server drops it from the list soon after.
  await waitFor(
    'the connectivity check to leave the workflow list',
    async () => (await client.workflow.count(`WorkflowType = "${CONNECTIVITY_CHECK_WORKFLOW_TYPE}"`)).count,
    (n) => n === 0,
  );
  await openAndWaitForText(page, `${ui()}/namespaces/${ns()}/workflows`, workflowId);
  const rows = await listRows(page);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toContain('campaignWorkflow');

  // The demo has not failed: the "failed" view is valid and leaves it out.
  await openAndWaitForText(page, savedViewLink(ui(), ns(), CAMPAIGN_LIST_VIEWS.failed), 'No Workflows Found');
  await openAndWaitForText(page, savedViewLink(ui(), ns(), CAMPAIGN_LIST_VIEWS.campaigns), workflowId);
  await openAndWaitForText(page, savedViewLink(ui(), ns(), CAMPAIGN_LIST_VIEWS.awaitingApproval), workflowId);
  // Each link saved its view in this browser.
  const saved = (await savedViews(page))[ns()] ?? [];
  expect(saved.map((v) => ({ name: v.name, query: v.query })).sort((a, b) => a.name.localeCompare(b.name))).toEqual(
    Object.values(CAMPAIGN_LIST_VIEWS).sort((a, b) => a.name.localeCompare(b.name)),
  );
  await configureListColumns(
    page,
    {
      add: ['CampaignName', 'CampaignPhase', 'CampaignOperation', 'CampaignObjects'],
      remove: ['Run ID', 'Type', 'End'],
    },
    (p) => shoot(p, 'configure-columns'),
  );
  await waitForText(page, 'AwaitingApproval');
  const [row] = await listRows(page);
  expect(row).toContain('demo: restore archived logs');
  expect(row).toContain('AwaitingApproval');
  expect(row).toMatch(new RegExp(`restore\\s+${ARCHIVED}\\b`));
  await shoot(page, 'list-awaiting-approval', { width: 1920 });
  await clickVisible(page, '[data-testid=saved-views-button]');
  await shoot(page, 'saved-views');
  await page.keyboard.press('Escape');
});

test('User Metadata: the summary, the spec, and current details with the approval and its cost, none clipped', async () => {
  await openAndWaitForText(page, tab('user-metadata'), 'Current Details');
  const summary = await metadataFrame(
    page,
    'summary',
    'restore · demo: restore archived logs · newest inventory under s3://demo-reports/',
  );
  const details = await metadataFrame(page, 'details', 'operation: restore (tier BULK, expirationDays 7)');
  expect(await textOf(details)).toContain('filter: storageClasses ["GLACIER", "DEEP_ARCHIVE"]');
  const current = await metadataFrame(page, 'current-details', 'Awaiting approval');
  for (const frame of [summary, details, current]) expect(await clippedElements(frame)).toEqual([]);
  const text = await textOf(current);
  expect(text).toContain('More Actions → Send a Signal');
  expect(text).toMatch(new RegExp(`Estimated cost: \\$\\d+\\.\\d\\d for restore: ${ARCHIVED} objects`));
  expect(text).toContain('Batch Operations jobs: 1 job × $0.25 / job = $0.25');
  await shoot(page, 'user-metadata-awaiting-approval', { tall: true });
});

test('the event history says what each activity and timer is for', async () => {
  await openAndWaitForText(page, tab('history'), 'wait for approval until');
  const text = await textOf(page);
  expect(text).toContain('build manifests from newest inventory under s3://demo-reports/inventory/demo-archive/daily/');
  expect(text).toContain(`create job round 0 shard 0 (${ARCHIVED} objects)`);
  expect(text).toMatch(/poll job [0-9a-f]{8}… \(/);
  if (process.env.S3C_UI_SCREENSHOTS) {
    await clickVisible(page, '::-p-text(Compact)');
    await waitForText(page, 'wait for approval until');
    await scrollToText(page, 'Event History');
    await shoot(page, 'event-history', { tall: true });
  }
});

test(
  'approved from More Actions → Send a Signal, the campaign ends and its current details name the report',
  async () => {
    await openAndWaitForText(page, tab('user-metadata'), 'Current Details');
    await clickVisible(page, 'button[aria-controls=workflow-actions]');
    await shoot(page, 'more-actions');
    await clickVisible(page, '[data-testid=signal-button]');
    await chooseSignal(page, 'approve');
    await typeInto(
      page,
      '#signal-confirmation-modal [contenteditable=true][aria-label=Data]',
      '{"by": "ui-test", "note": "looks right"}',
    );
    await page.keyboard.press('Tab');
    await shoot(page, 'send-a-signal');
    await clickVisible(page, '#signal-confirmation-modal [data-testid=confirm-modal-button]', 'dom');
    await waitFor(
      'the campaign to end after its approval',
      () => client.workflow.getHandle(workflowId).query(statusQuery),
      (s) => s.phase === 'Done',
      120_000,
    );

    const result = (await client.workflow.getHandle(workflowId).result()) as CampaignResult;
    expect(result.outcome).toBe('Succeeded');
    const status = await client.workflow.getHandle(workflowId).query(statusQuery);
    expect(status.jobs[0]?.approval).toMatchObject({ decision: 'approved', by: 'ui-test', via: 'signal' });

    await openAndWaitForText(page, tab('user-metadata'), 'Current Details');
    const current = await metadataFrame(page, 'current-details', 'Report:');
    const text = await textOf(current);
    expect(text).toContain(`Report: s3://demo-reports/campaigns/${workflowId}/campaign.json`);
    expect(text).not.toContain('Failed objects:');
    expect(await clippedElements(current)).toEqual([]);
    await shoot(page, 'user-metadata-done', { tall: true });
  },
  UI_TIMEOUT_MS * 4,
);
