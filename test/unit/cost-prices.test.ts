/** The price table: the shipped one, overrides from a file or S3C_PRICE_TABLE, and the errors of a bad file. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { estimateCost } from '../../src/cost/estimate';
import { DEFAULT_PRICE_TABLE, PriceTableError, type Price } from '../../src/cost/price-table';
import { loadPriceTable } from '../../src/cost/prices';
import shipped from '../../src/cost/prices-us-east-1.json';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 's3c-prices-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

type Tree = Record<string, unknown>;

/** Writes the shipped table with `changes` applied: dotted path → new value (`undefined` deletes the field). */
function writeTable(name: string, changes: Record<string, unknown>): string {
  const table = JSON.parse(JSON.stringify(shipped)) as Tree;
  for (const [at, value] of Object.entries(changes)) {
    const keys = at.split('.');
    const last = keys.pop()!;
    const parent = keys.reduce((node, k) => node[k] as Tree, table);
    if (value === undefined) delete parent[last];
    else parent[last] = value;
  }
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(table));
  return file;
}

/** Every price in a table, by its dotted path. */
function pricePaths(node: unknown, at = ''): Array<[string, Price]> {
  if (node && typeof node === 'object' && 'usd' in node) return [[at, node as Price]];
  if (node && typeof node === 'object' && !Array.isArray(node)) {
    return Object.entries(node).flatMap(([k, v]) => pricePaths(v, at ? `${at}.${k}` : k));
  }
  return [];
}

test('the shipped table: us-east-1, dated, and unconfirmed exactly where the reference marks it or only third parties state it', () => {
  const t = loadPriceTable(undefined, {});
  expect(t).toBe(DEFAULT_PRICE_TABLE);
  expect([t.region, t.currency, t.takenOn]).toEqual(['us-east-1', 'USD', '2026-11-25']);
  expect(
    pricePaths(t)
      .filter(([, p]) => !p.confirmed)
      .map(([at]) => at),
  ).toEqual([
    'requests.putPer1000.INTELLIGENT_TIERING',
    'requests.putPer1000.STANDARD_IA',
    'requests.putPer1000.ONEZONE_IA',
    'requests.putPer1000.GLACIER_IR',
    'requests.putPer1000.GLACIER',
    'requests.putPer1000.DEEP_ARCHIVE',
    'restore.DEEP_ARCHIVE.BULK.requestsPer1000',
    'restore.DEEP_ARCHIVE.BULK.retrievalPerGB',
    'restore.DEEP_ARCHIVE.STANDARD.requestsPer1000',
    'restore.DEEP_ARCHIVE.STANDARD.retrievalPerGB',
    'retrievalPerGB.STANDARD_IA',
    'retrievalPerGB.ONEZONE_IA',
    'storagePerGBMonth.INTELLIGENT_TIERING',
    'storagePerGBMonth.STANDARD_IA',
    'storagePerGBMonth.ONEZONE_IA',
    'storagePerGBMonth.GLACIER_IR',
    'intelligentTieringMonitoringPer1000Objects',
  ]);
  // Every price says where it comes from.
  expect(
    pricePaths(t)
      .filter(([, p]) => !p.note)
      .map(([at]) => at),
  ).toEqual([]);
});

test('S3C_PRICE_TABLE names a user file; --prices (the path argument) wins over it; the override changes the estimate', () => {
  const viaEnv = writeTable('env.json', { 'batchOperations.perJob.usd': 0.5 });
  const viaFlag = writeTable('flag.json', { 'batchOperations.perJob.usd': 1 });
  expect(loadPriceTable(undefined, { S3C_PRICE_TABLE: viaEnv }).batchOperations.perJob.usd).toBe(0.5);
  expect(loadPriceTable(viaFlag, { S3C_PRICE_TABLE: viaEnv }).batchOperations.perJob.usd).toBe(1);
  const prices = loadPriceTable(undefined, { S3C_PRICE_TABLE: viaEnv });
  const e = estimateCost({
    operation: { type: 'delete-tags' },
    stats: { rowsSelected: 0, bytesByStorageClass: {} },
    jobs: 2,
    prices,
  });
  expect(e.items[0]).toMatchObject({ what: 'Batch Operations jobs', unitPriceUsd: 0.5, amountUsd: 1 });
});

test('a file with bad fields: one line per problem, each naming the file and the field', () => {
  const file = writeTable('bad.json', {
    'batchOperations.perJob.usd': '0.25',
    'lambda.perRequest.usd': -1,
    'restore.GLACIER': undefined,
    'storagePerGBMonth.STANDARD.usd': undefined,
    'storagePerGBMonth.STANDARD.confirmed': 'yes',
    takenOn: 'last week',
    discount: 0.1,
  });
  let err: unknown;
  try {
    loadPriceTable(file, {});
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(PriceTableError);
  expect((err as PriceTableError).where).toBe(file);
  expect((err as PriceTableError).problems.sort()).toEqual(
    [
      'batchOperations.perJob.usd: must be a number of US dollars',
      'lambda.perRequest.usd: must not be negative',
      'restore.GLACIER: missing',
      'storagePerGBMonth.STANDARD.confirmed: confirmed must be true or false',
      'storagePerGBMonth.STANDARD.usd: missing',
      'takenOn: takenOn must be a date such as 2026-11-25',
      'unknown field(s) discount',
    ].sort(),
  );
  expect((err as Error).message.startsWith(`invalid price table ${file}:\n  - `)).toBe(true);
});

test('a missing file and a file that is not JSON name the file', () => {
  const missing = path.join(dir, 'nope.json');
  expect(() => loadPriceTable(missing, {})).toThrow(`invalid price table ${missing}:\n  - cannot read it: ENOENT`);
  const notJson = path.join(dir, 'prices.json');
  writeFileSync(notJson, '{ "schemaVersion": 1,');
  expect(() => loadPriceTable(notJson, {})).toThrow(`invalid price table ${notJson}:\n  - not valid JSON:`);
});
