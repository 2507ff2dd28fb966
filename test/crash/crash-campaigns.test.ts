/**
 * The crash suite: ten campaigns on a local stack of their own, with engine faults (permanent AccessDenied, transient
 * SlowDown and InternalError, latency), while the worker is killed with SIGKILL in every phase, the engine is killed
 * and restarted from its state dir while a job runs, and the Temporal dev server is killed and restarted on its
 * database file. Then every campaign must have created each job once, accounted every object once against the real
 * object state in S3, failed exactly the objects that were made to fail for good, and ended; its status, search
 * attributes and report must agree with the engine's jobs.
 *
 * Each campaign is stopped at its own point before the first kill, so that one kill hits every phase at once
 * (a killed activity waits out its timeout, up to 2 minutes: paying that once keeps the suite short). The worker's
 * S3 and S3 Control traffic goes through hold proxies: a held request reached the server, but its answer never
 * reaches the worker, which is the crash window that idempotency has to cover.
 *
 * A second test, on a stack of its own, kills the worker while it builds one campaign's manifests from an inventory
 * (held at its last data file): the replacement must resume the build from the heartbeat the server kept, and the
 * campaign must end with every object once and one set of jobs.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import {
  CreateBucketCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  DescribeJobCommand,
  GetJobTaggingCommand,
  ListJobsCommand,
  type JobListDescriptor,
} from '@aws-sdk/client-s3-control';
import {
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  type WorkflowHandle,
} from '@temporalio/client';

import { CsvParser } from '../../src/csv';
import type { ManifestProgress } from '../../src/inventory';
import { readCompletionReport } from '../../src/reports/completion-report';
import type { FaultRule } from '../../src/local-batch/faults';
import {
  approveSignal,
  approveUpdate,
  CAMPAIGN_WORKFLOW_TYPE,
  statusQuery,
  type CampaignPhase,
  type CampaignResult,
  type CampaignStatus,
  type DecisionResult,
} from '../../src/shared/campaign';
import type { CampaignSpecInput } from '../../src/shared/campaign-spec';
import { CAMPAIGN_SEARCH_ATTRIBUTES } from '../../src/shared/search-attributes';
import { LOCAL_ACCOUNT_ID } from '../../src/stack';
import { waitFor } from '../helpers';
import { uploadInventory, type InventoryRow } from '../inventory-fixtures';
import { pendingActivity } from '../support/activity-history';
import { startCrashStack, type CrashStack, type WorkerProcess } from '../support/crash-stack';
import type { ProxiedRequest } from '../support/hold-proxy';

/** Hard cap for the whole run, above the two deadlines below; a green run takes 2½–3½ minutes on 2 cores. */
const SUITE_TIMEOUT_MS = 540_000;
/**
 * How long the campaigns get to reach their crash points. They normally need ten seconds; past a minute the
 * PreparingJobs and WaitingToRetry campaigns have left those phases for good.
 */
const SETUP_DEADLINE_MS = 90_000;
/**
 * How long the campaigns get to end after the last restart. They normally need two minutes: activities killed
 * mid-call wait out their heartbeat timeout (2 minutes) before they run again.
 */
const END_DEADLINE_MS = 270_000;
/**
 * Cap for the test that kills the worker while it builds the manifests: its own stack, then the build's heartbeat
 * timeout (2 minutes) before a replacement resumes it; a green run takes about three minutes.
 */
const BUILD_KILL_TIMEOUT_MS = 420_000;
/** Tasks of `linger-` keys take this long: the engine is restarted while they run. */
const LINGER_MS = 80_000;
/** Jobs of the PreparingJobs campaign stay in Preparing this long. */
const PREPARING_MS = 60_000;

const TAG = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const ACCOUNT = LOCAL_ACCOUNT_ID;

/** Key families; the fault rules below act on them by name, in every campaign's bucket. */
const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

const FAULTS = (preparingName: string): FaultRule[] => [
  {
    id: 'deny',
    match: { keyRegex: '^deny-' },
    errorCode: 'AccessDenied',
    httpStatus: 403,
    message: 'Injected: access denied',
  },
  { id: 'slowdown', match: { keyRegex: '^slow-' }, errorCode: 'SlowDown', httpStatus: 503, times: 1 },
  { id: 'flaky', match: { keyRegex: '^flaky-' }, errorCode: 'InternalError', httpStatus: 500, times: 2 },
  { id: 'latency', latencyMs: 20 },
  { id: 'linger', match: { keyRegex: '^linger-' }, latencyMs: LINGER_MS },
  { id: 'preparing', match: { description: preparingName }, preparingDelayMs: PREPARING_MS },
];

