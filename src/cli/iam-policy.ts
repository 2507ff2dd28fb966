/**
 * `s3-campaigns iam-policy <spec.json>`: the least-privilege permissions and trust policies of the campaign's Batch
 * Operations role, and the policy of the worker's own credentials, for exactly that campaign.
 */
import type { Command } from 'commander';

import { createAwsClients, type AwsClients } from '../aws/clients';
import { batchRolePolicies, workerPolicy, type BatchRolePolicyOptions, type PolicyDocument } from '../iam/policy';
import { describeCampaignSource } from '../iam/source';
import { readSpecFile } from './campaign';
import { cliAwsConfig } from './connect';

interface IamPolicyFlags {
  sourceBucket?: string[];
  kmsKeyArn?: string[];
  json?: boolean;
}

/** What `iam-policy --json` prints. */
export interface IamPolicyOutput {
  roleArn: string;
  permissionsPolicy: PolicyDocument;
  trustPolicy: PolicyDocument;
  workerPolicy: PolicyDocument;
  /** What could not be scoped, or is reasoned rather than documented. */
  warnings: string[];
}

const repeat = (value: string, previous: string[] = []) => [...previous, value];

export function registerIamPolicyCommand(program: Command): void {
  program
    .command('iam-policy <spec.json>')
    .description('print the least-privilege IAM policies of one campaign: its Batch Operations role and the worker')
    .option(
      '--source-bucket <bucket>',
      'the bucket of the objects (repeatable); default: read from the inventory or CSV manifest (keys and bucket sources name it)',
      repeat,
    )
    .option('--kms-key-arn <arn>', 'a KMS key that encrypts the objects, manifests or reports (repeatable)', repeat)
    .option('--json', 'print {permissionsPolicy, trustPolicy, workerPolicy, warnings} as one JSON object')
    .addHelpText(
      'after',
      '\nWithout --source-bucket, the source bucket is read from the inventory manifest.json (inventory sources), the\n' +
        'CSV manifest (csv sources) or the failed.csv (campaign-failures sources) with your AWS credentials; if that\n' +
        'fails, the policy allows every bucket (*) and a warning on stderr says so.\n' +
        '\nExamples:\n' +
        '  s3-campaigns iam-policy examples/restore.json\n' +
        '  s3-campaigns iam-policy copy.json --source-bucket media --json > policies.json\n' +
        '  s3-campaigns iam-policy tags.json --kms-key-arn arn:aws:kms:us-east-1:111122223333:key/1234abcd-…\n',
    )
    .action(async (file: string, flags: IamPolicyFlags) => {
      const spec = readSpecFile(file);
      const warnings: string[] = [];
      const opts: BatchRolePolicyOptions = { kmsKeyArns: flags.kmsKeyArn };
      if (flags.sourceBucket?.length) {
        opts.sourceBuckets = flags.sourceBucket;
      } else if (spec.source.type !== 'keys' && spec.source.type !== 'bucket') {
        let clients: AwsClients | undefined;
        // Found before the try: a dev stack that is gone is an error of its own, not an unreadable source.
        const { aws } = await cliAwsConfig();
        try {
          const facts = await describeCampaignSource(spec, () => (clients ??= createAwsClients(aws)).s3);
          opts.sourceBuckets = facts.sourceBuckets;
          opts.versioned = facts.versioned;
        } catch (err) {
          const src = spec.source;
          const what =
            src.type === 'csv'
              ? `the CSV manifest ${src.manifest}`
              : src.type === 'campaign-failures'
                ? `the failed.csv of campaign ${src.campaignId}`
                : 'the inventory manifest.json';
          warnings.push(`Could not read ${what}: ${(err as Error).message}.`);
        } finally {
          clients?.s3.destroy();
          clients?.s3control.destroy();
        }
      }
      const role = batchRolePolicies(spec, opts);
      const out: IamPolicyOutput = {
        roleArn: spec.roleArn,
        permissionsPolicy: role.permissionsPolicy,
        trustPolicy: role.trustPolicy,
        workerPolicy: workerPolicy(spec, {
          kmsKeyArns: flags.kmsKeyArn,
          sourceBuckets: opts.sourceBuckets,
          versioned: opts.versioned,
        }),
        warnings: [...warnings, ...role.warnings],
      };
      if (flags.json) {
        console.log(JSON.stringify(out, null, 2));
        return;
      }
      for (const w of out.warnings) process.stderr.write(`warning: ${w}\n`);
      const json = (doc: PolicyDocument) => JSON.stringify(doc, null, 2);
      console.log(
        [
          `# Permissions policy of the Batch Operations role ${spec.roleArn} (campaign "${spec.name}")`,
          json(out.permissionsPolicy),
          `# Trust policy of the same role`,
          json(out.trustPolicy),
          `# Policy of the worker's own credentials (creates, approves and watches the jobs; reads the source; writes the campaign folder)`,
          json(out.workerPolicy),
        ].join('\n'),
      );
    });
}
