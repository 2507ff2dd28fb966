/**
 * The demo campaign `s3-campaigns dev --demo` runs on the embedded stack: it seeds a bucket with Standard, Glacier and
 * Deep Archive objects and an S3 Inventory report of them, starts a restore campaign for the archived objects, and
 * waits for a person to approve it (from the Web UI or the CLI) — or, when nobody is at the terminal, approves it
 * itself with a visible note. It then follows the campaign to the end and shows the report.
 */
import {
  CreateBucketCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  type StorageClass,
} from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';

import { campaignStartMetadata } from '../campaign/summary';
import { CAMPAIGN_LIST_VIEWS, savedViewLink } from '../campaign/ui-views';
import {
  approveUpdate,
  CAMPAIGN_WORKFLOW_TYPE,
  statusQuery,
  type CampaignResult,
  type CampaignStatus,
} from '../shared/campaign';
import { compactTimestamp, parseCampaignSpec, type CampaignSpecInput } from '../shared/campaign-spec';
import type { StackEndpoints } from '../stack';
import { writeInventoryReport, type InventoryRow } from './inventory-writer';

export const DEMO_DATA_BUCKET = 'demo-archive';
export const DEMO_REPORT_BUCKET = 'demo-reports';

/** 16 Standard, 24 Glacier and 8 Deep Archive objects; a few keys with characters manifests must encode. */
function demoObjects(): Array<{ key: string; storageClass: StorageClass }> {
  const out: Array<{ key: string; storageClass: StorageClass }> = [];
  for (let i = 0; i < 16; i++) out.push({ key: `logs/2026/app-${i}.log`, storageClass: 'STANDARD' });
  for (let i = 0; i < 24; i++) out.push({ key: `logs/2019/app-${i}.log`, storageClass: 'GLACIER' });
  for (let i = 0; i < 8; i++) out.push({ key: `logs/2015/archive ${i}.tar`, storageClass: 'DEEP_ARCHIVE' });
  out.push({ key: 'logs/2019/q&a, notes+draft (1).txt', storageClass: 'GLACIER' });
  out.push({ key: 'logs/2019/übersicht 100%.csv', storageClass: 'GLACIER' });
  return out;
}

async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

/** Seeds the demo buckets; returns the inventory destination prefix URI. */
export async function seedDemo(s3: S3Client): Promise<string> {
  await ensureBucket(s3, DEMO_DATA_BUCKET);
  await ensureBucket(s3, DEMO_REPORT_BUCKET);
  const rows: InventoryRow[] = [];
  for (const o of demoObjects()) {
    const body = `demo object ${o.key}\n`.repeat(64);
    await s3.send(
      new PutObjectCommand({ Bucket: DEMO_DATA_BUCKET, Key: o.key, Body: body, StorageClass: o.storageClass }),
    );
    rows.push({ key: o.key, size: Buffer.byteLength(body), lastModified: new Date(), storageClass: o.storageClass });
  }
  await writeInventoryReport({
    s3,
    sourceBucket: DEMO_DATA_BUCKET,
    destinationBucket: DEMO_REPORT_BUCKET,
    prefix: 'inventory',
    rows,
  });
  return `s3://${DEMO_REPORT_BUCKET}/inventory/${DEMO_DATA_BUCKET}/daily/`;
}

export function demoSpec(endpoints: StackEndpoints, inventoryDestination: string): CampaignSpecInput {
  return {
    name: 'demo: restore archived logs',
    accountId: endpoints.accountId,
    region: endpoints.region,
    roleArn: `arn:aws:iam::${endpoints.accountId}:role/S3BatchOperationsRole`,
    source: { type: 'inventory-latest', destination: inventoryDestination },
    filter: { storageClasses: ['GLACIER', 'DEEP_ARCHIVE'] },
    operation: { type: 'restore', tier: 'BULK', expirationDays: 7 },
    approval: { required: true, timeout: '24h' },
    report: { bucket: DEMO_REPORT_BUCKET, prefix: 'campaigns' },
    pollInterval: '2s',
    retry: { delay: '5s' },
  };
}

