/**
 * The demo campaigns `s3-campaigns dev --demo` runs on the embedded stack, on the data `seedDemo` wrote.
 *
 * - `restore-and-copy` (the default, the flagship): every object of the demo bucket into `demo-restored`: sort,
 *   one approval, restore jobs, restores that take `--restore-latency` to complete, HEAD sweeps, copy waves as
 *   objects become readable, two 6 MiB objects copied by the worker, and the report.
 * - `restore`: the archived objects restored (one Batch Operations restore job), the original demo.
 *
 * Each waits for a person to approve it (from the Web UI or the CLI), or, when nobody is at the terminal, approves
 * it itself with a visible note; then it follows the campaign to the end and shows the report.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';

import { campaignDetails, campaignSummary } from '../campaign/summary';
import {
  approveUpdate,
  CAMPAIGN_WORKFLOW_TYPE,
  statusQuery,
  type CampaignResult,
  type CampaignStatus,
} from '../shared/campaign';
import { compactTimestamp, parseCampaignSpec, parseS3Uri, type CampaignSpecInput } from '../shared/campaign-spec';
import type { StackEndpoints } from '../stack';
import { DEMO_DATA_BUCKET, DEMO_REPORT_BUCKET, DEMO_TARGET_BUCKET } from './data';
import { narrate } from './narrate';

export { DEMO_DATA_BUCKET, DEMO_INVENTORY_DESTINATION, DEMO_REPORT_BUCKET, DEMO_TARGET_BUCKET, seedDemo } from './data';

/** The demos `dev --demo <kind>` runs. */
export const DEMO_KINDS = ['restore-and-copy', 'restore'] as const;
export type DemoKind = (typeof DEMO_KINDS)[number];

/** How long the engine takes to complete a restore in the flagship demo when `--restore-latency` is not given. */
export const DEMO_RESTORE_LATENCY_MS = 20_000;
/** Where the flagship demo's copies go in DEMO_TARGET_BUCKET. */
export const DEMO_TARGET_PREFIX = 'from-archive/';
/** Status polls while the demo follows a campaign: often enough that a wave's start and end read as they happen. */
const POLL_MS = 500;

function base(endpoints: StackEndpoints, inventoryDestination: string) {
  return {
    accountId: endpoints.accountId,
    region: endpoints.region,
    roleArn: `arn:aws:iam::${endpoints.accountId}:role/S3BatchOperationsRole`,
    source: { type: 'inventory-latest' as const, destination: inventoryDestination },
    approval: { required: true, timeout: '24h' },
    report: { bucket: DEMO_REPORT_BUCKET, prefix: 'campaigns' },
    pollInterval: '2s',
    retry: { delay: '5s' },
  };
}

/**
 * The flagship's spec. Its pacing suits restores that take `restoreLatencyMs` (seconds here, hours on AWS): the
 * first HEAD sweep when the first restores can be done, then one every 5 s; a wave as soon as objects wait 3 s; a
 * 5 MiB large-object threshold (the lowest allowed) so that the two 6 MiB objects go through the worker's
 * multipart copy.
 */
export function demoSpec(
  endpoints: StackEndpoints,
  inventoryDestination: string,
  kind: DemoKind = 'restore-and-copy',
  restoreLatencyMs = DEMO_RESTORE_LATENCY_MS,
): CampaignSpecInput {
  if (kind === 'restore') {
    return {
      name: 'demo: restore archived logs',
      ...base(endpoints, inventoryDestination),
      filter: { storageClasses: ['GLACIER', 'DEEP_ARCHIVE'] },
      operation: { type: 'restore', tier: 'BULK', expirationDays: 7 },
    };
  }
  return {
    name: 'demo: bring the archived logs back into demo-restored',
    ...base(endpoints, inventoryDestination),
    filter: { keyPrefixes: ['logs/'] },
    operation: {
      type: 'restore-and-copy',
      tier: 'BULK',
      expirationDays: 1,
      targetBucket: DEMO_TARGET_BUCKET,
      targetKeyPrefix: DEMO_TARGET_PREFIX,
      storageClass: 'STANDARD_IA',
      largeObjectThreshold: '5MiB',
      waves: { minObjects: 1000, maxWait: '3s' },
      tracking: { sweepInterval: '5s', firstSweepAfter: `${Math.round(restoreLatencyMs / 1000)}s` },
    },
  };
}

