/** The estimate as people read it: the exact plain-text table. */
import {
  estimateCost,
  formatCostEstimate,
  formatCostEstimateMarkdown,
  formatQuantity,
  formatUsd,
} from '../../src/cost/estimate';
import { DEFAULT_PRICE_TABLE } from '../../src/cost/price-table';
import { OperationSchema } from '../../src/shared/campaign-spec';

const restore = OperationSchema.parse({ type: 'restore', tier: 'BULK', expirationDays: 7 });

test('a restore of 2,000,000 GLACIER objects (3 TiB): every line, the total, the numbered assumption', () => {
  const e = estimateCost({
    operation: restore,
    stats: { rowsSelected: 2_000_000, bytesByStorageClass: { GLACIER: 3 * 2 ** 40 } },
    jobs: 1,
    prices: DEFAULT_PRICE_TABLE,
  });
  expect(formatCostEstimate(e)).toBe(
    [
      'Estimated cost of restore: 2,000,000 objects, 3 TiB, 1 job (USD, us-east-1 list prices taken 2026-11-25)',
      '  Item                                                        Quantity  Unit price              Amount',
      '  Batch Operations jobs                                          1 job  $0.25 / job              $0.25',
      '  Batch Operations objects                           2,000,000 objects  $1.00 / 1M objects       $2.00',
      '  Restore requests, GLACIER BULK                    2,000,000 requests  $0.00 / 1,000 requests   $0.00',
      '  Retrieval, GLACIER BULK                                     3,072 GB  $0.00 / GB               $0.00',
      '  Restored copies at the STANDARD rate, 7 days [1]     716.8 GB-months  $0.023 / GB-month       $16.49',
      '  Total                                                                                         $18.74',
      '',
      '  [1] the temporary copy of each GLACIER/DEEP_ARCHIVE object is billed at the S3 Standard rate for 7 days, on top of the archive (7/30 of a month; expiry rounds up to the next 00:00 UTC, so up to one day more)',
      '',
      '  - First round only: each retry job adds the job fee and the per-object fee of the objects it retries.',
      '  - The campaign’s own manifests and reports in the report bucket (a few requests and megabytes) are not included.',
    ].join('\n'),
  );
});

test('unknown lines say "unknown", the total says it leaves them out, sub-cent amounts show as <$0.01', () => {
  const e = estimateCost({
    operation: restore,
    stats: { rowsSelected: 10, bytesByStorageClass: {} },
    jobs: 1,
    prices: DEFAULT_PRICE_TABLE,
  });
  const text = formatCostEstimate(e);
  expect(text.split('\n').slice(0, 9)).toEqual([
    'Estimated cost of restore: 10 objects, 1 job (USD, us-east-1 list prices taken 2026-11-25)',
    '  Item                                                 Quantity  Unit price                   Amount',
    '  Batch Operations jobs                                   1 job  $0.25 / job                   $0.25',
    '  Batch Operations objects                           10 objects  $1.00 / 1M objects           <$0.01',
    '  Restore requests, BULK [1]                        10 requests  unknown                     unknown',
    '  Retrieval, BULK [2]                                   unknown  unknown                     unknown',
    '  Restored copies at the STANDARD rate, 7 days [3]      unknown  unknown                     unknown',
    '  Total                                                                              $0.25 + unknown',
    '  Lines marked unknown depend on data the estimate does not have; the total leaves them out.',
  ]);
  expect(text).toContain('  [3] object sizes are unknown (no inventory): $0.023 per GB-month');
});

test('unconfirmed prices carry a * and the footnote says where to check', () => {
  const copy = OperationSchema.parse({ type: 'copy', targetBucket: 'vault', storageClass: 'DEEP_ARCHIVE' });
  const e = estimateCost({
    operation: copy,
    stats: { rowsSelected: 100_000, bytesByStorageClass: { STANDARD: 100 * 2 ** 30 } },
    jobs: 1,
    prices: DEFAULT_PRICE_TABLE,
  });
  const text = formatCostEstimate(e);
  expect(text).toContain(
    '  COPY requests into DEEP_ARCHIVE                                     100,000 requests  $0.05 / 1,000 requests *   $5.00',
  );
  expect(text).toContain(
    '  Archive index, 32 KB per object in DEEP_ARCHIVE, per month            3.05 GB-months  $0.00099 / GB-month       <$0.01',
  );
  expect(
    text.endsWith('  * price not confirmed by a primary source: check aws.amazon.com/s3/pricing before relying on it'),
  ).toBe(true);
});

test.each([
  [3072, '3,072'],
  [716.8, '716.8'],
  [3.0517578125, '3.05'],
  [0.762939453125, '0.763'],
  [125000, '125,000'],
  [1234.5678, '1,234.6'],
])('formatQuantity(%p) = %p', (n, text) => {
  expect(formatQuantity(n)).toBe(text);
});

test.each([
  [0, '$0.00'],
  [18.74, '$18.74'],
  [1234567.9, '$1,234,567.90'],
])('formatUsd(%p) = %p', (n, text) => {
  expect(formatUsd(n)).toBe(text);
});

test('the markdown form (the Web UI) has the same lines as a list that wraps: total first, then items and notes', () => {
  const e = estimateCost({
    operation: restore,
    stats: { rowsSelected: 2_000_000, bytesByStorageClass: { GLACIER: 3 * 2 ** 40 } },
    jobs: 1,
    prices: DEFAULT_PRICE_TABLE,
  });
  const md = formatCostEstimateMarkdown(e).split('\n');
  expect(md[0]).toBe(
    '**Estimated cost: \\$18.74** for restore: 2,000,000 objects, 3 TiB, 1 job (USD, us-east-1 list prices taken 2026-11-25)',
  );
  expect(md).toContain('- Batch Operations objects: 2,000,000 objects × \\$1.00 / 1M objects = **\\$2.00**');
  expect(md).toContain(
    '- Restored copies at the STANDARD rate, 7 days [1]: 716.8 GB-months × \\$0.023 / GB-month = **\\$16.49**',
  );
  expect(md.some((l) => l.startsWith('- [1] the temporary copy of each GLACIER/DEEP_ARCHIVE object'))).toBe(true);
  // Every dollar escaped: the UI's renderer reads `$…$` as math.
  expect(md.join('\n')).not.toMatch(/(^|[^\\])\$/);
  // No preformatted block: the UI clips its long lines instead of wrapping them.
  expect(md.some((l) => l.startsWith('```') || l.startsWith('    '))).toBe(false);
});
