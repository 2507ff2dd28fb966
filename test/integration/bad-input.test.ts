/**
 * The bad-input table: every entry point refuses bad input with a typed error naming the field or resource, and
 * leaves nothing behind: no Batch Operations job, no object under a final name, no open multipart upload.
 *
 * Entry points: the campaign spec started through the workflow client (as the Temporal UI does) and through
 * `s3-campaigns start`; CLI flags; CSV manifests and inventories as campaign sources; the engine's HTTP API (S3
 * Control wire protocol and /_local/faults); approve/reject payloads by signal, Update and CLI.
 *
 * Workflow rows share one worker and start concurrently in `beforeAll`; each row has its own bucket, account and id.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { GetObjectTaggingCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateJobCommand, DescribeJobCommand, type CreateJobCommandInput } from '@aws-sdk/client-s3-control';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';

import { CAMPAIGN_WORKFLOW_TYPE, rejectUpdate, statusQuery, type CampaignStatus } from '../../src/shared/campaign';
import type { CampaignSpecInput } from '../../src/shared/campaign-spec';
import { FailureType } from '../../src/shared/errors';
import { controlClient, emptyAndDeleteBucket, s3Client, stackEndpoints, uniqueName } from '../helpers';
import { uploadInventory, type InventoryRow, type WrittenInventory } from '../inventory-fixtures';
import {
  applicationFailureIn,
  leftovers,
  limited,
  NOTHING,
  rowBucket,
  settle,
  sharedCampaignWorker,
  terminateRunning,
  type Settled,
} from '../support/bad-input';
import {
  getText,
  putObjects,
  randomAccount,
  waitForPhase,
  waitForStatus,
  type CampaignHarness,
} from '../support/campaign';
import { localAwsEnv, runCli, type CliResult } from '../support/cli';
import { admin, jobInput, putManifest } from '../support/engine';

const s3 = s3Client();
const control = controlClient({ maxAttempts: 1 });
const worker = sharedCampaignWorker();
let h: CampaignHarness;
/** Every bucket a row made: removed in afterAll, after the workflows that write to them have ended. */
const buckets: string[] = [];
/** Every workflow a row started: the ones a defect left running are terminated in afterAll. */
const handles: WorkflowHandle[] = [];
/** CLI subprocesses at a time: two cores, shared with the worker and the servers. */
const cliSlot = limited(3);
const tmp = mkdtempSync(path.join(os.tmpdir(), 's3c-bad-input-'));

beforeAll(async () => {
  h = await worker.start();
});

afterAll(async () => {
  await terminateRunning(handles);
  await worker.stop();
  await Promise.all(buckets.map((b) => emptyAndDeleteBucket(s3, b).catch(() => undefined)));
  rmSync(tmp, { recursive: true, force: true });
  s3.destroy();
  control.destroy();
});

/** A valid spec for one row: its own account and bucket; test-friendly timings inside the documented ranges. */
function baseSpec(accountId: string, bucket: string, over: Partial<CampaignSpecInput> = {}): CampaignSpecInput {
  return {
    name: uniqueName('bad-input'),
    accountId,
    region: 'us-east-1',
    roleArn: `arn:aws:iam::${accountId}:role/BatchOperations`,
    source: { type: 'keys', bucket, keys: ['k1'] },
    operation: { type: 'put-tags', tags: { done: 'yes' } },
    report: { bucket, prefix: 'campaigns' },
    pollInterval: '1s',
    retry: { delay: '0s', maxRetryJobs: 0 },
    ...over,
  };
}

