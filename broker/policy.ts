// The route policy: which method + path (+ query parameters, + repository)
// each provider's credential may be used for. It is code, parameterised by the
// config, so a review of this file is a review of everything the worker can
// do with the broker's credentials. Anything not listed is denied before a
// byte goes upstream. It is exactly as wide as the activities: a route or a
// query parameter no activity sends is a capability nobody reviews in use, so
// test/broker/route-coverage.test.ts drives every activity through a broker
// and fails on any rule (or parameter) here that none of them exercised.
import { PROVIDERS, type BrokerConfig, type ProviderName } from './config.js';

export type RouteMethod = 'GET' | 'POST' | 'PATCH';

export interface RouteRule {
  method: RouteMethod;
  /** Upstream path template; `{name}` segments must match PARAM_PATTERNS[name]. */
  path: string;
  /** Query parameter names the caller may send; anything else is denied. */
  query: readonly string[];
  /** `{owner}/{repo}` must be in the provider's repo allowlist. */
  repoScoped?: boolean;
}

export interface ProviderPolicy {
  provider: ProviderName;
  rules: readonly RouteRule[];
  /** Lower-cased owner/repo allowlist (GitHub compares names case-insensitively). */
  repos?: ReadonlySet<string>;
}

export type Policy = Partial<Record<ProviderName, ProviderPolicy>>;

export const PARAM_PATTERNS: Readonly<Record<string, RegExp>> = {
  owner: /^[A-Za-z0-9-]{1,39}$/,
  repo: /^[A-Za-z0-9._-]{1,100}$/,
  number: /^[0-9]{1,10}$/,
  id: /^[A-Za-z0-9]{1,32}$/,
};

export function buildPolicy(config: Pick<BrokerConfig, 'providers'>): Policy {
  const { github, pagerduty, datadog, slack } = config.providers;
  const policy: Policy = {};
  if (github) {
    policy.github = {
      provider: 'github',
      repos: new Set(github.repos.map((r) => r.toLowerCase())),
      rules: [
        // createGitHubIssue: the idempotency lookup (one page of up to 100 by label), then the create.
        { method: 'GET', path: '/repos/{owner}/{repo}/issues', query: ['labels', 'state', 'per_page'], repoScoped: true },
        { method: 'POST', path: '/repos/{owner}/{repo}/issues', query: [], repoScoped: true },
        // linkIssueToNote: read the body, append the #incidents link.
        { method: 'GET', path: '/repos/{owner}/{repo}/issues/{number}', query: [], repoScoped: true },
        { method: 'PATCH', path: '/repos/{owner}/{repo}/issues/{number}', query: [], repoScoped: true },
      ],
    };
  }
  if (pagerduty) {
    policy.pagerduty = {
      provider: 'pagerduty',
      rules: [
        { method: 'GET', path: '/incidents/{id}', query: [] },
        { method: 'GET', path: '/incidents/{id}/alerts', query: ['limit', 'offset', 'total', 'sort_by'] },
      ],
    };
  }
  if (datadog) {
    policy.datadog = {
      provider: 'datadog',
      rules: [
        { method: 'POST', path: '/api/v2/query/timeseries', query: [] },
        { method: 'GET', path: '/api/v1/monitor', query: ['monitor_tags', 'page', 'page_size'] },
        { method: 'POST', path: '/api/v2/logs/events/search', query: [] },
      ],
    };
  }
  if (slack) {
    policy.slack = {
      provider: 'slack',
      rules: [
        // WebClient POSTs every method with a form body, so no Slack route takes a GET or a query.
        // A channel name → id, once per worker process (paginated through the cursor in the body).
        { method: 'POST', path: '/api/conversations.list', query: [] },
        // The approval card, its reminder and the #incidents note; then the card's outcome.
        { method: 'POST', path: '/api/chat.postMessage', query: [] },
        { method: 'POST', path: '/api/chat.update', query: [] },
        // The #incidents note's link, for the GitHub issue to point back at it.
        { method: 'POST', path: '/api/chat.getPermalink', query: [] },
      ],
    };
  }
  return policy;
}

export type Decision =
  | {
      allowed: true;
      provider: ProviderName;
      /** Path below the provider prefix, exactly as the caller sent it (already validated). */
      path: string;
      /** Raw query string without `?`, forwarded unchanged; empty when none. */
      query: string;
      rule: RouteRule;
      /** Lower-cased `owner/repo` of a repository-scoped rule: the one repository its credential may reach. */
      repo?: string;
    }
  | {
      allowed: false;
      /** 404 for an unknown or unconfigured provider, 403 otherwise. */
      status: 403 | 404;
      reason: string;
      /** Best-effort, for the audit line: the first path segment. */
      provider: string;
      /** Best-effort, for the audit line: the path below the provider, without the query. */
      path: string;
    };

