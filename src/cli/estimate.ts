/**
 * `s3-campaigns estimate <spec.json>`: the manifest preview (objects, bytes by storage class, sample keys) and the
 * cost estimate of a campaign, without creating a job or writing to S3.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Command } from 'commander';

import { createAwsClients } from '../aws/clients';
import { estimateCost, formatCostEstimate, formatQuantity, type CostEstimate } from '../cost/estimate';
import { PriceTableError } from '../cost/price-table';
import { loadPriceTable, priceTablePath } from '../cost/prices';
import { previewCampaignManifest, type ManifestPreview } from '../cost/preview';
import { CampaignFailuresError } from '../manifest/campaign-failures';
import { CsvManifestError } from '../manifest/csv-summary';
import type { CampaignSpec } from '../shared/campaign-spec';
import { FailureType } from '../shared/errors';
import { readSpecFile, UsageError } from './campaign';
import { cliAwsConfig, NO_DEV_STACK, type CliAws } from './connect';
import { parsePositiveInt } from './flags';

interface EstimateFlags {
  prices?: string;
  json?: boolean;
  lambdaMemory?: number;
  lambdaDuration?: number;
}

/** What `estimate --json` prints. */
export interface EstimateOutput {
  spec: { file: string; name: string; operation: CampaignSpec['operation']; region: string };
  preview: ManifestPreview;
  estimate: CostEstimate;
  /** The price table file; null for the shipped us-east-1 table. */
  priceTable: string | null;
}

const EN = 'en-US';

function describeOperation(op: CampaignSpec['operation']): string {
  switch (op.type) {
    case 'restore':
      return `restore (${op.tier}, ${op.expirationDays} days)`;
    case 'copy':
      return `copy to s3://${op.targetBucket}/${op.targetKeyPrefix ?? ''} (${op.storageClass ?? 'STANDARD'})`;
    case 'restore-and-copy':
      return `restore (${op.tier}, ${op.expirationDays} days) and copy to s3://${op.targetBucket}/${op.targetKeyPrefix ?? ''} (${op.storageClass ?? 'STANDARD'})`;
    case 'lambda':
      return `lambda ${op.functionArn}`;
    default:
      return op.type;
  }
}

/** `3,221,225,472 bytes (3 GiB)` */
function bytesText(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let unit = '';
  for (const u of units) {
    if (v < 1024) break;
    v /= 1024;
    unit = u;
  }
  return `${bytes.toLocaleString(EN)} bytes${unit ? ` (${formatQuantity(Number(v.toFixed(2)))} ${unit})` : ''}`;
}

function formatPreview(file: string, spec: CampaignSpec, p: ManifestPreview, aws?: CliAws): string {
  const lines = [
    `Campaign "${spec.name}" (${file}): ${describeOperation(spec.operation)}, ${spec.region}`,
    `  source   ${p.source}`,
    ...(aws?.devFile ? [`           read from the dev stack's S3 at ${aws.aws.s3Endpoint} (${aws.devFile})`] : []),
    `  objects  ${p.rowsSelected.toLocaleString(EN)} selected of ${p.rowsScanned.toLocaleString(EN)} read, in ${p.jobs} job${p.jobs === 1 ? '' : 's'} (at most ${spec.maxObjectsPerJob.toLocaleString(EN)} objects per job)`,
  ];
  const classes = Object.entries(p.bytesByStorageClass).sort(([a], [b]) => a.localeCompare(b));
  if (classes.length) {
    const total = classes.reduce((a, [, b]) => a + b, 0);
    lines.push(`  bytes    ${bytesText(total)}`);
    const width = Math.max(...classes.map(([c]) => c.length));
    for (const [c, b] of classes) {
      const n = p.rowsByStorageClass?.[c];
      lines.push(
        `           ${c.padEnd(width)}  ${bytesText(b)}${n === undefined ? '' : `, ${n.toLocaleString(EN)} object${n === 1 ? '' : 's'}`}`,
      );
    }
  } else {
    lines.push('  bytes    unknown (the source gives no sizes: only an inventory does)');
  }
  if (p.sampleKeys.length) lines.push(`  sample   ${p.sampleKeys.join('\n           ')}`);
  lines.push('  No job was created and nothing was written to S3.');
  return lines.join('\n');
}