/** Memoised per-row work, kicked off for every row in `beforeAll` and awaited by the row's own test. */
function rowRunner<C, R>(run: (c: C) => Promise<R>): { kick(cases: C[]): void; get(c: C): Promise<R> } {
  const started = new Map<C, Promise<R>>();
  const get = (c: C) => {
    let p = started.get(c);
    if (!p) {
      p = run(c);
      p.catch(() => undefined); // awaited (and reported) by the row's test
      started.set(c, p);
    }
    return p;
  };
  return { kick: (cases) => cases.forEach((c) => void get(c)), get };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The files a refused campaign may leave: its folder's claim and its own account of what happened. */
const CAMPAIGN_OWN_FILES = ['campaign-run.json', 'campaign.json', 'failed.csv'];

/** Objects in a campaign's folder, relative to it. */
async function campaignFiles(bucket: string, campaignId: string): Promise<string[]> {
  const prefix = `campaigns/${campaignId}/`;
  return (await leftovers(s3, { accountId: randomAccount(), bucket, prefix })).objects.map((k) =>
    k.slice(prefix.length),
  );
}

// =====================================================================================================================
// The campaign spec: through the workflow client (the Temporal UI's "Start workflow") and through `s3-campaigns start`
// =====================================================================================================================

interface SpecRow {
  account: string;
  bucket: string;
  input: unknown;
}
type SpecCase = [name: string, input: (base: CampaignSpecInput) => unknown, field: RegExp];

const notObject = (what: string) => new RegExp(`expected an object \\(the campaign spec\\), received ${what}`);
const withPrefix = (prefix: string) => (b: CampaignSpecInput) => ({ ...b, report: { ...b.report, prefix } });

const SPEC_CASES: SpecCase[] = [
  ['null', () => null, notObject('null')],
  ['a number', () => 42, notObject('number')],
  ['an array holding a valid spec', (b) => [b], notObject('array')],
  ['a string', () => 'restore.json', notObject('string')],
  ['pollInterval "0" (a hot loop)', (b) => ({ ...b, pollInterval: '0' }), /pollInterval must be between 1s and 1h/],
  [
    'pollInterval "99999999999d" (never polls again)',
    (b) => ({ ...b, pollInterval: '99999999999d' }),
    /pollInterval must be between 1s and 1h/,
  ],
  [
    'approval.timeout "31d" (past the 30 days S3 keeps a job Suspended)',
    (b) => ({ ...b, approval: { timeout: '31d' } }),
    /approval\.timeout must be between 1s and 30d/,
  ],
  ['retry.delay "8d"', (b) => ({ ...b, retry: { delay: '8d' } }), /retry\.delay must be between 0s and 7d/],
  ['report.prefix "../../../../etc"', withPrefix('../../../../etc'), /report\.prefix/],
  ['report.prefix with an empty segment "a//b"', withPrefix('a//b'), /report\.prefix/],
  ['report.prefix with a "." segment', withPrefix('a/./b'), /report\.prefix/],
  ['report.prefix with a leading "/"', withPrefix('/campaigns'), /report\.prefix/],
  [
    'roleArn "…:role/../../admin"',
    (b) => ({ ...b, roleArn: b.roleArn.replace('role/BatchOperations', 'role/../../admin') }),
    /roleArn/,
  ],
  [
    'copy operation.targetKeyPrefix "dr/../../etc/"',
    (b) => ({
      ...b,
      operation: {
        type: 'copy',
        targetBucket: (b.report as { bucket: string }).bucket,
        targetKeyPrefix: 'dr/../../etc/',
      },
    }),
    /operation\.targetKeyPrefix/,
  ],
  [
    'copy operation.targetKeyPrefix with a leading "/"',
    (b) => ({
      ...b,
      operation: { type: 'copy', targetBucket: (b.report as { bucket: string }).bucket, targetKeyPrefix: '/dr/' },
    }),
    /operation\.targetKeyPrefix/,
  ],
];

async function specRow(c: SpecCase, bucketPrefix: string): Promise<SpecRow> {
  const account = randomAccount();
  const bucket = await rowBucket(s3, buckets, bucketPrefix);
  await putObjects(s3, bucket, ['k1']);
  return { account, bucket, input: c[1](baseSpec(account, bucket)) };
}

describe('the campaign spec, started through the workflow client', () => {
  const rows = rowRunner(async (c: SpecCase) => {
    const row = await specRow(c, 'bi-spec-wf');
    const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
      taskQueue: h.taskQueue,
      workflowId: uniqueName('bi-spec-wf'),
      args: [row.input as never],
    });
    handles.push(handle);
    return { row, settled: await settle(handle) };
  });
  beforeAll(() => rows.kick(SPEC_CASES));

  test.each(SPEC_CASES)('%s → InvalidInput naming the field; no job, no object, no upload', async (...c) => {
    const { row, settled } = await rows.get(SPEC_CASES.find((x) => x[0] === c[0])!);
    expect(settled.stuck).toBeUndefined();
    const failure = applicationFailureIn(settled.error);
    expect({ type: failure?.type, nonRetryable: failure?.nonRetryable }).toEqual({
      type: FailureType.InvalidInput,
      nonRetryable: true,
    });
    expect(failure?.message).toMatch(/^invalid campaign spec: /);
    expect(failure?.message).toMatch(c[2]);
    // The whole bucket, not only the campaign's folder: a traversal prefix would write outside it.
    expect(await leftovers(s3, { accountId: row.account, bucket: row.bucket })).toEqual({
      ...NOTHING,
      objects: ['k1'],
    });
  });
});

/** Starts `s3-campaigns start` against the shared worker's task queue: a start that should not happen would run. */
function startCli(args: string[]): Promise<CliResult> {
  return cliSlot(() =>
    runCli(['start', ...args], {
      TEMPORAL_ADDRESS: stackEndpoints().temporalAddress,
      TEMPORAL_TASK_QUEUE: h.taskQueue,
    }),
  );
}

