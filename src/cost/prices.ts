/**
 * Loads the price table for cost estimates: a user's file (`--prices <file>`, else `S3C_PRICE_TABLE`) or the table
 * that ships with the project. Reads the file system, so never import this from workflow code: use
 * `DEFAULT_PRICE_TABLE` or pass a table in.
 */
import { readFileSync } from 'node:fs';

import { DEFAULT_PRICE_TABLE, parsePriceTable, PriceTableError, type PriceTable } from './price-table';

/** The file a price table would be read from: `path`, else `S3C_PRICE_TABLE`; undefined → the shipped table. */
export function priceTablePath(path?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return path || env.S3C_PRICE_TABLE || undefined;
}

/**
 * Reads and validates a price table: `path`, else the file named by `S3C_PRICE_TABLE`, else the shipped us-east-1
 * table. A user's file replaces the whole table and has its shape (copy `src/cost/prices-us-east-1.json`).
 * @throws PriceTableError naming the file and, when it does not validate, every bad field.
 */
export function loadPriceTable(path?: string, env: NodeJS.ProcessEnv = process.env): PriceTable {
  const file = priceTablePath(path, env);
  if (file === undefined) return DEFAULT_PRICE_TABLE;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PriceTableError(file, [`cannot read it: ${(err as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PriceTableError(file, [`not valid JSON: ${(err as Error).message}`]);
  }
  return parsePriceTable(json, file);
}
