/**
 * The cost estimate's arithmetic against hand-computed cases, one or more per operation type. Each case writes the
 * hand computation next to the numbers (us-east-1 prices of the shipped table; 1 GB = 2^30 bytes; a month = 30
 * days; amounts rounded to the cent, the total is the sum of the rounded amounts).
 */
import { estimateCost, roundCents, type CostEstimate, type CostStats } from '../../src/cost/estimate';
import { DEFAULT_PRICE_TABLE } from '../../src/cost/price-table';
import { OperationSchema, type CampaignOperation } from '../../src/shared/campaign-spec';

const GiB = 2 ** 30;
const TiB = 2 ** 40;

const op = (o: unknown): CampaignOperation => OperationSchema.parse(o);

function estimate(
  operation: unknown,
  stats: CostStats,
  jobs = 1,
  extra: Partial<Parameters<typeof estimateCost>[0]> = {},
) {
  return estimateCost({ operation: op(operation), stats, jobs, prices: DEFAULT_PRICE_TABLE, ...extra });
}

/** `[what, amount]` of every line, for exact comparison. */
const amounts = (e: CostEstimate) => e.items.map((i) => [i.what, i.amountUsd] as const);

describe('restore', () => {
  test('2,000,000 GLACIER objects, 3 TiB, BULK, 7 days, 1 job', () => {
    const e = estimate(
      { type: 'restore', tier: 'BULK', expirationDays: 7 },
      { rowsSelected: 2_000_000, bytesByStorageClass: { GLACIER: 3 * TiB } },
    );
    // job 1 × $0.25 = 0.25; objects 2,000,000 / 1M × $1.00 = 2.00; requests 2,000 × $0.00 = 0; retrieval 3,072 GB ×
    // $0.00 = 0; restored copy 3,072 GB × 7/30 = 716.8 GB-month × $0.023 = 16.4864 → 16.49. Total 18.74.
    expect(amounts(e)).toEqual([
      ['Batch Operations jobs', 0.25],
      ['Batch Operations objects', 2],
      ['Restore requests, GLACIER BULK', 0],
      ['Retrieval, GLACIER BULK', 0],
      ['Restored copies at the STANDARD rate, 7 days', 16.49],
    ]);
    expect(e.items[4]).toMatchObject({ quantity: 716.8, unit: 'GB-month', unitPriceUsd: 0.023 });
    expect(e.items[3]).toMatchObject({ quantity: 3072, unit: 'GB' });
    expect(e.totalUsd).toBe(18.74);
    expect(e.complete).toBe(true);
    expect(e.bytes).toBe(3 * TiB);
    expect(e.prices.usesUnconfirmed).toBe(false);
  });

  test('500,000 DEEP_ARCHIVE objects, 2 TiB, STANDARD tier, 3 days: unconfirmed prices are flagged', () => {
    const e = estimate(
      { type: 'restore', tier: 'STANDARD', expirationDays: 3 },
      { rowsSelected: 500_000, bytesByStorageClass: { DEEP_ARCHIVE: 2 * TiB } },
    );
    // 0.25 + 0.50 + requests 500 × $0.10 = 50.00 + retrieval 2,048 GB × $0.02 = 40.96
    // + restored copy 2,048 × 3/30 = 204.8 GB-month × $0.023 = 4.7104 → 4.71. Total 96.42.
    expect(amounts(e)).toEqual([
      ['Batch Operations jobs', 0.25],
      ['Batch Operations objects', 0.5],
      ['Restore requests, DEEP_ARCHIVE STANDARD', 50],
      ['Retrieval, DEEP_ARCHIVE STANDARD', 40.96],
      ['Restored copies at the STANDARD rate, 3 days', 4.71],
    ]);
    expect(e.totalUsd).toBe(96.42);
    expect(e.items.filter((i) => i.unconfirmedPrice).map((i) => i.what)).toEqual([
      'Restore requests, DEEP_ARCHIVE STANDARD',
      'Retrieval, DEEP_ARCHIVE STANDARD',
    ]);
    expect(e.prices.usesUnconfirmed).toBe(true);
  });

  test('restoreDays overrides expirationDays for the restored copy', () => {
    const e = estimate(
      { type: 'restore', tier: 'BULK', expirationDays: 7 },
      { rowsSelected: 1000, bytesByStorageClass: { GLACIER: 300 * GiB } },
      1,
      { restoreDays: 30 },
    );
    // 300 GB × 30/30 = 300 GB-month × $0.023 = 6.90
    expect(e.items[4]).toMatchObject({
      what: 'Restored copies at the STANDARD rate, 30 days',
      quantity: 300,
      amountUsd: 6.9,
    });
  });

  test('GLACIER + DEEP_ARCHIVE + a few STANDARD objects with per-class counts, BULK, 2 jobs', () => {
    const e = estimate(
      { type: 'restore', tier: 'BULK', expirationDays: 7 },
      {
        rowsSelected: 2_000_005,
        bytesByStorageClass: { GLACIER: 1 * TiB, DEEP_ARCHIVE: 512 * GiB, STANDARD: 1 * GiB },
        rowsByStorageClass: { GLACIER: 1_200_000, DEEP_ARCHIVE: 800_000, STANDARD: 5 },
      },
      2,
    );
    // jobs 2 × 0.25 = 0.50; objects 2.000005 × $1 → 2.00; GLACIER requests 1,200 × $0 = 0; DEEP_ARCHIVE requests
    // 800 × $0.025 = 20.00; retrieval GLACIER 1,024 GB × $0 = 0, DEEP_ARCHIVE 512 GB × $0.0025 = 1.28; restored copies
    // (1,024 + 512) × 7/30 = 358.4 GB-month × $0.023 = 8.2432 → 8.24. Total 32.02. STANDARD objects need no restore.
    expect(amounts(e)).toEqual([
      ['Batch Operations jobs', 0.5],
      ['Batch Operations objects', 2],
      ['Restore requests, GLACIER BULK', 0],
      ['Restore requests, DEEP_ARCHIVE BULK', 20],
      ['Retrieval, GLACIER BULK', 0],
      ['Retrieval, DEEP_ARCHIVE BULK', 1.28],
      ['Restored copies at the STANDARD rate, 7 days', 8.24],
    ]);
    expect(e.totalUsd).toBe(32.02);
    expect(e.notes).toContain(
      'Objects in STANDARD need no restore: their tasks fail (InvalidObjectState) and cost only the per-object fee.',
    );
  });

  test('mixed classes without per-class counts: every request at the dearest class, said to be an upper bound', () => {
    const e = estimate(
      { type: 'restore', tier: 'BULK', expirationDays: 7 },
      { rowsSelected: 2_000_000, bytesByStorageClass: { GLACIER: 1 * TiB, DEEP_ARCHIVE: 512 * GiB } },
    );
    // 2,000 × $0.025 (DEEP_ARCHIVE BULK, dearer than GLACIER BULK's $0) = 50.00
    expect(e.items[2]).toMatchObject({
      what: 'Restore requests, BULK (all objects at the DEEP_ARCHIVE price)',
      quantity: 2_000_000,
      amountUsd: 50,
    });
    expect(e.items[2]!.assumption).toContain('an upper bound');
    // 0.25 + 2.00 + 50.00 + 0 + 1.28 + 8.24
    expect(e.totalUsd).toBe(61.77);
  });

  test('Intelligent-Tiering archive objects: free requests and retrieval, no temporary copy', () => {
    const e = estimate(
      { type: 'restore', tier: 'STANDARD', expirationDays: 7 },
      { rowsSelected: 10_000, bytesByStorageClass: { INTELLIGENT_TIERING: 100 * GiB } },
    );
    // 0.25 + 10,000/1M × $1 = 0.01; requests and retrieval $0; no restored copy (objects move back to Frequent).
    expect(amounts(e)).toEqual([
      ['Batch Operations jobs', 0.25],
      ['Batch Operations objects', 0.01],
      ['Restore requests, INTELLIGENT_TIERING STANDARD', 0],
      ['Retrieval, INTELLIGENT_TIERING STANDARD', 0],
    ]);
    expect(e.items[2]!.assumption).toContain('Frequent Access');
    expect(e.totalUsd).toBe(0.26);
  });

  test('keys source (no sizes, no classes): requests, retrieval and the copy are unknown, not $0', () => {
    const e = estimate(
      { type: 'restore', tier: 'BULK', expirationDays: 7 },
      { rowsSelected: 10, bytesByStorageClass: {} },
    );
    expect(e.items.slice(2).map((i) => [i.what, i.quantity, i.amountUsd])).toEqual([
      ['Restore requests, BULK', 10, null],
      ['Retrieval, BULK', null, null],
      ['Restored copies at the STANDARD rate, 7 days', null, null],
    ]);
    expect(e.items[2]!.assumption).toBe(
      "the objects' storage classes are unknown (no inventory): GLACIER $0.00, DEEP_ARCHIVE $0.025 per 1,000",
    );
    // Only the job fee (0.25) and 10 objects (0.00001 → 0.00) are known.
    expect(e.totalUsd).toBe(0.25);
    expect(e.complete).toBe(false);
    expect(e.bytes).toBeNull();
  });
});