async function waitFor(client: Client, id: string, pred: (s: CampaignStatus) => boolean): Promise<CampaignStatus> {
  const handle = client.workflow.getHandle(id);
  for (;;) {
    const s = await handle.query(statusQuery);
    if (pred(s)) return s;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface DemoOptions {
  client: Client;
  s3: S3Client;
  endpoints: StackEndpoints;
  taskQueue: string;
  /** Someone is at the terminal: wait for their approval instead of approving. */
  interactive: boolean;
  print: (line: string) => void;
}

/** Seeds the demo data and starts the demo's restore campaign; returns its workflow id. */
export async function startDemoCampaign(o: Pick<DemoOptions, 'client' | 's3' | 'endpoints' | 'taskQueue'>) {
  const destination = await seedDemo(o.s3);
  const spec = parseCampaignSpec(demoSpec(o.endpoints, destination));
  const workflowId = `demo-restore-${compactTimestamp(new Date())}`;
  await o.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
    taskQueue: o.taskQueue,
    workflowId,
    args: [spec],
    ...campaignStartMetadata(spec),
  });
  return workflowId;
}

/** Runs the demo campaign to its end; returns its result. */
export async function runDemo(o: DemoOptions): Promise<CampaignResult> {
  const { print } = o;
  print('Seeding the demo: s3://demo-archive (Standard, Glacier and Deep Archive objects) and an inventory report …');
  const workflowId = await startDemoCampaign(o);
  print(`Started restore campaign ${workflowId} (workflow type ${CAMPAIGN_WORKFLOW_TYPE}, task queue ${o.taskQueue}).`);
  const waiting = await waitFor(o.client, workflowId, (s) => s.phase === 'AwaitingApproval' || s.phase === 'Done');
  if (waiting.phase === 'AwaitingApproval') {
    const a = waiting.awaitingApproval!;
    print('');
    print(
      `The campaign awaits approval: ${a.objects} archived objects to restore (BULK, 7 days), job ${a.jobIds.join(', ')}.`,
    );
    print(`  bytes by storage class: ${JSON.stringify(waiting.stats?.bytesByStorageClass ?? {})}`);
    print(`  sample keys: ${(waiting.stats?.sampleKeys ?? []).slice(0, 3).join(' | ')}`);
    const ui = o.endpoints.temporalUiUrl;
    if (ui) {
      const ns = o.endpoints.temporalNamespace;
      print(
        `  Web UI: ${ui}/namespaces/${ns}/workflows/${workflowId} → More Actions → Send a Signal: approve {"by": "you"}`,
      );
      print(`          campaigns awaiting approval: ${savedViewLink(ui, ns, CAMPAIGN_LIST_VIEWS.awaitingApproval)}`);
    }
    print(`  CLI:    npx s3-campaigns approve ${workflowId} --note "looks right"`);
    if (o.interactive) {
      print('Waiting for your decision …');
    } else {
      print(
        'Nobody is at this terminal (not a TTY): approving it myself as "demo" — in real use a person decides here.',
      );
      await o.client.workflow.getHandle(workflowId).executeUpdate(approveUpdate, {
        args: [{ by: 'demo', note: 'approved automatically by the non-interactive demo' }],
      });
    }
  }
  const result = (await o.client.workflow.getHandle(workflowId).result()) as CampaignResult;
  print('');
  print(
    `Campaign ${result.outcome}: ${result.succeeded}/${result.objects} objects, ${result.failed} failed, ${result.jobs} job(s).`,
  );
  if (result.report) print(`  report:         ${result.report}`);
  if (result.failedObjects) print(`  failed objects: ${result.failedObjects}`);
  if (result.outcome === 'Succeeded') {
    const head = await o.s3.send(new HeadObjectCommand({ Bucket: DEMO_DATA_BUCKET, Key: 'logs/2019/app-0.log' }));
    print(`  s3://${DEMO_DATA_BUCKET}/logs/2019/app-0.log  x-amz-restore: ${head.Restore ?? '(none)'}`);
  }
  return result;
}
