/**
 * Restore tracking at scale, next to its anchors, in one run:
 *
 *   npm run bench:tracking                                   # 1,000,000 tracked objects, 2,000 events
 *   node dist/bench/restore-tracking.js --objects 200000 --messages 1000 --concurrency 32
 *   node dist/bench/restore-tracking.js --heap-mb 96 --parts sweep   # creation and sweeps under a 96 MB V8 heap cap
 *
 * 1. HEAD sweep: one `advanceRestoreTracking` step (sweep on, no rate limit, `--concurrency` HEADs in flight) over a
 *    tracking set of `--objects` objects, next to a plain loop of HeadObject calls with the same SDK client settings
 *    and concurrency (the anchor). The objects do not exist one by one in moto (a million PUTs would take far longer
 *    than the sweep): HEADs go to a small local HTTP server that answers like S3 (x-amz-storage-class GLACIER,
 *    content-length, and an x-amz-restore header: restored with an expiry for half of the keys, ongoing for the
 *    rest), and proxies every other request (the tracking set's GET/PUT/LIST) to moto. Both sides hit that server.
 * 2. Peak RSS of the creation and of the sweep at a tenth of `--objects` and at `--objects` (each in its own child
 *    process): it must stay flat, since nothing holds more than one shard. V8 grows its heap lazily when nothing
 *    caps it, so `--heap-mb` runs those children under `--max-old-space-size`: a process whose memory grew with the
 *    objects would fail there.
 * 3. Event consumption: `consumeRestoreEvents` draining `--messages` S3 restore notifications from a moto SQS queue
 *    into event files, next to a plain ReceiveMessage + DeleteMessageBatch loop over an identical queue (the anchor).
 *    moto scans every message of a queue, in flight or not, on each receive, so the consumer, which keeps messages
 *    in flight until their facts are written, pays more per receive there than it would on SQS; both sides' mean
 *    receive latency is printed.
 * 4. Cost per million objects tracked, from the requests the bench counted: HEAD at $0.0004 per 1,000, SQS at $0.40
 *    per million requests, and the tracking set's own S3 requests (GET $0.0004, PUT/LIST $0.005 per 1,000).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { MockActivityEnvironment } from '@temporalio/testing';

import { createRestoreTrackingActivities } from '../src/activities/restore-tracking';
import { encodeManifestKey } from '../src/inventory/key-encoding';
import { createLogger } from '../src/logging';
import { quietSdkNodeWarningOnNode20 } from '../src/node-support';
import { objectHash } from '../src/restore-tracking/shard-hash';
import type {
  AdvanceRestoreTrackingResult,
  ConsumeRestoreEventsResult,
  CreateRestoreTrackingResult,
} from '../src/shared/restore-tracking-types';
import { freePort } from '../src/stack/process';
import { LOCAL_CREDENTIALS, startS3 } from '../src/stack';
import { peakRssMB } from './peak-rss';

quietSdkNodeWarningOnNode20();

const BUCKET = 'bench-tracking';
/** List prices (reference §9 and the brief): per request. */
const PRICE = { get: 0.0004 / 1000, put: 0.005 / 1000, sqs: 0.4 / 1e6 };

interface Args {
  objects: number;
  messages: number;
  concurrency: number;
  /** V8 old-space cap of the creation and sweep children, MB; 0 for none. */
  heapMb: number;
  parts: Set<string>;
}

const USAGE =
  'usage: restore-tracking [--objects N] [--messages N] [--concurrency N] [--heap-mb N] [--parts sweep,events]';

function parseArgs(argv: string[]): Args {
  // 2,000 events: moto's SQS slows down with the queue's length (a receive scans every message), 5,000 took 25 min.
  const args: Args = {
    objects: 1_000_000,
    messages: 2_000,
    concurrency: 32,
    heapMb: 0,
    parts: new Set(['sweep', 'events']),
  };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]?.replace(/^--/, '');
    const raw = argv[i + 1] ?? '';
    if (name === 'parts') {
      args.parts = new Set(raw.split(','));
      if ([...args.parts].some((p) => p !== 'sweep' && p !== 'events')) throw new Error(USAGE);
      continue;
    }
    const value = Number(raw);
    const key = name === 'heap-mb' ? 'heapMb' : name;
    if (
      !key ||
      !['objects', 'messages', 'concurrency', 'heapMb'].includes(key) ||
      !Number.isInteger(value) ||
      value < 0
    ) {
      throw new Error(`${USAGE} (bad: ${argv[i]} ${raw})`);
    }
    (args as unknown as Record<string, number>)[key] = value;
  }
  return args;
}

