// The Slack side of the decision: post the card, remind in its thread, close
// it with the outcome, and post the #incidents note. A Slack failure is
// recorded and the triage goes on: where approval.channels allows the CLI, it
// can still be decided; where it does not, the notice says nobody can, so the
// wait for its expiry is not a mystery.
import { isCancellation, proxyActivities } from '@temporalio/workflow';
import type { TriageActivities } from '../activities/index.js';
import type { Diagnosis, IncidentRef, TriageScope } from '../activities/model.js';
import type { CardContext, CardOutcome } from '../activities/slack-card.js';
import type { SlackMessageRef } from '../activities/slack.js';
import { failureReason } from './failure-reason.js';
import { workflowUiUrl, type DecisionRecord } from './messages.js';
import { surfaceRetryPolicy } from './retry-policy.js';
import type { StatusBoard } from './status.js';

export interface ApprovalCard {
  /** Whether the card is in Slack: only then is there a card to close. */
  readonly posted: boolean;
  /** Whether the #incidents note was posted. */
  readonly noted: boolean;
  post(): Promise<void>;
  remind(): Promise<void>;
  close(outcome: CardOutcome): Promise<void>;
  /** The plan's #incidents note; returns its permalink when Slack gave one. */
  note(decision: DecisionRecord, issue: { repo: string; url: string; number: number }): Promise<string | undefined>;
}

export function approvalCard(scope: TriageScope, incident: IncidentRef, diagnosis: Diagnosis, status: StatusBoard): ApprovalCard {
  const channels = scope.slack;
  const triageId = status.workflowId;
  const card = cardContext(scope, incident, diagnosis, status);
  const slack = proxyActivities<TriageActivities>({ startToCloseTimeout: '30 seconds', retry: surfaceRetryPolicy(scope) });
  let message: SlackMessageRef | undefined;
  let noted = false;

  async function bestEffort<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (err) {
      if (isCancellation(err)) throw err;
      status.notice(`Slack: could not ${what}: ${failureReason(err)}`);
      return undefined;
    }
  }

  return {
    get posted() {
      return message !== undefined;
    },
    get noted() {
      return noted;
    },
    async post() {
      if (channels) {
        message = await bestEffort('post the approval card', () =>
          slack.postApprovalCard.executeWithOptions({ summary: `Slack: post the approval card in #${channels.approvalChannel}` }, [
            { triageId, channel: channels.approvalChannel, card },
          ]),
        );
      }
      if (message) status.cardPosted(message);
      else if (!status.cliApprovals) {
        status.notice(
          `No approval card${channels ? '' : ' (no Slack channel is configured for this service)'} and CLI approvals are disabled: nobody can decide this triage; it expires at ${status.expiresAt}`,
        );
      }
    },
    async remind() {
      const posted = message;
      if (!posted) return;
      await bestEffort('post the reminder', () =>
        slack.postApprovalReminder.executeWithOptions({ summary: 'Slack: remind the approvers in the card thread' }, [
          { triageId, message: posted, card },
        ]),
      );
    },
    async close(outcome) {
      const posted = message;
      if (!posted) return;
      await bestEffort('update the card', () =>
        slack.closeApprovalCard.executeWithOptions({ summary: `Slack: mark the card ${outcome.kind}` }, [
          { triageId, message: posted, card, outcome },
        ]),
      );
    },
    async note(decision, issue) {
      if (!channels) return undefined;
      // Scheduled for a plan without a note too (one approved before the note was
      // planned), as before: the activity refuses it, and the notice says why.
      const planned = diagnosis.plan.slack.note;
      const note = await bestEffort('post the #incidents note', () =>
        slack.postIncidentNote.executeWithOptions({ summary: `Slack: post the note in #${channels.incidentsChannel}` }, [
          { triageId, ...(planned ? { note: planned } : {}), decision, issue: { repo: issue.repo, url: issue.url, number: issue.number } },
        ]),
      );
      noted = note !== undefined;
      return note?.permalink;
    },
  };
}

function cardContext(scope: TriageScope, incident: IncidentRef, diagnosis: Diagnosis, status: StatusBoard): CardContext {
  const { workflowId } = status;
  return {
    incident,
    headline: diagnosis.headline,
    findings: diagnosis.findings,
    surfaces: diagnosis.surfaces,
    planHash: diagnosis.planHash,
    workflowId,
    webUiUrl: workflowUiUrl({ uiUrl: scope.temporalUiUrl, namespace: scope.namespace }, workflowId),
    approvers: scope.approvers,
    expiresAt: status.expiresAt,
    ...(diagnosis.plan.github.repo ? { githubRepo: diagnosis.plan.github.repo } : {}),
    ...(diagnosis.metricLines?.length ? { metricLines: diagnosis.metricLines } : {}),
  };
}