interface Plan {
  label: string;
  /** Where the campaign must be when the worker is first killed. */
  phase: CampaignPhase;
  /** What is in flight then, for the log. */
  inFlight: string;
  keys: string[];
  spec?: Partial<CampaignSpecInput>;
  /**
   * The source is an S3 Inventory report of the keys (in three data files, with rows the filter leaves out) instead
   * of the list of keys: the inventory build is the path that checkpoints and resumes.
   */
  inventory?: boolean;
  /** A request whose answer is held: the worker is killed while it waits for it. */
  hold?: { proxy: 's3' | 'engine'; match: (req: ProxiedRequest, campaignId: string) => boolean };
}

const mixed = (n: number) => [...range('ok', n), ...range('deny', 3), ...range('slow', 3), ...range('flaky', 2)];

const PLANS: Plan[] = [
  {
    label: 'a',
    phase: 'BuildingManifest',
    inFlight: 'the first-round manifest written, its answer held',
    keys: mixed(24),
    hold: { proxy: 's3', match: (r, id) => r.url.includes(id) && r.url.includes('manifests/round-0') },
  },
  {
    label: 'j',
    phase: 'BuildingManifest',
    inFlight: 'an inventory build, the GET of its last data file held',
    keys: mixed(24),
    inventory: true,
    hold: { proxy: 's3', match: (r) => r.method === 'GET' && r.url.includes('/data/0002-file') },
  },
  {
    label: 'b',
    phase: 'CreatingJobs',
    inFlight: 'the second CreateJob accepted by the engine, its answer held',
    keys: mixed(32),
    spec: { maxObjectsPerJob: 20 },
    hold: {
      proxy: 'engine',
      match: (r, id) => r.method === 'POST' && r.body.includes(id) && r.body.includes('round 0 shard 1'),
    },
  },
  {
    label: 'c',
    phase: 'AwaitingApproval',
    inFlight: 'an approve Update: UpdateJobStatus Ready accepted by the engine, its answer held',
    keys: mixed(24),
    spec: { approval: { required: true } },
  },
  {
    label: 'd',
    phase: 'Running',
    inFlight: 'polling a job that is Active in the engine (which is then restarted), continuing as new as it polls',
    keys: [...mixed(24), ...range('linger', 2)],
    // A short history: the campaign continues as new every few polls, across the kills and restarts.
    spec: { historyEventLimit: 100 },
  },
  {
    label: 'e',
    phase: 'AnalyzingResults',
    inFlight: 'round 0 analysed, the permanent-failures file written, its answer held',
    keys: mixed(24),
    hold: { proxy: 's3', match: (r, id) => r.url.includes(id) && r.url.includes('failures/round-0-permanent') },
  },
  {
    label: 'f',
    phase: 'Reporting',
    inFlight: 'failed.csv written, its answer held',
    keys: [...range('ok', 30), ...range('deny', 3)],
    hold: { proxy: 's3', match: (r, id) => r.url.includes(id) && r.url.includes('failed.csv') },
  },
  {
    label: 'g',
    phase: 'AwaitingApproval',
    inFlight: 'nothing: waiting for a person (approved later by a signal sent while no worker runs)',
    keys: mixed(24),
    spec: { approval: { required: true } },
  },
  {
    label: 'h',
    phase: 'PreparingJobs',
    inFlight: 'polling a job the engine holds in Preparing',
    keys: [...range('ok', 24), ...range('deny', 3)],
  },
  {
    label: 'i',
    phase: 'WaitingToRetry',
    inFlight: 'a one-minute timer before the retry round',
    // Only one transient family: every retry round of this campaign waits the whole minute.
    keys: [...range('ok', 24), ...range('deny', 3), ...range('slow', 3)],
    spec: { retry: { delay: '60s', maxRetryJobs: 6 } },
  },
];

const campaignId = (p: Plan) => `crash-${p.label}-${TAG}`;
const campaignName = (p: Plan) => `crash suite ${p.label} ${TAG}`;
const dataBucket = (p: Plan) => `crash-data-${p.label}-${TAG}`;
const REPORT_BUCKET = `crash-reports-${TAG}`;

/** Where `uploadInventory` puts the report's manifest.json for a source bucket. */
const inventoryManifest = (bucket: string) => `inventory/${bucket}/config-1/2024-05-01T00-00Z/manifest.json`;

function specFor(p: Plan): CampaignSpecInput {
  return {
    name: campaignName(p),
    accountId: ACCOUNT,
    region: 'us-east-1',
    roleArn: `arn:aws:iam::${ACCOUNT}:role/BatchOperations`,
    source: p.inventory
      ? { type: 'inventory', manifest: `s3://${dataBucket(p)}/${inventoryManifest(dataBucket(p))}` }
      : { type: 'keys', bucket: dataBucket(p), keys: p.keys },
    ...(p.inventory ? { filter: { storageClasses: ['STANDARD'] } } : {}),
    operation: { type: 'put-tags', tags: { crash: p.label } },
    report: { bucket: REPORT_BUCKET, prefix: 'campaigns' },
    approval: { required: false },
    pollInterval: '1s',
    retry: { delay: '1s', maxRetryJobs: 6 },
    ...p.spec,
  };
}

