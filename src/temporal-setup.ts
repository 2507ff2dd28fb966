/**
 * Checks, at worker start, that the Temporal namespace has the campaign search attributes. A workflow that upserts
 * an unregistered attribute fails every workflow task and retries forever; failing the worker start with the exact
 * command to fix it is kinder.
 */
import { Connection } from '@temporalio/client';

import type { Config } from './config';
import { SEARCH_ATTRIBUTE_CLI_TYPES } from './shared/search-attributes';

/** The names missing from the namespace (empty when all are registered). */
export async function missingSearchAttributes(temporal: Config['temporal']): Promise<string[]> {
  const { address, tls, apiKey, metadata } = temporal.connection;
  const connection = await Connection.connect({ address, tls, apiKey, metadata });
  try {
    const res = await connection.operatorService.listSearchAttributes({ namespace: temporal.namespace });
    const have = new Set(Object.keys(res.customAttributes ?? {}));
    return Object.keys(SEARCH_ATTRIBUTE_CLI_TYPES).filter((name) => !have.has(name));
  } finally {
    await connection.close();
  }
}

/** The `temporal` CLI command that registers `names` in `namespace`. */
export function registerSearchAttributesCommand(names: string[], namespace: string): string {
  const flags = names.map((n) => `--name ${n} --type ${SEARCH_ATTRIBUTE_CLI_TYPES[n]}`).join(' ');
  return `temporal operator search-attribute create --namespace ${namespace} ${flags}`;
}
