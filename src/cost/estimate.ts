/**
 * What a campaign will cost, from its manifest statistics and a price table: Batch Operations job and per-object
 * fees, the operation's S3 requests, restore retrieval, storage of copies and restored copies, Lambda invocations.
 * Every line says what it assumes; what depends on data the campaign does not have (object sizes for csv and keys
 * sources, a bucket's replication rules) is reported as unknown rather than as $0.
 *
 * Pure and deterministic: the campaign workflow imports it to show the estimate at the approval step. No Node
 * built-ins, no AWS SDK, no clock.
 */
import { copyPartOf, restorePartOf } from '../campaign/operation';
import {
  trackingSchedule,
  type CampaignOperation,
  type OperationType,
  type RestoreAndCopyOperation,
} from '../shared/campaign-spec';
import type { Price, PriceTable } from './price-table';

/** AWS bills storage and retrieval in binary gigabytes. */
export const BYTES_PER_GB = 2 ** 30;
/** Storage for part of a month is prorated; a month is taken as 30 days, as in AWS's own pricing examples. */
export const DAYS_PER_MONTH = 30;
/** GLACIER and DEEP_ARCHIVE keep 32 KB of index per object, billed at the archive class's rate. */
const ARCHIVE_INDEX_BYTES = 32 * 1024;
/** …and 8 KB of name and metadata per object, billed at the S3 Standard rate. */
const ARCHIVE_NAME_BYTES = 8 * 1024;

/** The manifest statistics the estimate needs. `ManifestStats` fits; `rowsByStorageClass` makes restores exact. */
export interface CostStats {
  /** Objects selected (the first round's tasks). */
  rowsSelected: number;
  /** Bytes by storage class; empty when the source has no sizes (csv, keys). `UNKNOWN`: the class is not known. */
  bytesByStorageClass: Record<string, number>;
  /** Objects by storage class, when known (inventory sources). Restore requests are priced per class with it. */
  rowsByStorageClass?: Record<string, number>;
  /** `bucket` sources the worker lists: the list requests of the listing (ListObjectsV2 / ListObjectVersions pages). */
  listRequests?: number;
}

/** What `estimateCost` is given. */
export interface EstimateCostInput {
  /** The campaign's operation, defaults filled in (`CampaignSpec['operation']`). */
  operation: CampaignOperation;
  stats: CostStats;
  /** Batch Operations jobs of the first round (one per manifest shard). */
  jobs: number;
  prices: PriceTable;
  /** Restore: days the restored copy is kept. @default operation.expirationDays */
  restoreDays?: number;
  /** The campaign's Region; a note says so when the price table is for another Region. */
  region?: string;
  /** Lambda: the function's memory and the duration of one invocation. @default the price table's assumptions */
  lambda?: { memoryMB?: number; durationMs?: number };
}

/** One line of an estimate. */
export interface CostLineItem {
  /** What is charged, e.g. `Restore requests, DEEP_ARCHIVE BULK`. */
  what: string;
  /** How many `unit`s; null when it depends on data the estimate does not have. */
  quantity: number | null;
  /** Singular: `job`, `object`, `request`, `invocation`, `GB`, `GB-month`, `GB-second`. */
  unit: string;
  /** The unit price is for this many units (1, 1,000 or 1,000,000). */
  per: number;
  /** US dollars per `per` units; null when it depends on what is unknown (e.g. the storage class). */
  unitPriceUsd: number | null;
  /** quantity ÷ per × unit price, rounded to the cent; null when unknown. */
  amountUsd: number | null;
  /** What this line assumes, or why it is unknown. */
  assumption?: string;
  /** The price is not confirmed by a primary source (see the price table's notes). */
  unconfirmedPrice?: boolean;
}

