// Standing conditions per emulated surface: the scenario sets them, the
// environment overrides them for one run (`SANDBOX_DATADOG_ERROR_RATE=1 make demo`),
// and both are validated the same way so a typo fails loudly at start.
import { CONDITION_SURFACES, surfaceConditions, type Scenario, type SurfaceConditions } from './scenario.js';

export type ConditionSurface = (typeof CONDITION_SURFACES)[number];

const SETTINGS = {
  LATENCY_MS: 'latencyMs',
  ERROR_RATE: 'errorRate',
  ERROR_STATUS: 'errorStatus',
  RETRY_AFTER_SECONDS: 'retryAfterSeconds',
} as const;

/** `SANDBOX_<SURFACE>_<SETTING>`, e.g. `SANDBOX_DATADOG_LATENCY_MS`. */
export function conditionVariable(surface: ConditionSurface, setting: keyof typeof SETTINGS): string {
  return `SANDBOX_${surface.toUpperCase()}_${setting}`;
}

export function conditionsFor(
  surface: ConditionSurface,
  scenario: Pick<Scenario, 'conditions'>,
  env: NodeJS.ProcessEnv = process.env,
): SurfaceConditions {
  const merged: Record<string, unknown> = { ...scenario.conditions[surface] };
  for (const [suffix, key] of Object.entries(SETTINGS) as [keyof typeof SETTINGS, string][]) {
    const name = conditionVariable(surface, suffix);
    const value = env[name];
    if (value === undefined || value === '') continue;
    const number = Number(value);
    if (!Number.isFinite(number)) throw new Error(`${name} must be a number, got ${JSON.stringify(value.slice(0, 40))}`);
    merged[key] = number;
  }
  const result = surfaceConditions.safeParse(merged);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`${surface} conditions are invalid (scenario conditions.${surface} or SANDBOX_${surface.toUpperCase()}_*): ${issues}`);
  }
  return result.data;
}

/** Every surface's conditions, for the one process that runs the emulators. */
export function allConditions(
  scenario: Pick<Scenario, 'conditions'>,
  env: NodeJS.ProcessEnv = process.env,
): Record<ConditionSurface, SurfaceConditions> {
  return Object.fromEntries(CONDITION_SURFACES.map((s) => [s, conditionsFor(s, scenario, env)])) as Record<
    ConditionSurface,
    SurfaceConditions
  >;
}