// Unreserved characters and '/': none of the allowed routes needs anything
// else, so percent-encoding (encoded slashes, dots, NULs) is refused outright
// rather than decoded and re-checked.
const PLAIN_PATH = /^[A-Za-z0-9._~/-]*$/;
const QUERY_CHARS = /^[A-Za-z0-9._~!$&'()*+,;=:@/?%[\]-]*$/;
const SAFE_NAME = /^[A-Za-z0-9_.[\]-]{1,40}$/;

/** Decides one request from its method and raw request target (`req.url`). */
export function decide(policy: Policy, method: string, target: string): Decision {
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const rawQuery = q === -1 ? '' : target.slice(q + 1);
  const segments = rawPath.split('/').slice(1);
  const providerSegment = (segments[0] ?? '').slice(0, 64);
  const restPath = `/${segments.slice(1).join('/')}`.slice(0, 2048);
  const deny = (status: 403 | 404, reason: string): Decision => ({
    allowed: false,
    status,
    reason,
    provider: providerSegment,
    path: restPath,
  });

  if (!rawPath.startsWith('/')) return deny(403, 'malformed request target');
  if (rawPath.includes('%')) return deny(403, 'encoded characters in path');
  if (!PLAIN_PATH.test(rawPath)) return deny(403, 'malformed path');
  if (rawPath === '/') return deny(404, 'unknown provider');
  if (segments.some((s) => s === '.' || s === '..')) return deny(403, 'path traversal');
  if (segments.some((s) => s === '')) return deny(403, 'malformed path');

  if (!(PROVIDERS as readonly string[]).includes(providerSegment)) return deny(404, 'unknown provider');
  const provider = providerSegment as ProviderName;
  const providerPolicy = policy[provider];
  if (!providerPolicy) return deny(404, 'provider not configured');

  const rest = segments.slice(1);
  const pathMatches = providerPolicy.rules
    .map((rule) => ({ rule, params: matchTemplate(rule.path, rest) }))
    .filter((m): m is { rule: RouteRule; params: Record<string, string> } => m.params !== undefined);
  if (pathMatches.length === 0) return deny(403, 'path not allowed');
  const match = pathMatches.find((m) => m.rule.method === method);
  if (!match) return deny(403, 'method not allowed');

  let repo: string | undefined;
  if (match.rule.repoScoped) {
    repo = `${match.params.owner}/${match.params.repo}`.toLowerCase();
    if (!providerPolicy.repos?.has(repo)) return deny(403, 'repository not allowlisted');
  }

  if (rawQuery !== '') {
    if (!QUERY_CHARS.test(rawQuery)) return deny(403, 'malformed query');
    for (const name of new URLSearchParams(rawQuery).keys()) {
      if (!match.rule.query.includes(name)) {
        return deny(403, SAFE_NAME.test(name) ? `query parameter not allowed: ${name}` : 'query parameter not allowed');
      }
    }
  }

  return { allowed: true, provider, path: restPath, query: rawQuery, rule: match.rule, ...(repo !== undefined && { repo }) };
}

function matchTemplate(template: string, segments: readonly string[]): Record<string, string> | undefined {
  const parts = template.split('/').slice(1);
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, part] of parts.entries()) {
    const segment = segments[i]!;
    const param = /^\{(\w+)\}$/.exec(part)?.[1];
    if (param === undefined) {
      if (part !== segment) return undefined;
      continue;
    }
    const pattern = PARAM_PATTERNS[param];
    if (!pattern?.test(segment)) return undefined;
    params[param] = segment;
  }
  return params;
}

export interface PolicyLine {
  provider: ProviderName;
  method: RouteMethod;
  path: string;
  query: readonly string[];
  repos?: readonly string[];
}

/** The policy as data, for `doctor` and for review. */
export function describePolicy(policy: Policy): PolicyLine[] {
  const lines: PolicyLine[] = [];
  for (const provider of PROVIDERS) {
    const p = policy[provider];
    if (!p) continue;
    for (const rule of p.rules) {
      lines.push({
        provider,
        method: rule.method,
        path: rule.path,
        query: rule.query,
        ...(rule.repoScoped && p.repos ? { repos: [...p.repos] } : {}),
      });
    }
  }
  return lines;
}

/** One human-readable line per allowed route. */
export function formatPolicy(policy: Policy): string {
  return describePolicy(policy)
    .map((l) => {
      const query = l.query.length > 0 ? `?${l.query.join(',')}` : '';
      const repos = l.repos ? `  repos: ${l.repos.join(', ')}` : '';
      return `${l.provider.padEnd(9)} ${l.method.padEnd(5)} ${l.path}${query}${repos}`;
    })
    .join('\n');
}
