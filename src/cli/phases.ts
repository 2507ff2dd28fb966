/**
 * A campaign's phase and outcome as the CLI names them: the values `list --phase` takes, and how an ended campaign
 * ended, for messages.
 */
import { WorkflowNotFoundError, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import { InvalidArgumentError } from 'commander';

import type { CampaignOutcome, CampaignPhase } from '../shared/campaign';
import { CAMPAIGN_SEARCH_ATTRIBUTES as SA } from '../shared/search-attributes';

/**
 * The values of the CampaignPhase search attribute: the phase while a campaign runs, its outcome once it is done (so
 * never `Done`). A Record, so that the compiler asks for a phase or outcome added to the contract.
 */
export const LISTED_PHASES: Record<Exclude<CampaignPhase, 'Done'>, 'phase'> & Record<CampaignOutcome, 'outcome'> = {
  BuildingManifest: 'phase',
  CreatingJobs: 'phase',
  PreparingJobs: 'phase',
  AwaitingApproval: 'phase',
  Sorting: 'phase',
  Tracking: 'phase',
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

/** How an ended campaign ended: its outcome (`Succeeded`, `Rejected`, …), else the workflow's status (`Terminated`). */
export function endedAs(d: Pick<WorkflowExecutionDescription, 'status' | 'typedSearchAttributes'>): string {
  const phase = d.typedSearchAttributes.get(SA.phase);
  if (phase && (LISTED_PHASES as Record<string, string>)[phase] === 'outcome') return phase;
  return d.status.name.toLowerCase().replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
}

/** `campaign X already ended (Succeeded): nothing to approve`: exit code 1. */
export function alreadyEnded(id: string, outcome: string, verb: 'approve' | 'reject' | 'cancel'): Error {
  return new Error(`campaign ${id} already ended (${outcome}): nothing to ${verb}`);
}

/**
 * The campaign's description; undefined when describing is not allowed (a narrow API key may still send updates). An
 * unknown campaign is an error (WorkflowNotFoundError, "no campaign X").
 */
export async function describeIfAllowed(handle: WorkflowHandle): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw err;
    return undefined;
  }
}