async function workflowExists(id: string): Promise<boolean> {
  try {
    const d = await h.client.workflow.getHandle(id).describe();
    handles.push(h.client.workflow.getHandle(id));
    return d.runId !== undefined;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

describe('the campaign spec, through `s3-campaigns start`', () => {
  const rows = rowRunner(async (c: SpecCase) => {
    const row = await specRow(c, 'bi-spec-cli');
    const file = path.join(tmp, `${uniqueName('spec')}.json`);
    writeFileSync(file, JSON.stringify(row.input));
    const id = uniqueName('bi-spec-cli');
    return { row, id, res: await startCli([file, '--id', id]) };
  });
  beforeAll(() => rows.kick(SPEC_CASES));

  test.each(SPEC_CASES)('%s → exit 2 naming the field; no workflow, no job, no object', async (...c) => {
    const { row, id, res } = await rows.get(SPEC_CASES.find((x) => x[0] === c[0])!);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(c[2]);
    expect(await workflowExists(id)).toBe(false);
    expect(await leftovers(s3, { accountId: row.account, bucket: row.bucket })).toEqual({
      ...NOTHING,
      objects: ['k1'],
    });
  });
});

describe('`s3-campaigns start`: ids and sizes', () => {
  type StartCase = [
    name: string,
    /** Prepares the row; returns the CLI arguments after `start` and the ids that must not gain a new run. */
    prepare: (row: SpecRow) => Promise<{ args: string[]; existing?: { id: string; runId: string } }>,
    message: RegExp,
  ];
  const specFile = (input: unknown) => {
    const file = path.join(tmp, `${uniqueName('spec')}.json`);
    writeFileSync(file, typeof input === 'string' ? input : JSON.stringify(input));
    return file;
  };
  const START_CASES: StartCase[] = [
    ['--id ""', async (row) => ({ args: [specFile(row.input), '--id', ''] }), /--id|workflow id/i],
    [
      'an --id of 2,000 characters',
      async (row) => ({ args: [specFile(row.input), '--id', 'x'.repeat(2000)] }),
      /1000|1,000/,
    ],
    [
      'a spec of about 2.6 MB (10,000 long keys)',
      async (row) => {
        const spec = row.input as CampaignSpecInput;
        const keys = Array.from({ length: 10_000 }, (_, i) => `big/${'x'.repeat(250)}-${i}`);
        return {
          args: [
            specFile({ ...spec, source: { type: 'keys', bucket: spec.report.bucket, keys } }),
            '--id',
            uniqueName('bi-big'),
          ],
        };
      },
      /2 ?MB|2 ?MiB|2097152|2,097,152/,
    ],
    [
      'a file that is not JSON',
      async () => ({ args: [specFile('{"name": "half a spec",'), '--id', uniqueName('bi-json')] }),
      /is not valid JSON/,
    ],
    [
      '--id of a campaign that already ran',
      async (row) => {
        // The earlier campaign: started and ended (terminated) on a queue no worker serves, so it ran nothing.
        const id = uniqueName('bi-reuse');
        const first = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
          taskQueue: uniqueName('tq-idle'),
          workflowId: id,
          args: [row.input as never],
        });
        await first.terminate('the earlier campaign, ended');
        return { args: [specFile(row.input), '--id', id], existing: { id, runId: first.firstExecutionRunId } };
      },
      /bi-reuse-/,
    ],
  ];
  const rows = rowRunner(async (c: StartCase) => {
    const account = randomAccount();
    const bucket = await rowBucket(s3, buckets, 'bi-start');
    const row = { account, bucket, input: baseSpec(account, bucket) };
    const { args, existing } = await c[1](row);
    return { row, args, existing, res: await startCli(args) };
  });
  beforeAll(() => rows.kick(START_CASES));

  test.each(START_CASES)('%s → exit 2 naming the limit or id; nothing started', async (...c) => {
    const { row, args, existing, res } = await rows.get(START_CASES.find((x) => x[0] === c[0])!);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(existing ? new RegExp(escapeRegex(existing.id)) : c[2]);
    const id = args[args.indexOf('--id') + 1]!;
    if (existing) {
      // The id still names the earlier campaign's one run: no second run was started under it.
      const d = await h.client.workflow.getHandle(id).describe();
      expect({ runId: d.runId, status: d.status.name }).toEqual({ runId: existing.runId, status: 'TERMINATED' });
    } else if (id !== '' && id.length <= 1000) {
      expect(await workflowExists(id)).toBe(false);
    }
    expect(await leftovers(s3, { accountId: row.account, bucket: row.bucket })).toEqual(NOTHING);
  });
});

// =====================================================================================================================
// Campaign sources: CSV manifests and S3 Inventory reports that cannot be used
// =====================================================================================================================

interface SourceRow {
  account: string;
  bucket: string;
  id: string;
  settled: Settled;
}

async function runSourceRow(
  bucketPrefix: string,
  prepare: (bucket: string) => Promise<Partial<CampaignSpecInput>>,
): Promise<SourceRow> {
  const account = randomAccount();
  const bucket = await rowBucket(s3, buckets, bucketPrefix);
  const over = await prepare(bucket);
  const id = uniqueName(bucketPrefix);
  const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
    taskQueue: h.taskQueue,
    workflowId: id,
    args: [baseSpec(account, bucket, over)],
  });
  handles.push(handle);
  return { account, bucket, id, settled: await settle(handle) };
}

/** The failure type and message, then: no job, no manifest (or any other file but the final report), no upload. */
async function expectRefusedSource(row: SourceRow, type: string, message: RegExp): Promise<void> {
  expect(row.settled.stuck).toBeUndefined();
  const failure = applicationFailureIn(row.settled.error);
  expect({ type: failure?.type, nonRetryable: failure?.nonRetryable }).toEqual({ type, nonRetryable: true });
  expect(failure?.message).toMatch(message);
  expect(
    await leftovers(s3, { accountId: row.account, bucket: row.bucket, prefix: `campaigns/${row.id}/manifests/` }),
  ).toEqual(NOTHING);
  // A failed campaign may still write its own account of what happened, and nothing else.
  const files = await campaignFiles(row.bucket, row.id);
  expect(files.filter((f) => !CAMPAIGN_OWN_FILES.includes(f))).toEqual([]);
  if (files.includes('campaign.json')) {
    const report = JSON.parse(await getText(s3, row.bucket, `campaigns/${row.id}/campaign.json`)) as {
      outcome: string;
    };
    expect(report.outcome).toBe('Failed');
  }
}

