/**
 * `s3-campaigns manifest`: S3 Inventory report → Batch Operations CSV manifests, printing the JSON summary on stdout.
 * The same `buildManifests` the campaign's manifest activity calls.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ApplicationFailure } from '@temporalio/common';

import { createAwsClients } from '../aws/clients';
import {
  buildManifests,
  BuildManifestsInputSchema,
  type BuildManifestsInput,
  type InventoryFilter,
} from '../inventory';
import { FailureType } from '../shared/errors';
import { awsConfigOf, cliAwsConfig } from './connect';
import { parsePositiveInt } from './flags';

interface ManifestFlags {
  inventory: string;
  out: string;
  prefix?: string[];
  suffix?: string[];
  keyRegex?: string;
  storageClass?: string[];
  minSize?: number;
  maxSize?: number;
  modifiedAfter?: string;
  modifiedBefore?: string;
  latestOnly?: boolean;
  skipDeleteMarkers?: boolean;
  encryption?: string[];
  lockMode?: string[];
  legalHold?: string[];
  replication?: string[];
  tieringTier?: string[];
  maxObjectsPerJob?: number;
  versionIds?: 'auto' | 'include' | 'omit';
  sampleSize?: number;
  concurrency?: number;
  region?: string;
  s3Endpoint?: string;
}

const repeat = (value: string, previous: string[] = []) => [...previous, value];

/** `GLACIER,deep_archive` → `['GLACIER', 'DEEP_ARCHIVE']`, repeatable. */
const upperList = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(',')
    .map((v) => v.trim().toUpperCase())
    .filter((v) => v.length > 0),
];

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
  TIB: 1024 ** 4,
};

/** Bytes, optionally with a unit: `1048576`, `128KiB`, `5MB`, `1.5GiB`. */
function parseSize(flag: string): (value: string) => number {
  return (value) => {
    const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
    const unit = SIZE_UNITS[(m?.[2] ?? '').toUpperCase()];
    const n = m && unit !== undefined ? Math.round(Number(m[1]) * unit) : NaN;
    if (!Number.isSafeInteger(n)) {
      throw new InvalidArgumentError(
        `${flag} must be a size in bytes such as 1048576, 128KiB or 5GB, got ${JSON.stringify(value)}`,
      );
    }
    return n;
  };
}

function parseTime(flag: string): (value: string) => string {
  return (value) => {
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) {
      throw new InvalidArgumentError(`${flag} must be an ISO-8601 time such as 2024-01-31 or 2024-01-31T12:00:00Z`);
    }
    return new Date(ms).toISOString();
  };
}

/** The filter the flags describe. */
export function filterFromFlags(f: ManifestFlags): InventoryFilter {
  const filter: InventoryFilter = {
    keyPrefixes: f.prefix,
    keySuffixes: f.suffix,
    keyRegex: f.keyRegex,
    storageClasses: f.storageClass,
    minSize: f.minSize,
    maxSize: f.maxSize,
    modifiedAfter: f.modifiedAfter,
    modifiedBefore: f.modifiedBefore,
    latestOnly: f.latestOnly,
    skipDeleteMarkers: f.skipDeleteMarkers,
    encryptionStatuses: f.encryption,
    objectLockModes: f.lockMode,
    objectLockLegalHoldStatuses: f.legalHold,
    replicationStatuses: f.replication,
    intelligentTieringAccessTiers: f.tieringTier,
  };
  for (const k of Object.keys(filter) as (keyof InventoryFilter)[]) if (filter[k] === undefined) delete filter[k];
  return filter;
}

