// The Slack side of the decision: post the card, remind in its thread, close
// it with the outcome, and post the #incidents note. Slack is how people meet
// the triage, but not the only way to decide (the CLI works too), so a Slack
// failure is recorded and the triage goes on.
import { isCancellation, log, proxyActivities } from '@temporalio/workflow';
import type { TriageActivities } from '../activities/index.js';
import type { TriageScope } from '../activities/model.js';
import type { CardContext } from '../activities/slack-card.js';
import type { CardOutcome, SlackMessageRef } from '../activities/slack.js';
import { failureReason } from './failure-reason.js';
import { surfaceRetryPolicy } from './retry-policy.js';
import type { TriageStatus } from './messages.js';

export interface ApprovalCard {
  post(): Promise<void>;
  remind(): Promise<void>;
  close(outcome: CardOutcome): Promise<void>;
  /** The #incidents note; returns its permalink when Slack gave one. */
  note(decision: NonNullable<TriageStatus['decision']>, issue: { url: string; number: number; title: string }): Promise<string | undefined>;
}

export function approvalCard(scope: TriageScope, state: TriageStatus, card: CardContext): ApprovalCard {
  const channels = scope.slack;
  const triageId = state.workflowId;
  const slack = proxyActivities<TriageActivities>({ startToCloseTimeout: '30 seconds', retry: surfaceRetryPolicy(scope) });
  let message: SlackMessageRef | undefined;

  async function bestEffort<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (err) {
      if (isCancellation(err)) throw err;
      const notice = `Slack: could not ${what}: ${failureReason(err)}`;
      (state.notices ??= []).push(notice);
      log.warn(notice);
      return undefined;
    }
  }

  return {
    async post() {
      if (!channels) return;
      message = await bestEffort('post the approval card', () =>
        slack.postApprovalCard.executeWithOptions({ summary: `Slack: post the approval card in #${channels.approvalChannel}` }, [
          { triageId, channel: channels.approvalChannel, card },
        ]),
      );
      if (message) state.slackCard = message;
    },
    async remind() {
      const posted = message;
      if (!posted) return;
      await bestEffort('post the reminder', () =>
        slack.postApprovalReminder.executeWithOptions({ summary: 'Slack: remind the approvers in the card thread' }, [{ triageId, message: posted, card }]),
      );
    },
    async close(outcome) {
      const posted = message;
      if (!posted) return;
      await bestEffort('update the card', () =>
        slack.closeApprovalCard.executeWithOptions({ summary: `Slack: mark the card ${outcome.kind}` }, [{ triageId, message: posted, card, outcome }]),
      );
    },
    async note(decision, issue) {
      if (!channels) return undefined;
      const note = await bestEffort('post the #incidents note', () =>
        slack.postIncidentNote.executeWithOptions({ summary: `Slack: post the note in #${channels.incidentsChannel}` }, [
          { triageId, channel: channels.incidentsChannel, card, decision, issue },
        ]),
      );
      return note?.permalink;
    },
  };
}
