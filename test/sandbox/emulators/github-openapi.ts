// GitHub's OpenAPI description (npm @octokit/openapi) as validators, so the
// emulator tests can check every request body they send and every response
// body the emulator returns against the operation's published schemas. The
// OpenAPI 3.0 → JSON Schema work is shared with the PagerDuty and Kubernetes
// fidelity tests (./openapi-schemas.ts).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ApiDescription, type JsonObject, type Operation } from './openapi-schemas.js';

const ROOT = 'https://api.github.com/openapi.json';

export interface Exchange {
  method: string;
  url: string;
  status: number;
  requestBody?: unknown;
  responseBody?: unknown;
}

export class GitHubOpenApi {
  private readonly api: ApiDescription;

  constructor() {
    const require = createRequire(import.meta.url);
    const doc = JSON.parse(readFileSync(require.resolve('@octokit/openapi/generated/api.github.com.json'), 'utf8')) as JsonObject;
    // GitHub-specific formats with no checkable grammar.
    this.api = new ApiDescription(doc, ROOT, { formats: { 'repo.nwo': true, timestamp: true } });
  }

  /** The operation GitHub's description defines for this method and concrete path. */
  operation(method: string, path: string): Operation | undefined {
    return this.api.operation(method, path);
  }

  requestErrors(op: Operation, body: unknown): string[] {
    return this.api.requestBodyErrors(op, body);
  }

  responseErrors(op: Operation, status: number, body: unknown): string[] {
    return this.api.responseErrors(op, status, body);
  }

  /** Every problem with one recorded HTTP exchange, against the operation it hit. */
  exchangeErrors(x: Exchange): string[] {
    const path = new URL(x.url).pathname;
    const op = this.operation(x.method, path);
    if (!op) return [`${x.method} ${path} is no GitHub operation`];
    return [...this.requestErrors(op, x.requestBody), ...this.responseErrors(op, x.status, x.responseBody)];
  }
}

/** A fetch that records each exchange's JSON bodies; Octokit takes it as `request.fetch`. */
export function recordingFetch(into: Exchange[]): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const text = await res.clone().text();
    const rawBody = init?.body;
    into.push({
      method: (init?.method ?? 'GET').toUpperCase(),
      url: input instanceof Request ? input.url : String(input),
      status: res.status,
      ...(typeof rawBody === 'string' && rawBody.length > 0 ? { requestBody: JSON.parse(rawBody) } : {}),
      ...(text.length > 0 && (res.headers.get('content-type') ?? '').includes('json') ? { responseBody: JSON.parse(text) } : {}),
    });
    return res;
  };
}
