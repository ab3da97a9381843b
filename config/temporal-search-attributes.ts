// Custom search attributes must exist on the namespace before a workflow that
// sets them can start: without them every start is refused, and every
// PagerDuty webhook would be answered 503. A dev server gets them from flags;
// a real namespace from its operator. The worker registers them itself when
// its identity may (the OperatorService), and otherwise says exactly what to
// run; the gateway reports them missing as not ready.
import type { OperatorService } from '@temporalio/client';

/** `temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD` (the proto package is not a runtime dependency). */
const KEYWORD = 2;

export interface WithOperator {
  operatorService: Pick<OperatorService, 'listSearchAttributes' | 'addSearchAttributes'>;
}

/** The attributes of `names` the namespace lacks, or holds with a type other than Keyword. */
export async function missingSearchAttributes(connection: WithOperator, namespace: string, names: readonly string[]): Promise<string[]> {
  const listed = await connection.operatorService.listSearchAttributes({ namespace });
  const custom = listed.customAttributes ?? {};
  return names.filter((name) => custom[name] !== KEYWORD);
}

/** What an operator runs to register them: the Temporal CLI for a self-hosted namespace, tcld for Temporal Cloud. */
export function searchAttributeFix(namespace: string, names: readonly string[]): string {
  const cli = names.map((n) => `--name ${n} --type Keyword`).join(' ');
  const cloud = names.map((n) => `--search-attribute '${n}=Keyword'`).join(' ');
  return (
    `temporal operator search-attribute create --namespace ${namespace} ${cli}` +
    ` (Temporal Cloud: tcld namespace search-attributes add --namespace ${namespace} ${cloud}, or the Cloud UI)`
  );
}

export class SearchAttributesMissing extends Error {
  override name = 'SearchAttributesMissing';
}

/**
 * Registers the missing ones when `register` is set and the identity may;
 * throws SearchAttributesMissing naming the fix when they are still missing.
 * Returns the names it registered.
 */
export async function ensureSearchAttributes(
  connection: WithOperator,
  namespace: string,
  names: readonly string[],
  options: { register: boolean },
): Promise<string[]> {
  const missing = await missingSearchAttributes(connection, namespace, names);
  if (missing.length === 0) return [];
  let refusal = 'registering them is turned off (temporal.registerSearchAttributes: false)';
  if (options.register) {
    try {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((name) => [name, KEYWORD])),
      });
      const still = await missingSearchAttributes(connection, namespace, names);
      if (still.length === 0) return missing;
      refusal = `the namespace still lacks ${still.join(', ')} after registering them`;
    } catch (err) {
      refusal = `this identity may not register them (${(err as Error)?.message ?? String(err)})`;
    }
  }
  throw new SearchAttributesMissing(
    `namespace ${namespace} lacks the search attributes ${missing.join(', ')}: ${refusal}; run: ${searchAttributeFix(namespace, missing)}`,
  );
}