const keyOf = (i: number) => `data/2024/${i % 1000}/object ${i.toString(36).padStart(8, '0')}.bin`;

function s3(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
}

function sqs(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
}

/** Counts every command a client sends, by name. */
function counted<T extends S3Client | SQSClient>(client: T): { client: T; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  (client as S3Client).middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, '');
      counts[name] = (counts[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'benchCount' },
  );
  return { client, counts };
}

/**
 * The HEAD stand-in: answers HEAD like S3 for any key of the bench bucket (half restored with an expiry, half still
 * restoring), proxies everything else to moto.
 */
function startHeadServer(port: number, moto: URL): Promise<http.Server> {
  const expiry = new Date(Date.now() + 10 * 86_400_000).toUTCString();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    if (req.method === 'HEAD') {
      const key = decodeURIComponent((req.url ?? '').split('?')[0]!.slice(BUCKET.length + 2));
      const restored = objectHash(BUCKET, key) % 2 === 0;
      res.writeHead(200, {
        'content-length': '1048576',
        etag: '"0123456789abcdef0123456789abcdef"',
        'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT',
        'x-amz-storage-class': 'GLACIER',
        'x-amz-restore': restored ? `ongoing-request="false", expiry-date="${expiry}"` : 'ongoing-request="true"',
      });
      res.end();
      return;
    }
    // Node has answered any `Expect: 100-continue` already; moto must not wait for a body it was promised twice.
    const headers = { ...req.headers };
    delete headers.expect;
    const upstream = http.request(
      { host: moto.hostname, port: moto.port, method: req.method, path: req.url, headers, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

// ---- children: each measures its own peak RSS ----

function cpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

interface SweepOut {
  seconds: number;
  /** This process's CPU time (user + system), s. */
  cpuSeconds: number;
  rssMB: number;
  result: AdvanceRestoreTrackingResult;
  counts: Record<string, number>;
}

async function childCreate(endpoint: string, prefix: string, manifestKey: string): Promise<unknown> {
  const started = process.hrtime.bigint();
  const { createRestoreTracking } = createRestoreTrackingActivities({ s3: s3(endpoint) });
  const result: CreateRestoreTrackingResult = await new MockActivityEnvironment().run(createRestoreTracking, {
    tracking: { bucket: BUCKET, prefix },
    manifests: [{ bucket: BUCKET, key: manifestKey }],
    tier: 'BULK',
  });
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, rssMB: peakRssMB(), result };
}

async function childSweep(endpoint: string, prefix: string, concurrency: number): Promise<SweepOut> {
  const { client, counts } = counted(s3(endpoint));
  const { advanceRestoreTracking } = createRestoreTrackingActivities({ s3: client });
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const result: AdvanceRestoreTrackingResult = await new MockActivityEnvironment().run(advanceRestoreTracking, {
    tracking: { bucket: BUCKET, prefix },
    stepId: 'bench-sweep',
    sweep: true,
    headConcurrency: concurrency,
    headRatePerSecond: 0,
  });
  return {
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    cpuSeconds: cpuSince(cpu),
    rssMB: peakRssMB(),
    result,
    counts,
  };
}

async function childAnchorHead(endpoint: string, objects: number, concurrency: number): Promise<unknown> {
  const client = s3(endpoint);
  let next = 0;
  let restored = 0;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < objects) {
        const out = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: keyOf(next++) }));
        if (out.Restore?.includes('ongoing-request="false"')) restored += 1;
      }
    }),
  );
  return {
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    cpuSeconds: cpuSince(cpu),
    rssMB: peakRssMB(),
    restored,
  };
}

/** Adds up how long each ReceiveMessage call takes. */
function timedReceives(client: SQSClient): { calls: number; ms: number } {
  const t = { calls: 0, ms: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'ReceiveMessageCommand') return next(args);
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        t.calls += 1;
        t.ms += performance.now() - started;
      }
    },
    { step: 'initialize', name: 'timedReceives' },
  );
  return t;
}