export interface DemoOptions {
  client: Client;
  s3: S3Client;
  endpoints: StackEndpoints;
  taskQueue: string;
  /** The inventory destination `seedDemo` returned. */
  inventoryDestination: string;
  /** @default 'restore-and-copy' */
  kind?: DemoKind;
  /** The engine's `--restore-latency`, which paces the flagship's sweeps. @default DEMO_RESTORE_LATENCY_MS */
  restoreLatencyMs?: number;
  /** Someone is at the terminal: wait for their approval instead of approving. */
  interactive: boolean;
  print: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the demo shows a person deciding on the approval. */
function approvalLines(s: CampaignStatus, kind: DemoKind): string[] {
  const lines: string[] = [];
  const a = s.awaitingApproval!;
  const usd = s.estimate ? ` Estimated cost on AWS: $${s.estimate.totalUsd.toFixed(2)}.` : '';
  if (kind === 'restore-and-copy') {
    const sorted = s.restoreAndCopy?.sorted;
    const c = sorted?.counts;
    lines.push(
      `The campaign awaits approval: ${sorted?.objects ?? a.objects} objects to copy into s3://${DEMO_TARGET_BUCKET}/${DEMO_TARGET_PREFIX}` +
        (c ? `, ${c.requested} of them to restore first (BULK, 1 day)` : '') +
        `; one approval covers the whole campaign.${usd}`,
    );
  } else {
    lines.push(
      `The campaign awaits approval: ${a.objects} archived objects to restore (BULK, 7 days), job ` +
        `${a.jobIds.join(', ')}.${usd}`,
    );
  }
  lines.push(`  bytes by storage class: ${JSON.stringify(s.stats?.bytesByStorageClass ?? {})}`);
  lines.push(`  sample keys: ${(s.stats?.sampleKeys ?? []).slice(0, 3).join(' | ')}`);
  return lines;
}

async function readJson(s3: S3Client, uri: string): Promise<unknown> {
  const { bucket, key } = parseS3Uri(uri);
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await res.Body!.transformToString()) as unknown;
}

async function countObjects(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  let n = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    n += page.KeyCount ?? 0;
    token = page.NextContinuationToken;
  } while (token);
  return n;
}

/** What campaign.json says about a restore-and-copy campaign (the fields the demo prints). */
interface RestoreAndCopyReport {
  totals: { objects: number; succeeded: number; failed: number };
  restoreAndCopy: {
    waves: Array<{ waveId?: number; objects: number; succeeded?: number; failed?: number }>;
    largeObjects: { objects: number; copied: number; failed: number; bytes: number };
    restoreDurations: Array<{ group: string; count: number; p50Ms: number; p95Ms: number; maxMs: number }>;
    headRequests: number;
  };
  failedObjects: { bucket: string; key: string; count: number };
}

async function reportLines(s3: S3Client, result: CampaignResult, kind: DemoKind): Promise<string[]> {
  const lines: string[] = [];
  if (result.report) lines.push(`  report:         ${result.report}`);
  if (result.failedObjects) lines.push(`  failed objects: ${result.failedObjects}`);
  if (kind === 'restore') {
    if (result.outcome === 'Succeeded') {
      const head = await s3.send(new HeadObjectCommand({ Bucket: DEMO_DATA_BUCKET, Key: 'logs/2019/app-0.log' }));
      lines.push(`  s3://${DEMO_DATA_BUCKET}/logs/2019/app-0.log  x-amz-restore: ${head.Restore ?? '(none)'}`);
    }
    return lines;
  }
  if (!result.report) return lines;
  const r = (await readJson(s3, result.report)) as RestoreAndCopyReport;
  const rac = r.restoreAndCopy;
  const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  lines.push(`  failed.csv:     ${r.failedObjects.count} rows`);
  lines.push(
    `  copy waves:     ${rac.waves.length} (${rac.waves
      .map((w) => `wave ${w.waveId ?? '?'}: ${w.succeeded ?? 0}/${w.objects} copied`)
      .join(', ')})`,
  );
  lines.push(
    `  large objects:  ${rac.largeObjects.copied}/${rac.largeObjects.objects} copied by the worker ` +
      `(${(rac.largeObjects.bytes / 2 ** 20).toFixed(0)} MiB)`,
  );
  for (const d of rac.restoreDurations) {
    lines.push(
      `  restore time:   ${d.group}: ${d.count} objects, p50 ≤ ${sec(d.p50Ms)}, p95 ≤ ${sec(d.p95Ms)}, max ${sec(d.maxMs)}`,
    );
  }
  lines.push(`  HEAD requests:  ${rac.headRequests} (sort and sweeps)`);
  const copies = await countObjects(s3, DEMO_TARGET_BUCKET, DEMO_TARGET_PREFIX);
  lines.push(`  s3://${DEMO_TARGET_BUCKET}/${DEMO_TARGET_PREFIX} now holds ${copies} objects`);
  return lines;
}

