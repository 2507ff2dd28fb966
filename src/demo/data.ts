/**
 * The demo data `s3-campaigns dev` seeds into its (fresh, in-memory) S3: a bucket of logs in every class a
 * restore-and-copy campaign sorts (STANDARD, GLACIER, DEEP_ARCHIVE, already restored, and two objects above the
 * demo's 5 MiB `largeObjectThreshold`), an S3 Inventory report of it, the report bucket and the copy target. The
 * examples in `examples/local/` name these buckets.
 */
import { createHash } from 'node:crypto';

import {
  CreateBucketCommand,
  HeadBucketCommand,
  PutObjectCommand,
  RestoreObjectCommand,
  type S3Client,
  type StorageClass,
} from '@aws-sdk/client-s3';

import { writeInventoryReport, type InventoryRow } from './inventory-writer';

/** The bucket of demo objects. */
export const DEMO_DATA_BUCKET = 'demo-archive';
/** Inventory reports and campaign reports. */
export const DEMO_REPORT_BUCKET = 'demo-reports';
/** Where copies go (restore-and-copy and copy examples). */
export const DEMO_TARGET_BUCKET = 'demo-restored';
/** The S3 Inventory destination prefix a campaign's `inventory-latest` source names. */
export const DEMO_INVENTORY_DESTINATION = `s3://${DEMO_REPORT_BUCKET}/inventory/${DEMO_DATA_BUCKET}/daily/`;

const MiB = 2 ** 20;
/** Above the demo's `largeObjectThreshold` (5 MiB, the lowest allowed), so the worker copies them in parts. */
const LARGE_OBJECT_BYTES = 6 * MiB;

/** One demo object: its key, class, size, and whether it is restored before any campaign (by a direct restore). */
export interface DemoObject {
  key: string;
  storageClass: StorageClass;
  bytes: number;
  restored?: boolean;
}

/**
 * 12 Standard, 18 Glacier (two keys with characters manifests must encode), 6 Deep Archive, 3 Glacier objects
 * already restored, and two 6 MiB archived objects: 41 objects, 39 of them small.
 */
export function demoObjects(): DemoObject[] {
  const small = 64 * 24;
  const out: DemoObject[] = [];
  for (let i = 0; i < 12; i++) out.push({ key: `logs/2026/app-${i}.log`, storageClass: 'STANDARD', bytes: small });
  for (let i = 0; i < 16; i++) out.push({ key: `logs/2019/app-${i}.log`, storageClass: 'GLACIER', bytes: small });
  out.push({ key: 'logs/2019/q&a, notes+draft (1).txt', storageClass: 'GLACIER', bytes: small });
  out.push({ key: 'logs/2019/übersicht 100%.csv', storageClass: 'GLACIER', bytes: small });
  for (let i = 0; i < 6; i++)
    out.push({ key: `logs/2015/archive ${i}.tar`, storageClass: 'DEEP_ARCHIVE', bytes: small });
  for (let i = 0; i < 3; i++) {
    out.push({ key: `logs/2018/restored-${i}.log`, storageClass: 'GLACIER', bytes: small, restored: true });
  }
  out.push({ key: 'logs/2017/video-1.bin', storageClass: 'GLACIER', bytes: LARGE_OBJECT_BYTES });
  out.push({ key: 'logs/2017/video-2.bin', storageClass: 'DEEP_ARCHIVE', bytes: LARGE_OBJECT_BYTES });
  return out;
}

/** The bytes of a demo object: a function of its key, so a copy can be checked against it. */
export function demoBody(o: DemoObject): Buffer {
  const out = Buffer.alloc(o.bytes);
  let block = createHash('sha256').update(o.key).digest();
  for (let at = 0; at < o.bytes; at += block.length) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

/** Demo objects written at once while seeding. */
const SEED_CONCURRENCY = 8;

async function putDemoObject(s3: S3Client, o: DemoObject): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: DEMO_DATA_BUCKET,
      Key: o.key,
      Body: demoBody(o),
      StorageClass: o.storageClass,
      Metadata: { origin: 'demo' },
      Tagging: `class=${o.storageClass}`,
    }),
  );
  if (o.restored) {
    await s3.send(
      new RestoreObjectCommand({
        Bucket: DEMO_DATA_BUCKET,
        Key: o.key,
        RestoreRequest: { Days: 7, GlacierJobParameters: { Tier: 'Standard' } },
      }),
    );
  }
}

/**
 * Seeds the demo buckets, the objects (with metadata and tags a copy must keep) and an inventory report of them;
 * returns the inventory destination prefix URI. The already-restored objects are restored directly on S3 (moto
 * completes a restore it is asked for at once; the engine's `--restore-latency` applies to its own jobs only).
 */
export async function seedDemo(s3: S3Client): Promise<string> {
  for (const b of [DEMO_DATA_BUCKET, DEMO_REPORT_BUCKET, DEMO_TARGET_BUCKET]) await ensureBucket(s3, b);
  const objects = demoObjects();
  // A few at a time: moto answers requests in parallel, and one at a time took seconds on a loaded machine.
  let next = 0;
  const putNext = async (): Promise<void> => {
    for (let o = objects[next++]; o; o = objects[next++]) await putDemoObject(s3, o);
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, putNext));
  const rows: InventoryRow[] = objects.map((o) => ({
    key: o.key,
    size: o.bytes,
    lastModified: new Date(),
    storageClass: o.storageClass,
  }));
  await writeInventoryReport({
    s3,
    sourceBucket: DEMO_DATA_BUCKET,
    destinationBucket: DEMO_REPORT_BUCKET,
    prefix: 'inventory',
    rows,
  });
  return DEMO_INVENTORY_DESTINATION;
}