async function childConsume(endpoint: string, prefix: string, queueUrl: string): Promise<unknown> {
  const { client: s3c, counts: s3Counts } = counted(s3(endpoint));
  const { client: sqsc, counts: sqsCounts } = counted(sqs(endpoint));
  const receives = timedReceives(sqsc);
  const { consumeRestoreEvents } = createRestoreTrackingActivities({ s3: s3c, sqs: sqsc });
  const started = process.hrtime.bigint();
  const result: ConsumeRestoreEventsResult = await new MockActivityEnvironment().run(consumeRestoreEvents, {
    tracking: { bucket: BUCKET, prefix },
    queue: { queueUrl },
    consumerId: 'bench',
    waitTimeSeconds: 1,
    stopWhenEmpty: true,
    maxMessages: 10_000_000,
    maxDurationMs: 3_600_000,
  });
  return {
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    rssMB: peakRssMB(),
    result,
    s3Counts,
    sqsCounts,
    receiveMs: receives.ms / Math.max(1, receives.calls),
  };
}

async function childAnchorSqs(endpoint: string, queueUrl: string): Promise<unknown> {
  const client = sqs(endpoint);
  const receives = timedReceives(client);
  let received = 0;
  let calls = 0;
  const started = process.hrtime.bigint();
  for (;;) {
    calls += 1;
    const out = await client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    received += messages.length;
    calls += 1;
    await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
  return {
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    rssMB: peakRssMB(),
    received,
    calls,
    receiveMs: receives.ms / Math.max(1, receives.calls),
  };
}

/** Runs a child and parses what it prints. Asynchronously: this process serves the HEAD stand-in meanwhile. */
function runChild<T>(args: string[], heapMb = 0): Promise<T> {
  const flags = heapMb > 0 ? [`--max-old-space-size=${heapMb}`] : [];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...flags, __filename, '--child', ...args],
      { encoding: 'utf-8', env: { ...process.env, S3C_LOG_LEVEL: 'warn' }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`child ${args[0]} failed: ${err.message}\n${stderr.slice(-2000)}`));
        else resolve(JSON.parse(stdout) as T);
      },
    );
  });
}

async function child(argv: string[]): Promise<void> {
  const [what, ...rest] = argv;
  let out: unknown;
  if (what === 'create') out = await childCreate(rest[0]!, rest[1]!, rest[2]!);
  else if (what === 'sweep') out = await childSweep(rest[0]!, rest[1]!, Number(rest[2]));
  else if (what === 'anchor-head') out = await childAnchorHead(rest[0]!, Number(rest[1]), Number(rest[2]));
  else if (what === 'consume') out = await childConsume(rest[0]!, rest[1]!, rest[2]!);
  else if (what === 'anchor-sqs') out = await childAnchorSqs(rest[0]!, rest[1]!);
  else throw new Error(`unknown child ${what}`);
  process.stdout.write(JSON.stringify(out));
}

// ---- parent ----

async function seedManifest(client: S3Client, key: string, objects: number): Promise<void> {
  const lines: string[] = [];
  for (let i = 0; i < objects; i++) lines.push(`${BUCKET},${encodeManifestKey(keyOf(i))}\n`);
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: lines.join('') }));
}

/** `messages` S3 ObjectRestore:Completed notifications for objects of the tracked set, 10 per SendMessageBatch. */
async function seedQueue(client: SQSClient, name: string, messages: number, objects: number): Promise<string> {
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name }));
  const expiry = new Date(Date.now() + 10 * 86_400_000).toISOString();
  for (let i = 0; i < messages; i += 10) {
    const Entries = Array.from({ length: Math.min(10, messages - i) }, (_, j) => {
      const n = ((i + j) * 7919) % objects;
      const body = {
        Records: [
          {
            eventVersion: '2.1',
            eventSource: 'aws:s3',
            eventTime: new Date().toISOString(),
            eventName: 'ObjectRestore:Completed',
            s3: {
              bucket: { name: BUCKET },
              object: { key: encodeURIComponent(keyOf(n)).replace(/%20/g, '+').replace(/%2F/g, '/'), size: 1048576 },
            },
            glacierEventData: {
              restoreEventData: { lifecycleRestorationExpiryTime: expiry, lifecycleRestoreStorageClass: 'GLACIER' },
            },
          },
        ],
      };
      return { Id: String(j), MessageBody: JSON.stringify(body) };
    });
    await client.send(new SendMessageBatchCommand({ QueueUrl, Entries }));
  }
  return QueueUrl!;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
