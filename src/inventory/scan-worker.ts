/**
 * Worker thread entry: scans data files one at a time as the pool hands them over (see scan-file.ts for the scan).
 */
import { parentPort } from 'node:worker_threads';

import { acknowledge, scanFile, type FileJob, type ScanPort, type ToWorker } from './scan-file';

const port: ScanPort = { post: (msg, transfer) => parentPort!.postMessage(msg, transfer), inFlight: 0 };

/** Files handed over and not yet started: the pool queues the next one here, so scans follow each other at once. */
const queued: FileJob[] = [];
let scanning = false;

function next(): void {
  if (scanning) return;
  const job = queued.shift();
  if (!job) return;
  scanning = true;
  void scanFile(job, port).finally(() => {
    scanning = false;
    next();
  });
}

parentPort?.on('message', (msg: ToWorker) => {
  if (msg.type === 'ack') {
    acknowledge(port, msg);
  } else {
    queued.push(msg.job);
    next();
  }
});
