/**
 * Bucket listing rate: our parallel lister (`listBucket`, the `bucket` source's) next to its anchor, a plain
 * paginated ListObjectsV2 loop with the AWS SDK (ContinuationToken, 1,000 keys a page), on the same bucket in the
 * same run.
 *
 *   npm run bench:listing                # moto: 10,000 keys; index server: 200,000 keys; 30 ms injected latency
 *   node dist/bench/listing.js --objects 20000 --index-objects 500000 --latency 50 --concurrency 32 --rounds 3
 *
 * The keys have a realistic shape: spread over many prefixes of uneven size
 * (`events/<region>/<yyyy-mm-dd>/<hex>-<n>.json.gz`), some with characters that need URL-encoding.
 *
 * Three backends, each named in the output:
 * 1. moto as it is (started here, as the other benches do). Moto builds every page from the whole bucket in Python,
 *    one request at a time, so a request costs time in proportion to the bucket, not to the page: more requests can
 *    only be slower there, in parallel or not.
 * 2. moto behind a local proxy (127.0.0.1, started here) that holds each request `--latency` ms: the network and
 *    service time of real S3, which listing in parallel hides, added to moto's own.
 * 3. An index server (a worker thread of this process, on 127.0.0.1) that answers ListObjectsV2 from a sorted array (a page costs a
 *    binary search) behind the same injected latency: S3's latency without moto's per-request cost. This is a model,
 *    not S3; it is here because moto cannot show what parallel listing does against a service whose page cost does
 *    not grow with the bucket.
 * Each round lists with both, the loop first; one warm-up round; figures are medians of the rounds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

import { DEFAULT_LIST_CONCURRENCY, listBucket } from '../src/listing';
import { createLogger } from '../src/logging';
import { quietSdkNodeWarningOnNode20 } from '../src/node-support';
import { LOCAL_CREDENTIALS, startS3 } from '../src/stack';
import { bucketKeys } from './listing-keys';

quietSdkNodeWarningOnNode20();

interface Args {
  objects: number;
  indexObjects: number;
  latency: number;
  concurrency: number;
  rounds: number;
}

function parseArgs(argv: string[]): Args {
  // 10,000 keys in moto: filling it runs at a few hundred PUTs a second here, and its pages cost O(bucket).
  const args: Args = {
    objects: 10_000,
    indexObjects: 200_000,
    latency: 30,
    concurrency: DEFAULT_LIST_CONCURRENCY,
    rounds: 2,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]?.replace(/^--/, '').replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());
    const value = Number(argv[i + 1]);
    if (!name || !(name in args) || !Number.isInteger(value) || value < (name === 'latency' ? 0 : 1)) {
      throw new Error(
        `usage: listing [--objects N] [--index-objects N] [--latency MS] [--concurrency N] [--rounds N] ` +
          `(bad: ${argv[i]} ${argv[i + 1]})`,
      );
    }
    args[name as keyof Args] = value;
  }
  return args;
}

async function pool(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** A proxy on 127.0.0.1 that holds every request `ms` before passing it to `target`. */
async function latencyProxy(target: string, ms: number): Promise<{ url: string; close: () => Promise<void> }> {
  const to = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const server = http.createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      setTimeout(() => {
        const out = http.request(
          { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers, agent },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        out.on('error', (err) => res.destroy(err));
        out.end(Buffer.concat(body));
      }, ms);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function client(endpoint: string, sockets: number): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true, maxSockets: sockets }) }),
  });
}

/** The anchor: one paginated ListObjectsV2 loop. Returns keys listed and requests sent. */
async function plainLoop(s3: S3Client, bucket: string): Promise<{ keys: number; requests: number }> {
  let token: string | undefined;
  let keys = 0;
  let requests = 0;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    requests++;
    keys += page.KeyCount ?? page.Contents?.length ?? 0;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { keys, requests };
}

async function ours(s3: S3Client, bucket: string, concurrency: number): Promise<{ keys: number; requests: number }> {
  let keys = 0;
  let requests = 0;
  await listBucket({
    s3,
    bucket,
    concurrency,
    onRequest: () => requests++,
    onPage: async (_range, page) => {
      keys += page.entries.length;
    },
  });
  return { keys, requests };
}