/** A campaign's estimated cost. */
export interface CostEstimate {
  operation: OperationType;
  /** Objects of the first round. */
  objects: number;
  jobs: number;
  /** Total bytes of the objects; null when the source gives no sizes (csv, keys). */
  bytes: number | null;
  items: CostLineItem[];
  /** Sum of the known amounts, in US dollars; each amount is rounded to the cent first, so the table adds up. */
  totalUsd: number;
  /** False when some line is unknown: the total is then only what could be priced. */
  complete: boolean;
  /** Assumptions that hold for the whole estimate. */
  notes: string[];
  prices: {
    region: string;
    takenOn: string;
    currency: 'USD';
    /** Some line uses a price marked unconfirmed. */
    usesUnconfirmed: boolean;
  };
}

/** Rounds US dollars to the cent, half up, without binary-fraction surprises (1.005 → 1.01). */
export function roundCents(usd: number): number {
  return Math.round(Number((usd * 100).toPrecision(12))) / 100;
}

const ARCHIVE_CLASSES = ['GLACIER', 'DEEP_ARCHIVE', 'INTELLIGENT_TIERING'] as const;
type RestorableClass = (typeof ARCHIVE_CLASSES)[number];
type TargetClass = keyof PriceTable['storagePerGBMonth'];

function line(
  what: string,
  quantity: number | null,
  unit: string,
  per: number,
  price: Price | null,
  assumption?: string,
): CostLineItem {
  const amountUsd = quantity === null || price === null ? null : roundCents((quantity / per) * price.usd);
  const item: CostLineItem = { what, quantity, unit, per, unitPriceUsd: price?.usd ?? null, amountUsd };
  if (assumption) item.assumption = assumption;
  if (price && !price.confirmed) item.unconfirmedPrice = true;
  return item;
}

function unknown(what: string, quantity: number | null, unit: string, per: number, why: string): CostLineItem {
  return { what, quantity, unit, per, unitPriceUsd: null, amountUsd: null, assumption: why };
}

const gb = (bytes: number) => bytes / BYTES_PER_GB;
const usd = (p: Price) => formatUnitPrice(p.usd);

/** Bytes of the selected objects by class, with what the estimate can tell about them. */
interface Volume {
  objects: number;
  /** Whether sizes are known (inventory sources, or no objects at all). */
  known: boolean;
  total: number;
  byClass: Record<string, number>;
  rowsByClass?: Record<string, number>;
}

function volumeOf(stats: CostStats): Volume {
  const byClass = Object.fromEntries(Object.entries(stats.bytesByStorageClass).filter(([, b]) => b > 0));
  const known = stats.rowsSelected === 0 || Object.keys(stats.bytesByStorageClass).length > 0;
  const total = Object.values(byClass).reduce((a, b) => a + b, 0);
  return { objects: stats.rowsSelected, known, total, byClass, rowsByClass: stats.rowsByStorageClass };
}

function batchFees(input: EstimateCostInput, objects: number): CostLineItem[] {
  const b = input.prices.batchOperations;
  return [
    line('Batch Operations jobs', input.jobs, 'job', 1, b.perJob),
    line('Batch Operations objects', objects, 'object', 1_000_000, b.perMillionObjects),
  ];
}

