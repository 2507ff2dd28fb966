/**
 * The campaign search attributes: the workflow keeps them current so the Temporal UI's workflow list can be
 * filtered ("all restore campaigns awaiting approval"). The dev stack registers them at start; on another server,
 * register them once (README, "Running against real AWS").
 */
import { defineSearchAttributeKey } from '@temporalio/common';

export const CAMPAIGN_SEARCH_ATTRIBUTES = {
  name: defineSearchAttributeKey('CampaignName', 'KEYWORD'),
  operation: defineSearchAttributeKey('CampaignOperation', 'KEYWORD'),
  /** The phase while running; the outcome (`Succeeded`, `Rejected`, …) once done. */
  phase: defineSearchAttributeKey('CampaignPhase', 'KEYWORD'),
  /** The source bucket (or the inventory's bucket). */
  bucket: defineSearchAttributeKey('CampaignBucket', 'KEYWORD'),
  objects: defineSearchAttributeKey('CampaignObjects', 'INT'),
  failedTasks: defineSearchAttributeKey('CampaignFailedTasks', 'INT'),
  // restore-and-copy progress. DOUBLE, not INT: SQL visibility stores at most 3 INT attributes per namespace (the
  // dev server refuses a fourth) and two are taken above; a double holds any count exactly and compares as a number.
  /** restore-and-copy: objects known readable so far (restored, or needing no restore). */
  restored: defineSearchAttributeKey('CampaignRestored', 'DOUBLE'),
  /** restore-and-copy: objects copied (and verified) so far. */
  copied: defineSearchAttributeKey('CampaignCopied', 'DOUBLE'),
  /** restore-and-copy: waiting copies whose restored copy expires soon (`status`'s "expiring soon"). */
  expiringSoon: defineSearchAttributeKey('CampaignExpiringSoon', 'DOUBLE'),
} as const;

/** `temporal` CLI type names, for `--search-attribute NAME=Type`. */
const CLI_TYPE = {
  KEYWORD: 'Keyword',
  INT: 'Int',
  TEXT: 'Text',
  DATETIME: 'Datetime',
  BOOL: 'Bool',
  DOUBLE: 'Double',
  KEYWORD_LIST: 'KeywordList',
} as const;

/** Name → Temporal CLI type of every campaign search attribute. */
export const SEARCH_ATTRIBUTE_CLI_TYPES: Record<string, string> = Object.fromEntries(
  Object.values(CAMPAIGN_SEARCH_ATTRIBUTES).map((k) => [k.name, CLI_TYPE[k.type]]),
);
