/**
 * The engine's state directory: records replace atomically, outcomes append in batches, and what a crash leaves
 * behind (a torn last line, a task recorded twice, stray tmp files) loads back with every task counted once.
 */
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { createLogger } from '../../src/logging';
import { JobStore } from '../../src/local-batch/store';
import type { JobRecord, TaskRef } from '../../src/local-batch/types';

const log = createLogger('test', { level: 'error' });

function record(jobId: string, over: Partial<JobRecord> = {}): JobRecord {
  return {
    JobId: jobId,
    JobArn: `arn:aws:s3:us-east-1:123456789012:job/${jobId}`,
    requestHash: 'h',
    spec: {
      AccountId: '123456789012',
      ConfirmationRequired: false,
      Operation: { type: 'S3DeleteObjectTagging' },
      Report: { Enabled: false },
      ClientRequestToken: 't',
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ObjectArn: 'arn:aws:s3:::b/m.csv', ETag: 'e' },
      },
      Priority: 1,
      RoleArn: 'arn:aws:iam::123456789012:role/r',
    },
    Status: 'Active',
    Priority: 1,
    Tags: [],
    CreationTime: '2026-01-01T00:00:00.000Z',
    FailureReasons: [],
    activeMsBefore: 0,
    ...over,
  };
}

const tasks: TaskRef[] = [0, 1, 2, 3].map((index) => ({
  index,
  bucket: 'b',
  key: `k ${index}`,
  rawKey: `k%20${index}`,
}));

describe('JobStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lb-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a job, its tasks and its outcomes load back as written', async () => {
    const store = new JobStore(dir, log);
    const r = record('job-one');
    await store.saveJob(r);
    await store.saveTasks(r.JobId, tasks);
    const outcomes = store.outcomeLog(r.JobId);
    outcomes.append(0, { status: 'succeeded', httpStatus: 200 });
    outcomes.append(2, {
      status: 'failed',
      httpStatus: 404,
      errorCode: 'NoSuchKey',
      resultMessage: 'gone, "really"\n',
    });
    await outcomes.flush();

    const [loaded, ...others] = await new JobStore(dir, log).load();
    expect(others).toEqual([]);
    expect(loaded?.record).toEqual(r);
    expect(loaded?.tasks).toEqual(tasks);
    expect([...(loaded?.outcomes ?? [])]).toEqual([
      [0, { status: 'succeeded', httpStatus: 200 }],
      [2, { status: 'failed', httpStatus: 404, errorCode: 'NoSuchKey', resultMessage: 'gone, "really"\n' }],
    ]);
  });

  test('saves that overlap end with the latest state, and leave no tmp files', async () => {
    const store = new JobStore(dir, log);
    const r = record('job-two');
    const writes: Promise<void>[] = [];
    for (const status of ['Preparing', 'Ready', 'Active', 'Completing', 'Complete'] as const) {
      r.Status = status;
      writes.push(store.saveJob(r));
    }
    await Promise.all(writes);
    const jobDir = path.join(dir, 'jobs', 'job-two');
    expect(JSON.parse(readFileSync(path.join(jobDir, 'job.json'), 'utf8')).Status).toBe('Complete');
    expect(readdirSync(jobDir)).toEqual(['job.json']);
  });

  test('after a crash: a torn last line is ignored, a task recorded twice counts once, tmp files go', async () => {
    const store = new JobStore(dir, log);
    await store.saveJob(record('job-three'));
    const jobDir = path.join(dir, 'jobs', 'job-three');
    const file = path.join(jobDir, 'outcomes.jsonl');
    writeFileSync(
      file,
      '{"i":0,"s":"s","h":200}\n{"i":1,"s":"f","h":500,"c":"X"}\n{"i":0,"s":"f","h":500}\n{"i":3,"s":"s"',
    );
    writeFileSync(path.join(jobDir, 'job.json.123.4.tmp'), '{');

    const [loaded] = await new JobStore(dir, log).load();
    expect([...(loaded?.outcomes.keys() ?? [])].sort()).toEqual([0, 1]);
    expect(loaded?.outcomes.get(0)?.status).toBe('succeeded');
    expect(existsSync(path.join(jobDir, 'job.json.123.4.tmp'))).toBe(false);

    // The next batch starts on a fresh line, so it is not glued to the torn one.
    const outcomes = new JobStore(dir, log).outcomeLog('job-three');
    outcomes.append(3, { status: 'succeeded', httpStatus: 200 });
    await outcomes.flush();
    const [again] = await new JobStore(dir, log).load();
    expect([...(again?.outcomes.keys() ?? [])].sort()).toEqual([0, 1, 3]);
  });

  test('an unreadable job is skipped, the others load', async () => {
    const store = new JobStore(dir, log);
    await store.saveJob(record('job-good'));
    await store.saveJob(record('job-bad'));
    writeFileSync(path.join(dir, 'jobs', 'job-bad', 'job.json'), 'not json');
    appendFileSync(path.join(dir, 'jobs', 'stray-file'), 'x');
    expect((await new JobStore(dir, log).load()).map((j) => j.record.JobId)).toEqual(['job-good']);
  });

  test('removeJob deletes the job directory', async () => {
    const store = new JobStore(dir, log);
    await store.saveJob(record('job-gone'));
    await store.removeJob('job-gone');
    expect(await store.load()).toEqual([]);
  });

  test('without a state directory nothing is written', async () => {
    const store = new JobStore(undefined, log);
    await store.saveJob(record('job-mem'));
    store.outcomeLog('job-mem').append(0, { status: 'succeeded', httpStatus: 200 });
    expect(await store.load()).toEqual([]);
  });
});
