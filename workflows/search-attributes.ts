import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Typed search attributes: what an on-call engineer filters on in the Web UI
// (`TriageStage = "awaiting-decision"`, `TriageService = "checkout"`). They
// must be registered on the namespace before any workflow sets them; the
// worker does it at start (config/temporal-search-attributes.ts).
export const incidentIdKey = defineSearchAttributeKey('TriageIncidentId', SearchAttributeType.KEYWORD);
export const serviceKey = defineSearchAttributeKey('TriageService', SearchAttributeType.KEYWORD);
export const urgencyKey = defineSearchAttributeKey('TriageUrgency', SearchAttributeType.KEYWORD);
export const stageKey = defineSearchAttributeKey('TriageStage', SearchAttributeType.KEYWORD);
export const decisionKey = defineSearchAttributeKey('TriageDecision', SearchAttributeType.KEYWORD);

export const triageSearchAttributes = [incidentIdKey, serviceKey, urgencyKey, stageKey, decisionKey];