describe('copy', () => {
  test('1,000,000 objects (5 TiB STANDARD, 1 TiB STANDARD_IA) into GLACIER_IR', () => {
    const e = estimate(
      { type: 'copy', targetBucket: 'dr-bucket', storageClass: 'GLACIER_IR' },
      { rowsSelected: 1_000_000, bytesByStorageClass: { STANDARD: 5 * TiB, STANDARD_IA: 1 * TiB } },
    );
    // 0.25 + 1.00 + COPY 1,000 × $0.02 = 20.00 + storage 6,144 GB × $0.004 = 24.576 → 24.58
    // + IA retrieval 1,024 GB × $0.01 = 10.24. Total 56.07.
    expect(amounts(e)).toEqual([
      ['Batch Operations jobs', 0.25],
      ['Batch Operations objects', 1],
      ['COPY requests into GLACIER_IR', 20],
      ['Storage of the copies in GLACIER_IR, per month', 24.58],
      ['Retrieval of the STANDARD_IA sources', 10.24],
    ]);
    expect(e.items[3]!.assumption).toBe(
      'per month while the copies are kept; GLACIER_IR bills at least 90 days per object and objects under 128 KB as 128 KB',
    );
    expect(e.totalUsd).toBe(56.07);
  });

  test('100,000 objects (100 GiB) into DEEP_ARCHIVE: the 40 KB per-object archive overhead is priced', () => {
    const e = estimate(
      { type: 'copy', targetBucket: 'vault', targetKeyPrefix: 'cold/', storageClass: 'DEEP_ARCHIVE' },
      { rowsSelected: 100_000, bytesByStorageClass: { STANDARD: 100 * GiB } },
    );
    // 0.25 + 0.10 + COPY 100 × $0.05 = 5.00 + storage 100 GB × $0.00099 = 0.099 → 0.10
    // + index 100,000 × 32 KiB = 3.0518 GB × $0.00099 = 0.0030 → 0.00
    // + names 100,000 × 8 KiB = 0.7629 GB × $0.023 = 0.0175 → 0.02. Total 5.47.
    expect(amounts(e)).toEqual([
      ['Batch Operations jobs', 0.25],
      ['Batch Operations objects', 0.1],
      ['COPY requests into DEEP_ARCHIVE', 5],
      ['Storage of the copies in DEEP_ARCHIVE, per month', 0.1],
      ['Archive index, 32 KB per object in DEEP_ARCHIVE, per month', 0],
      ['Archive names and metadata, 8 KB per object in STANDARD, per month', 0.02],
    ]);
    expect(e.items[4]!.quantity).toBeCloseTo(3.0517578125, 10);
    expect(e.totalUsd).toBe(5.47);
  });

  test('into INTELLIGENT_TIERING: monitoring per 1,000 objects', () => {
    const e = estimate(
      { type: 'copy', targetBucket: 'lake', storageClass: 'INTELLIGENT_TIERING' },
      { rowsSelected: 400_000, bytesByStorageClass: { STANDARD: 1 * TiB } },
    );
    // 0.25 + 0.40 + COPY 400 × $0.005 = 2.00 + storage 1,024 × $0.023 = 23.552 → 23.55 + monitoring 400 × $0.0025 = 1.00
    expect(amounts(e).slice(2)).toEqual([
      ['COPY requests into INTELLIGENT_TIERING', 2],
      ['Storage of the copies in INTELLIGENT_TIERING, per month', 23.55],
      ['Intelligent-Tiering monitoring, per month', 1],
    ]);
    expect(e.totalUsd).toBe(27.2);
  });

  test('no storageClass → STANDARD, and GLACIER sources are said to need a restore first', () => {
    const e = estimate(
      { type: 'copy', targetBucket: 'dr-bucket' },
      { rowsSelected: 2000, bytesByStorageClass: { GLACIER: 10 * GiB } },
      1,
      { region: 'eu-west-1' },
    );
    // 0.25 + 0.002 → 0.00 + COPY 2 × $0.005 = 0.01 + storage 10 × $0.023 = 0.23. Total 0.49.
    expect(amounts(e)).toEqual([
      ['Batch Operations jobs', 0.25],
      ['Batch Operations objects', 0],
      ['COPY requests into STANDARD', 0.01],
      ['Storage of the copies in STANDARD, per month', 0.23],
    ]);
    expect(e.items[2]!.assumption).toBe('no operation.storageClass: the copies are written as STANDARD');
    expect(e.totalUsd).toBe(0.49);
    expect(e.notes[0]).toContain('Objects in GLACIER must be restored before they can be copied');
    expect(e.notes).toContain(
      'Prices are us-east-1 list prices; this campaign runs in eu-west-1, where they may differ.',
    );
  });

  test('csv source (no sizes): storage and retrieval unknown, requests and the archive overhead still priced', () => {
    const e = estimate(
      { type: 'copy', targetBucket: 'vault', storageClass: 'GLACIER' },
      { rowsSelected: 1_000_000, bytesByStorageClass: {} },
    );
    // 0.25 + 1.00 + COPY 1,000 × $0.03 = 30.00 + index 1M × 32 KiB = 30.5176 GB × $0.0036 = 0.1099 → 0.11
    // + names 1M × 8 KiB = 7.6294 GB × $0.023 = 0.1755 → 0.18. Total of the known lines 31.54.
    expect(e.items.map((i) => [i.what, i.amountUsd])).toEqual([
      ['Batch Operations jobs', 0.25],
      ['Batch Operations objects', 1],
      ['COPY requests into GLACIER', 30],
      ['Storage of the copies in GLACIER, per month', null],
      ['Archive index, 32 KB per object in GLACIER, per month', 0.11],
      ['Archive names and metadata, 8 KB per object in STANDARD, per month', 0.18],
      ['Retrieval of STANDARD_IA, ONEZONE_IA or GLACIER_IR sources', null],
    ]);
    expect(e.totalUsd).toBe(31.54);
    expect(e.complete).toBe(false);
  });
});

