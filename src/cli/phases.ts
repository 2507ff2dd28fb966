/** A campaign's phase and outcome as the CLI names them: the values `list --phase` takes. */
import { InvalidArgumentError } from 'commander';

import type { CampaignOutcome, CampaignPhase } from '../shared/campaign';

/**
 * The values of the CampaignPhase search attribute: the phase while a campaign runs, its outcome once it is done (so
 * never `Done`). A Record, so that the compiler asks for a phase or outcome added to the contract.
 */
export const LISTED_PHASES: Record<Exclude<CampaignPhase, 'Done'>, 'phase'> & Record<CampaignOutcome, 'outcome'> = {
  BuildingManifest: 'phase',
  CreatingJobs: 'phase',
  PreparingJobs: 'phase',
  AwaitingApproval: 'phase',
  Running: 'phase',
  AnalyzingResults: 'phase',
  WaitingToRetry: 'phase',
  Reporting: 'phase',
  Succeeded: 'outcome',
  CompletedWithFailures: 'outcome',
  Failed: 'outcome',
  Rejected: 'outcome',
  ApprovalExpired: 'outcome',
  Cancelled: 'outcome',
  NothingToDo: 'outcome',
};

/** `--phase`: a phase or an outcome, in any letter case; refused otherwise, with the names it takes. */
export function parsePhase(value: string): string {
  const names = Object.keys(LISTED_PHASES) as Array<keyof typeof LISTED_PHASES>;
  const match = names.find((n) => n.toLowerCase() === value.trim().toLowerCase());
  if (match) return match;
  const of = (kind: 'phase' | 'outcome') => names.filter((n) => LISTED_PHASES[n] === kind).join(', ');
  const done = /^done$/i.test(value.trim()) ? ' (a finished campaign is listed under its outcome)' : '';
  throw new InvalidArgumentError(
    `--phase must be a phase (${of('phase')}) or an outcome (${of('outcome')}), got ${JSON.stringify(value)}${done}`,
  );
}
