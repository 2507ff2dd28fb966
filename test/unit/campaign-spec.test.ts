import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import {
  durationMs,
  incrementalStateKey,
  parseCampaignSpec,
  sizeBytes,
  SpecError,
  trackingSchedule,
  type RestoreAndCopyOperation,
} from '../../src/shared/campaign-spec';
import { copyPartOf, restorePartOf } from '../../src/campaign/operation';

const base = {
  name: 'restore logs',
  accountId: '123456789012',
  region: 'us-east-1',
  roleArn: 'arn:aws:iam::123456789012:role/BatchOps',
  source: { type: 'keys', bucket: 'my-bucket', keys: ['a.txt'] },
  operation: { type: 'restore' },
  report: { bucket: 'reports-bucket' },
};

function problems(spec: unknown): string[] {
  try {
    parseCampaignSpec(spec);
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  throw new Error('expected the spec to be rejected');
}

describe('campaign spec', () => {
  test('fills every documented default', () => {
    const s = parseCampaignSpec(base);
    expect(s.operation).toEqual({ type: 'restore', tier: 'BULK', expirationDays: 7 });
    expect(s.approval).toEqual({ required: true, timeout: '72h', retryJobsRequireApproval: false });
    expect(s.retry.maxRetryJobs).toBe(3);
    expect(s.retry.delay).toBe('1m');
    expect(s.retry.retryableErrorCodes).toEqual(
      expect.arrayContaining(['SlowDown', 'TemporaryFailure', 'InternalError']),
    );
    expect(s.report.prefix).toBe('s3-campaigns');
    expect(s.priority).toBe(10);
    expect(s.maxObjectsPerJob).toBe(10_000_000);
    expect(s.pollInterval).toBe('auto');
  });

  test.each([
    [{ ...base, accountId: '12' }, 'accountId must be 12 digits'],
    [{ ...base, roleArn: 'role/x' }, 'roleArn must be an IAM role ARN'],
    [{ ...base, region: 'mars' }, 'region must be an AWS Region'],
    [
      { ...base, source: { type: 'inventory', manifest: 'http://x/manifest.json' } },
      'source.manifest must be an s3://bucket/key URI',
    ],
    [{ ...base, source: { type: 'keys', bucket: 'b', keys: ['a'] } }, 'source.bucket: must be an S3 bucket name'],
    [{ ...base, source: { type: 'keys', bucket: 'my-bucket', keys: [] } }, 'source.keys needs at least one key'],
    [{ ...base, operation: { type: 'restore', tier: 'EXPEDITED' } }, 'operation.tier'],
    [{ ...base, operation: { type: 'copy' } }, 'operation.targetBucket'],
    [
      { ...base, operation: { type: 'copy', targetBucket: 'dest-bucket', metadata: { contentType: 'x' } } },
      'operation.metadata needs operation.metadataDirective "REPLACE"',
    ],
    [
      {
        ...base,
        operation: {
          type: 'lambda',
          functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
          schemaVersion: '1.0',
          userArguments: { a: 'b' },
        },
      },
      'operation.userArguments needs operation.schemaVersion "2.0"',
    ],
    [
      { ...base, operation: { type: 'retention', mode: 'GOVERNANCE' } },
      'operation.mode and operation.retainUntil go together',
    ],
    [{ ...base, operation: { type: 'teleport' } }, 'operation.type'],
    [
      { ...base, operation: { type: 'compute-checksum', algorithm: 'CRC64NVME', checksumType: 'COMPOSITE' } },
      'operation.checksumType COMPOSITE is not defined for this algorithm',
    ],
    [
      { ...base, operation: { type: 'compute-checksum', algorithm: 'XXHASH3', checksumType: 'COMPOSITE' } },
      'operation.checksumType COMPOSITE is not defined for this algorithm',
    ],
    [{ ...base, operation: { type: 'compute-checksum', algorithm: 'BLAKE3' } }, 'operation.algorithm'],
    [{ ...base, approval: { timeout: 'soon' } }, 'approval.timeout must be a duration'],
    [{ ...base, filter: { keyPrefixes: ['x/'] } }, 'filter applies to inventory and bucket sources only'],
    [
      { ...base, report: { bucket: 'reports-bucket', prefix: '/abs/' } },
      'report.prefix must not start or end with "/"',
    ],
    [{ ...base, colour: 'blue' }, 'unknown field(s) colour'],
    [{ ...base, incremental: {} }, 'incremental needs an inventory-latest source'],
    [
      {
        ...base,
        source: { type: 'inventory-latest', destination: 's3://inv-bucket/x/' },
        incremental: { stateKey: 'a b' },
      },
      'incremental.stateKey is 1–200 letters',
    ],
    [
      {
        ...base,
        source: { type: 'inventory', manifest: 's3://inv-bucket/x/manifest.json' },
        filter: { minSize: 10, maxSize: 5 },
      },
      'filter: minSize must not exceed maxSize',
    ],
    [
      {
        ...base,
        source: { type: 'inventory', manifest: 's3://inv-bucket/x/manifest.json' },
        filter: { prefixes: ['a/'] },
      },
      'filter: unknown field(s) prefixes',
    ],
  ])('rejects a bad spec and names the field (%#)', (spec, expected) => {
    expect(problems(spec).join('\n')).toContain(expected);
  });

  test.each([
    [{ maxObjectPerJob: 5 }, 'unknown field(s) maxObjectPerJob (did you mean maxObjectsPerJob?)'],
    [{ aprroval: { required: false } }, 'unknown field(s) aprroval (did you mean approval?)'],
    [{ filter: { storageClass: ['GLACIER'] } }, 'filter: unknown field(s) storageClass (did you mean storageClasses?)'],
    [
      { source: { type: 'inventory', manfest: 's3://b/m.json' } },
      'source: unknown field(s) manfest (did you mean manifest?)',
    ],
    // Within the operation its own type chose: a restore's fields, not a copy's.
    [{ operation: { type: 'restore', teir: 'BULK' } }, 'operation: unknown field(s) teir (did you mean tier?)'],
    [{ operation: { type: 'restore', targetBuckt: 'x' } }, 'operation: unknown field(s) targetBuckt\n'],
    // A field already given is not suggested again; nothing near enough, nothing suggested.
    [{ Name: 'x' }, 'unknown field(s) Name\n'],
    [{ colour: 'blue', speed: 3 }, 'unknown field(s) colour, speed\n'],
  ])('a misspelt field is named with the field it is nearest to (%#)', (over, expected) => {
    const spec = {
      ...base,
      source: { type: 'inventory', manifest: 's3://inv-bucket/x/manifest.json' },
      ...over,
    };
    expect(`${problems(spec).join('\n')}\n`).toContain(expected);
  });

  test.each([
    ['a hot loop', { pollInterval: '0' }, 'pollInterval must be between 1s and 1h'],
    ['under a second', { pollInterval: '500ms' }, 'pollInterval must be between 1s and 1h'],
    ['a poll that never comes', { pollInterval: '99999999999d' }, 'pollInterval must be between 1s and 1h'],
    ['neither auto nor a duration', { pollInterval: 'often' }, 'pollInterval must be "auto" or a duration'],
    [
      "an approval wait past S3's 30 days",
      { approval: { timeout: '31d' } },
      'approval.timeout must be between 1s and 30d',
    ],
    ['a retry delay over a week', { retry: { delay: '8d' } }, 'retry.delay must be between 0s and 7d'],
    [
      'a new run at every poll',
      { historyEventLimit: 1 },
      'historyEventLimit must be 0 (when Temporal suggests it) or between 50 and 50000',
    ],
    ["a history past Temporal's limit", { historyEventLimit: 60_000 }, 'historyEventLimit must be 0'],
    [
      'a prefix that climbs',
      { report: { bucket: 'reports-bucket', prefix: '../../../../etc' } },
      'report.prefix must not contain "." or ".." segments',
    ],
    [
      'a prefix with a dot segment',
      { report: { bucket: 'reports-bucket', prefix: 'a/./b' } },
      'report.prefix must not contain "." or ".." segments',
    ],
    [
      'a prefix with an empty segment',
      { report: { bucket: 'reports-bucket', prefix: 'a//b' } },
      'report.prefix must not contain empty segments',
    ],
    [
      'a prefix with a newline',
      { report: { bucket: 'reports-bucket', prefix: 'a\nb' } },
      'report.prefix must not contain control characters',
    ],
    [
      'a role path that climbs',
      { roleArn: 'arn:aws:iam::123456789012:role/../../admin' },
      'roleArn must be an IAM role ARN',
    ],
    [
      'a role name with a slash only',
      { roleArn: 'arn:aws:iam::123456789012:role/' },
      'roleArn must be an IAM role ARN',
    ],
    [
      'a role name over 64 characters',
      { roleArn: `arn:aws:iam::123456789012:role/${'r'.repeat(65)}` },
      'roleArn must be an IAM role ARN',
    ],
    [
      'a copy prefix that climbs',
      { operation: { type: 'copy', targetBucket: 'dest-bucket', targetKeyPrefix: 'dr/../x/' } },
      'operation.targetKeyPrefix must not contain "." or ".." segments',
    ],
    [
      'a copy prefix from the root',
      { operation: { type: 'copy', targetBucket: 'dest-bucket', targetKeyPrefix: '/dr/' } },
      'operation.targetKeyPrefix must not start with "/"',
    ],
  ])('refuses %s, naming the field and the rule', (_what, over, expected) => {
    const found = problems({ ...base, ...over });
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(expected);
  });

  test.each([
    ['the shortest poll', { pollInterval: '1s' }],
    ['the longest poll', { pollInterval: '1h' }],
    ['adaptive polls', { pollInterval: 'auto' }],
    ['no retry delay', { retry: { delay: '0s' } }],
    ['a role with a path', { roleArn: 'arn:aws:iam::123456789012:role/service-role/ops.team/Batch+Ops=1' }],
    ['a nested report prefix', { report: { bucket: 'reports-bucket', prefix: 'ops/s3-campaigns' } }],
    [
      'a copy prefix with a trailing slash',
      { operation: { type: 'copy', targetBucket: 'dest-bucket', targetKeyPrefix: 'dr/2024/' } },
    ],
  ])('accepts %s', (_what, over) => {
    expect(() => parseCampaignSpec({ ...base, ...over })).not.toThrow();
  });

  test.each([
    ['null', null, 'expected an object (the campaign spec), received null'],
    [
      'a list around the spec (the Web UI form)',
      [base],
      'expected an object (the campaign spec), received array (give the spec object itself, not a list around it)',
    ],
    ['a string', 'spec.json', 'expected an object (the campaign spec), received string'],
  ])('refuses %s as a whole, before looking at fields', (_what, input, expected) => {
    expect(problems(input)).toEqual([expected]);
  });

  test.each([
    ['accountId', 'accountId is required (12 digits)'],
    ['roleArn', 'roleArn is required (an IAM role ARN, arn:aws:iam::123456789012:role/Name)'],
    [
      'source',
      'source is required (an object with type inventory, inventory-latest, csv, keys, bucket or campaign-failures)',
    ],
    ['name', 'name is required (a human name, 1–100 characters)'],
  ])('a missing %s says it is required and what it holds', (field, expected) => {
    const spec: Record<string, unknown> = { ...base };
    delete spec[field];
    expect(problems(spec)).toEqual([expected]);
  });

  test('incremental state key: explicit, else the name in kebab case', () => {
    expect(incrementalStateKey({ name: 'Nightly DR copy!', incremental: {} })).toBe('nightly-dr-copy');
    expect(incrementalStateKey({ name: 'x', incremental: { stateKey: 'sched-1' } })).toBe('sched-1');
  });

  test('reports every problem at once', () => {
    expect(problems({ ...base, accountId: 'x', roleArn: 'y' })).toHaveLength(2);
  });

  test.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['72h', 259_200_000],
    ['7d', 604_800_000],
    ['250ms', 250],
    ['1500', 1500],
  ])('duration %s = %d ms', (text, ms) => {
    expect(durationMs(text)).toBe(ms);
  });
});

