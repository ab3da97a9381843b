// The Temporal check: the namespace has the search attributes every triage
// start sets. Without them Temporal refuses each start and the gateway answers
// every PagerDuty webhook 503, so a missing one is a broken setup. It runs only
// on demand: at start the worker registers them itself (or refuses, naming the
// same fix) right after the doctor, over its own connection.
import { Connection } from '@temporalio/client';
import { missingSearchAttributes, searchAttributeFix } from '../../config/temporal-search-attributes.js';
import { clientConnectionOptions, TemporalCredentialSource } from '../../config/temporal-connection.js';
import { createJsonLogger } from '../../config/logger.js';
import type { TriageConfig } from '../../config/config.js';
import { triageSearchAttributes } from '../../workflows/search-attributes.js';
import { networkCode, plural, type DoctorCheck, type TemporalOperator } from './context.js';

/** A client connection built the way the gateway builds its own (TLS, mTLS or API key from the files). */
export async function connectTemporalOperator(config: TriageConfig): Promise<TemporalOperator> {
  const source = TemporalCredentialSource.open(config.temporal, { logger: createJsonLogger({ base: { component: 'doctor' } }) });
  try {
    const connection = await Connection.connect({ ...clientConnectionOptions(config.temporal, source), connectTimeout: '5s' });
    return { operatorService: connection.operatorService, close: () => connection.close().finally(() => source.close()) };
  } catch (err) {
    source.close();
    throw err;
  }
}

export const temporalSearchAttributes: DoctorCheck = {
  id: 'temporal.search-attributes',
  title: 'Temporal namespace has the triage search attributes',
  async run(ctx) {
    const { address, namespace } = ctx.config.temporal;
    const names = triageSearchAttributes.map((k) => k.name);
    let operator: TemporalOperator;
    try {
      operator = await ctx.deps.temporalOperator(ctx.config);
    } catch (err) {
      return {
        status: 'fail',
        detail: `Temporal at ${address} not reachable (${networkCode(err)}): ${(err as Error)?.message ?? ''}`.trim(),
      };
    }
    try {
      const missing = await missingSearchAttributes(operator, namespace, names);
      if (missing.length === 0)
        return { status: 'pass', detail: `namespace ${namespace} has ${plural(names.length, 'Keyword attribute')}: ${names.join(', ')}` };
      const registers = ctx.config.temporal.registerSearchAttributes !== false;
      return {
        status: 'fail',
        detail:
          `namespace ${namespace} lacks ${missing.join(', ')} (or holds them with a type other than Keyword): every triage start is refused\n` +
          (registers
            ? 'the worker registers them at start when its identity may (OperatorService); else '
            : 'temporal.registerSearchAttributes is false; ') +
          `what to do: ${searchAttributeFix(namespace, missing)}`,
      };
    } catch (err) {
      return {
        status: 'fail',
        detail: `listing the search attributes of namespace ${namespace} failed: ${(err as Error)?.message ?? String(err)}`,
      };
    } finally {
      await operator.close().catch(() => undefined);
    }
  },
};