describe('CSV manifest sources', () => {
  type CsvCase = [
    name: string,
    body: (bucket: string) => string,
    type: string,
    message: RegExp,
    maxObjectsPerJob?: number,
  ];
  const lines = (bucket: string, n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => `${bucket},ok/object-${from + i}.txt\n`).join('');
  const CSV_CASES: CsvCase[] = [
    [
      'a raw control character (U+0001) in a key',
      (b) => `${b},ok.txt\n${b},bad\u0001key.txt\n`,
      FailureType.InvalidInput,
      /line 2\b/,
    ],
    [
      'a raw line break inside a quoted key',
      (b) => `${b},ok.txt\n${b},"two\nlines.txt"\n`,
      FailureType.InvalidInput,
      /line 2\b/,
    ],
    [
      'an unclosed quote on line 3',
      (b) => `${b},a.txt\n${b},b.txt\n${b},"c.txt\n${b},d.txt\n`,
      FailureType.InvalidInput,
      /^(?![\s\S]*line 0)[\s\S]*line 3\b/,
    ],
    ['four fields on line 2', (b) => `${b},a.txt\n${b},b.txt,v1,extra\n`, FailureType.InvalidInput, /line 2: 4 fields/],
    [
      'version ids on some lines only',
      (b) => `${b},a.txt,v1\n${b},b.txt\n`,
      FailureType.InvalidInput,
      /line 2: version ids must be in all rows or in none/,
    ],
    [
      'a key that is not valid URL encoding',
      (b) => `${b},100%zz.txt\n`,
      FailureType.InvalidInput,
      /line 1: key "100%zz\.txt" is not valid URL encoding/,
    ],
    ['an empty key', (b) => `${b},\n`, FailureType.InvalidInput, /line 1: empty bucket or key/],
    [
      'a bad line 1501 after 1,500 good ones, at maxObjectsPerJob 1000',
      (b) => `${lines(b, 1500)}${b},x,y,z,w\n`,
      FailureType.InvalidInput,
      /line 1501\b/,
      1000,
    ],
    [
      '3,000 rows at maxObjectsPerJob 10 (300 jobs, at most 100 per round)',
      (b) => lines(b, 3000),
      FailureType.InvalidInput,
      /300 jobs.*at most 100 per round/,
      10,
    ],
  ];
  const rows = rowRunner((c: CsvCase) =>
    runSourceRow('bi-csv', async (bucket) => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'input/manifest.csv', Body: c[1](bucket) }));
      return {
        source: { type: 'csv', manifest: `s3://${bucket}/input/manifest.csv` },
        ...(c[4] !== undefined ? { maxObjectsPerJob: c[4] } : {}),
      };
    }),
  );
  const missing = rowRunner((file: string) =>
    runSourceRow('bi-csv', async (bucket) => ({ source: { type: 'csv', manifest: `s3://${bucket}/input/${file}` } })),
  );
  beforeAll(() => {
    rows.kick(CSV_CASES);
    missing.kick(['missing.csv']);
  });

  test.each(CSV_CASES)('%s → refused naming the line; no job, no manifest, no upload', async (...c) => {
    const row = await rows.get(CSV_CASES.find((x) => x[0] === c[0])!);
    await expectRefusedSource(row, c[2], c[3]);
  });

  test('a CSV manifest that does not exist → NotFound naming it; no job, no manifest, no upload', async () => {
    const row = await missing.get('missing.csv');
    await expectRefusedSource(row, FailureType.NotFound, /input\/missing\.csv/);
  });
});

describe('S3 Inventory sources', () => {
  const SCHEMA = ['Bucket', 'Key', 'Size', 'StorageClass'] as const;
  /** Three data files of 1,000 rows: enough for shards to be written before a later file fails. */
  const FILES: InventoryRow[][] = Array.from({ length: 3 }, (_, f) =>
    Array.from({ length: 1000 }, (_, i) => ({
      Bucket: 'source-bucket',
      Key: `f${f}/object ${i}.bin`,
      Size: i,
      StorageClass: 'GLACIER',
    })),
  );
  const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

  /** Rewrites manifest.json (and, unless told otherwise, a manifest.checksum that matches it). */
  async function rewriteManifest(
    bucket: string,
    inv: WrittenInventory,
    edit: (m: Record<string, unknown>) => unknown,
    checksum?: string,
  ): Promise<void> {
    const json = JSON.parse(inv.objects.get(inv.manifestKey)!.toString().replace('destination-bucket', bucket));
    const edited = edit(json);
    const text = typeof edited === 'string' ? edited : JSON.stringify(edited);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: inv.manifestKey, Body: text }));
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: inv.manifestKey.replace(/json$/, 'checksum'),
        Body: checksum ?? md5(text),
      }),
    );
  }

  type InvCase = [
    name: string,
    prepare: (bucket: string) => Promise<Partial<CampaignSpecInput>>,
    type: string,
    message: RegExp,
  ];
  const inventory = async (bucket: string, extra: Partial<Parameters<typeof uploadInventory>[2]> = {}) =>
    uploadInventory(s3, bucket, { schema: SCHEMA, files: FILES, ...extra });
  const source = (bucket: string, inv: WrittenInventory): Partial<CampaignSpecInput> => ({
    source: { type: 'inventory', manifest: `s3://${bucket}/${inv.manifestKey}` },
    maxObjectsPerJob: 500,
  });

  const INV_CASES: InvCase[] = [
    [
      'a manifest.json that is not JSON',
      async (b) => {
        const inv = await inventory(b);
        await rewriteManifest(b, inv, () => '{"sourceBucket": "source-bucket", "files": [');
        return source(b, inv);
      },
      FailureType.InvalidInput,
      /manifest\.json is not JSON/,
    ],
    [
      'a manifest.json that does not match manifest.checksum',
      async (b) => {
        const inv = await inventory(b);
        await rewriteManifest(b, inv, (m) => m, '0123456789abcdef0123456789abcdef');
        return source(b, inv);
      },
      FailureType.InvalidInput,
      /manifest\.json does not match its manifest\.checksum/,
    ],
    [
      'a fileSchema without Key',
      async (b) => {
        const inv = await inventory(b);
        await rewriteManifest(b, inv, (m) => ({ ...m, fileSchema: 'Bucket, Size, StorageClass' }));
        return source(b, inv);
      },
      FailureType.InvalidInput,
      /fileSchema must name Bucket and Key/,
    ],
    [
      'files that is not a list',
      async (b) => {
        const inv = await inventory(b);
        await rewriteManifest(b, inv, (m) => ({ ...m, files: 'all of them' }));
        return source(b, inv);
      },
      FailureType.InvalidInput,
      /not a valid S3 Inventory manifest: files/,
    ],
    [
      'an unknown fileFormat',
      async (b) => {
        const inv = await inventory(b);
        await rewriteManifest(b, inv, (m) => ({ ...m, fileFormat: 'XLSX' }));
        return source(b, inv);
      },
      FailureType.InvalidInput,
      /unknown inventory fileFormat "XLSX"/,
    ],
    [
      'an ORC inventory',
      async (b) => source(b, await inventory(b, { format: 'ORC' })),
      FailureType.InvalidInput,
      /ORC inventories are not supported/,
    ],
    [
      'a data file whose MD5 is not the one in manifest.json',
      async (b) =>
        source(
          b,
          await inventory(b, {
            corrupt: (i, bytes) =>
              i === 2 ? Buffer.concat([bytes.subarray(0, 20), Buffer.alloc(bytes.length - 20)]) : bytes,
          }),
        ),
      FailureType.InvalidInput,
      /0002-file\.csv\.gz is corrupt: its MD5 is/,
    ],
    [
      'a data file that is not gzip (its MD5 in manifest.json matches)',
      async (b) => {
        const inv = await inventory(b);
        const garbage = Buffer.from('this is not gzip data\n'.repeat(10));
        const key = (JSON.parse(inv.objects.get(inv.manifestKey)!.toString()) as { files: { key: string }[] }).files[2]!
          .key;
        await s3.send(new PutObjectCommand({ Bucket: b, Key: key, Body: garbage }));
        await rewriteManifest(b, inv, (m) => ({
          ...m,
          files: (m.files as { key: string }[]).map((f) =>
            f.key === key ? { ...f, size: garbage.length, MD5checksum: md5(garbage) } : f,
          ),
        }));
        return source(b, inv);
      },
      FailureType.InvalidInput,
      /0002-file\.csv\.gz is malformed/,
    ],
    [
      'a data file listed in manifest.json that does not exist',
      async (b) => source(b, await inventory(b, { omitFiles: [2] })),
      FailureType.NotFound,
      /0002-file\.csv\.gz does not exist \(listed in the manifest\)/,
    ],
    [
      'a filter on a field the inventory does not have',
      async (b) => ({
        ...source(b, await inventory(b)),
        filter: { latestOnly: true },
      }),
      FailureType.InvalidInput,
      /latestOnly needs the field IsLatest/,
    ],
    [
      'an inventory-latest destination with no report',
      async (b) => ({
        source: { type: 'inventory-latest', destination: `s3://${b}/inventory/source-bucket/config-1/` },
      }),
      FailureType.NotFound,
      /no inventory report .* under s3:\/\//,
    ],
    [
      'an inventory manifest.json that does not exist',
      async (b) => ({ source: { type: 'inventory', manifest: `s3://${b}/inventory/nothing/manifest.json` } }),
      FailureType.NotFound,
      /inventory\/nothing\/manifest\.json does not exist/,
    ],
  ];
  const rows = rowRunner((c: InvCase) => runSourceRow('bi-inv', c[1]));
  beforeAll(() => rows.kick(INV_CASES));

  test.each(INV_CASES)('%s → refused naming it; no job, no manifest, no upload', async (...c) => {
    const row = await rows.get(INV_CASES.find((x) => x[0] === c[0])!);
    await expectRefusedSource(row, c[2], c[3]);
  });
});

