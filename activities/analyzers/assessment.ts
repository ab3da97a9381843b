// Ranking needs two facts a Finding does not carry: how many objects are
// affected (a finding lists at most a few) and whether a recent rollout
// explains it. Analyzers return them next to the finding; only the finding
// leaves the diagnosis.
import type { AnalysisInput, Analyzer, Finding } from '../model.js';

export interface Assessment {
  finding: Finding;
  /** All affected objects seen in the evidence, not just those listed in `finding.objects`. */
  affected: number;
  /** A rollout just before the incident produced every failing object. */
  rolloutCorrelated: boolean;
  /**
   * What a failure looks like from outside (an error count, a metric that moved,
   * a firing monitor) rather than a failure mode named on an object: at equal
   * severity, a cause outranks it.
   */
  symptom?: boolean;
}

export type Assessor = (input: AnalysisInput) => Assessment[];

export function asAnalyzer(assess: Assessor): Analyzer {
  return (input) => assess(input).map((assessment) => assessment.finding);
}

/** Findings cite a handful of objects; the count says how many there are in all. */
export const MAX_LISTED_OBJECTS = 5;