export function registerEstimateCommand(program: Command): void {
  program
    .command('estimate <spec.json>')
    .description('preview the objects a campaign selects and estimate its cost, without creating a job')
    .option(
      '--prices <file>',
      'a price table JSON file (env S3C_PRICE_TABLE; default: the shipped us-east-1 list prices)',
    )
    .option(
      '--lambda-memory <MB>',
      'lambda campaigns: the function’s memory (default: the price table’s assumption, 128)',
      parsePositiveInt('--lambda-memory', 10_240),
    )
    .option(
      '--lambda-duration <ms>',
      'lambda campaigns: milliseconds per invocation (default: the price table’s assumption, 1000)',
      parsePositiveInt('--lambda-duration', 900_000),
    )
    .option('--json', 'print the preview and the estimate as JSON')
    .addHelpText(
      'after',
      '\nInventory sources are scanned with the same filter as the campaign, into a temporary local directory that is\n' +
        'deleted afterwards; bucket sources are listed as the worker lists them; csv manifests are read once; keys are\n' +
        'counted. Needs read access to the inventory or CSV (ListBucket on a bucket source).\n' +
        '\nExamples:\n' +
        '  s3-campaigns estimate examples/restore.json\n' +
        '  s3-campaigns estimate copy.json --prices my-prices.json --json\n' +
        '  s3-campaigns estimate lambda.json --lambda-memory 512 --lambda-duration 250\n',
    )
    .action(async (file: string, flags: EstimateFlags) => {
      const spec = readSpecFile(file);
      let prices;
      try {
        prices = loadPriceTable(flags.prices);
      } catch (err) {
        if (err instanceof PriceTableError) throw new UsageError(err.message);
        throw err;
      }
      // A keys source names its objects: nothing to read, and no server to find.
      const aws = spec.source.type === 'keys' ? undefined : await cliAwsConfig();
      const clients = aws ? createAwsClients(aws.aws) : undefined;
      const abort = new AbortController();
      const stop = () => abort.abort(new Error('interrupted'));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      let preview: ManifestPreview;
      try {
        preview = await previewCampaignManifest(spec, { s3: clients?.s3, signal: abort.signal });
      } catch (err) {
        if (err instanceof CsvManifestError || err instanceof CampaignFailuresError)
          throw new UsageError(`${file}: ${err.message}`);
        if (err instanceof ApplicationFailure && err.type === FailureType.InvalidInput)
          throw new UsageError(`${file}: ${err.message}`);
        const hint = aws?.devFile
          ? ` (read from the dev stack's S3 at ${aws.aws.s3Endpoint}, found through ${aws.devFile}; ` +
            `S3C_DEV_ENDPOINTS=${NO_DEV_STACK} reads from AWS instead)`
          : (err as Error).message === 'Region is missing'
            ? ' (set AWS_REGION, or a region in your AWS profile)'
            : '';
        process.stderr.write(
          `s3-campaigns estimate: ${file}: reading the source failed: ${(err as Error).message}${hint}\n`,
        );
        process.exitCode = 1;
        return;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        clients?.s3.destroy();
        clients?.s3control.destroy();
      }
      const estimate = estimateCost({
        operation: spec.operation,
        stats: preview,
        jobs: preview.jobs,
        prices,
        region: spec.region,
        lambda: { memoryMB: flags.lambdaMemory, durationMs: flags.lambdaDuration },
      });
      if (flags.json) {
        const out: EstimateOutput = {
          spec: { file, name: spec.name, operation: spec.operation, region: spec.region },
          preview,
          estimate,
          priceTable: priceTablePath(flags.prices) ?? null,
        };
        console.log(JSON.stringify(out, null, 2));
        return;
      }
      console.log(`${formatPreview(file, spec, preview, aws)}\n\n${formatCostEstimate(estimate)}`);
      const table = priceTablePath(flags.prices);
      if (table) console.log(`\n  Prices from ${table}.`);
    });
}