const started = Date.now();
/** Progress lines on stderr, live: a slow or stuck run shows where it is. */
function note(msg: string): void {
  process.stderr.write(`[crash +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function putAll(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  const queue = [...keys];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let k = queue.shift(); k !== undefined; k = queue.shift()) {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: `body of ${k}` }));
      }
    }),
  );
}

/**
 * An S3 Inventory report of `keys` in `bucket`, in three data files; each file also lists Glacier objects that the
 * campaign's filter (`storageClasses: ['STANDARD']`) leaves out, so the scan reads more rows than it selects.
 */
async function putInventory(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  const rows = (part: string[], file: number): InventoryRow[] => [
    ...part.map((Key) => ({ Bucket: bucket, Key, Size: 12, StorageClass: 'STANDARD' })),
    ...range(`archived-${file}`, 20).map((Key) => ({ Bucket: bucket, Key, Size: 12, StorageClass: 'GLACIER' })),
  ];
  const third = Math.ceil(keys.length / 3);
  const files = [0, 1, 2].map((i) => rows(keys.slice(i * third, (i + 1) * third), i));
  const inv = await uploadInventory(s3, bucket, {
    schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
    files,
    sourceBucket: bucket,
  });
  if (inv.manifestKey !== inventoryManifest(bucket)) throw new Error(`inventory at ${inv.manifestKey}`);
}

async function getText(s3: S3Client, uri: string): Promise<string> {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) throw new Error(`not an s3:// URI: ${uri}`);
  const out = await s3.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
  return await out.Body!.transformToString('utf8');
}

/** failed.csv rows as records keyed by its header. */
function parseFailedCsv(text: string): Array<Record<string, string>> {
  const parser = new CsvParser();
  const records = [...parser.push(text), ...parser.end()].map((r) => r.fields).filter((f) => f.join('') !== '');
  const [header, ...rows] = records;
  if (!header) throw new Error('failed.csv has no header row');
  return rows.map((f) => Object.fromEntries(header.map((h, i) => [h, f[i] ?? ''])));
}

async function phaseAttribute(handle: WorkflowHandle): Promise<string | undefined> {
  const d = await handle.describe();
  return d.typedSearchAttributes.get(CAMPAIGN_SEARCH_ATTRIBUTES.phase);
}

/** Retries a client call that may meet the Temporal server while it restarts. */
async function patiently<T>(what: string, fn: () => Promise<T>, deadlineMs = 60_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      // A workflow or an Update that failed is an answer, not an unreachable server.
      if (err instanceof WorkflowFailedError || err instanceof WorkflowUpdateFailedError) throw err;
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
      await sleep(500);
    }
  }
}

async function jobsByCampaign(stack: CrashStack): Promise<Map<string, JobListDescriptor[]>> {
  const all: JobListDescriptor[] = [];
  let NextToken: string | undefined;
  do {
    const page = await stack.control.send(new ListJobsCommand({ AccountId: ACCOUNT, NextToken, MaxResults: 1000 }));
    all.push(...(page.Jobs ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  const by = new Map<string, JobListDescriptor[]>();
  for (const job of all) {
    const { Tags } = await stack.control.send(new GetJobTaggingCommand({ AccountId: ACCOUNT, JobId: job.JobId }));
    const campaign = Tags?.find((t) => t.Key === 's3-campaigns:campaign')?.Value ?? '(untagged)';
    by.set(campaign, [...(by.get(campaign) ?? []), job]);
  }
  return by;
}

/** The value of the `crash` tag on each key (undefined: no such tag). */
async function tagsOf(s3: S3Client, bucket: string, keys: string[]): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  const queue = [...keys];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let k = queue.shift(); k !== undefined; k = queue.shift()) {
        const { TagSet } = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: k }));
        out.set(k, TagSet?.find((t) => t.Key === 'crash')?.Value);
      }
    }),
  );
  return out;
}

