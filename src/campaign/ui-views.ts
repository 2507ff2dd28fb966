/**
 * Ready-made Web UI list views of campaigns: their list queries (Temporal's visibility syntax, on the `Campaign*`
 * search attributes the workflow keeps up to date) and links that open them. The Web UI keeps saved views in the
 * browser; a link with `savedQuery=<name>` saves its query under that name when it is opened. Pure.
 */
import { CAMPAIGN_WORKFLOW_TYPE } from '../shared/campaign';
import { CAMPAIGN_SEARCH_ATTRIBUTES as SA } from '../shared/search-attributes';

/** One list view: the name it is saved under and its list query. */
export interface CampaignListView {
  name: string;
  query: string;
}

const CAMPAIGNS = `WorkflowType = "${CAMPAIGN_WORKFLOW_TYPE}"`;

/**
 * Campaigns, campaigns awaiting approval, and failed campaigns: those that ended with outcome Failed (their
 * `CampaignPhase` then holds the outcome) and those whose workflow itself failed, was terminated or timed out.
 */
export const CAMPAIGN_LIST_VIEWS = {
  campaigns: { name: 'Campaigns', query: CAMPAIGNS },
  awaitingApproval: {
    name: 'Campaigns awaiting approval',
    query: `${CAMPAIGNS} AND ${SA.phase.name} = "AwaitingApproval"`,
  },
  failed: {
    name: 'Failed campaigns',
    query: `${CAMPAIGNS} AND (${SA.phase.name} = "Failed" OR ExecutionStatus IN ("Failed", "Terminated", "TimedOut"))`,
  },
} as const satisfies Record<string, CampaignListView>;

/** The Web UI's workflow list of `namespace` filtered by `view`; opening it saves the view in that browser. */
export function savedViewLink(uiUrl: string, namespace: string, view: CampaignListView): string {
  const q = new URLSearchParams({ query: view.query, savedQuery: view.name });
  return `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows?${q.toString()}`;
}