// =====================================================================================================================
// CLI flags: `s3-campaigns manifest` writes to S3, so a refused flag must leave its --out prefix empty
// =====================================================================================================================

describe('`s3-campaigns manifest` flags', () => {
  type FlagCase = [name: string, flags: string[], code: number, message: RegExp];
  const FLAG_CASES: FlagCase[] = [
    [
      '--max-objects-per-job 0',
      ['--max-objects-per-job', '0'],
      2,
      /--max-objects-per-job must be a whole number from 1/,
    ],
    ['--min-size 5XB', ['--min-size', '5XB'], 2, /--min-size must be a size in bytes/],
    [
      '--modified-before "last tuesday"',
      ['--modified-before', 'last tuesday'],
      2,
      /--modified-before must be an ISO-8601/,
    ],
    ['--version-ids sometimes', ['--version-ids', 'sometimes'], 2, /--version-ids/],
    ['--key-regex "("', ['--key-regex', '('], 2, /keyRegex/],
    ['--concurrency 65', ['--concurrency', '65'], 2, /--concurrency must be a whole number from 1 to 64/],
    ['--storage-class GLACIERR', ['--storage-class', 'GLACIERR'], 2, /storageClasses|--storage-class/],
    ['--latest-only on an inventory without IsLatest', ['--latest-only'], 2, /latestOnly needs the field IsLatest/],
  ];
  const rows = rowRunner(async (c: FlagCase) => {
    const bucket = await rowBucket(s3, buckets, 'bi-flags');
    const inv = await uploadInventory(s3, bucket, {
      schema: ['Bucket', 'Key', 'Size', 'StorageClass'],
      files: [[{ Bucket: 'source-bucket', Key: 'a.bin', Size: 1, StorageClass: 'GLACIER' }]],
    });
    const res = await cliSlot(() =>
      runCli(
        ['manifest', '--inventory', `s3://${bucket}/${inv.manifestKey}`, '--out', `s3://${bucket}/out/`, ...c[1]],
        localAwsEnv(),
      ),
    );
    return { bucket, res };
  });
  beforeAll(() => rows.kick(FLAG_CASES));

  test.each(FLAG_CASES)('%s → exit 2 naming the flag; nothing under --out, no upload', async (...c) => {
    const { bucket, res } = await rows.get(FLAG_CASES.find((x) => x[0] === c[0])!);
    expect(res.code).toBe(c[2]);
    expect(res.stderr).toMatch(c[3]);
    expect(await leftovers(s3, { accountId: randomAccount(), bucket, prefix: 'out/' })).toEqual(NOTHING);
  });
});