/** Runs a demo campaign to its end; returns its result. */
export async function runDemo(o: DemoOptions): Promise<CampaignResult> {
  const { print } = o;
  const kind = o.kind ?? 'restore-and-copy';
  const spec = parseCampaignSpec(demoSpec(o.endpoints, o.inventoryDestination, kind, o.restoreLatencyMs));
  const workflowId = `demo-${kind}-${compactTimestamp(new Date())}`;
  await o.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
    taskQueue: o.taskQueue,
    workflowId,
    args: [spec],
    staticSummary: campaignSummary(spec),
    staticDetails: campaignDetails(spec),
  });
  print(`Started ${kind} campaign ${workflowId} (workflow type ${CAMPAIGN_WORKFLOW_TYPE}, task queue ${o.taskQueue}).`);
  const handle = o.client.workflow.getHandle(workflowId);
  let last: CampaignStatus | undefined;
  let t0 = Date.now();
  const stamp = () => `[${String(Math.round((Date.now() - t0) / 1000)).padStart(3)}s]`;
  const follow = async (until: (s: CampaignStatus) => boolean): Promise<CampaignStatus> => {
    for (;;) {
      const s = await handle.query(statusQuery);
      for (const line of narrate(last, s)) print(`${stamp()} ${line}`);
      last = s;
      if (until(s)) return s;
      await sleep(POLL_MS);
    }
  };
  const waiting = await follow((s) => s.phase === 'AwaitingApproval' || s.phase === 'Done');
  if (waiting.phase === 'AwaitingApproval') {
    print('');
    for (const line of approvalLines(waiting, kind)) print(line);
    const ui = o.endpoints.temporalUiUrl;
    if (ui) {
      print(
        `  Web UI: ${ui}/namespaces/${o.endpoints.temporalNamespace}/workflows/${workflowId} → ` +
          'More Actions → "Send a Signal" approve {"by": "you"}',
      );
    }
    print(`  CLI:    npx s3-campaigns approve ${workflowId} --note "looks right"`);
    if (o.interactive) {
      print('Waiting for your decision …');
    } else {
      print(
        'Nobody is at this terminal (not a TTY): approving it myself as "demo" — in real use a person decides here.',
      );
      await handle.executeUpdate(approveUpdate, {
        args: [{ by: 'demo', note: 'approved automatically by the non-interactive demo' }],
      });
    }
    // Quietly: the lines of what follows the approval come after the line that says it came.
    while ((await handle.query(statusQuery)).phase === 'AwaitingApproval') await sleep(POLL_MS);
    t0 = Date.now();
    print('');
    print(
      kind === 'restore-and-copy'
        ? `Approved. Restores complete ${Math.round((o.restoreLatencyMs ?? DEMO_RESTORE_LATENCY_MS) / 1000)} s after ` +
            'their task here (dev --restore-latency; hours on AWS); times below count from the approval.'
        : 'Approved.',
    );
  }
  await follow((s) => s.phase === 'Done');
  const result = (await handle.result()) as CampaignResult;
  print('');
  print(
    `Campaign ${result.outcome}: ${result.succeeded}/${result.objects} objects, ${result.failed} failed, ` +
      `${result.jobs} job(s).`,
  );
  for (const line of await reportLines(o.s3, result, kind)) print(line);
  return result;
}