describe('crash suite', () => {
  let stack: CrashStack | undefined;
  let failed = true;

  afterAll(async () => {
    // A failed run keeps its folder (server, engine and worker logs) and says where.
    const keep = failed || !!process.env.S3C_KEEP_TEST_DIR;
    if (stack && keep) note(`logs kept in ${stack.dir}/logs`);
    await stack?.stop(keep);
  });

  test(
    'campaigns survive SIGKILL of the worker in every phase and restarts of the engine and Temporal',
    async () => {
      const preparing = PLANS.find((p) => p.phase === 'PreparingJobs')!;
      stack = await startCrashStack({
        faults: FAULTS(campaignName(preparing)),
        engineArgs: ['--max-active-jobs', '32'],
      });
      const s = stack;
      note(`stack up in ${s.dir} (temporal ${s.temporalAddress}, s3 ${s.s3Endpoint}, engine ${s.engineUrl})`);

      await s.s3.send(new CreateBucketCommand({ Bucket: REPORT_BUCKET }));
      await Promise.all(
        PLANS.map(async (p) => {
          await s.s3.send(new CreateBucketCommand({ Bucket: dataBucket(p) }));
          await putAll(s.s3, dataBucket(p), p.keys);
          if (p.inventory) await putInventory(s.s3, dataBucket(p), p.keys);
        }),
      );
      for (const p of PLANS) {
        if (!p.hold) continue;
        const proxy = p.hold.proxy === 's3' ? s.s3Proxy : s.engineProxy;
        const match = p.hold.match;
        proxy.hold({ name: p.label, match: (r) => match(r, campaignId(p)) });
      }

      const taskQueue = `crash-${TAG}`;
      const workers: WorkerProcess[] = [await s.startWorker(taskQueue)];
      note(`${workers[0]!.name} polling`);

      const handles = new Map<string, WorkflowHandle>();
      for (const p of PLANS) {
        handles.set(
          p.label,
          await s.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
            taskQueue,
            workflowId: campaignId(p),
            args: [specFor(p)],
          }),
        );
      }
      const handle = (label: string) => handles.get(label)!;
      note(`started ${PLANS.length} campaigns`);

      // ---- bring every campaign to its crash point -------------------------------------------------------------
      const approveId = `approve-c-${TAG}`;
      let updateSent = false;
      const statusOf = async (label: string) => await handle(label).query(statusQuery);
      const ready = new Map<string, () => Promise<boolean>>([
        ['a', async () => s.s3Proxy.isHeld('a')],
        ['b', async () => s.engineProxy.isHeld('b')],
        [
          'c',
          async () => {
            if (!updateSent) {
              const st = await statusOf('c');
              if (st.phase !== 'AwaitingApproval') return false;
              const jobId = st.awaitingApproval!.jobIds[0]!;
              s.engineProxy.hold({
                name: 'c',
                match: (r) => r.method === 'POST' && r.url.includes(`/${jobId}/status`) && r.url.includes('Ready'),
              });
              updateSent = true;
              await handle('c').startUpdate(approveUpdate, {
                args: [{ by: 'crash-suite', note: 'approved while the worker dies' }],
                updateId: approveId,
                waitForStage: WorkflowUpdateStage.ACCEPTED,
              });
              note('c: approve Update accepted');
            }
            return s.engineProxy.isHeld('c');
          },
        ],
        [
          'd',
          async () => {
            const st = await statusOf('d');
            const jobId = st.jobs[0]?.jobId;
            if (st.phase !== 'Running' || !jobId) return false;
            const { Job } = await s.control.send(new DescribeJobCommand({ AccountId: ACCOUNT, JobId: jobId }));
            return Job?.Status === 'Active';
          },
        ],
        ['e', async () => s.s3Proxy.isHeld('e')],
        ['f', async () => s.s3Proxy.isHeld('f')],
        ['g', async () => (await statusOf('g')).phase === 'AwaitingApproval'],
        ['h', async () => (await statusOf('h')).phase === 'PreparingJobs'],
        ['i', async () => (await statusOf('i')).phase === 'WaitingToRetry'],
        ['j', async () => s.s3Proxy.isHeld('j')],
      ]);
      const setupDeadline = Date.now() + SETUP_DEADLINE_MS;
      for (;;) {
        const waiting: string[] = [];
        for (const [label, isReady] of ready) if (!(await isReady().catch(() => false))) waiting.push(label);
        if (waiting.length === 0) break;
        if (Date.now() > setupDeadline) {
          const phases = await Promise.all(waiting.map(async (l) => `${l}: ${(await statusOf(l)).phase}`));
          throw new Error(`campaigns that did not reach their crash point: ${phases.join(', ')}`);
        }
        await sleep(250);
      }

      // ---- kill 1: every phase at once -------------------------------------------------------------------------
      const atKill1 = new Map<string, CampaignStatus>();
      for (const p of PLANS) atKill1.set(p.label, await statusOf(p.label));
      for (const p of PLANS) note(`kill 1: ${p.label} in ${atKill1.get(p.label)!.phase} — ${p.inFlight}`);
      note(`held answers: ${JSON.stringify(s.s3Proxy.caught().concat(s.engineProxy.caught()))}`);
      await workers[0]!.proc.kill();
      s.s3Proxy.dropHeld();
      s.engineProxy.dropHeld();
      note(`kill 1: ${workers[0]!.name} killed (SIGKILL)`);
      expect(Object.fromEntries([...atKill1].map(([l, st]) => [l, st.phase]))).toEqual(
        Object.fromEntries(PLANS.map((p) => [p.label, p.phase])),
      );
      // The crash windows are real: each held request reached its server and succeeded there (the manifest and the
      // failure files are written, the engine has b's second job and has approved c's job, j's data file was read).
      const caught = [...s.s3Proxy.caught(), ...s.engineProxy.caught()].map((h) => `${h.name} ${h.status}`).sort();
      expect(caught).toEqual(['a 200', 'b 200', 'c 200', 'e 200', 'f 200', 'j 200']);
      const workerAfterKill1 = s.startWorker(taskQueue);

      // ---- the engine dies while d's job is Active, and restarts from its state dir ----------------------------
      const dJob = atKill1.get('d')!.jobs[0]!.jobId!;
      const before = (await s.control.send(new DescribeJobCommand({ AccountId: ACCOUNT, JobId: dJob }))).Job!;
      expect(before.Status).toBe('Active');
      await s.crashEngine();
      const after = (await s.control.send(new DescribeJobCommand({ AccountId: ACCOUNT, JobId: dJob }))).Job!;
      note(
        `engine killed and restarted: d's job ${dJob} was ${before.Status} ` +
          `(${before.ProgressSummary?.NumberOfTasksSucceeded}/${before.ProgressSummary?.TotalNumberOfTasks} ok), ` +
          `now ${after.Status}`,
      );
      expect(after.Status).not.toMatch(/^(Complete|Failed|Cancelled)$/);

      workers.push(await workerAfterKill1);
      note(`${workers[1]!.name} polling`);

      // ---- kill 2: the Temporal server and the worker die together; g is approved while no worker runs --------
      await s.killTemporal();
      await workers[1]!.proc.kill();
      note(`kill 2: Temporal dev server and ${workers[1]!.name} killed (SIGKILL)`);
      await s.startTemporalAgain();
      note('Temporal dev server restarted on its database file');
      const atKill2 = await patiently('reading the phases', () =>
        Promise.all(PLANS.map(async (p) => `${p.label}: ${await phaseAttribute(handle(p.label))}`)),
      );
      note(`kill 2: phases (search attribute) ${atKill2.join(', ')}`);
      await patiently('signalling g', () =>
        handle('g').signal(approveSignal, { by: 'crash-signal', note: 'sent while no worker runs' }),
      );
      note('g: approve signal sent');
      workers.push(await s.startWorker(taskQueue));
      note(`${workers[2]!.name} polling`);

      // ---- every campaign ends ------------------------------------------------------------------------------------
      const results = new Map<string, CampaignResult>();
      const endDeadline = Date.now() + END_DEADLINE_MS;
      for (;;) {
        for (const p of PLANS) {
          if (results.has(p.label)) continue;
          const d = await patiently(`describing ${p.label}`, () => handle(p.label).describe());
          if (d.status.name === 'RUNNING') continue;
          const r = (await handle(p.label).result()) as CampaignResult;
          results.set(p.label, r);
          note(`${p.label}: ${r.outcome}, ${r.succeeded}/${r.objects} succeeded, ${r.jobs} job(s)`);
        }
        if (results.size === PLANS.length) break;
        if (Date.now() > endDeadline) {
          const open = PLANS.filter((p) => !results.has(p.label));
          const phases = await Promise.all(
            open.map(async (p) => `${p.label}: ${await phaseAttribute(handle(p.label))}`),
          );
          throw new Error(
            `campaigns still open ${END_DEADLINE_MS / 1000}s after the last restart: ${phases.join(', ')}`,
          );
        }
        await sleep(1000);
      }
      const decision = await patiently('c approve Update result', () =>
        handle('c').getUpdateHandle<DecisionResult>(approveId).result(),
      );
      expect(decision.decision).toBe('approved');
      expect(workers[2]!.proc.running).toBe(true);

      // ---- the account --------------------------------------------------------------------------------------------
      const engineJobs = await jobsByCampaign(s);
      const jobRowMismatches: string[] = [];
      expect([...engineJobs.keys()].sort()).toEqual(PLANS.map(campaignId).sort());
      for (const p of PLANS) {
        const id = campaignId(p);
        const result = results.get(p.label)!;
        const deny = p.keys.filter((k) => k.startsWith('deny-'));
        const report = JSON.parse(await getText(s.s3, result.report!)) as {
          outcome: string;
          totals: { objects: number; succeeded: number; failed: number; jobs: number };
          jobs: Array<{
            jobId?: string;
            round: number;
            shard: number;
            manifest: { bucket: string; key: string };
            status?: string;
            totalTasks?: number;
            succeededTasks?: number;
            failedTasks?: number;
          }>;
        };

        // No duplicate job: the engine's jobs tagged with the campaign are exactly the report's, one per shard.
        const reportJobs = report.jobs.map((j) => j.jobId);
        const tagged = engineJobs.get(id) ?? [];
        expect({ id, jobs: tagged.map((j) => j.JobId).sort() }).toEqual({ id, jobs: [...reportJobs].sort() });
        expect(new Set(reportJobs).size).toBe(reportJobs.length);
        expect(new Set(report.jobs.map((j) => `${j.round}/${j.shard}`)).size).toBe(report.jobs.length);
        // The first round's manifests list every object of the source once, whatever the crashes rewrote.
        const firstRound = report.jobs.filter((j) => j.round === 0);
        const manifestKeys = (
          await Promise.all(firstRound.map((j) => getText(s.s3, `s3://${j.manifest.bucket}/${j.manifest.key}`)))
        )
          .join('')
          .split('\n')
          .filter(Boolean)
          .map((line) => decodeURIComponent(line.split(',')[1]!.replace(/\+/g, ' ')));
        expect({ id, manifestKeys: [...manifestKeys].sort() }).toEqual({ id, manifestKeys: [...p.keys].sort() });
        // No orphan: every job of the campaign has ended.
        expect({ id, statuses: tagged.map((j) => j.Status) }).toEqual({ id, statuses: tagged.map(() => 'Complete') });

        // Every object exactly once: tagged in S3 (succeeded) or listed in failed.csv, never both, never neither.
        const rows = parseFailedCsv(await getText(s.s3, result.failedObjects!));
        const listed = rows.map((r) => decodeURIComponent(r.key!.replace(/\+/g, ' ')));
        expect(new Set(listed).size).toBe(listed.length);
        const tags = await tagsOf(s.s3, dataBucket(p), p.keys);
        const accounted = p.keys.map((k) => ({
          key: k,
          tagged: tags.get(k) === p.label,
          listed: listed.includes(k),
        }));
        expect(accounted.filter((a) => a.tagged === a.listed)).toEqual([]);
        expect(listed.every((k) => p.keys.includes(k))).toBe(true);

        // The permanent failures are exactly the injected set, with the engine's reason.
        expect({ id, failed: [...listed].sort() }).toEqual({ id, failed: [...deny].sort() });
        const reasons = rows.map((r) => `${r.errorCode} ${r.httpStatus} round ${r.round}`);
        expect({ id, reasons }).toEqual({ id, reasons: deny.map(() => 'AccessDenied 403 round 0') });

        // The summaries agree with that.
        // Every object was attempted and every report arrived: nothing is unknown or not run.
        const expectedTotals = {
          objects: p.keys.length,
          succeeded: p.keys.length - deny.length,
          failed: deny.length,
          unknown: 0,
          notRun: 0,
        };
        const { objects, succeeded, failed, notRun } = expectedTotals;
        expect(result).toMatchObject({
          outcome: 'CompletedWithFailures',
          ...{ objects, succeeded, failed, notRun },
          jobs: reportJobs.length,
        });
        expect(report).toMatchObject({ outcome: 'CompletedWithFailures', totals: expectedTotals });
        const st = await handle(p.label).query(statusQuery);
        expect({ id, totals: st.totals }).toEqual({ id, totals: { ...expectedTotals, jobs: reportJobs.length } });
        const d = await handle(p.label).describe();
        const sa = CAMPAIGN_SEARCH_ATTRIBUTES;
        expect({
          id,
          phase: d.typedSearchAttributes.get(sa.phase),
          objects: d.typedSearchAttributes.get(sa.objects),
          failedTasks: d.typedSearchAttributes.get(sa.failedTasks),
        }).toEqual({ id, phase: 'CompletedWithFailures', objects: expectedTotals.objects, failedTasks: deny.length });
        // Each job's row in the report is the job's final state in the engine (collected, checked after the loop,
        // so that one run shows every campaign where they differ). The completion reports of all its jobs show each
        // object succeeding once at most, and each object that failed for good failing once: no work ran twice.
        const succeededRuns = new Map<string, number>();
        for (const j of report.jobs) {
          const { Job } = await s.control.send(new DescribeJobCommand({ AccountId: ACCOUNT, JobId: j.jobId }));
          const { rows: taskRows } = await readCompletionReport(
            s.s3,
            REPORT_BUCKET,
            `${Job!.Report!.Prefix}/job-${j.jobId}/manifest.json`,
          );
          for (const r of taskRows) {
            if (r.taskStatus === 'succeeded' || r.decodedKey!.startsWith('deny-')) {
              succeededRuns.set(r.decodedKey!, (succeededRuns.get(r.decodedKey!) ?? 0) + 1);
            }
          }
          const progress = Job!.ProgressSummary!;
          const inReport = [j.status, j.totalTasks, j.succeededTasks, j.failedTasks];
          const inEngine = [
            Job!.Status,
            progress.TotalNumberOfTasks,
            progress.NumberOfTasksSucceeded,
            progress.NumberOfTasksFailed,
          ];
          if (JSON.stringify(inReport) !== JSON.stringify(inEngine)) {
            jobRowMismatches.push(
              `${id} job ${j.jobId} (round ${j.round}): report [status, total, ok, failed] ${JSON.stringify(inReport)}, engine ${JSON.stringify(inEngine)}`,
            );
          }
        }
        expect({ id, runs: p.keys.filter((k) => succeededRuns.get(k) !== 1) }).toEqual({ id, runs: [] });
      }
      const byLabel = (l: string) => results.get(l)!;
      expect((await handle('d').query(statusQuery)).runs).toBeGreaterThan(1);
      expect(byLabel('b').jobs).toBeGreaterThanOrEqual(2);
      const cReport = JSON.parse(await getText(s.s3, byLabel('c').report!)) as {
        jobs: Array<{ approval?: { by: string } }>;
      };
      expect(cReport.jobs[0]!.approval?.by).toBe('crash-suite');
      const gReport = JSON.parse(await getText(s.s3, byLabel('g').report!)) as {
        jobs: Array<{ approval?: { by: string } }>;
      };
      expect(gReport.jobs[0]!.approval?.by).toBe('crash-signal');

      // No workflow is left open on the suite's Temporal server.
      // Nothing half-written stays behind: no multipart upload is left open in the campaigns' folders.
      const uploads = await s.s3.send(new ListMultipartUploadsCommand({ Bucket: REPORT_BUCKET }));
      expect((uploads.Uploads ?? []).map((u) => u.Key)).toEqual([]);

      // Visibility follows the closes closely but not atomically: give it a few seconds to agree.
      let open: string[] = [];
      for (let i = 0; i < 20; i++) {
        open = [];
        for await (const w of s.client.workflow.list({ query: 'ExecutionStatus="Running"' })) open.push(w.workflowId);
        if (open.length === 0) break;
        await sleep(500);
      }
      expect(open).toEqual([]);
      expect(jobRowMismatches).toEqual([]);
      failed = false;
      note('done');
    },
    SUITE_TIMEOUT_MS,
  );

  test(
    'a worker killed while it builds the manifests is replaced: the build resumes from its heartbeat, and the campaign ends with every object once and one set of jobs',
    async () => {
      const s = await startCrashStack({ faults: [] });
      let kept = true;
      try {
        const id = `crash-build-${TAG}`;
        const bucket = `crash-build-data-${TAG}`;
        const reports = `crash-build-reports-${TAG}`;
        // 90 objects in three data files of 30 (and 20 archived rows each, left out by the filter), 20 per job: the
        // build has written the first 60 into three manifests when it waits for the last file.
        const keys = range('ok', 90);
        await s.s3.send(new CreateBucketCommand({ Bucket: bucket }));
        await s.s3.send(new CreateBucketCommand({ Bucket: reports }));
        await putAll(s.s3, bucket, keys);
        await putInventory(s.s3, bucket, keys);
        s.s3Proxy.hold({ name: 'build', match: (r) => r.method === 'GET' && r.url.includes('/data/0002-file') });

        const taskQueue = `crash-build-${TAG}`;
        const first = await s.startWorker(taskQueue);
        const handle = await s.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
          taskQueue,
          workflowId: id,
          args: [
            {
              name: `crash build ${TAG}`,
              accountId: ACCOUNT,
              region: 'us-east-1',
              roleArn: `arn:aws:iam::${ACCOUNT}:role/BatchOperations`,
              source: { type: 'inventory', manifest: `s3://${bucket}/${inventoryManifest(bucket)}` },
              filter: { storageClasses: ['STANDARD'] },
              maxObjectsPerJob: 20,
              operation: { type: 'put-tags', tags: { crash: 'build' } },
              report: { bucket: reports, prefix: 'campaigns' },
              approval: { required: false },
              pollInterval: '1s',
              retry: { delay: '1s', maxRetryJobs: 2 },
            } satisfies CampaignSpecInput,
          ],
        });

        // The moment: BuildingManifest, waiting for the last data file, and the server has the heartbeat of the
        // first two files done (the resume point a replacement must start from), with their three manifests open.
        await waitFor('the held GET of the last data file', async () => s.s3Proxy.isHeld('build'), Boolean, 90_000);
        const beat = (await waitFor(
          'the heartbeat of two data files done',
          async () => (await pendingActivity(handle, 'buildCampaignManifests'))?.heartbeatDetails,
          (d) => (d as ManifestProgress | undefined)?.filesDone === 2,
        )) as ManifestProgress;
        const open = await s.s3.send(
          new ListMultipartUploadsCommand({ Bucket: reports, Prefix: `campaigns/${id}/manifests/round-0/` }),
        );
        const atKill = await handle.query(statusQuery);
        await first.proc.kill();
        s.s3Proxy.dropHeld();
        note(
          `build: ${first.name} killed (SIGKILL) in ${atKill.phase}; last heartbeat: resume at file ` +
            `${beat.resume.file} (skip ${beat.resume.skipRows}), ${beat.resume.shards.length} manifests open`,
        );
        expect(atKill.phase).toBe('BuildingManifest');
        expect({ filesTotal: beat.filesTotal, file: beat.resume.file, skipRows: beat.resume.skipRows }).toEqual({
          filesTotal: 3,
          file: 2,
          skipRows: 0,
        });
        expect(beat.resume.shards.map((sh) => sh.rows)).toEqual([20, 20, 20]);
        expect((open.Uploads ?? []).map((u) => u.UploadId).sort()).toEqual(
          beat.resume.shards.map((sh) => sh.uploadId).sort(),
        );

        // A replacement picks the build up once its heartbeat timeout (2 minutes) has passed.
        const second = await s.startWorker(taskQueue);
        note(`build: ${second.name} polling`);
        const result = (await handle.result()) as CampaignResult;
        note(`build: ${result.outcome}, ${result.succeeded}/${result.objects} succeeded, ${result.jobs} job(s)`);

        // It resumed from that heartbeat: the second attempt, after a heartbeat timeout, from file 2.
        const events = (await handle.fetchHistory()).events ?? [];
        const scheduled = events.find(
          (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'buildCampaignManifests',
        );
        const started = events.find(
          (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId),
        )?.activityTaskStartedEventAttributes;
        expect(started?.attempt).toBe(2);
        expect(started?.lastFailure?.timeoutFailureInfo).toBeTruthy();
        const resumed = readFileSync(`${s.dir}/logs/${second.name}.log`, 'utf8')
          .split('\n')
          .filter((l) => l.includes('"resuming manifest build"'))
          .map((l) => JSON.parse(l) as { campaign?: string; file?: number; skipRows?: number });
        expect(resumed.map(({ campaign, file, skipRows }) => ({ campaign, file, skipRows }))).toEqual([
          { campaign: id, file: 2, skipRows: 0 },
        ]);

        // Every object once, in one set of five jobs that all ran.
        expect(result).toMatchObject({ outcome: 'Succeeded', objects: 90, succeeded: 90, failed: 0, jobs: 5 });
        const jobs = (await jobsByCampaign(s)).get(id) ?? [];
        const report = JSON.parse(await getText(s.s3, result.report!)) as {
          jobs: Array<{ jobId?: string; round: number; shard: number; manifest: { bucket: string; key: string } }>;
        };
        expect(jobs.map((j) => j.JobId).sort()).toEqual(report.jobs.map((j) => j.jobId).sort());
        expect(jobs.map((j) => j.Status)).toEqual(jobs.map(() => 'Complete'));
        expect(report.jobs.map((j) => `${j.round}/${j.shard}`)).toEqual(['0/0', '0/1', '0/2', '0/3', '0/4']);
        const listed = await Promise.all(
          report.jobs.map(async (j) =>
            (await getText(s.s3, `s3://${j.manifest.bucket}/${j.manifest.key}`)).split('\n').filter(Boolean),
          ),
        );
        expect(listed.map((rows) => rows.length)).toEqual([20, 20, 20, 20, 10]);
        expect(listed.flat().map((line) => line.split(',')[1])).toEqual(keys);
        const tags = await tagsOf(s.s3, bucket, keys);
        expect(keys.filter((k) => tags.get(k) !== 'build')).toEqual([]);
        // The killed attempt's uploads were continued and completed: none is left open.
        const left = await s.s3.send(new ListMultipartUploadsCommand({ Bucket: reports }));
        expect(left.Uploads ?? []).toEqual([]);
        kept = !!process.env.S3C_KEEP_TEST_DIR;
      } finally {
        if (kept) note(`logs kept in ${s.dir}/logs`);
        await s.stop(kept);
      }
    },
    BUILD_KILL_TIMEOUT_MS,
  );
});
