// GitHub writes, through the broker: the worker sends no credential; the
// broker adds the App installation token and allows only configured repos.
import { Octokit } from '@octokit/rest';
import type { ApplicationFailure } from '@temporalio/common';
import { httpFailure, invalidRequest, networkFailure, rateLimitFailure, requireTriageId, retryAfterMs } from './http-failure.js';
import { idempotencyLabel, idempotencyMarker } from './idempotency.js';
import { BACK_LINK_TEMPLATE, fillPlaceholders, PlaceholderError } from '../config/write-plan.js';
import { issueBodyWithApproval, type DecisionWords } from '../config/approval-text.js';
import { callerHeaders, type CallerToken } from './broker-caller.js';

const SURFACE = 'github';
const REPO = /^([A-Za-z0-9-]{1,39})\/([A-Za-z0-9._-]{1,100})$/;
const DEFAULT_TIMEOUT_MS = 15_000;

export interface GitHubClientOptions {
  /** The broker's `/github` prefix (or, in tests, any GitHub-compatible base URL). */
  baseUrl: string;
  /** The worker's token for the broker (activities/broker-caller.ts). */
  callerToken?: CallerToken;
  timeoutMs?: number;
}

export interface CreateIssueRequest {
  triageId: string;
  repo: string;
  title: string;
  /** Already contains the idempotency marker (it is part of the approved plan). */
  body: string;
  labels: string[];
  idempotencyKey: string;
  /**
   * The decision that allowed the write, added under the plan's text: the
   * plan hash covers what the approver saw, not who approved it. Absent when
   * a workflow of an earlier release scheduled the write.
   */
  approval?: DecisionWords;
}

export interface GitHubIssueRef {
  repo: string;
  number: number;
  url: string;
  title: string;
  /** False when an earlier attempt had already created it. */
  created: boolean;
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

export function createGitHubActivities(options: GitHubClientOptions) {
  const octokit = new Octokit({ baseUrl: options.baseUrl, userAgent: 'keyless-triage/0.1', log: silent });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // Per call: the triage id for the broker's audit log, and a deadline.
  const callOptions = (triageId: string) => ({
    headers: { 'x-triage-id': triageId, ...callerHeaders(options.callerToken) },
    request: { signal: AbortSignal.timeout(timeoutMs) },
  });
  const ownerAndRepo = (full: string): [string, string] => {
    const match = REPO.exec(full);
    if (!match) throw invalidRequest(SURFACE, 'repository must be owner/name');
    return [match[1]!, match[2]!];
  };

  return {
    /**
     * Creates the triage's issue once. Every attempt first lists the issues
     * carrying the idempotency label (listing is consistent; search is not)
     * and returns the one whose body holds the marker.
     */
    async createGitHubIssue(req: CreateIssueRequest): Promise<GitHubIssueRef> {
      const [owner, repo] = ownerAndRepo(req.repo);
      requireTriageId(SURFACE, req.triageId);
      const label = idempotencyLabel(req.idempotencyKey);
      const marker = idempotencyMarker(req.idempotencyKey);
      if (!req.body.includes(marker) || !req.labels.includes(label)) throw invalidRequest(SURFACE, 'the plan lacks its idempotency key');
      const request = () => callOptions(req.triageId);
      try {
        const { data: existing } = await octokit.rest.issues.listForRepo({
          owner,
          repo,
          labels: label,
          state: 'all',
          per_page: 100,
          ...request(),
        });
        const found = existing.find((issue) => issue.body?.includes(marker));
        if (found) return { repo: req.repo, number: found.number, url: found.html_url, title: found.title, created: false };
        const { data: created } = await octokit.rest.issues.create({
          owner,
          repo,
          title: req.title,
          body: req.approval ? issueBodyWithApproval(req.body, req.approval) : req.body,
          labels: req.labels,
          ...request(),
        });
        return { repo: req.repo, number: created.number, url: created.html_url, title: created.title, created: true };
      } catch (err) {
        throw gitHubFailure(err);
      }
    },

    /** After the #incidents note exists: the issue links back to it (idempotent: a retry finds the link). */
    async linkIssueToNote(req: { triageId: string; repo: string; number: number; noteUrl: string; backLink?: string }): Promise<void> {
      const [owner, repo] = ownerAndRepo(req.repo);
      let addition: string;
      try {
        // The approved plan's text (absent when an earlier release scheduled the write), filled the way the broker checks it.
        addition = fillPlaceholders(req.backLink ?? BACK_LINK_TEMPLATE, { notePermalink: req.noteUrl }, { repo: req.repo });
      } catch (err) {
        if (err instanceof PlaceholderError) throw invalidRequest(SURFACE, `note link: ${err.message}`);
        throw err;
      }
      const request = () => callOptions(req.triageId);
      try {
        const { data: issue } = await octokit.rest.issues.get({ owner, repo, issue_number: req.number, ...request() });
        const body = issue.body ?? '';
        if (body.includes(req.noteUrl)) return;
        await octokit.rest.issues.update({
          owner,
          repo,
          issue_number: req.number,
          body: `${body}${addition}`,
          ...request(),
        });
      } catch (err) {
        throw gitHubFailure(err);
      }
    },
  };
}

interface OctokitError {
  status: number;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

function isOctokitError(err: unknown): err is OctokitError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { status?: unknown }).status === 'number' &&
    (err as Error).name === 'HttpError'
  );
}

export function gitHubFailure(err: unknown, now: number = Date.now()): ApplicationFailure {
  if (!isOctokitError(err) || err.status < 400) return networkFailure(SURFACE, err);
  const headers = err.response?.headers ?? {};
  const header = (name: string) => (headers[name] === undefined ? undefined : String(headers[name]));
  const data = err.response?.data;
  const reason =
    typeof data === 'object' && data !== null && typeof (data as { message?: unknown }).message === 'string'
      ? (data as { message: string }).message
      : undefined;
  const retryAfter = header('retry-after');
  const exhausted = header('x-ratelimit-remaining') === '0';
  if ((err.status === 403 || err.status === 429) && (retryAfter !== undefined || exhausted)) {
    // Secondary rate limits: wait what GitHub says, else until the window resets.
    const reset = Number(header('x-ratelimit-reset'));
    const delay = retryAfterMs(retryAfter, now) ?? (Number.isFinite(reset) && reset * 1000 > now ? reset * 1000 - now : 60_000);
    return rateLimitFailure(SURFACE, err.status, delay, reason);
  }
  return httpFailure({ surface: SURFACE, status: err.status, retryAfter, reason });
}