function restoreItems(
  input: EstimateCostInput & { operation: { type: 'restore' } },
  v: Volume,
  notes: string[],
): CostLineItem[] {
  const { prices } = input;
  const tier = input.operation.tier;
  const days = input.restoreDays ?? input.operation.expirationDays;
  const standard = prices.storagePerGBMonth.STANDARD;
  const copyWhat = `Restored copies at the STANDARD rate, ${days} day${days === 1 ? '' : 's'}`;
  const copyAssumption =
    `the temporary copy of each GLACIER/DEEP_ARCHIVE object is billed at the S3 Standard rate for ${days} days, on top ` +
    `of the archive (${days}/${DAYS_PER_MONTH} of a month; expiry rounds up to the next 00:00 UTC, so up to one day more)`;
  if (!v.known) {
    const g = prices.restore.GLACIER[tier];
    const d = prices.restore.DEEP_ARCHIVE[tier];
    return [
      unknown(
        `Restore requests, ${tier}`,
        v.objects,
        'request',
        1000,
        `the objects' storage classes are unknown (no inventory): GLACIER ${usd(g.requestsPer1000)}, DEEP_ARCHIVE ${usd(d.requestsPer1000)} per 1,000`,
      ),
      unknown(
        `Retrieval, ${tier}`,
        null,
        'GB',
        1,
        `object sizes are unknown (no inventory): GLACIER ${usd(g.retrievalPerGB)}, DEEP_ARCHIVE ${usd(d.retrievalPerGB)} per GB`,
      ),
      unknown(copyWhat, null, 'GB-month', 1, `object sizes are unknown (no inventory): ${usd(standard)} per GB-month`),
    ];
  }
  const items: CostLineItem[] = [];
  const present = ARCHIVE_CLASSES.filter((c) => (v.byClass[c] ?? 0) > 0 || (v.rowsByClass?.[c] ?? 0) > 0);
  const others = Object.keys(v.byClass).filter((c) => !(ARCHIVE_CLASSES as readonly string[]).includes(c));
  const exactCounts = v.rowsByClass !== undefined;
  if (exactCounts || (present.length === 1 && others.length === 0)) {
    for (const c of present) {
      const n = exactCounts ? (v.rowsByClass?.[c] ?? 0) : v.objects;
      items.push(
        line(
          `Restore requests, ${c} ${tier}`,
          n,
          'request',
          1000,
          prices.restore[c][tier].requestsPer1000,
          restoreClassNote(c),
        ),
      );
    }
  } else if (present.length > 0) {
    // Without per-class counts, price every object at the dearest class present: an upper bound.
    const dearest = present.reduce((a, b) =>
      prices.restore[b][tier].requestsPer1000.usd > prices.restore[a][tier].requestsPer1000.usd ? b : a,
    );
    items.push(
      line(
        `Restore requests, ${tier} (all objects at the ${dearest} price)`,
        v.objects,
        'request',
        1000,
        prices.restore[dearest][tier].requestsPer1000,
        `objects per storage class are unknown; every object is priced at the dearest class present (${present.join(', ')}): an upper bound`,
      ),
    );
  }
  for (const c of present) {
    items.push(line(`Retrieval, ${c} ${tier}`, gb(v.byClass[c] ?? 0), 'GB', 1, prices.restore[c][tier].retrievalPerGB));
  }
  const tempBytes = (v.byClass.GLACIER ?? 0) + (v.byClass.DEEP_ARCHIVE ?? 0);
  if (present.includes('GLACIER') || present.includes('DEEP_ARCHIVE')) {
    items.push(line(copyWhat, (gb(tempBytes) * days) / DAYS_PER_MONTH, 'GB-month', 1, standard, copyAssumption));
  }
  if (v.byClass.UNKNOWN) {
    items.push(
      unknown(
        `Restore requests and retrieval, storage class unknown`,
        gb(v.byClass.UNKNOWN),
        'GB',
        1,
        'the inventory has no StorageClass column for these objects: their restore price depends on it',
      ),
    );
  }
  const noRestore = others.filter((c) => c !== 'UNKNOWN');
  if (noRestore.length) {
    notes.push(
      `Objects in ${noRestore.join(', ')} need no restore: their tasks fail (InvalidObjectState) and cost only the per-object fee.`,
    );
  }
  return items;
}

function restoreClassNote(c: RestorableClass): string | undefined {
  if (c !== 'INTELLIGENT_TIERING') return undefined;
  return (
    'only objects in the Archive Access or Deep Archive Access tiers are restored (others fail); they move back to ' +
    'Frequent Access, billed at that tier’s rate (not included); a job cannot mix them with GLACIER/DEEP_ARCHIVE objects'
  );
}

const MIN_DAYS: Partial<Record<TargetClass, number>> = {
  STANDARD_IA: 30,
  ONEZONE_IA: 30,
  GLACIER_IR: 90,
  GLACIER: 90,
  DEEP_ARCHIVE: 180,
};