export function registerManifestCommand(program: Command): void {
  program
    .command('manifest')
    .description('turn an S3 Inventory report into Batch Operations CSV manifests; prints a JSON summary')
    .requiredOption(
      '--inventory <location>',
      's3://bucket/…/manifest.json, a local manifest.json, or a destination prefix ending in / (newest report)',
    )
    .requiredOption('--out <location>', 's3://bucket/prefix or a local directory (manifest-00001.csv, …)')
    .option('--prefix <prefix>', 'keep keys starting with this (repeatable: any of them)', repeat)
    .option('--suffix <suffix>', 'keep keys ending with this (repeatable: any of them)', repeat)
    .option('--key-regex <regex>', 'keep keys matching this JavaScript regular expression')
    .option('--storage-class <classes>', 'keep these storage classes, e.g. GLACIER,DEEP_ARCHIVE', upperList)
    .option('--min-size <bytes>', 'keep objects of at least this size (e.g. 128KiB)', parseSize('--min-size'))
    .option('--max-size <bytes>', 'keep objects of at most this size (e.g. 5GB)', parseSize('--max-size'))
    .option(
      '--modified-after <time>',
      'keep objects last modified at or after this time',
      parseTime('--modified-after'),
    )
    .option('--modified-before <time>', 'keep objects last modified before this time', parseTime('--modified-before'))
    .option('--latest-only', 'keep only current versions (needs IsLatest: an all-versions inventory)')
    .option('--skip-delete-markers', 'drop delete markers (needs IsDeleteMarker)')
    .option(
      '--encryption <statuses>',
      'keep these encryption statuses: SSE-S3, SSE-KMS, DSSE-KMS, SSE-C, NOT-SSE',
      upperList,
    )
    .option('--lock-mode <modes>', 'keep these Object Lock modes: GOVERNANCE, COMPLIANCE, NONE', upperList)
    .option('--legal-hold <statuses>', 'keep these legal hold statuses: ON, OFF', upperList)
    .option(
      '--replication <statuses>',
      'keep these replication statuses: PENDING, COMPLETED, FAILED, REPLICA, NONE',
      upperList,
    )
    .option(
      '--tiering-tier <tiers>',
      'keep these Intelligent-Tiering access tiers, e.g. ARCHIVE,DEEP_ARCHIVE',
      upperList,
    )
    .option(
      '--max-objects-per-job <n>',
      'rows per manifest (default 10000000)',
      parsePositiveInt('--max-objects-per-job'),
    )
    .addOption(
      new Option('--version-ids <mode>', 'VersionId column: auto (when the inventory has one), include, omit').choices([
        'auto',
        'include',
        'omit',
      ]),
    )
    .option('--sample-size <n>', 'selected keys in the summary (default 10)', parsePositiveInt('--sample-size', 100))
    .option('--concurrency <n>', 'worker threads (default: one per core)', parsePositiveInt('--concurrency', 64))
    .option('--region <region>', 'AWS region (env AWS_REGION; default: the SDK chain)')
    .option('--s3-endpoint <url>', 'a local S3 endpoint such as moto (env S3C_S3_ENDPOINT; default: real AWS)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  s3-campaigns manifest --inventory s3://inv-bucket/inv/src-bucket/daily/ \\\n' +
        '      --storage-class GLACIER,DEEP_ARCHIVE --prefix logs/2019/ --out s3://ops-bucket/restores/2019\n' +
        '  s3-campaigns manifest --inventory ./inventory/2024-05-01T00-00Z/manifest.json --min-size 1MiB --out ./manifests\n',
    )
    .action(async (flags: ManifestFlags) => {
      const input: BuildManifestsInput = {
        inventory: flags.inventory,
        output: flags.out,
        filter: filterFromFlags(flags),
        maxObjectsPerJob: flags.maxObjectsPerJob,
        versionIds: flags.versionIds,
        sampleSize: flags.sampleSize,
        concurrency: flags.concurrency,
      };
      const checked = BuildManifestsInputSchema.safeParse(input);
      if (!checked.success) {
        const issues = checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
        process.stderr.write(`s3-campaigns manifest: ${issues}\n`);
        process.exitCode = 2;
        return;
      }
      // The flags, then the environment, then a running dev stack. Local files need no S3, so only s3://
      // locations look for a dev stack (which must then be running).
      const usesS3 = [flags.inventory, flags.out].some((l) => l.startsWith('s3://'));
      const awsFlags = { region: flags.region, s3Endpoint: flags.s3Endpoint };
      const aws = usesS3 ? (await cliAwsConfig(awsFlags)).aws : awsConfigOf(awsFlags);
      const { s3 } = createAwsClients(aws);
      const abort = new AbortController();
      const stop = () => abort.abort(new Error('interrupted'));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const summary = await buildManifests(input, { s3, signal: abort.signal });
        process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      } catch (err) {
        if (!(err instanceof ApplicationFailure) && !abort.signal.aborted) throw err;
        process.stderr.write(`s3-campaigns manifest: ${(err as Error).message}\n`);
        // Bad input (a filter the inventory cannot answer, an unusable or corrupt report) is exit code 2.
        process.exitCode = err instanceof ApplicationFailure && err.type === FailureType.InvalidInput ? 2 : 1;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        s3.destroy();
      }
    });
}
