/**
 * Checks, at worker start, that the Temporal namespace has the campaign search attributes. A workflow that upserts
 * an unregistered attribute fails every workflow task and retries forever; failing the worker start with the exact
 * command to fix it is kinder.
 */
import { Connection } from '@temporalio/client';

import type { Config } from './config';
import { SEARCH_ATTRIBUTE_CLI_TYPES } from './shared/search-attributes';

/** Temporal's `IndexedValueType` numbers → `temporal` CLI type names. */
const INDEXED_VALUE_TYPE: Record<number, string> = {
  1: 'Text',
  2: 'Keyword',
  3: 'Int',
  4: 'Double',
  5: 'Bool',
  6: 'Datetime',
  7: 'KeywordList',
};

/** What the namespace lacks, and the attributes it has under another type than the campaigns write. */
export interface SearchAttributeCheck {
  missing: string[];
  /** A workflow that upserts one of these fails every workflow task, as with a missing one. */
  mistyped: Array<{ name: string; registered: string; expected: string }>;
}

/** Lists the namespace's custom search attributes and compares them with the campaign attributes. */
export async function checkSearchAttributes(temporal: Config['temporal']): Promise<SearchAttributeCheck> {
  const { address, tls, apiKey, metadata } = temporal.connection;
  const connection = await Connection.connect({ address, tls, apiKey, metadata });
  try {
    const res = await connection.operatorService.listSearchAttributes({ namespace: temporal.namespace });
    const have = res.customAttributes ?? {};
    const check: SearchAttributeCheck = { missing: [], mistyped: [] };
    for (const [name, expected] of Object.entries(SEARCH_ATTRIBUTE_CLI_TYPES)) {
      if (!(name in have)) check.missing.push(name);
      else {
        const registered = INDEXED_VALUE_TYPE[Number(have[name])] ?? String(have[name]);
        if (registered !== expected) check.mistyped.push({ name, registered, expected });
      }
    }
    return check;
  } finally {
    await connection.close();
  }
}

/** The names missing from the namespace (empty when all are registered). */
export async function missingSearchAttributes(temporal: Config['temporal']): Promise<string[]> {
  return (await checkSearchAttributes(temporal)).missing;
}

/** Why a namespace with attributes of the wrong type cannot run campaigns, and how to fix it. */
export function mistypedSearchAttributesMessage(mistyped: SearchAttributeCheck['mistyped'], namespace: string): string {
  const names = mistyped.map((m) => m.name);
  return (
    `namespace ${namespace} has ${mistyped.map((m) => `${m.name} as ${m.registered} (campaigns write ${m.expected})`).join(', ')}; ` +
    `remove and register again:\n  temporal operator search-attribute remove --namespace ${namespace} ${names.map((n) => `--name ${n}`).join(' ')}\n  ` +
    registerSearchAttributesCommand(names, namespace)
  );
}

/** The `temporal` CLI command that registers `names` in `namespace`. */
export function registerSearchAttributesCommand(names: string[], namespace: string): string {
  const flags = names.map((n) => `--name ${n} --type ${SEARCH_ATTRIBUTE_CLI_TYPES[n]}`).join(' ');
  return `temporal operator search-attribute create --namespace ${namespace} ${flags}`;
}