function copyItems(
  input: EstimateCostInput & { operation: { type: 'copy' } },
  v: Volume,
  notes: string[],
  restoredFirst = false,
): CostLineItem[] {
  const { prices, operation: op } = input;
  const target: TargetClass = op.storageClass ?? 'STANDARD';
  const items: CostLineItem[] = [
    line(
      `COPY requests into ${target}`,
      v.objects,
      'request',
      1000,
      prices.requests.putPer1000[target],
      op.storageClass ? undefined : 'no operation.storageClass: the copies are written as STANDARD',
    ),
  ];
  const minDays = MIN_DAYS[target];
  const storageAssumption =
    'per month while the copies are kept' +
    (minDays ? `; ${target} bills at least ${minDays} days per object` : '') +
    (target === 'STANDARD_IA' || target === 'ONEZONE_IA' || target === 'GLACIER_IR'
      ? ' and objects under 128 KB as 128 KB'
      : '');
  if (v.known) {
    items.push(
      line(
        `Storage of the copies in ${target}, per month`,
        gb(v.total),
        'GB-month',
        1,
        prices.storagePerGBMonth[target],
        storageAssumption,
      ),
    );
  } else {
    items.push(
      unknown(
        `Storage of the copies in ${target}, per month`,
        null,
        'GB-month',
        1,
        `object sizes are unknown (no inventory): ${usd(prices.storagePerGBMonth[target])} per GB-month`,
      ),
    );
  }
  if (target === 'GLACIER' || target === 'DEEP_ARCHIVE') {
    items.push(
      line(
        `Archive index, 32 KB per object in ${target}, per month`,
        gb(v.objects * ARCHIVE_INDEX_BYTES),
        'GB-month',
        1,
        prices.storagePerGBMonth[target],
      ),
      line(
        'Archive names and metadata, 8 KB per object in STANDARD, per month',
        gb(v.objects * ARCHIVE_NAME_BYTES),
        'GB-month',
        1,
        prices.storagePerGBMonth.STANDARD,
      ),
    );
  }
  if (target === 'INTELLIGENT_TIERING') {
    items.push(
      line(
        'Intelligent-Tiering monitoring, per month',
        v.objects,
        'object',
        1000,
        prices.intelligentTieringMonitoringPer1000Objects,
        'every object is taken as 128 KB or larger (smaller ones are not monitored and not charged): an upper bound',
      ),
    );
  }
  if (v.known) {
    for (const c of ['STANDARD_IA', 'ONEZONE_IA', 'GLACIER_IR'] as const) {
      const bytes = v.byClass[c] ?? 0;
      if (bytes > 0) items.push(line(`Retrieval of the ${c} sources`, gb(bytes), 'GB', 1, prices.retrievalPerGB[c]));
    }
    const archived = ['GLACIER', 'DEEP_ARCHIVE'].filter((c) => (v.byClass[c] ?? 0) > 0);
    if (archived.length && !restoredFirst) {
      notes.push(
        `Objects in ${archived.join(', ')} must be restored before they can be copied (their copy tasks fail otherwise); they are priced here as if restored.`,
      );
    }
  } else {
    items.push(
      unknown(
        'Retrieval of STANDARD_IA, ONEZONE_IA or GLACIER_IR sources',
        null,
        'GB',
        1,
        `source classes and sizes are unknown (no inventory): ${usd(prices.retrievalPerGB.STANDARD_IA)} per GB from IA classes, ${usd(prices.retrievalPerGB.GLACIER_IR)} from GLACIER_IR`,
      ),
    );
  }
  notes.push(
    restoredFirst
      ? 'Copies within one Region: copying to another Region adds inter-Region data transfer per GB (not included).'
      : 'Copies within one Region: copying to another Region adds inter-Region data transfer per GB (not included). Objects over 5 GB fail.',
  );
  return items;
}