describe('operations billed as one PUT per object', () => {
  const ops: Array<[string, unknown, string]> = [
    ['put-tags', { type: 'put-tags', tags: { project: 'x' } }, 'PutObjectTagging requests'],
    ['delete-tags', { type: 'delete-tags' }, 'DeleteObjectTagging requests'],
    ['acl', { type: 'acl', cannedAcl: 'bucket-owner-full-control' }, 'PutObjectAcl requests'],
    ['legal-hold', { type: 'legal-hold', status: 'ON' }, 'PutObjectLegalHold requests'],
    [
      'retention',
      { type: 'retention', mode: 'GOVERNANCE', retainUntil: '2030-01-01T00:00:00Z' },
      'PutObjectRetention requests',
    ],
  ];
  test.each(ops)('%s: 2,500,000 objects in 3 jobs', (_name, operation, what) => {
    // jobs 3 × 0.25 = 0.75; objects 2.5 × $1 = 2.50; requests 2,500 × $0.005 = 12.50. Total 15.75, sizes irrelevant.
    const e = estimate(operation, { rowsSelected: 2_500_000, bytesByStorageClass: {} }, 3);
    expect(amounts(e)).toEqual([
      ['Batch Operations jobs', 0.75],
      ['Batch Operations objects', 2.5],
      [what, 12.5],
    ]);
    expect(e.totalUsd).toBe(15.75);
    expect(e.complete).toBe(true);
  });

  test('delete-tags says its PUT price is an upper bound', () => {
    const e = estimate({ type: 'delete-tags' }, { rowsSelected: 1, bytesByStorageClass: {} });
    expect(e.items[2]!.assumption).toContain('an upper bound');
  });
});

