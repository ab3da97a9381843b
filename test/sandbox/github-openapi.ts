// GitHub's OpenAPI description (npm @octokit/openapi) as validators, so the
// emulator tests can check every request body they send and every response
// body the emulator returns against the operation's published schemas.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

interface Operation {
  operationId: string;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Json }> };
  responses: Record<string, JsonObject>;
}

const ROOT = 'https://api.github.com/openapi.json';
const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head'];

/**
 * OpenAPI 3.0 is not JSON Schema: `nullable: true` becomes `anyOf [schema, null]`
 * (Ajv's own `nullable` refuses schemas without `type`, which GitHub's have), and
 * local `$ref`s point into one shared root document so inline operation schemas
 * compile on their own.
 */
function toJsonSchema(value: Json): Json {
  if (Array.isArray(value)) return value.map(toJsonSchema);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    // A boolean `nullable` is the keyword; an object one would be a property named so.
    if (k === 'nullable' && typeof v === 'boolean') continue;
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${ROOT}${v}` : toJsonSchema(v);
  }
  return value.nullable === true ? { anyOf: [out, { type: 'null' }] } : out;
}

export interface Exchange {
  method: string;
  url: string;
  status: number;
  requestBody?: unknown;
  responseBody?: unknown;
}

export class GitHubOpenApi {
  private readonly ajv: Ajv;
  private readonly spec: { paths: Record<string, Record<string, Operation>>; components: { responses: Record<string, JsonObject> } };
  private readonly routes: { method: string; pattern: RegExp; op: Operation }[] = [];
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor() {
    const require = createRequire(import.meta.url);
    this.spec = JSON.parse(readFileSync(require.resolve('@octokit/openapi/generated/api.github.com.json'), 'utf8'));
    const specAny = this.spec as unknown as { components: { schemas: Json } };
    this.ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, logger: false });
    // ajv-formats is CommonJS; under ESM its default export may arrive wrapped.
    const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;
    addFormats(this.ajv);
    // GitHub-specific formats with no checkable grammar.
    this.ajv.addFormat('repo.nwo', true);
    this.ajv.addFormat('timestamp', true);
    this.ajv.addSchema({ $id: ROOT, components: { schemas: toJsonSchema(specAny.components.schemas) } });
    for (const [template, item] of Object.entries(this.spec.paths)) {
      const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`);
      for (const method of METHODS) {
        const op = item[method];
        if (op?.operationId) this.routes.push({ method: method.toUpperCase(), pattern, op });
      }
    }
  }

  /** The operation GitHub's description defines for this method and concrete path. */
  operation(method: string, path: string): Operation | undefined {
    return this.routes.find((r) => r.method === method.toUpperCase() && r.pattern.test(path))?.op;
  }

  private validator(key: string, schema: Json): ValidateFunction {
    let v = this.compiled.get(key);
    if (!v) {
      v = this.ajv.compile(toJsonSchema(schema) as object);
      this.compiled.set(key, v);
    }
    return v;
  }

  private errors(v: ValidateFunction, data: unknown): string[] {
    return v(data) ? [] : (v.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  }

  requestErrors(op: Operation, body: unknown): string[] {
    const schema = op.requestBody?.content?.['application/json']?.schema;
    if (schema === undefined) return body === undefined ? [] : [`${op.operationId} takes no request body`];
    if (body === undefined) return op.requestBody?.required ? [`${op.operationId} requires a request body`] : [];
    return this.errors(this.validator(`${op.operationId} request`, schema), body);
  }

  responseErrors(op: Operation, status: number, body: unknown): string[] {
    let response: JsonObject | undefined = op.responses[String(status)];
    if (response === undefined) return [`${op.operationId} documents no ${status} response`];
    const ref = response.$ref;
    if (typeof ref === 'string') response = this.spec.components.responses[ref.replace('#/components/responses/', '')];
    const content = response?.content as JsonObject | undefined;
    const schema = (content?.['application/json'] as JsonObject | undefined)?.schema;
    if (schema === undefined) return body === undefined ? [] : [`${op.operationId} ${status} has no JSON body`];
    return this.errors(this.validator(`${op.operationId} ${status}`, schema), body);
  }

  /** Every problem with one recorded HTTP exchange, against the operation it hit. */
  exchangeErrors(x: Exchange): string[] {
    const path = new URL(x.url).pathname;
    const op = this.operation(x.method, path);
    if (!op) return [`${x.method} ${path} is no GitHub operation`];
    return [
      ...this.requestErrors(op, x.requestBody).map((e) => `${op.operationId} request: ${e}`),
      ...this.responseErrors(op, x.status, x.responseBody).map((e) => `${op.operationId} ${x.status} response: ${e}`),
    ];
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