/**
 * Longest restore, in hours, by class and tier (S3 User Guide, "Archive retrieval options"): sweeps of an object go on
 * until its restore completes, so this bounds the HEADs per object.
 */
const LONGEST_RESTORE_HOURS: Record<
  'GLACIER' | 'DEEP_ARCHIVE' | 'INTELLIGENT_TIERING',
  Record<'BULK' | 'STANDARD', number>
> = {
  GLACIER: { BULK: 12, STANDARD: 5 },
  DEEP_ARCHIVE: { BULK: 48, STANDARD: 12 },
  INTELLIGENT_TIERING: { BULK: 48, STANDARD: 12 },
};

/**
 * restore-and-copy: the restore of the archived objects (restore requests, retrieval, the temporary copies), the copy
 * of every object (copy requests, storage of the copies), the Batch fees of both kinds of job, and the HEADs that track
 * the restores (one per object before anything is restored, then one per sweep until each restore completes).
 */
function restoreAndCopyItems(input: EstimateCostInput, op: RestoreAndCopyOperation, v: Volume, notes: string[]) {
  const { prices } = input;
  const archiveClasses = ARCHIVE_CLASSES as readonly string[];
  const archivedVolume = (): Volume => {
    if (!v.known || v.rowsByClass === undefined) return v;
    const pick = <T>(r: Record<string, T>) =>
      Object.fromEntries(Object.entries(r).filter(([c]) => archiveClasses.includes(c) || c === 'UNKNOWN'));
    const rowsByClass = pick(v.rowsByClass);
    const byClass = pick(v.byClass);
    return {
      objects: Object.values(rowsByClass).reduce((a, b) => a + b, 0),
      known: true,
      total: Object.values(byClass).reduce((a, b) => a + b, 0),
      byClass,
      rowsByClass,
    };
  };
  const archived = archivedVolume();
  const restoreNotes: string[] = [];
  const restore = restoreItems({ ...input, operation: restorePartOf(op) }, archived, restoreNotes);
  const copy = copyItems({ ...input, operation: copyPartOf(op) }, v, notes, true);
  const waves = Math.max(1, Math.ceil(v.objects / op.waves.minObjects));
  const b = prices.batchOperations;
  const items: CostLineItem[] = [
    line(
      'Batch Operations jobs',
      input.jobs + waves,
      'job',
      1,
      b.perJob,
      `${input.jobs} restore job(s) at most and about ${waves} copy wave(s) (a wave per operation.waves.minObjects restored objects; fewer objects per wave when waves.maxWait starts them early)`,
    ),
    line(
      'Batch Operations objects',
      archived.objects + v.objects,
      'object',
      1_000_000,
      b.perMillionObjects,
      archived === v
        ? 'every object restored and copied: an upper bound (object classes unknown)'
        : 'one restore task per archived object and one copy task per object',
    ),
    ...restore,
    ...copy,
  ];
  const { sweepIntervalMs, firstSweepAfterMs } = trackingSchedule(op);
  const counts = archived.rowsByClass;
  const sweepsPer = (c: keyof typeof LONGEST_RESTORE_HOURS) =>
    Math.max(1, Math.ceil((LONGEST_RESTORE_HOURS[c][op.tier] * 3_600_000 - firstSweepAfterMs) / sweepIntervalMs) + 1);
  const sweepHeads =
    counts === undefined || archived === v
      ? archived.objects * sweepsPer('DEEP_ARCHIVE')
      : ARCHIVE_CLASSES.reduce((n, c) => n + (counts[c] ?? 0) * sweepsPer(c), 0);
  items.push(
    line(
      'HEAD requests tracking the restores',
      v.objects + sweepHeads,
      'request',
      1000,
      prices.requests.getPer1000.STANDARD,
      `one HEAD per object before the restores, then one per sweep (every ${formatMs(sweepIntervalMs)} from ${formatMs(firstSweepAfterMs)} after the restore) until the restore completes, at most the tier's longest restore time: an upper bound` +
        (op.tracking.queueUrl ? '; SQS requests for restore events are not included (about $0.40 per million)' : ''),
    ),
  );
  notes.push(
    `Objects above largeObjectThreshold (${op.largeObjectThreshold}) are copied by the worker with a multipart copy: one UploadPartCopy request per part instead of one COPY, priced here as one COPY each.`,
    'Expiry extensions (a restore request on a restored object whose copy would expire before it is copied) are not included: none are needed when waves keep up.',
  );
  return items;
}