describe('a bucket source the worker lists', () => {
  test('its LIST requests are priced at the S3 Standard PUT rate, next to the operation', () => {
    // 250,000 list requests × $0.005 / 1,000 = 1.25; jobs 0.25; objects 0.2 × $1 = 0.20; tags 200 × $0.005 = 1.00.
    const e = estimate(
      { type: 'put-tags', tags: { a: 'b' } },
      { rowsSelected: 200_000, bytesByStorageClass: {}, listRequests: 250_000 },
    );
    expect(amounts(e)).toEqual([
      ['Batch Operations jobs', 0.25],
      ['Batch Operations objects', 0.2],
      ['LIST requests (listing the source bucket)', 1.25],
      ['PutObjectTagging requests', 1],
    ]);
    expect(e.totalUsd).toBe(2.7);
  });

  test('restore-and-copy has the line too; other sources have none', () => {
    const rac = estimate(
      { type: 'restore-and-copy', targetBucket: 'dst' },
      { rowsSelected: 10, bytesByStorageClass: { GLACIER: 10 }, rowsByStorageClass: { GLACIER: 10 }, listRequests: 3 },
    );
    expect(rac.items.filter((i) => i.what.startsWith('LIST requests')).map((i) => i.quantity)).toEqual([3]);
    const inv = estimate({ type: 'put-tags', tags: { a: 'b' } }, { rowsSelected: 10, bytesByStorageClass: {} });
    expect(inv.items.some((i) => i.what.startsWith('LIST'))).toBe(false);
  });
});