// =====================================================================================================================
// The engine's HTTP API: the S3 Control wire protocol and /_local/faults
// =====================================================================================================================

describe("the engine's CreateJob", () => {
  interface EngineRow {
    account: string;
    bucket: string;
    input: CreateJobCommandInput;
  }
  async function engineRow(): Promise<EngineRow> {
    const account = randomAccount();
    const bucket = await rowBucket(s3, buckets, 'bi-engine');
    await putObjects(s3, bucket, ['a']);
    const manifest = await putManifest(s3, bucket, ['a']);
    return {
      account,
      bucket,
      input: {
        // Held for confirmation: a job created by mistake would not run and write a report while the row looks.
        ...jobInput({
          accountId: account,
          manifest,
          reportBucket: bucket,
          token: uniqueName('tok'),
          confirmationRequired: true,
        }),
        RoleArn: `arn:aws:iam::${account}:role/BatchOperations`,
      },
    };
  }
  async function sdkError(call: Promise<unknown>) {
    const err = (await call.then(
      () => undefined,
      (e: unknown) => e,
    )) as (Error & { $metadata?: { httpStatusCode?: number } }) | undefined;
    return { name: err?.name, status: err?.$metadata?.httpStatusCode, message: err?.message ?? '(it succeeded)' };
  }

  type SdkCase = [
    name: string,
    edit: (i: CreateJobCommandInput) => CreateJobCommandInput,
    code: string,
    status: number,
    message: RegExp,
  ];
  const SDK_CASES: SdkCase[] = [
    [
      'a Description of 257 characters',
      (i) => ({ ...i, Description: 'd'.repeat(257) }),
      'InvalidRequest',
      400,
      /Description/,
    ],
    [
      'a ClientRequestToken of 65 characters',
      (i) => ({ ...i, ClientRequestToken: 't'.repeat(65) }),
      'InvalidRequest',
      400,
      /ClientRequestToken/,
    ],
    [
      'the same tag key twice',
      (i) => ({
        ...i,
        Tags: [
          { Key: 'k', Value: '1' },
          { Key: 'k', Value: '2' },
        ],
      }),
      'InvalidRequest',
      400,
      /Tags must not repeat a tag key/,
    ],
    [
      '51 tags',
      (i) => ({ ...i, Tags: Array.from({ length: 51 }, (_, n) => ({ Key: `k${n}`, Value: 'v' })) }),
      'InvalidRequest',
      400,
      /Tags/,
    ],
    [
      'manifest Fields without Key',
      (i) => ({ ...i, Manifest: { ...i.Manifest!, Spec: { ...i.Manifest!.Spec!, Fields: ['Bucket'] } } }),
      'InvalidRequest',
      400,
      /Manifest\.Spec\.Fields/,
    ],
    [
      'a manifest format the engine does not read',
      (i) => ({
        ...i,
        Manifest: { ...i.Manifest!, Spec: { ...i.Manifest!.Spec!, Format: 'S3BatchOperations_Parquet' as never } },
      }),
      'InvalidRequest',
      400,
      /Manifest\.Spec\.Format/,
    ],
    [
      'a report Prefix of 513 characters',
      (i) => ({ ...i, Report: { ...i.Report!, Prefix: 'p'.repeat(513) } }),
      'InvalidRequest',
      400,
      /Report\.Prefix/,
    ],
    [
      'a report ExpectedBucketOwner that is not an account id',
      (i) => ({ ...i, Report: { ...i.Report!, ExpectedBucketOwner: 'someone' } }),
      'InvalidRequest',
      400,
      /Report\.ExpectedBucketOwner must be a 12-digit account id/,
    ],
    [
      'S3PutObjectCopy without TargetResource',
      (i) => ({ ...i, Operation: { S3PutObjectCopy: {} } }),
      'InvalidRequest',
      400,
      /Operation\.S3PutObjectCopy\.TargetResource/,
    ],
    [
      'a ManifestGenerator next to a Manifest',
      (i) => ({
        ...i,
        ManifestGenerator: {
          S3JobManifestGenerator: {
            SourceBucket: `arn:aws:s3:::${i.Manifest!.Location!.ObjectArn!.split(':::')[1]!.split('/')[0]}`,
            EnableManifestOutput: false,
          },
        },
      }),
      'InvalidRequest',
      400,
      /Manifest and ManifestGenerator cannot both be given/,
    ],
  ];
  const sdkRows = rowRunner(async (c: SdkCase) => {
    const row = await engineRow();
    return { row, err: await sdkError(control.send(new CreateJobCommand(c[1](row.input)))) };
  });

  type RawCase = [name: string, operation: string, message: RegExp];
  const RAW_CASES: RawCase[] = [
    [
      'two operations in one request',
      '<S3DeleteObjectTagging/><S3PutObjectTagging><TagSet/></S3PutObjectTagging>',
      /Operation must contain exactly one operation element/,
    ],
    ['an operation the API does not have', '<S3ShredObject/>', /Operation S3ShredObject is not a known operation/],
  ];
  const rawRows = rowRunner(async (c: RawCase) => {
    const row = await engineRow();
    const NS = 'http://awss3control.amazonaws.com/doc/2018-08-20/';
    const body =
      `<CreateJobRequest xmlns="${NS}"><ConfirmationRequired>true</ConfirmationRequired>` +
      `<Operation>${c[1]}</Operation><Report><Enabled>false</Enabled></Report>` +
      `<ClientRequestToken>${row.input.ClientRequestToken}</ClientRequestToken><Priority>1</Priority>` +
      `<RoleArn>${row.input.RoleArn}</RoleArn><Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format>` +
      '<Fields><member>Bucket</member><member>Key</member></Fields></Spec><Location>' +
      `<ObjectArn>${row.input.Manifest!.Location!.ObjectArn}</ObjectArn><ETag>${row.input.Manifest!.Location!.ETag}</ETag>` +
      '</Location></Manifest></CreateJobRequest>';
    const res = await fetch(`${stackEndpoints().engineUrl}/v20180820/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', 'x-amz-account-id': row.account },
      body,
    });
    const text = await res.text();
    return {
      row,
      status: res.status,
      code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1],
      message: /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? text,
    };
  });
  beforeAll(() => {
    sdkRows.kick(SDK_CASES);
    rawRows.kick(RAW_CASES);
  });

  const nothingFrom = async (row: EngineRow) =>
    expect(await leftovers(s3, { accountId: row.account, bucket: row.bucket, prefix: 'reports' })).toEqual(NOTHING);

  test.each(SDK_CASES)('%s → 400 InvalidRequest naming the field; no job, no report, no upload', async (...c) => {
    const { row, err } = await sdkRows.get(SDK_CASES.find((x) => x[0] === c[0])!);
    expect({ name: err.name, status: err.status }).toEqual({ name: c[2], status: c[3] });
    expect(err.message).toMatch(c[4]);
    await nothingFrom(row);
  });

  test.each(RAW_CASES)('raw XML, %s → 400 InvalidRequest; no job, no report, no upload', async (...c) => {
    const { row, status, code, message } = await rawRows.get(RAW_CASES.find((x) => x[0] === c[0])!);
    expect({ status, code }).toEqual({ status: 400, code: 'InvalidRequest' });
    expect(message).toMatch(c[2]);
    await nothingFrom(row);
  });

  test('a ClientRequestToken reused with a different request → 409 IdempotencyException; only the first job exists', async () => {
    const row = await engineRow();
    const first = await control.send(new CreateJobCommand(row.input));
    const err = await sdkError(control.send(new CreateJobCommand({ ...row.input, Priority: 99 })));
    expect({ name: err.name, status: err.status }).toEqual({ name: 'IdempotencyException', status: 409 });
    expect(err.message).toMatch(
      new RegExp(`ClientRequestToken ${escapeRegex(row.input.ClientRequestToken!)}.*${first.JobId}`),
    );
    const left = await leftovers(s3, { accountId: row.account, bucket: row.bucket, prefix: 'reports' });
    expect({ ...left, jobs: left.jobs.map((j) => j.split(' ')[0]) }).toEqual({ ...NOTHING, jobs: [first.JobId] });
    // The first job is unchanged by the refused request.
    const kept = await control.send(new DescribeJobCommand({ AccountId: row.account, JobId: first.JobId }));
    expect(kept.Job!.Priority).toBe(10);
  });
});

describe("the engine's fault API (/_local/faults)", () => {
  /** Each rule names a bucket that does not exist: a rule accepted by mistake can never fail another test's task. */
  const inert = (over: Record<string, unknown>) => ({
    id: uniqueName('bi-rule'),
    ...over,
    match: { bucket: uniqueName('bi-no-such-bucket'), ...(over.match as object) },
  });
  type FaultCase = [name: string, method: 'POST' | 'PUT', body: unknown, status: number, code: string, message: RegExp];
  const FAULT_CASES: FaultCase[] = [
    [
      // "^(a+)+$" is accepted and matched in linear time (engine-faults tests it); what cannot be is refused.
      'a keyRegex with a backreference (it could backtrack without bound)',
      'POST',
      inert({ match: { keyRegex: '^(a+)\\1$' } }),
      400,
      'InvalidFaultRule',
      /match\.keyRegex: uses a backreference or lookaround, which cannot be matched in linear time/,
    ],
    [
      'a keyRegex that does not compile',
      'POST',
      inert({ match: { keyRegex: '(' } }),
      400,
      'InvalidFaultRule',
      /match\.keyRegex: is not a valid regular expression/,
    ],
    [
      'an unknown field',
      'POST',
      inert({ failEverything: true }),
      400,
      'InvalidFaultRule',
      /unknown field\(s\) failEverything/,
    ],
    ['httpStatus 700', 'POST', inert({ httpStatus: 700 }), 400, 'InvalidFaultRule', /httpStatus/],
    ['rate 2', 'POST', inert({ rate: 2 }), 400, 'InvalidFaultRule', /rate/],
    ['a body that is not JSON', 'POST', '{"match": ', 400, 'BadRequest', /the body is not valid JSON/],
    [
      'PUT of a list whose second rule is bad (the list is replaced all or nothing)',
      'PUT',
      [inert({ latencyMs: 1 }), inert({ latencyMs: -1 })],
      400,
      'InvalidFaultRule',
      /latencyMs/,
    ],
  ];
  const engineUrl = () => stackEndpoints().engineUrl;

  test.each(FAULT_CASES)('%s → 400 naming the field; the rule set is unchanged', async (...c) => {
    // A rule of our own that must survive a refused PUT; faults are per engine, and this file's stack is its own.
    const keeper = inert({ latencyMs: 0 });
    expect((await admin(engineUrl(), 'POST', '/_local/faults', keeper)).status).toBe(201);
    try {
      const before = await admin(engineUrl(), 'GET', '/_local/faults');
      const res = await admin(engineUrl(), c[1], '/_local/faults', c[2]);
      const after = await admin(engineUrl(), 'GET', '/_local/faults');
      expect(res.status).toBe(c[3]);
      expect(res.json).toMatchObject({ error: c[4], message: expect.stringMatching(c[5]) });
      expect(after.json).toEqual(before.json);
    } finally {
      const rules = (await admin(engineUrl(), 'GET', '/_local/faults')).json as { id: string }[];
      const ours = [keeper, ...(Array.isArray(c[2]) ? c[2] : [c[2]])].map((r) => (r as { id?: string }).id);
      for (const r of rules.filter((x) => ours.includes(x.id)))
        await admin(engineUrl(), 'DELETE', `/_local/faults/${r.id}`);
    }
  });
});

// =====================================================================================================================
// Approve / reject payloads: a garbage decision is refused (Update) or ignored and recorded (signal); the campaign
// keeps waiting, its job stays Suspended and no object is touched
// =====================================================================================================================

describe('approve and reject payloads', () => {
  type Via = 'signal' | 'update' | 'cli';
  type DecisionCase = [name: string, via: Via, decision: 'approve' | 'reject', payload: unknown];
  const DECISION_CASES: DecisionCase[] = [
    ["signal approve [1,2] (temporal workflow signal --input '[1,2]')", 'signal', 'approve', [1, 2]],
    ['signal approve "just a string"', 'signal', 'approve', 'just a string'],
    ['signal approve null', 'signal', 'approve', null],
    ['signal approve {} (no by)', 'signal', 'approve', {}],
    ['signal approve { by: "" }', 'signal', 'approve', { by: '' }],
    ['signal reject { by: 42 }', 'signal', 'reject', { by: 42 }],
    ['update approve "just a string"', 'update', 'approve', 'just a string'],
    ['update approve [1,2]', 'update', 'approve', [1, 2]],
    ['update approve { note: "no by" }', 'update', 'approve', { note: 'no by' }],
    ['update reject null', 'update', 'reject', null],
    ['s3-campaigns approve --by ""', 'cli', 'approve', ['--by', '']],
    ['s3-campaigns reject --by ""', 'cli', 'reject', ['--by', '']],
  ];

  interface Waiting {
    account: string;
    bucket: string;
    handle: WorkflowHandle;
    jobId: string;
  }
  /** A put-tags campaign on one object, awaiting approval of its one (Suspended) job. */
  const campaigns = rowRunner(async (c: DecisionCase): Promise<Waiting> => {
    const account = randomAccount();
    const bucket = await rowBucket(s3, buckets, 'bi-decide');
    await putObjects(s3, bucket, ['k1']);
    const handle = await h.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
      taskQueue: h.taskQueue,
      workflowId: uniqueName(`bi-decide-${c[1]}`),
      args: [baseSpec(account, bucket)],
    });
    handles.push(handle);
    const waiting = await waitForPhase(handle, 'AwaitingApproval');
    return { account, bucket, handle, jobId: waiting.awaitingApproval!.jobIds[0]! };
  });
  beforeAll(() => campaigns.kick(DECISION_CASES));
  afterAll(async () => {
    // Each campaign still waiting is rejected properly, which cancels its job.
    for (const c of DECISION_CASES) {
      const w = await campaigns.get(c).catch(() => undefined);
      if (!w) continue;
      const s = await w.handle.query(statusQuery).catch(() => undefined);
      if (s?.phase !== 'AwaitingApproval') continue;
      await w.handle
        .executeUpdate(rejectUpdate, { args: [{ by: 'bad-input-test', note: 'cleanup' }] })
        .catch(() => undefined);
      await w.handle.result().catch(() => undefined);
    }
  });

  test.each(DECISION_CASES)(
    '%s → refused, naming by; still awaiting approval, job Suspended, nothing tagged',
    async (...c) => {
      const [, via, decision, payload] = c;
      const w = await campaigns.get(DECISION_CASES.find((x) => x[0] === c[0])!);
      let status: CampaignStatus;
      if (via === 'signal') {
        await w.handle.signal(decision, payload);
        status = await waitForStatus(
          w.handle,
          (s) => s.ignoredSignals.length > 0 || s.pendingDecision !== undefined || s.phase !== 'AwaitingApproval',
          'the signal to be handled',
        );
        expect(status.ignoredSignals).toEqual([
          expect.objectContaining({ name: decision, reason: expect.stringMatching(/\bby\b/) }),
        ]);
      } else if (via === 'update') {
        const err = await w.handle.executeUpdate(decision, { args: [payload] }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
        expect((err as WorkflowUpdateFailedError).cause?.message).toMatch(/\bby\b/);
        status = await w.handle.query(statusQuery);
      } else {
        const res = await cliSlot(() =>
          runCli([decision, w.handle.workflowId, ...(payload as string[])], {
            TEMPORAL_ADDRESS: stackEndpoints().temporalAddress,
          }),
        );
        // 1: the workflow's validator refused it; 2: the CLI refused the flag before asking. Both leave it pending.
        expect([1, 2]).toContain(res.code);
        expect(res.stderr).toMatch(/\bby\b/);
        status = await w.handle.query(statusQuery);
      }
      expect({ phase: status.phase, pendingDecision: status.pendingDecision }).toEqual({
        phase: 'AwaitingApproval',
        pendingDecision: undefined,
      });
      // One job, still held; no report, no retry manifest, no upload; the object untouched.
      const folder = `campaigns/${w.handle.workflowId}/`;
      const left = await leftovers(s3, { accountId: w.account, bucket: w.bucket, prefix: folder });
      const kept = (k: string) => !k.startsWith(`${folder}manifests/`) && k !== `${folder}campaign-run.json`;
      expect({ ...left, objects: left.objects.filter(kept) }).toEqual({
        ...NOTHING,
        jobs: [`${w.jobId} Suspended`],
      });
      const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: w.bucket, Key: 'k1' }));
      expect(tags.TagSet).toEqual([]);
    },
  );
});