function formatMs(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;
}

const PUT_LIKE: Record<string, string> = {
  'put-tags': 'PutObjectTagging requests',
  'delete-tags': 'DeleteObjectTagging requests',
  acl: 'PutObjectAcl requests',
  'legal-hold': 'PutObjectLegalHold requests',
  retention: 'PutObjectRetention requests',
};

/** A `bucket` source's listing: LIST requests are billed at the PUT rate of S3 Standard. */
function listingItem(input: EstimateCostInput, requests: number): CostLineItem {
  return line(
    'LIST requests (listing the source bucket)',
    requests,
    'request',
    1000,
    input.prices.requests.putPer1000.STANDARD,
    'the pages of one listing of the selected prefix (about one per 1,000 objects, more where the listing is split for speed); billed at the PUT rate',
  );
}

function putLikeItems(input: EstimateCostInput, v: Volume): CostLineItem[] {
  const what = PUT_LIKE[input.operation.type]!;
  const assumption =
    input.operation.type === 'delete-tags'
      ? 'priced as a PUT at the S3 Standard rate, an upper bound: AWS lists DELETE requests as free, which may apply'
      : 'billed as a PUT at the S3 Standard rate, whatever the object’s class';
  return [line(what, v.objects, 'request', 1000, input.prices.requests.putPer1000.STANDARD, assumption)];
}

function lambdaItems(input: EstimateCostInput, v: Volume): CostLineItem[] {
  const l = input.prices.lambda;
  const memoryMB = input.lambda?.memoryMB ?? l.assumedMemoryMB;
  const durationMs = input.lambda?.durationMs ?? l.assumedDurationMs;
  const gbSeconds = v.objects * (durationMs / 1000) * (memoryMB / 1024);
  return [
    line(
      'Lambda invocations',
      v.objects,
      'invocation',
      1,
      l.perRequest,
      'one synchronous invocation per object; no free tier deducted',
    ),
    line(
      'Lambda duration',
      gbSeconds,
      'GB-second',
      1,
      l.perGBSecond,
      `${memoryMB} MB for ${durationMs} ms per invocation (${input.lambda?.memoryMB || input.lambda?.durationMs ? 'as given' : 'assumed'}), x86; what the function itself calls (its own S3 requests) is not included`,
    ),
  ];
}

/**
 * Estimates a campaign's first round from its manifest statistics. Amounts are US dollars at the table's list
 * prices, each rounded to the cent; unknown amounts are null and make the estimate incomplete.
 */
