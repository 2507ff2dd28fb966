/**
 * The price table the cost estimate uses: its schema, its validation and the table that ships with the project
 * (`prices-us-east-1.json`). Pure: the campaign workflow may import it (no Node built-ins, no AWS SDK). Reading a
 * user's file is `loadPriceTable` in `./prices.ts`.
 */
import { z } from 'zod';

import { unknownFields } from '../shared/suggest';
import shippedPrices from './prices-us-east-1.json';

/** Where the shipped table lives, for messages. */
export const SHIPPED_PRICE_TABLE = 'src/cost/prices-us-east-1.json';

const PriceSchema = z
  .object({
    /** US dollars per unit (the unit is in the field's name). */
    usd: z
      .number({ error: (iss) => (iss.input === undefined ? 'missing' : 'must be a number of US dollars') })
      .finite()
      .nonnegative('must not be negative'),
    /** False when no primary source confirmed the price. @default true */
    confirmed: z.boolean({ error: 'confirmed must be true or false' }).default(true),
    /** Where the price comes from. */
    note: z.string().optional(),
  })
  .strict();

/** One price, with whether a primary source confirmed it. */
export type Price = z.infer<typeof PriceSchema>;

const RestoreTierSchema = z.object({ requestsPer1000: PriceSchema, retrievalPerGB: PriceSchema }).strict();
const RestoreClassSchema = z.object({ BULK: RestoreTierSchema, STANDARD: RestoreTierSchema }).strict();

/** Classes a copy may write, as in `operation.storageClass`. */
const TargetClassPricesSchema = z
  .object({
    STANDARD: PriceSchema,
    INTELLIGENT_TIERING: PriceSchema,
    STANDARD_IA: PriceSchema,
    ONEZONE_IA: PriceSchema,
    GLACIER_IR: PriceSchema,
    GLACIER: PriceSchema,
    DEEP_ARCHIVE: PriceSchema,
  })
  .strict();

export const PriceTableSchema = z
  .object({
    /** The shape of this file. */
    schemaVersion: z.literal(1, { error: 'schemaVersion must be 1' }),
    /** The Region the prices are for. */
    region: z.string().min(1),
    currency: z.literal('USD', { error: 'currency must be "USD"' }),
    /** When the prices were taken, YYYY-MM-DD. */
    takenOn: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'takenOn must be a date such as 2026-11-25'),
    /** Where the prices come from, in sentences. */
    source: z.array(z.string()),
    batchOperations: z.object({ perJob: PriceSchema, perMillionObjects: PriceSchema }).strict(),
    requests: z
      .object({
        /** PUT/COPY/POST per 1,000, by the storage class written. */
        putPer1000: TargetClassPricesSchema,
        getPer1000: z.object({ STANDARD: PriceSchema }).strict(),
      })
      .strict(),
    /** Restore requests and retrieval by archived class and tier (INTELLIGENT_TIERING: its archive tiers). */
    restore: z
      .object({
        GLACIER: RestoreClassSchema,
        DEEP_ARCHIVE: RestoreClassSchema,
        INTELLIGENT_TIERING: RestoreClassSchema,
      })
      .strict(),
    /** Retrieval per GB when reading classes that charge for it without a restore. */
    retrievalPerGB: z.object({ STANDARD_IA: PriceSchema, ONEZONE_IA: PriceSchema, GLACIER_IR: PriceSchema }).strict(),
    storagePerGBMonth: TargetClassPricesSchema,
    /** Intelligent-Tiering monitoring and automation, per 1,000 objects (≥ 128 KB) per month. */
    intelligentTieringMonitoringPer1000Objects: PriceSchema,
    lambda: z
      .object({
        perRequest: PriceSchema,
        perGBSecond: PriceSchema,
        /** Memory assumed for the function when the estimate is not told. */
        assumedMemoryMB: z
          .number()
          .int()
          .min(128, 'lambda.assumedMemoryMB is 128 to 10240')
          .max(10_240, 'lambda.assumedMemoryMB is 128 to 10240'),
        /** Duration of one invocation assumed when the estimate is not told. */
        assumedDurationMs: z
          .number()
          .positive('lambda.assumedDurationMs must be positive')
          .max(900_000, 'lambda.assumedDurationMs is at most 900000 (15 minutes)'),
      })
      .strict(),
  })
  .strict();

/** A validated price table. */
export type PriceTable = z.infer<typeof PriceTableSchema>;
/** A price table as written in JSON (`confirmed` may be left out). */
export type PriceTableInput = z.input<typeof PriceTableSchema>;

/** A price table that does not validate: one line per problem, each naming the field. */
export class PriceTableError extends Error {
  constructor(
    /** The file (or other source) the table came from. */
    readonly where: string,
    readonly problems: string[],
  ) {
    super(`invalid price table ${where}:${problems.map((p) => `\n  - ${p}`).join('')}`);
    this.name = 'PriceTableError';
  }
}

function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

/** Validates a parsed JSON price table; throws PriceTableError naming `where` and every bad field. */
export function parsePriceTable(json: unknown, where: string): PriceTable {
  const res = PriceTableSchema.safeParse(json, {
    error: (iss) => (iss.code === 'invalid_type' && iss.input === undefined ? 'missing' : undefined),
  });
  if (res.success) return res.data;
  throw new PriceTableError(
    where,
    res.error.issues.map((i) => {
      const at = issuePath(i.path);
      if (i.code === 'unrecognized_keys')
        return `${at ? `${at}: ` : ''}${unknownFields(PriceTableSchema, json, i.path, i.keys)}`;
      return `${at || '(top level)'}: ${i.message}`;
    }),
  );
}

/** The table that ships with the project: us-east-1 list prices. */
export const DEFAULT_PRICE_TABLE: PriceTable = parsePriceTable(shippedPrices, SHIPPED_PRICE_TABLE);
