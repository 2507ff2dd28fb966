/**
 * The static summary and details a campaign carries in the Temporal UI from its start (set by whoever starts it:
 * the CLI, a Schedule). Pure.
 */
import type { CampaignSpec } from '../shared/campaign-spec';

function sourceText(spec: CampaignSpec): string {
  const s = spec.source;
  switch (s.type) {
    case 'inventory':
      return `inventory report ${s.manifest}`;
    case 'inventory-latest':
      return `newest inventory report under ${s.destination}`;
    case 'csv':
      return `CSV manifest ${s.manifest}`;
    case 'keys':
      return `${s.keys.length} key(s) in s3://${s.bucket}`;
  }
}

/** One line: `restore · restore 2019 logs from Glacier`. */
export function campaignSummary(spec: CampaignSpec): string {
  return `${spec.operation.type} · ${spec.name}`.slice(0, 200);
}

/** A few lines of markdown: what the campaign does, to what, and under which policies. */
export function campaignDetails(spec: CampaignSpec): string {
  const { type, ...params } = spec.operation;
  const lines = [
    `**${spec.name}**`,
    '',
    `- operation: \`${type}\` ${Object.keys(params).length ? `\`${JSON.stringify(params)}\`` : ''}`.trimEnd(),
    `- source: ${sourceText(spec)}`,
  ];
  if (spec.filter && Object.keys(spec.filter).length) lines.push(`- filter: \`${JSON.stringify(spec.filter)}\``);
  lines.push(
    `- account ${spec.accountId}, ${spec.region}, role \`${spec.roleArn}\``,
    `- approval: ${spec.approval.required ? `required (timeout ${spec.approval.timeout})` : 'not required'}; retries: up to ${spec.retry.maxRetryJobs} job(s)`,
    `- reports: s3://${spec.report.bucket}/${spec.report.prefix}/`,
  );
  if (spec.incremental) lines.push(`- incremental (watermark \`${spec.incremental.stateKey ?? 'from the name'}\`)`);
  return lines.join('\n');
}