export function estimateCost(input: EstimateCostInput): CostEstimate {
  const v = volumeOf(input.stats);
  const notes: string[] = [];
  const op = input.operation;
  const items = op.type === 'restore-and-copy' ? [] : batchFees(input, v.objects);
  if (input.stats.listRequests !== undefined) items.push(listingItem(input, input.stats.listRequests));
  switch (op.type) {
    case 'restore-and-copy':
      items.push(...restoreAndCopyItems(input, op, v, notes));
      break;
    case 'restore':
      items.push(...restoreItems({ ...input, operation: op }, v, notes));
      break;
    case 'copy':
      items.push(...copyItems({ ...input, operation: op }, v, notes));
      break;
    case 'put-tags':
    case 'delete-tags':
    case 'acl':
    case 'legal-hold':
    case 'retention':
      items.push(...putLikeItems(input, v));
      break;
    case 'lambda':
      items.push(...lambdaItems(input, v));
      break;
    case 'replicate':
      items.push(
        unknown(
          'Replication (replica PUT requests, replica storage, inter-Region transfer)',
          v.objects,
          'object',
          1,
          'depends on the source bucket’s replication rules (destination Region and storage class), which the campaign does not read',
        ),
      );
      break;
    case 'compute-checksum':
      items.push(
        unknown(
          'Checksum computation',
          v.known ? gb(v.total) : null,
          'GB',
          1,
          'the price table has no price for S3ComputeObjectChecksum beyond the Batch Operations fees, and no source we could check states one; AWS may charge per GB processed',
        ),
      );
      break;
  }
  if (input.region && input.region !== input.prices.region) {
    notes.push(
      `Prices are ${input.prices.region} list prices; this campaign runs in ${input.region}, where they may differ.`,
    );
  }
  notes.push(
    'First round only: each retry job adds the job fee and the per-object fee of the objects it retries.',
    'The campaign’s own manifests and reports in the report bucket (a few requests and megabytes) are not included.',
  );
  const known = items.filter((i) => i.amountUsd !== null);
  return {
    operation: op.type,
    objects: v.objects,
    jobs: input.jobs,
    bytes: v.known ? v.total : null,
    items,
    totalUsd: roundCents(known.reduce((a, i) => a + (i.amountUsd ?? 0), 0)),
    complete: known.length === items.length,
    notes,
    prices: {
      region: input.prices.region,
      takenOn: input.prices.takenOn,
      currency: 'USD',
      usesUnconfirmed: items.some((i) => i.unconfirmedPrice === true),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Plain-text table
// ---------------------------------------------------------------------------------------------------------------

const EN = 'en-US';

/** `3,072`, `716.8`, `0.0305`: whole numbers with separators, fractions to a sensible precision. */
export function formatQuantity(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString(EN);
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 1 : abs >= 1 ? 2 : 4;
  return abs < 1 && abs > 0
    ? Number(n.toPrecision(3)).toLocaleString(EN, { maximumFractionDigits: 10 })
    : n.toLocaleString(EN, { maximumFractionDigits: digits });
}

/** `$1,234.56` */
export function formatUsd(amount: number): string {
  return `$${amount.toLocaleString(EN, { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** A unit price with every significant digit: `$0.25`, `$0.0025`, `$0.0000166667`. */
function formatUnitPrice(p: number): string {
  return `$${p.toLocaleString(EN, { minimumFractionDigits: 2, maximumFractionDigits: 10 })}`;
}

const plural = (unit: string, n: number | null) => (unit === 'GB' || n === 1 ? unit : `${unit}s`);
const perText: Record<number, string> = { 1: '', 1000: '1,000 ', 1_000_000: '1M ' };

function bytesText(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : Number(v.toFixed(2))} ${units[i]}`;
}

/** One line item as people read it: what (with its note number), quantity, unit price and amount, as text. */
interface CostRowText {
  what: string;
  quantity: string;
  price: string;
  amount: string;
}

/** The estimate's line items as text, and the assumptions their note numbers refer to (1-based, in order). */
function costRows(e: CostEstimate): { rows: CostRowText[]; notes: string[] } {
  const notes: string[] = [];
  const rows = e.items.map((i) => {
    let what = i.what;
    if (i.assumption) {
      notes.push(i.assumption);
      what += ` [${notes.length}]`;
    }
    const quantity = i.quantity === null ? 'unknown' : `${formatQuantity(i.quantity)} ${plural(i.unit, i.quantity)}`;
    const price =
      i.unitPriceUsd === null
        ? 'unknown'
        : `${formatUnitPrice(i.unitPriceUsd)} / ${perText[i.per] ?? `${i.per} `}${i.per === 1 ? i.unit : plural(i.unit, i.per)}${i.unconfirmedPrice ? ' *' : ''}`;
    let amount = 'unknown';
    if (i.amountUsd !== null) {
      const tiny = i.amountUsd === 0 && (i.quantity ?? 0) > 0 && (i.unitPriceUsd ?? 0) > 0;
      amount = tiny ? '<$0.01' : formatUsd(i.amountUsd);
    }
    return { what, quantity, price, amount };
  });
  return { rows, notes };
}

function costSubject(e: CostEstimate): string {
  const what = `${e.objects.toLocaleString(EN)} object${e.objects === 1 ? '' : 's'}${e.bytes === null ? '' : `, ${bytesText(e.bytes)}`}, ${e.jobs} job${e.jobs === 1 ? '' : 's'}`;
  return `${e.operation}: ${what} (USD, ${e.prices.region} list prices taken ${e.prices.takenOn})`;
}

const UNKNOWN_LINES_NOTE = 'Lines marked unknown depend on data the estimate does not have; the total leaves them out.';
const UNCONFIRMED_PRICE_NOTE =
  'price not confirmed by a primary source: check aws.amazon.com/s3/pricing before relying on it';

/**
 * The estimate as markdown for the Web UI's current details: the total first, then one list item per line item, then
 * the numbered assumptions and notes. A list, not a table or a preformatted block: it wraps to any width, where the
 * UI renders tables without cell padding and clips wide preformatted lines.
 */
export function formatCostEstimateMarkdown(e: CostEstimate): string {
  const { rows, notes } = costRows(e);
  const total = `${formatUsd(e.totalUsd)}${e.complete ? '' : ' + unknown'}`;
  const out = [`**Estimated cost: ${total}** for ${costSubject(e)}`, ''];
  for (const r of rows) out.push(`- ${r.what}: ${r.quantity} × ${r.price} = **${r.amount}**`);
  const after = [
    ...(e.complete ? [] : [UNKNOWN_LINES_NOTE]),
    ...notes.map((n, i) => `[${i + 1}] ${n}`),
    ...e.notes,
    ...(e.prices.usesUnconfirmed ? [`\\* ${UNCONFIRMED_PRICE_NOTE}`] : []),
  ];
  if (after.length) out.push('', ...after.map((n) => `- ${n}`));
  // The Web UI's renderer takes `$…$` for math: every dollar is a literal one here.
  return out.join('\n').replace(/\$/g, '\\$');
}

/**
 * The estimate as a plain-text table for people: one row per line item, the total, then numbered assumptions and
 * notes. Pure; no colours.
 */
export function formatCostEstimate(e: CostEstimate): string {
  const { rows: items, notes } = costRows(e);
  const rows = items.map((r) => [r.what, r.quantity, r.price, r.amount] as const);
  const total = `${formatUsd(e.totalUsd)}${e.complete ? '' : ' + unknown'}`;
  const header = ['Item', 'Quantity', 'Unit price', 'Amount'] as const;
  const w = [0, 1, 2, 3].map((c) =>
    Math.max(header[c]!.length, ...rows.map((r) => r[c]!.length), c === 3 ? total.length : 0),
  );
  const fmt = (r: readonly string[]) =>
    `  ${r[0]!.padEnd(w[0]!)}  ${r[1]!.padStart(w[1]!)}  ${r[2]!.padEnd(w[2]!)}  ${r[3]!.padStart(w[3]!)}`.trimEnd();
  const out = [`Estimated cost of ${costSubject(e)}`, fmt(header), ...rows.map(fmt), fmt(['Total', '', '', total])];
  if (!e.complete) out.push(`  ${UNKNOWN_LINES_NOTE}`);
  if (notes.length) out.push('', ...notes.map((n, i) => `  [${i + 1}] ${n}`));
  if (e.notes.length) out.push('', ...e.notes.map((n) => `  - ${n}`));
  if (e.prices.usesUnconfirmed) {
    out.push('', `  * ${UNCONFIRMED_PRICE_NOTE}`);
  }
  return out.join('\n');
}