const usd = (n: number) => `$${n.toFixed(n < 0.1 ? 4 : 2)}`;

interface ConsumeOut {
  seconds: number;
  rssMB: number;
  result: ConsumeRestoreEventsResult;
  s3Counts: Record<string, number>;
  sqsCounts: Record<string, number>;
  receiveMs: number;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return child(argv.slice(1));
  const args = parseArgs(argv);
  const small = Math.max(1, Math.floor(args.objects / 10));
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-bench-tracking-'));
  const log = createLogger('bench');
  const moto = await startS3({ dir, log });
  const port = await freePort();
  const server = await startHeadServer(port, new URL(moto.endpoint));
  const stub = `http://127.0.0.1:${port}`;
  const cap = args.heapMb > 0 ? `, V8 heap capped at ${args.heapMb} MB` : '';
  try {
    const direct = s3(moto.endpoint);
    await direct.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const created = new Set<number>();
    const createSet = async (n: number) => {
      await seedManifest(direct, `manifests/m-${n}.csv`, n);
      created.add(n);
      return runChild<{ seconds: number; rssMB: number; result: CreateRestoreTrackingResult }>(
        ['create', moto.endpoint, `t-${n}`, `manifests/m-${n}.csv`],
        args.heapMb,
      );
    };

    // 1-2. Tracking sets of a tenth and of all the objects, then one sweep of each in its own process.
    let sweep: { big: SweepOut; anchor: { seconds: number; cpuSeconds: number; rssMB: number } } | undefined;
    if (args.parts.has('sweep')) {
      console.log(`\nrestore tracking: HEAD sweep (HEADs answered by a local S3-like stub; tracking files in moto)`);
      const sizes = [...new Set([small, args.objects])];
      const sweeps = new Map<number, SweepOut>();
      const creates = new Map<number, { seconds: number; rssMB: number; result: CreateRestoreTrackingResult }>();
      for (const n of sizes) {
        creates.set(n, await createSet(n));
        sweeps.set(n, await runChild<SweepOut>(['sweep', stub, `t-${n}`, String(args.concurrency)], args.heapMb));
      }
      const anchor = await runChild<{ seconds: number; cpuSeconds: number; rssMB: number; restored: number }>([
        'anchor-head',
        stub,
        String(args.objects),
        String(args.concurrency),
      ]);
      const big = sweeps.get(args.objects)!;
      if (big.result.counts.restored !== anchor.restored) {
        throw new Error(`the sweep found ${big.result.counts.restored} restored, the anchor ${anchor.restored}`);
      }
      sweep = { big, anchor };
      const ours = args.objects / big.seconds;
      const theirs = args.objects / anchor.seconds;
      console.log(
        `  advanceRestoreTracking sweep   ${fmt(args.objects)} objects  ${big.seconds.toFixed(1)} s  ${fmt(ours)} objects/s` +
          `  (${fmt(big.result.headRequests)} HEADs, ${fmt(big.result.counts.restored)} restored, concurrency ${args.concurrency})`,
      );
      console.log(
        `  plain HeadObject loop (anchor) ${fmt(args.objects)} objects  ${anchor.seconds.toFixed(1)} s  ${fmt(theirs)} objects/s`,
      );
      console.log(`  ratio                          ${(ours / theirs).toFixed(2)}× the anchor's rate`);
      console.log(
        `  CPU per object (client side)   ${((big.cpuSeconds / args.objects) * 1e6).toFixed(0)} µs vs ` +
          `${((anchor.cpuSeconds / args.objects) * 1e6).toFixed(0)} µs for the anchor`,
      );
      console.log(`\n  peak RSS (each in its own process${cap})`);
      for (const n of sizes) {
        const c = creates.get(n)!;
        const w = sweeps.get(n)!;
        console.log(
          `    ${fmt(n).padStart(10)} objects: create ${c.rssMB.toFixed(0)} MB (${c.seconds.toFixed(1)} s, ` +
            `${c.result.shards} shards)   sweep ${w.rssMB.toFixed(0)} MB (${w.seconds.toFixed(1)} s)`,
        );
      }
      console.log(`    anchor loop (${fmt(args.objects)} HEADs, no cap): ${anchor.rssMB.toFixed(0)} MB`);
    }

    // 3. Events, into the smaller tracking set.
    let events: ConsumeOut | undefined;
    if (args.parts.has('events')) {
      if (!created.has(small)) await createSet(small);
      console.log(`\nrestore tracking: event consumption from moto SQS (${fmt(args.messages)} messages)`);
      const client = sqs(moto.endpoint);
      const q1 = await seedQueue(client, 'bench-ours', args.messages, small);
      const q2 = await seedQueue(client, 'bench-anchor', args.messages, small);
      events = await runChild<ConsumeOut>(['consume', moto.endpoint, `t-${small}`, q1]);
      const sqsAnchor = await runChild<{ seconds: number; rssMB: number; received: number; receiveMs: number }>([
        'anchor-sqs',
        moto.endpoint,
        q2,
      ]);
      const evOurs = events.result.deleted / events.seconds;
      const evTheirs = sqsAnchor.received / sqsAnchor.seconds;
      console.log(
        `  consumeRestoreEvents           ${fmt(events.result.deleted)} messages  ${events.seconds.toFixed(1)} s  ` +
          `${fmt(evOurs, 1)} messages/s  (${events.result.files} event files, mean ReceiveMessage ` +
          `${events.receiveMs.toFixed(0)} ms, peak RSS ${events.rssMB.toFixed(0)} MB)`,
      );
      console.log(
        `  Receive+DeleteBatch (anchor)   ${fmt(sqsAnchor.received)} messages  ${sqsAnchor.seconds.toFixed(1)} s  ` +
          `${fmt(evTheirs, 1)} messages/s  (mean ReceiveMessage ${sqsAnchor.receiveMs.toFixed(0)} ms, ` +
          `peak RSS ${sqsAnchor.rssMB.toFixed(0)} MB)`,
      );
      console.log(`  ratio                          ${(evOurs / evTheirs).toFixed(2)}× the anchor's rate`);
    }

    // 4. Cost per million objects tracked, from what was counted.
    console.log(`\ncost per million objects tracked (list prices; counts from this run)`);
    if (sweep) {
      const perMillion = 1e6 / args.objects;
      const c = sweep.big.counts;
      const headCost = (c.HeadObject ?? 0) * PRICE.get * perMillion;
      const gets = (c.GetObject ?? 0) * perMillion;
      const puts = ((c.PutObject ?? 0) + (c.ListObjectsV2 ?? 0) + (c.DeleteObjects ?? 0)) * perMillion;
      console.log(
        `  one HEAD sweep                 ${usd(headCost)}  (${fmt((c.HeadObject ?? 0) * perMillion)} HEADs at $0.0004/1,000)`,
      );
      console.log(
        `  one step's tracking files      ${usd(gets * PRICE.get + puts * PRICE.put)}  (${fmt(gets)} GET, ${fmt(puts)} PUT/LIST)`,
      );
    }
    if (events) {
      const sqsRequests = (events.sqsCounts.ReceiveMessage ?? 0) + (events.sqsCounts.DeleteMessageBatch ?? 0);
      const sqsPerMillion = (sqsRequests / events.result.deleted) * 1e6 * PRICE.sqs;
      const putsPerMillion = ((events.s3Counts.PutObject ?? 0) / events.result.deleted) * 1e6;
      console.log(
        `  events, one per object         ${usd(sqsPerMillion + putsPerMillion * PRICE.put)}  (SQS ${usd(sqsPerMillion)}: ` +
          `${(sqsRequests / events.result.deleted).toFixed(3)} requests/message at $0.40/million; event files ` +
          `${usd(putsPerMillion * PRICE.put)}: ${fmt(putsPerMillion)} PUTs, one per shard a flush touches)`,
      );
    }
  } finally {
    server.close();
    await moto.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