describe('lambda', () => {
  test('1,000,000 invocations with the table’s assumption (128 MB, 1 s)', () => {
    const e = estimate(
      { type: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:111122223333:function:f' },
      { rowsSelected: 1_000_000, bytesByStorageClass: {} },
    );
    // 0.25 + 1.00 + invocations 1M × $0.0000002 = 0.20 + duration 1M × 1 s × 0.125 GB = 125,000 GB-s × $0.0000166667
    // = 2.0833 → 2.08. Total 3.53.
    expect(amounts(e)).toEqual([
      ['Batch Operations jobs', 0.25],
      ['Batch Operations objects', 1],
      ['Lambda invocations', 0.2],
      ['Lambda duration', 2.08],
    ]);
    expect(e.items[3]).toMatchObject({ quantity: 125_000, unit: 'GB-second' });
    expect(e.items[3]!.assumption).toContain('128 MB for 1000 ms per invocation (assumed)');
    expect(e.totalUsd).toBe(3.53);
  });

  test('memory and duration given: 1,024 MB, 3 s', () => {
    const e = estimate(
      { type: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:111122223333:function:f' },
      { rowsSelected: 1_000_000, bytesByStorageClass: {} },
      1,
      { lambda: { memoryMB: 1024, durationMs: 3000 } },
    );
    // 1M × 3 s × 1 GB = 3,000,000 GB-s × $0.0000166667 = 50.0001 → 50.00. Total 0.25 + 1.00 + 0.20 + 50.00 = 51.45.
    expect(e.items[3]).toMatchObject({ quantity: 3_000_000, amountUsd: 50 });
    expect(e.items[3]!.assumption).toContain('1024 MB for 3000 ms per invocation (as given)');
    expect(e.totalUsd).toBe(51.45);
  });
});

describe('replicate and compute-checksum', () => {
  test('replicate: the fees are known, what replication costs depends on the bucket’s rules', () => {
    const e = estimate({ type: 'replicate' }, { rowsSelected: 10_000, bytesByStorageClass: { STANDARD: GiB } }, 2);
    // 2 × 0.25 = 0.50 + 0.01 × $1 = 0.01. Total 0.51 + unknown.
    expect(amounts(e)).toEqual([
      ['Batch Operations jobs', 0.5],
      ['Batch Operations objects', 0.01],
      ['Replication (replica PUT requests, replica storage, inter-Region transfer)', null],
    ]);
    expect(e.totalUsd).toBe(0.51);
    expect(e.complete).toBe(false);
  });

  test('compute-checksum: the fees are known, a per-GB fee is not in the table', () => {
    const e = estimate(
      { type: 'compute-checksum', algorithm: 'SHA256' },
      { rowsSelected: 4_000_000, bytesByStorageClass: { STANDARD: TiB } },
    );
    expect(amounts(e)).toEqual([
      ['Batch Operations jobs', 0.25],
      ['Batch Operations objects', 4],
      ['Checksum computation', null],
    ]);
    expect(e.items[2]).toMatchObject({ quantity: 1024, unit: 'GB' });
    expect(e.totalUsd).toBe(4.25);
    expect(e.complete).toBe(false);
  });
});

describe('rounding', () => {
  test.each([
    [1.005, 1.01],
    [0.125, 0.13],
    [16.4864, 16.49],
    [0.004999, 0],
    [2.0833375, 2.08],
    [50.0001, 50],
    [1234567.895, 1234567.9],
  ])('roundCents(%p) = %p', (input, expected) => {
    expect(roundCents(input)).toBe(expected);
  });

  test('the total is the sum of the rounded lines, so the table adds up', () => {
    // 0.25 + objects 900 × $1/1M = 0.0009 → 0.00 + PUT 0.9 × $0.005 = 0.0045 → 0.00 = 0.25, although the unrounded
    // sum 0.2554 would round to 0.26: a reader adding up the table gets the total shown.
    const e = estimate({ type: 'acl', cannedAcl: 'private' }, { rowsSelected: 900, bytesByStorageClass: {} });
    expect(e.items.map((i) => i.amountUsd)).toEqual([0.25, 0, 0]);
    expect(e.totalUsd).toBe(0.25);
  });

  test('no objects: nothing but zero lines', () => {
    const e = estimate({ type: 'restore' }, { rowsSelected: 0, bytesByStorageClass: {} }, 0);
    expect(e.totalUsd).toBe(0);
    expect(e.complete).toBe(true);
    expect(amounts(e)).toEqual([
      ['Batch Operations jobs', 0],
      ['Batch Operations objects', 0],
    ]);
  });
});

describe('restore-and-copy', () => {
  test('1,000,000 objects (GLACIER, DEEP_ARCHIVE, STANDARD), BULK, 3 days, into STANDARD_IA, default pacing', () => {
    const e = estimate(
      {
        type: 'restore-and-copy',
        tier: 'BULK',
        expirationDays: 3,
        targetBucket: 'dest-bucket',
        storageClass: 'STANDARD_IA',
      },
      {
        rowsSelected: 1_000_000,
        bytesByStorageClass: { GLACIER: 600 * GiB, DEEP_ARCHIVE: 300 * GiB, STANDARD: 100 * GiB },
        rowsByStorageClass: { GLACIER: 600_000, DEEP_ARCHIVE: 300_000, STANDARD: 100_000 },
      },
    );
    // jobs: 1 restore job + 1,000,000 / 100,000 = 10 waves → 11 × $0.25 = 2.75
    // objects: 900,000 restore tasks + 1,000,000 copy tasks = 1.9M × $1.00 = 1.90
    // restore requests: GLACIER 600 × $0 = 0; DEEP_ARCHIVE 300 × $0.025 = 7.50
    // retrieval: GLACIER 600 GB × $0 = 0; DEEP_ARCHIVE 300 GB × $0.0025 = 0.75
    // restored copies: 900 GB × 3/30 = 90 GB-month × $0.023 = 2.07
    // COPY requests: 1,000 × $0.01 = 10.00; copies: 1,000 GB-month × $0.0125 = 12.50
    // HEADs: 1,000,000 before the restores; sweeps every 2h from 5h until the longest BULK restore: GLACIER (12h)
    // ceil(7/2)+1 = 5 × 600,000 = 3,000,000, DEEP_ARCHIVE (48h) ceil(43/2)+1 = 23 × 300,000 = 6,900,000;
    // 10,900,000 / 1,000 × $0.0004 = 4.36. Total 41.83.
    expect(amounts(e)).toEqual([
      ['Batch Operations jobs', 2.75],
      ['Batch Operations objects', 1.9],
      ['Restore requests, GLACIER BULK', 0],
      ['Restore requests, DEEP_ARCHIVE BULK', 7.5],
      ['Retrieval, GLACIER BULK', 0],
      ['Retrieval, DEEP_ARCHIVE BULK', 0.75],
      ['Restored copies at the STANDARD rate, 3 days', 2.07],
      ['COPY requests into STANDARD_IA', 10],
      ['Storage of the copies in STANDARD_IA, per month', 12.5],
      ['HEAD requests tracking the restores', 4.36],
    ]);
    expect(e.items[9]).toMatchObject({ quantity: 10_900_000, unit: 'request', per: 1000, unitPriceUsd: 0.0004 });
    expect(e.items[0]).toMatchObject({ quantity: 11 });
    expect(e.totalUsd).toBe(41.83);
    expect(e.operation).toBe('restore-and-copy');
    // The STANDARD objects need no restore and go straight to copy: no note that their restore tasks would fail.
    expect(e.notes.join('\n')).not.toMatch(/InvalidObjectState|must be restored before/);
  });

  test('a keys source (no classes, no sizes): every object is priced as restored, sizes unknown', () => {
    const e = estimate(
      {
        type: 'restore-and-copy',
        tier: 'STANDARD',
        targetBucket: 'dest-bucket',
        tracking: { sweepInterval: '1h', firstSweepAfter: '3h' },
      },
      { rowsSelected: 1000, bytesByStorageClass: {} },
    );
    expect(e.complete).toBe(false);
    expect(e.items.find((i) => i.what === 'Batch Operations objects')).toMatchObject({ quantity: 2000 });
    // 1,000 before + 1,000 × (ceil((12h − 3h) / 1h) + 1 = 10 sweeps, DEEP_ARCHIVE STANDARD's 12 h bound) = 11,000
    expect(e.items.find((i) => i.what === 'HEAD requests tracking the restores')).toMatchObject({
      quantity: 11_000,
      amountUsd: roundCents(11 * 0.0004),
    });
  });
});