describe('documented examples', () => {
  const dir = path.join(__dirname, '..', '..', 'examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

  /** Examples of a source rather than an operation (named after the source). */
  const SOURCE_EXAMPLES = new Set(['redrive.json', 'bucket.json']);

  test('there is one example per operation type (and the source examples)', () => {
    expect(files.filter((f) => SOURCE_EXAMPLES.has(f)).sort()).toEqual([...SOURCE_EXAMPLES].sort());
    const types = files
      .filter((f) => !SOURCE_EXAMPLES.has(f))
      .map(
        (f) => (JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { operation: { type: string } }).operation.type,
      );
    expect(types.sort()).toEqual([
      'acl',
      'compute-checksum',
      'copy',
      'delete-tags',
      'lambda',
      'legal-hold',
      'put-tags',
      'replicate',
      'restore',
      'restore-and-copy',
      'retention',
    ]);
  });

  test.each(files)('examples/%s is a valid spec', (file) => {
    const spec = parseCampaignSpec(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
    expect(spec.name.length).toBeGreaterThan(0);
  });
});

describe('restore-and-copy', () => {
  const rac = (extra: Record<string, unknown> = {}) =>
    parseCampaignSpec({ ...base, operation: { type: 'restore-and-copy', targetBucket: 'dest-bucket', ...extra } })
      .operation as RestoreAndCopyOperation;

  test('fills every documented default; sweeps follow the tier', () => {
    const op = rac();
    expect(op).toEqual({
      type: 'restore-and-copy',
      tier: 'BULK',
      expirationDays: 7,
      targetBucket: 'dest-bucket',
      metadataDirective: 'COPY',
      largeObjectThreshold: '5GB',
      waves: { minObjects: 100_000, maxWait: '2h', maxConcurrent: 4 },
      tracking: { headRatePerSecond: 500, headConcurrency: 32 },
      expiryMargin: '12h',
      largeObjects: { concurrency: 4 },
    });
    expect(trackingSchedule(op)).toEqual({
      sweepIntervalMs: 2 * 3_600_000,
      firstSweepAfterMs: 5 * 3_600_000,
      eventIntervalMs: Infinity,
    });
    expect(trackingSchedule(rac({ tier: 'STANDARD' }))).toEqual({
      sweepIntervalMs: 30 * 60_000,
      firstSweepAfterMs: 3 * 3_600_000,
      eventIntervalMs: Infinity,
    });
    expect(trackingSchedule(rac({ tracking: { sweepInterval: '2s', firstSweepAfter: '0' } }))).toEqual({
      sweepIntervalMs: 2000,
      firstSweepAfterMs: 0,
      eventIntervalMs: Infinity,
    });
    // The tier's default sweep interval is never longer than the expiry margin; an explicit one as long is allowed.
    expect(trackingSchedule(rac({ expiryMargin: '20m' })).sweepIntervalMs).toBe(20 * 60_000);
    expect(trackingSchedule(rac({ expiryMargin: '1h', tracking: { sweepInterval: '1h' } })).sweepIntervalMs).toBe(
      3_600_000,
    );
    // Events are read between sweeps only from a queue: every 5 minutes unless the spec says.
    const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/restores';
    expect(trackingSchedule(rac({ tracking: { queueUrl } })).eventIntervalMs).toBe(5 * 60_000);
    expect(trackingSchedule(rac({ tracking: { queueUrl, eventInterval: '1s' } })).eventIntervalMs).toBe(1000);
  });

  test('the restore and copy parts are the restore and copy operations, with the same fields', () => {
    const op = rac({
      tier: 'STANDARD',
      expirationDays: 3,
      targetKeyPrefix: 'from-archive/',
      storageClass: 'STANDARD_IA',
      metadataDirective: 'REPLACE',
      metadata: { contentType: 'text/plain' },
      tags: { a: 'b' },
      cannedAcl: 'bucket-owner-full-control',
    });
    expect(restorePartOf(op)).toEqual({ type: 'restore', tier: 'STANDARD', expirationDays: 3 });
    expect(copyPartOf(op)).toEqual(
      parseCampaignSpec({
        ...base,
        operation: {
          type: 'copy',
          targetBucket: 'dest-bucket',
          targetKeyPrefix: 'from-archive/',
          storageClass: 'STANDARD_IA',
          metadataDirective: 'REPLACE',
          metadata: { contentType: 'text/plain' },
          tags: { a: 'b' },
          cannedAcl: 'bucket-owner-full-control',
        },
      }).operation,
    );
  });

  test.each([
    ['5GB', 5 * 2 ** 30],
    ['5 GiB', 5 * 2 ** 30],
    ['5MiB', 5 * 2 ** 20],
    ['6MB', 6 * 2 ** 20],
    ['1.5GB', 1.5 * 2 ** 30],
    ['6291456', 6_291_456],
  ])('size %s = %d bytes', (text, bytes) => {
    expect(sizeBytes(text)).toBe(bytes);
  });

  test.each<[Record<string, unknown>, string]>([
    [{ largeObjectThreshold: '4MiB' }, 'operation.largeObjectThreshold must be between 5MiB and 5GiB'],
    [{ largeObjectThreshold: '6GB' }, 'operation.largeObjectThreshold must be between 5MiB and 5GiB'],
    [{ largeObjectThreshold: 'big' }, 'operation.largeObjectThreshold must be a size such as "5GB"'],
    [{ waves: { minObjects: 0 } }, 'operation.waves.minObjects must be at least 1'],
    [{ waves: { maxWait: '0' } }, 'operation.waves.maxWait must be between 1s and 1d'],
    [{ waves: { maxConcurrent: 101 } }, 'operation.waves.maxConcurrent must be between 1 and 100'],
    [{ waves: { size: 3 } }, 'operation.waves: unknown field(s) size'],
    [{ tracking: { sweepInterval: '500ms' } }, 'operation.tracking.sweepInterval must be between 1s and 1d'],
    [{ tracking: { firstSweepAfter: '3d' } }, 'operation.tracking.firstSweepAfter must be between 0s and 2d'],
    [{ tracking: { eventInterval: '2d' } }, 'operation.tracking.eventInterval must be between 1s and 1d'],
    [{ tracking: { headRatePerSecond: 0 } }, 'operation.tracking.headRatePerSecond must be between 1 and 10000'],
    [{ tracking: { headConcurrency: 1000 } }, 'operation.tracking.headConcurrency must be between 1 and 256'],
    [{ tracking: { queueUrl: 'restore-events' } }, 'operation.tracking.queueUrl must be an SQS queue URL'],
    [{ expirationDays: 1, expiryMargin: '24h' }, 'operation.expiryMargin must be less than operation.expirationDays'],
    [
      { expiryMargin: '1h', tracking: { sweepInterval: '61m' } },
      'operation.tracking.sweepInterval must be at most operation.expiryMargin',
    ],
    [{ largeObjects: { concurrency: 0 } }, 'operation.largeObjects.concurrency must be between 1 and 64'],
    [{ largeObjects: { partSize: '4MiB' } }, 'operation.largeObjects.partSize must be between 5MiB and 5GiB'],
    [{ tier: 'EXPEDITED' }, 'operation.tier'],
    [{ metadata: { contentType: 'x' } }, 'operation.metadata needs operation.metadataDirective "REPLACE"'],
  ])('%j is refused naming the field', (extra, message) => {
    const found = problems({ ...base, operation: { type: 'restore-and-copy', targetBucket: 'dest-bucket', ...extra } });
    expect(found.join('\n')).toContain(message);
  });

  test('test-sized pacing is allowed: seconds, a 5 MiB threshold, a local queue URL', () => {
    const op = rac({
      largeObjectThreshold: '5MiB',
      waves: { minObjects: 1, maxWait: '2s' },
      tracking: { sweepInterval: '1s', firstSweepAfter: '0', queueUrl: 'http://localhost:5000/123456789012/events' },
      expirationDays: 1,
      expiryMargin: '1s',
    });
    expect(sizeBytes(op.largeObjectThreshold)).toBe(5 * 2 ** 20);
    expect(op.waves).toEqual({ minObjects: 1, maxWait: '2s', maxConcurrent: 4 });
  });
});
