/**
 * Where a worker process's memory goes, sampled every second: load it into the worker with
 * `node --require dist/bench/memory-probe.js` and `S3C_MEMORY_PROBE_FILE=<path>`. Node loads `--require` modules in
 * every thread, the SDK's workflow thread included, so each thread reports its own V8 heap (`v8.getHeapStatistics()`,
 * which no API of Node 20 reads from another thread) over a BroadcastChannel; the main thread appends one JSON line
 * per second to the file:
 *
 *   { t, rss, hwm, rssAnon, rssFile, mainHeap, mainHeapUsed, external, arrayBuffers, threads: { <id>: heap }, … }
 *
 * in MiB, where a heap is V8's physical size (what it holds in RSS). bench:campaigns loads it and attributes the
 * peak: main heap, workflow heap, external (ArrayBuffers and other memory V8 accounts for outside its heap), and the
 * rest (native: the SDK's core, malloc, code).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';

/** One sample of the process, in MiB. */
export interface MemorySample {
  /** Milliseconds since the probe started. */
  t: number;
  rss: number;
  /** Peak RSS so far (VmHWM). */
  hwm: number;
  rssAnon: number;
  rssFile: number;
  /** The main thread's V8 heap, physical size. */
  mainHeap: number;
  mainHeapUsed: number;
  /** Memory V8 accounts for outside the main heap (Buffers, ArrayBuffers, native objects' external memory). */
  external: number;
  arrayBuffers: number;
  /** Other threads' V8 heaps (physical size), by thread id: the SDK's workflow thread. */
  threads: Record<string, number>;
  /** Their heaps' used size. */
  threadsUsed: Record<string, number>;
  /** Their heaps' limit. */
  threadsLimit: Record<string, number>;
  /** Memory every V8 isolate (all threads) holds outside its heap through malloc: compiler zones, tables. */
  v8Malloced: number;
  /** The main thread's share of it. */
  mainMalloced: number;
}

const MiB = 2 ** 20;
/** How often every thread samples. */
const SAMPLE_MS = 1000;
const CHANNEL = 's3c-memory-probe';

interface ThreadReport {
  threadId: number;
  physical: number;
  used: number;
  limit: number;
  malloced: number;
}

function procStatus(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const line of readFileSync('/proc/self/status', 'utf8').split('\n')) {
      const m = /^(\w+):\s+(\d+) kB/.exec(line);
      if (m) out[m[1]!] = Number(m[2]) / 1024;
    }
  } catch {
    // Not Linux: RSS from Node only.
  }
  return out;
}

const file = process.env.S3C_MEMORY_PROBE_FILE;
if (file) {
  const channel = new BroadcastChannel(CHANNEL);
  channel.unref();
  if (isMainThread) {
    const start = Date.now();
    const heaps = new Map<number, ThreadReport>();
    channel.onmessage = (event) => {
      const r = (event as { data: ThreadReport }).data;
      heaps.set(r.threadId, r);
    };
    const round = (n: number) => Math.round(n * 10) / 10;
    const timer = setInterval(() => {
      const s = procStatus();
      const mu = process.memoryUsage();
      const h = v8.getHeapStatistics();
      const sample: MemorySample = {
        t: Date.now() - start,
        rss: round(s.VmRSS ?? mu.rss / MiB),
        hwm: round(s.VmHWM ?? 0),
        rssAnon: round(s.RssAnon ?? 0),
        rssFile: round(s.RssFile ?? 0),
        mainHeap: round(h.total_physical_size / MiB),
        mainHeapUsed: round(h.used_heap_size / MiB),
        external: round(mu.external / MiB),
        arrayBuffers: round(mu.arrayBuffers / MiB),
        threads: Object.fromEntries([...heaps].map(([id, r]) => [id, round(r.physical / MiB)])),
        threadsUsed: Object.fromEntries([...heaps].map(([id, r]) => [id, round(r.used / MiB)])),
        threadsLimit: Object.fromEntries([...heaps].map(([id, r]) => [id, round(r.limit / MiB)])),
        mainMalloced: round(h.malloced_memory / MiB),
        v8Malloced: round((h.malloced_memory + [...heaps.values()].reduce((a, r) => a + r.malloced, 0)) / MiB),
      };
      appendFileSync(file, `${JSON.stringify(sample)}\n`);
    }, SAMPLE_MS);
    timer.unref();
  } else {
    const timer = setInterval(() => {
      const h = v8.getHeapStatistics();
      channel.postMessage({
        threadId,
        physical: h.total_physical_size,
        used: h.used_heap_size,
        limit: h.heap_size_limit,
        malloced: h.malloced_memory,
      } satisfies ThreadReport);
    }, SAMPLE_MS);
    timer.unref();
  }
}
