/**
 * Restore-and-copy campaigns survive SIGKILL of the worker, on a crash stack of their own whose engine completes
 * restores 2 s after their task ran. Two campaigns are stopped at their crash points, then the worker is killed once:
 *
 * - A, in a tracking step: the answer of the step's first shard generation is held (written in S3, never heard of).
 * - B, in the multipart copy of a 60 MiB object (12 parts of 5 MiB, 8 in flight): the answers of parts 1–8 are held,
 *   so 8 parts are copied in S3 and parts 9–12 were never sent.
 *
 * A replacement worker takes both up once their heartbeat timeouts (2 minutes) pass. Then each campaign succeeded with
 * every object in the target, byte for byte; each child campaign created one job (none twice), every object went into
 * exactly one wave; and B's copy completed once, in the upload it started, sending each part once: the resumed attempt
 * copied parts 9–12 only.
 */
import { randomBytes } from 'node:crypto';

import {
  CreateBucketCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type S3Client,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { GetJobTaggingCommand, ListJobsCommand, type JobListDescriptor } from '@aws-sdk/client-s3-control';
import type { WorkflowHandle } from '@temporalio/client';

import { CAMPAIGN_WORKFLOW_TYPE, statusQuery, type CampaignResult } from '../../src/shared/campaign';
import type { CampaignSpecInput } from '../../src/shared/campaign-spec';
import { LOCAL_ACCOUNT_ID } from '../../src/stack';
import { waitFor } from '../helpers';
import { pendingActivity } from '../support/activity-history';
import { startCrashStack, type CrashStack } from '../support/crash-stack';

/** Stack start, the crash points, two heartbeat timeouts' worth of waiting and the rest: about four minutes. */
const TIMEOUT_MS = 480_000;
const MiB = 2 ** 20;
const PART = 5 * MiB;
const PARTS = 12;
/** Parts in flight at once in copyLargeObject (its default): all of them are held. */
const IN_FLIGHT = 8;

const TAG = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const ACCOUNT = LOCAL_ACCOUNT_ID;
const DATA = `crash-rac-data-${TAG}`;
const TARGET = `crash-rac-target-${TAG}`;
const REPORTS = `crash-rac-reports-${TAG}`;
const BIG = 'b/big.bin';

interface Plan {
  label: 'a' | 'b';
  objects: Array<{ key: string; storageClass: StorageClass; body: Buffer }>;
}

const small = (key: string, storageClass: StorageClass) => ({ key, storageClass, body: Buffer.from(`body of ${key}`) });
const PLANS: Plan[] = [
  {
    label: 'a',
    objects: [
      ...Array.from({ length: 6 }, (_, i) => small(`a/g-${i}.txt`, 'GLACIER')),
      small('a/s-0.txt', 'STANDARD'),
      small('a/s-1.txt', 'STANDARD'),
    ],
  },
  {
    label: 'b',
    objects: [{ key: BIG, storageClass: 'GLACIER', body: randomBytes(PARTS * PART) }, small('b/s-0.txt', 'STANDARD')],
  },
];
const campaignId = (p: Plan) => `crash-rac-${p.label}-${TAG}`;

function specFor(p: Plan): CampaignSpecInput {
  return {
    name: `crash restore-and-copy ${p.label} ${TAG}`,
    accountId: ACCOUNT,
    region: 'us-east-1',
    roleArn: `arn:aws:iam::${ACCOUNT}:role/BatchOperations`,
    source: { type: 'keys', bucket: DATA, keys: p.objects.map((o) => o.key) },
    operation: {
      type: 'restore-and-copy',
      tier: 'STANDARD',
      expirationDays: 1,
      targetBucket: TARGET,
      largeObjectThreshold: '5MiB',
      largeObjects: { partSize: '5MiB' },
      waves: { minObjects: 100, maxWait: '2s' },
      tracking: { firstSweepAfter: '0', sweepInterval: '2s' },
    },
    report: { bucket: REPORTS, prefix: 'campaigns' },
    approval: { required: false },
    pollInterval: '1s',
    retry: { delay: '1s' },
  };
}

const started = Date.now();
function note(msg: string): void {
  process.stderr.write(`[crash-rac +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
}

async function bytesOf(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

/** The keys (decoded) of a Batch Operations CSV manifest. */
async function manifestKeys(s3: S3Client, bucket: string, key: string): Promise<string[]> {
  const text = (await bytesOf(s3, bucket, key)).toString('utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => decodeURIComponent(l.split(',')[1]!.replace(/\+/g, ' ')));
}

/** Every job of the account, by the campaign (child campaign id) its tag names. */
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

/** The attempts of each started `activityType` activity, in the workflow's history. */
async function attemptsOf(handle: WorkflowHandle, activityType: string): Promise<number[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const ids = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType)
      .map((e) => String(e.eventId)),
  );
  return events
    .filter((e) => ids.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)))
    .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0);
}

describe('restore-and-copy crash', () => {
  let stack: CrashStack | undefined;
  let failed = true;

  afterAll(async () => {
    const keep = failed || !!process.env.S3C_KEEP_TEST_DIR;
    if (stack && keep) note(`logs kept in ${stack.dir}/logs`);
    await stack?.stop(keep);
  });

  test(
    'SIGKILL during a tracking step and during a multipart copy: both campaigns finish, no job twice, every part copied once',
    async () => {
      stack = await startCrashStack({ faults: [], engineArgs: ['--restore-latency', '2s'] });
      const s = stack;
      note(`stack up in ${s.dir}`);
      for (const Bucket of [DATA, TARGET, REPORTS]) await s.s3.send(new CreateBucketCommand({ Bucket }));
      for (const p of PLANS) {
        for (const o of p.objects) {
          await s.s3.send(
            new PutObjectCommand({ Bucket: DATA, Key: o.key, Body: o.body, StorageClass: o.storageClass }),
          );
        }
      }

      const [a, b] = PLANS as [Plan, Plan];
      // A: the first shard generation a tracking step writes (generation 0 is the sort's).
      s.s3Proxy.hold({
        name: 'a',
        match: (r) =>
          r.method === 'PUT' &&
          r.url.includes(`/${campaignId(a)}/tracking/shards/`) &&
          /\/gen-0*[1-9]\d*\.csv/.test(r.url),
      });
      // B: every part the first attempt sends at once.
      const isPartCopy = (url: string) => url.startsWith(`/${TARGET}/${BIG}?`) && /[?&]uploadId=/.test(url);
      const partOf = (url: string) => Number(/[?&]partNumber=(\d+)/.exec(url)?.[1] ?? 0);
      for (let part = 1; part <= IN_FLIGHT; part++) {
        s.s3Proxy.hold({
          name: `b-part-${part}`,
          match: (r) => r.method === 'PUT' && isPartCopy(r.url) && partOf(r.url) === part,
        });
      }

      const taskQueue = `crash-rac-${TAG}`;
      const first = await s.startWorker(taskQueue);
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
      const handle = (p: Plan) => handles.get(p.label)!;
      note('campaigns started');

      // ---- the crash points ------------------------------------------------------------------------------------
      await waitFor('a tracking step of A, its shard write held', async () => s.s3Proxy.isHeld('a'), Boolean, 120_000);
      await waitFor(
        `B's first ${IN_FLIGHT} parts held`,
        async () => Array.from({ length: IN_FLIGHT }, (_, i) => s.s3Proxy.isHeld(`b-part-${i + 1}`)).every(Boolean),
        Boolean,
        120_000,
      );
      // The copy's upload is named in the heartbeat the server holds: the resume point of the next attempt.
      const copyBeat = (await waitFor(
        "the large copy's heartbeat",
        async () => (await pendingActivity(handle(b), 'copyLargeObject'))?.heartbeatDetails,
        (d) => typeof (d as { uploadId?: string } | undefined)?.uploadId === 'string',
      )) as { uploadId: string };
      const stepAtKill = await pendingActivity(handle(a), 'advanceRestoreTracking');
      const [phaseA, phaseB] = await Promise.all(PLANS.map(async (p) => (await handle(p).query(statusQuery)).phase));
      await first.proc.kill();
      s.s3Proxy.dropHeld();
      note(
        `${first.name} killed (SIGKILL): A in ${phaseA} (a step held), B in ${phaseB} (upload ${copyBeat.uploadId})`,
      );
      expect([phaseA, phaseB]).toEqual(['Tracking', 'Tracking']);
      expect(stepAtKill).toMatchObject({ attempt: 1 });
      const sentBeforeKill = s.s3Proxy
        .forwarded()
        .filter((r) => r.method === 'PUT' && isPartCopy(r.url))
        .map((r) => partOf(r.url))
        .sort((x, y) => x - y);
      expect(sentBeforeKill).toEqual(Array.from({ length: IN_FLIGHT }, (_, i) => i + 1));

      const second = await s.startWorker(taskQueue);
      note(`${second.name} polling`);
      const results = new Map<string, CampaignResult>();
      for (const p of PLANS) {
        results.set(p.label, (await handle(p).result()) as CampaignResult);
        note(`${p.label}: ${results.get(p.label)!.outcome}`);
      }

      // ---- both campaigns finished correctly -------------------------------------------------------------------
      const jobs = await jobsByCampaign(s);
      for (const p of PLANS) {
        expect(results.get(p.label)).toMatchObject({
          outcome: 'Succeeded',
          objects: p.objects.length,
          succeeded: p.objects.length,
          failed: 0,
        });
        for (const o of p.objects) expect((await bytesOf(s.s3, TARGET, o.key)).equals(o.body)).toBe(true);
        const rac = (await handle(p).query(statusQuery)).restoreAndCopy!;
        // One job per child campaign, none created twice, and no job of this campaign outside its children.
        const children = [...rac.restores, ...rac.waves].map((c) => c.workflowId);
        for (const child of children) expect(jobs.get(child)?.length).toBe(1);
        const ours = [...jobs.keys()].filter((c) => c.startsWith(campaignId(p)));
        expect(ours.sort()).toEqual(children.sort());
        // Every small object in exactly one wave.
        const waved: string[] = [];
        for (const w of rac.waves) waved.push(...(await manifestKeys(s.s3, w.manifest.bucket, w.manifest.key)));
        expect(waved.sort()).toEqual(
          p.objects
            .filter((o) => o.key !== BIG)
            .map((o) => o.key)
            .sort(),
        );
      }
      // A's step was taken up again by a second attempt after the kill.
      expect(Math.max(...(await attemptsOf(handle(a), 'advanceRestoreTracking')))).toBeGreaterThanOrEqual(2);

      // B's copy: one upload (the one the first attempt created), each part sent once, completed once.
      const bRac = (await handle(b).query(statusQuery)).restoreAndCopy!;
      expect(bRac.large).toMatchObject({ objects: 1, copied: 1, failed: 0, bytes: PARTS * PART });
      // The history keeps the start of an activity's last attempt only: the second one, after the kill.
      expect(await attemptsOf(handle(b), 'copyLargeObject')).toEqual([2]);
      const toBig = s.s3Proxy.forwarded().filter((r) => r.url.startsWith(`/${TARGET}/${BIG}?`));
      const parts = toBig.filter((r) => r.method === 'PUT' && isPartCopy(r.url)).map((r) => partOf(r.url));
      expect(parts.sort((x, y) => x - y)).toEqual(Array.from({ length: PARTS }, (_, i) => i + 1));
      expect(toBig.filter((r) => r.method === 'POST' && /[?&]uploads(=|&|$)/.test(r.url))).toHaveLength(1);
      const completes = toBig.filter((r) => r.method === 'POST' && /[?&]uploadId=/.test(r.url));
      expect(completes).toHaveLength(1);
      expect(new URL(completes[0]!.url, 'http://s3').searchParams.get('uploadId')).toBe(copyBeat.uploadId);
      const open = await s.s3.send(new ListMultipartUploadsCommand({ Bucket: TARGET }));
      expect(open.Uploads ?? []).toEqual([]);
      failed = false;
    },
    TIMEOUT_MS,
  );
});
