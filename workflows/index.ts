// The workflow bundle's entry point: every workflow the worker registers.
export { triageIncident } from './triage.js';