interface Figures {
  loop: number[];
  ours: number[];
  loopRequests: number;
  ourRequests: number;
}

async function measure(s3: S3Client, bucket: string, args: Args, n: number, label: string): Promise<Figures> {
  const f: Figures = { loop: [], ours: [], loopRequests: 0, ourRequests: 0 };
  for (let round = 0; round <= args.rounds; round++) {
    let t = performance.now();
    const a = await plainLoop(s3, bucket);
    const loopRate = a.keys / ((performance.now() - t) / 1000);
    t = performance.now();
    const b = await ours(s3, bucket, args.concurrency);
    const ourRate = b.keys / ((performance.now() - t) / 1000);
    if (a.keys !== n || b.keys !== n) throw new Error(`listed ${a.keys} (loop) and ${b.keys} (ours) of ${n} keys`);
    console.log(
      `  ${label}, ${round === 0 ? 'warm-up' : `round ${round}`}: plain loop ${loopRate.toFixed(0)} objects/s ` +
        `(${a.requests} requests), ours ${ourRate.toFixed(0)} objects/s (${b.requests} requests)`,
    );
    if (round > 0) {
      f.loop.push(loopRate);
      f.ours.push(ourRate);
    }
    f.loopRequests = a.requests;
    f.ourRequests = b.requests;
  }
  return f;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3c-bench-listing-'));
  const log = createLogger('bench', { level: 'warn' });
  console.log(
    `bucket listing: keys over many prefixes, our concurrency ${args.concurrency}, ${args.rounds} rounds ` +
      `after a warm-up; objects/s of each lister, the same bucket, the same run`,
  );
  const moto = await startS3({ dir, log });
  const direct = client(moto.endpoint, Math.max(50, args.concurrency));
  const proxy = args.latency > 0 ? await latencyProxy(moto.endpoint, args.latency) : undefined;
  const delayed = proxy ? client(proxy.url, Math.max(50, args.concurrency)) : undefined;
  try {
    const bucket = 'bench-listing';
    await direct.send(new CreateBucketCommand({ Bucket: bucket }));
    const keys = bucketKeys(args.objects);
    const t = performance.now();
    await pool(keys.length, 32, async (i) => {
      await direct.send(new PutObjectCommand({ Bucket: bucket, Key: keys[i]!, Body: 'x' }));
    });
    console.log(`  (bucket filled in ${((performance.now() - t) / 1000).toFixed(0)} s)`);

    const results: Array<[string, Figures]> = [];
    results.push([`1. moto as it is, ${keys.length} keys`, await measure(direct, bucket, args, keys.length, 'moto')]);
    if (delayed) {
      results.push([
        `2. moto + ${args.latency} ms injected per request (local proxy), ${keys.length} keys`,
        await measure(delayed, bucket, args, keys.length, `moto +${args.latency} ms`),
      ]);
    }
    const index = new Worker(path.join(__dirname, 'listing-index-server.js'), {
      workerData: { objects: args.indexObjects, latency: args.latency },
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        index.once('message', resolve);
        index.once('error', reject);
      });
      const indexed = client(url, Math.max(50, args.concurrency));
      try {
        results.push([
          `3. index server (a model of S3, not moto) + ${args.latency} ms per request, ${args.indexObjects} keys`,
          await measure(indexed, 'index', args, args.indexObjects, `index +${args.latency} ms`),
        ]);
      } finally {
        indexed.destroy();
      }
    } finally {
      await index.terminate();
    }
    console.log('');
    for (const [label, f] of results) {
      const loop = median(f.loop);
      const our = median(f.ours);
      console.log(`${label}:`);
      console.log(`  plain ListObjectsV2 loop (anchor): ${loop.toFixed(0)} objects/s, ${f.loopRequests} requests`);
      console.log(`  parallel lister:                   ${our.toFixed(0)} objects/s, ${f.ourRequests} requests`);
      const paired = f.ours.map((o, i) => o / f.loop[i]!);
      console.log(
        `  ratio ours / loop: ${(our / loop).toFixed(2)}x (medians); per round ` +
          `${Math.min(...paired).toFixed(2)}x … ${Math.max(...paired).toFixed(2)}x`,
      );
    }
  } finally {
    direct.destroy();
    delayed?.destroy();
    await proxy?.close();
    await moto.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
