/**
 * The listing benchmark's index server (bench/listing.ts), in a worker thread of its own so that building its answers
 * does not compete with the listers for the main thread: ListObjectsV2 over `bucketKeys(n)` on 127.0.0.1, every answer
 * held `latency` ms. Posts its URL to the parent; stops when the parent terminates the thread.
 */
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

import { compareKeys } from '../src/listing';
import { bucketKeys } from './listing-keys';

const xml = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A ListObjectsV2 server over `keys` (sorted in S3's order) on 127.0.0.1: prefix, start-after, continuation-token,
 * max-keys and encoding-type, each page found by binary search, every answer held `ms` first.
 */
export async function indexServer(keys: string[], ms: number): Promise<{ url: string; close: () => Promise<void> }> {
  const bytes = keys.map((k) => Buffer.from(k, 'utf8'));
  const firstAfter = (after: string | null) => {
    if (after === null) return 0;
    const a = Buffer.from(after, 'utf8');
    let lo = 0;
    let hi = bytes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (Buffer.compare(bytes[mid]!, a) > 0) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const server = http.createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const prefix = q.get('prefix') ?? '';
    const token = q.get('continuation-token');
    const from = firstAfter(token !== null ? Buffer.from(token, 'base64url').toString('utf8') : q.get('start-after'));
    const max = Number(q.get('max-keys') ?? 1000);
    const url = q.get('encoding-type') === 'url';
    const page: string[] = [];
    let i = from;
    for (; i < keys.length && page.length < max; i++) {
      if (keys[i]!.startsWith(prefix)) page.push(keys[i]!);
      else if (keys[i]! > prefix) break;
    }
    const truncated = i < keys.length && keys[i]!.startsWith(prefix);
    const body =
      '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Name>index</Name><Prefix>${xml(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys>` +
      (url ? '<EncodingType>url</EncodingType>' : '') +
      `<IsTruncated>${truncated}</IsTruncated>` +
      (truncated
        ? `<NextContinuationToken>${Buffer.from(page[page.length - 1]!, 'utf8').toString('base64url')}</NextContinuationToken>`
        : '') +
      page
        .map(
          (k) =>
            `<Contents><Key>${url ? encodeURIComponent(k) : xml(k)}</Key><LastModified>2024-01-01T00:00:00.000Z` +
            '</LastModified><ETag>"x"</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>',
        )
        .join('') +
      '</ListBucketResult>';
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(body);
    }, ms);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const { objects, latency } = workerData as { objects: number; latency: number };
void indexServer(bucketKeys(objects).sort(compareKeys), latency).then(({ url }) => parentPort?.postMessage(url));
