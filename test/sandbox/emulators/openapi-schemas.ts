// Published API descriptions (OpenAPI 3.0 and Swagger 2.0) as Ajv validators, so
// the emulator fidelity tests can check what an emulator answers against the
// operation's documented response schema for that status code.
//
// Neither dialect is plain JSON Schema. The converter below walks a description
// and rewrites only its schema positions (components/schemas, definitions, and
// every `schema` of a parameter, media type or response), so a property that
// happens to be called `example` or `nullable` is left alone:
//   - OpenAPI 3.0 `nullable: true` becomes `anyOf [schema, {type: null}]`;
//   - boolean `exclusiveMinimum` / `exclusiveMaximum` (draft 4 style) become numbers;
//   - annotations JSON Schema does not know (`example`, `discriminator`, `xml`,
//     `externalDocs`, `x-*` extensions) are dropped, so Ajv can run with
//     `strictSchema` and refuse any keyword or format nobody thought about;
//   - Kubernetes' `format: int-or-string` (and `x-kubernetes-int-or-string`) means
//     "an integer or a string" although the schema says `type: string`.
// The converted document is registered with Ajv as one schema resource, so every
// local `$ref` resolves as written, including refs into `components/responses/…`.
import { existsSync, readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export type Dialect = 'openapi-3.0' | 'swagger-2.0';

/** A string format the description uses beyond ajv-formats: a grammar, a check, or `true` for "any string". */
export type FormatCheck = true | RegExp | ((value: string) => boolean);

/**
 * A deliberate, reviewed change to the description before conversion: keywords
 * merged into the schema at `pointer`. Each one says why, so that the only
 * places where the tests disagree with the published text are listed in one place.
 */
export interface SchemaPatch {
  pointer: string;
  merge: JsonObject;
  why: string;
}

export interface ApiDescriptionOptions {
  formats?: Record<string, FormatCheck>;
  patches?: SchemaPatch[];
}

export interface Parameter {
  name: string;
  in: 'query' | 'header' | 'path' | 'cookie' | 'body' | 'formData';
  required?: boolean;
  style?: string;
  explode?: boolean;
  /** OpenAPI 3: `schema`; Swagger 2 non-body parameters carry type/format/enum inline. */
  schema?: JsonObject;
  [k: string]: Json | undefined;
}

export interface Operation {
  method: string;
  /** The path template as the description spells it, e.g. `/incidents/{id}`. */
  template: string;
  operationId: string;
  /** JSON pointer of the operation object in the description. */
  pointer: string;
  raw: JsonObject;
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'];

/** Keywords that carry no constraint and that JSON Schema (draft 7, what Ajv runs) does not define. */
const DROPPED_ANNOTATIONS = new Set(['example', 'discriminator', 'xml', 'externalDocs']);
/** Keywords whose value is one subschema (or a boolean schema). */
const SUBSCHEMA = new Set(['items', 'additionalItems', 'additionalProperties', 'not', 'contains', 'propertyNames', 'if', 'then', 'else']);
/** Keywords whose value is a list of subschemas. */
const SUBSCHEMA_LIST = new Set(['allOf', 'anyOf', 'oneOf']);
/** Keywords whose value maps names to subschemas. */
const SUBSCHEMA_MAP = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'dependencies']);

export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointerOf(...segments: string[]): string {
  return segments.map((s) => `/${escapePointer(s)}`).join('');
}

function resolvePointer(doc: Json, pointer: string): Json | undefined {
  if (pointer === '' || pointer === '#') return doc;
  const path = pointer.replace(/^#/, '');
  let cur: Json | undefined = doc;
  for (const raw of path.split('/').slice(1)) {
    const seg = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[Number(seg)] : cur[seg];
  }
  return cur;
}

function isObject(v: Json | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** One OpenAPI 3.0 / Swagger 2.0 schema object as a draft-7 JSON Schema. */
export function toJsonSchema(schema: Json): Json {
  if (typeof schema === 'boolean') return schema;
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-') || DROPPED_ANNOTATIONS.has(key) || key === 'nullable') continue;
    if (SUBSCHEMA.has(key)) out[key] = Array.isArray(value) ? value.map(toJsonSchema) : toJsonSchema(value);
    else if (SUBSCHEMA_LIST.has(key) && Array.isArray(value)) out[key] = value.map(toJsonSchema);
    else if (SUBSCHEMA_MAP.has(key) && isObject(value))
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSchema(v)]));
    else out[key] = value;
  }
  // Draft 4 (Swagger 2.0 and OpenAPI 3.0): a boolean that turns the bound exclusive.
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[flag] !== 'boolean') continue;
    if (out[flag] === true && typeof out[bound] === 'number') {
      out[flag] = out[bound];
      delete out[bound];
    } else {
      delete out[flag];
    }
  }
  // Kubernetes: the wire value is whichever of the two was set; `type: string` only names the Go type's text form.
  if (out.format === 'int-or-string' || schema['x-kubernetes-int-or-string'] === true) {
    delete out.format;
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  // OpenAPI 3.0's keyword; Swagger 2.0 has none, but a SchemaPatch may add it there too.
  return schema.nullable === true ? { anyOf: [out, { type: 'null' }] } : out;
}

/**
 * The whole description with every schema position converted. Everything else
 * (paths, responses, parameters) is kept so JSON pointers into it still work.
 */
function convertDocument(doc: JsonObject, dialect: Dialect): JsonObject {
  const walk = (node: Json, path: string[]): Json => {
    if (Array.isArray(node)) return node.map((v, i) => walk(v, [...path, String(i)]));
    if (!isObject(node)) return node;
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      const at = [...path, key];
      const schemaMap =
        (dialect === 'openapi-3.0' && path.length === 1 && path[0] === 'components' && key === 'schemas') ||
        (dialect === 'swagger-2.0' && path.length === 0 && key === 'definitions');
      if (schemaMap && isObject(value)) out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSchema(v)]));
      else if (key === 'schema') out[key] = toJsonSchema(value);
      // Examples are data, not descriptions: keep them verbatim.
      else if (key === 'example' || key === 'examples' || key.startsWith('x-')) out[key] = value;
      else out[key] = walk(value, at);
    }
    return out;
  };
  return walk(doc, []) as JsonObject;
}

function applyPatches(doc: JsonObject, patches: SchemaPatch[]): void {
  for (const patch of patches) {
    const target = resolvePointer(doc, patch.pointer);
    if (!isObject(target)) throw new Error(`schema patch ${patch.pointer} points at nothing in the description (${patch.why})`);
    Object.assign(target, patch.merge);
  }
}

/** Every distinct error, uncapped: callers filter known ones out, and a cap would hide what follows them. */
function formatErrors(errors: ErrorObject[] | null | undefined): string[] {
  return [...new Set((errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`))];
}

/** The draft-7 JSON Schema a Swagger 2.0 non-body parameter describes inline. */
function swaggerParameterSchema(p: JsonObject): JsonObject {
  const keys = [
    'type',
    'format',
    'enum',
    'items',
    'minimum',
    'maximum',
    'exclusiveMinimum',
    'exclusiveMaximum',
    'minLength',
    'maxLength',
    'pattern',
    'default',
  ];
  return toJsonSchema(Object.fromEntries(keys.filter((k) => p[k] !== undefined).map((k) => [k, p[k]!]))) as JsonObject;
}

export class ApiDescription {
  readonly dialect: Dialect;
  /** The description as published (after patches), for lookups such as `x-kubernetes-group-version-kind`. */
  readonly raw: JsonObject;
  private readonly ajv: Ajv;
  private readonly id: string;
  private readonly operations: { op: Operation; pattern: RegExp; literals: number }[] = [];
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly compiledParameters = new Map<string, ValidateFunction>();

  /** Reads a description file; a missing file is an error that says what is missing. */
  static load(file: string, options: ApiDescriptionOptions = {}): ApiDescription {
    if (!existsSync(file)) {
      throw new Error(`API description ${file} is missing: the emulator fidelity tests read it from test/specs/ (see its README)`);
    }
    return new ApiDescription(JSON.parse(readFileSync(file, 'utf8')) as JsonObject, `file://${file}`, options);
  }

  /** `doc` is taken over: patches are applied to it in place. */
  constructor(doc: JsonObject, id: string, options: ApiDescriptionOptions = {}) {
    if (typeof doc.openapi === 'string' && doc.openapi.startsWith('3.0')) this.dialect = 'openapi-3.0';
    else if (doc.swagger === '2.0') this.dialect = 'swagger-2.0';
    else throw new Error(`${id} is neither OpenAPI 3.0 nor Swagger 2.0 (openapi: ${String(doc.openapi)}, swagger: ${String(doc.swagger)})`);
    applyPatches(doc, options.patches ?? []);
    this.raw = doc;
    this.id = id;
    this.ajv = new Ajv({
      allErrors: true,
      // Unknown keywords and formats are errors: a silently ignored one would make validation weaker than it reads.
      strictSchema: true,
      // Published descriptions put array keywords on strings and the like; those are the spec's business, not ours.
      strictTypes: false,
      strictTuples: false,
      strictRequired: false,
      allowUnionTypes: true,
      validateSchema: false,
      logger: false,
    });
    // ajv-formats is CommonJS; under ESM its default export may arrive wrapped.
    const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;
    addFormats(this.ajv);
    for (const [name, check] of Object.entries(options.formats ?? {})) this.ajv.addFormat(name, check);
    // The document is one schema resource so JSON pointers into it resolve; its top-level
    // members (openapi, info, paths…) are declared as inert keywords so strict mode accepts its root.
    for (const key of Object.keys(doc)) if (!this.ajv.RULES.keywords[key]) this.ajv.addKeyword(key);
    this.ajv.addSchema(convertDocument(doc, this.dialect) as object, id);

    const paths = (doc.paths ?? {}) as Record<string, JsonObject>;
    for (const [template, item] of Object.entries(paths)) {
      const segments = template.replace(/\/$/, '').split('/');
      const pattern = new RegExp(
        `^${segments.map((s) => (/^\{[^}]+\}$/.test(s) ? '[^/]+' : s.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('/')}/?$`,
      );
      const literals = segments.filter((s) => !s.startsWith('{')).length;
      for (const method of METHODS) {
        const raw = item[method];
        if (!isObject(raw)) continue;
        const op: Operation = {
          method: method.toUpperCase(),
          template,
          operationId: typeof raw.operationId === 'string' ? raw.operationId : `${method} ${template}`,
          pointer: pointerOf('paths', template, method),
          raw,
        };
        this.operations.push({ op, pattern, literals });
      }
    }
  }

  /** The operation for a method and concrete path; a literal segment beats a template one (`/incidents/count` over `/incidents/{id}`). */
  operation(method: string, path: string): Operation | undefined {
    const matches = this.operations.filter((o) => o.op.method === method.toUpperCase() && o.pattern.test(path));
    return matches.sort((a, b) => b.literals - a.literals)[0]?.op;
  }

  /** What a JSON pointer (`#/…` or `/…`) in the description points at, as written. */
  node(pointer: string): Json | undefined {
    return resolvePointer(this.raw, pointer);
  }

  /** What a JSON pointer (`#/…`) in the description points at, with `$ref` objects followed. */
  resolve(pointer: string): Json | undefined {
    let node = resolvePointer(this.raw, pointer);
    for (let hops = 0; isObject(node) && typeof node.$ref === 'string' && hops < 10; hops++) node = resolvePointer(this.raw, node.$ref);
    return node;
  }

  private derefPointer(pointer: string): string {
    let at = pointer;
    for (let hops = 0; hops < 10; hops++) {
      const node = resolvePointer(this.raw, at);
      if (!isObject(node) || typeof node.$ref !== 'string') return at;
      at = node.$ref.replace(/^#/, '');
    }
    return at;
  }

  /** Path-level and operation-level parameters, `$ref`s resolved; the operation's win on name and location. */
  parameters(op: Operation): Parameter[] {
    return this.parameterEntries(op).map((e) => e.parameter);
  }

  private parameterEntries(op: Operation): { parameter: Parameter; pointer: string }[] {
    const lists = [pointerOf('paths', op.template, 'parameters'), `${op.pointer}/parameters`];
    const byKey = new Map<string, { parameter: Parameter; pointer: string }>();
    for (const list of lists) {
      const entries = resolvePointer(this.raw, list);
      if (!Array.isArray(entries)) continue;
      entries.forEach((_, i) => {
        const pointer = this.derefPointer(`${list}/${i}`);
        const parameter = resolvePointer(this.raw, pointer) as Parameter;
        byKey.set(`${parameter.in}:${parameter.name}`, { parameter, pointer });
      });
    }
    return [...byKey.values()];
  }

  /** The statuses an operation documents, as written (`200`, `4XX`, `default`). */
  documentedStatuses(op: Operation): string[] {
    return Object.keys((op.raw.responses as JsonObject | undefined) ?? {});
  }

  /**
   * JSON pointer of the JSON body schema the operation documents for a status:
   * `undefined` when the status is not documented, `null` when it is documented without a JSON body.
   */
  responseSchemaPointer(op: Operation, status: number): string | null | undefined {
    const responses = (op.raw.responses as JsonObject | undefined) ?? {};
    const key = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => responses[k] !== undefined);
    if (key === undefined) return undefined;
    const response = this.derefPointer(`${op.pointer}${pointerOf('responses', key)}`);
    if (this.dialect === 'swagger-2.0') {
      return resolvePointer(this.raw, `${response}/schema`) === undefined ? null : `${response}/schema`;
    }
    const content = resolvePointer(this.raw, `${response}/content`);
    if (!isObject(content)) return null;
    const mediaType = Object.keys(content).find((m) => m === 'application/json' || /^application\/[^;]*\+?json/.test(m));
    return mediaType === undefined || !isObject(content[mediaType]) || content[mediaType].schema === undefined
      ? null
      : `${response}${pointerOf('content', mediaType, 'schema')}`;
  }

  /** A validator for the schema at a JSON pointer of the description (compiled once). */
  validator(pointer: string): ValidateFunction {
    let v = this.compiled.get(pointer);
    if (!v) {
      if (resolvePointer(this.raw, pointer) === undefined) throw new Error(`${this.id}#${pointer} does not exist`);
      v = this.ajv.compile({ $ref: `${this.id}#${pointer.split('/').map(encodeURIComponent).join('/')}` });
      this.compiled.set(pointer, v);
    }
    return v;
  }

  /** Problems with `data` against the schema at `pointer`; empty when it conforms. */
  schemaErrors(pointer: string, data: unknown): string[] {
    const v = this.validator(pointer);
    return v(data) ? [] : formatErrors(v.errors);
  }

  /** Problems with a response body against what the operation documents for its status. */
  responseErrors(op: Operation, status: number, body: unknown): string[] {
    const pointer = this.responseSchemaPointer(op, status);
    if (pointer === undefined)
      return [`${op.operationId} documents no ${status} response (it documents ${this.documentedStatuses(op).join(', ')})`];
    if (pointer === null) return body === undefined ? [] : [`${op.operationId} documents no JSON body for ${status}`];
    return this.schemaErrors(pointer, body).map((e) => `${op.operationId} ${status}: ${e}`);
  }

  /**
   * Problems with a JSON request body against the operation's documented one
   * (OpenAPI 3 `requestBody`, Swagger 2 `in: body` parameter); `undefined` is no body.
   */
  requestBodyErrors(op: Operation, body: unknown): string[] {
    let pointer: string | undefined;
    let required = false;
    if (this.dialect === 'openapi-3.0') {
      if (op.raw.requestBody !== undefined) {
        const at = this.derefPointer(`${op.pointer}/requestBody`);
        const schema = `${at}${pointerOf('content', 'application/json', 'schema')}`;
        required = (resolvePointer(this.raw, at) as JsonObject).required === true;
        if (resolvePointer(this.raw, schema) !== undefined) pointer = schema;
      }
    } else {
      const bodyParameter = this.parameterEntries(op).find((e) => e.parameter.in === 'body');
      if (bodyParameter) {
        required = bodyParameter.parameter.required === true;
        pointer = `${bodyParameter.pointer}/schema`;
      }
    }
    if (pointer === undefined) return body === undefined ? [] : [`${op.operationId} takes no JSON request body`];
    if (body === undefined) return required ? [`${op.operationId} requires a request body`] : [];
    return this.schemaErrors(pointer, body).map((e) => `${op.operationId} request: ${e}`);
  }

  /** The JSON Schema of one parameter's value. */
  parameterSchema(p: Parameter): JsonObject {
    if (this.dialect === 'openapi-3.0') return toJsonSchema(p.schema ?? {}) as JsonObject;
    return swaggerParameterSchema(p as JsonObject);
  }

  /**
   * Problems with a request's query string against the operation's query
   * parameters: every name must be listed, every value valid for its schema.
   * Values arrive as text, so integers and booleans are read the way a server
   * would; `style: form, explode: false` values are comma-separated lists.
   */
  queryErrors(op: Operation, query: URLSearchParams): string[] {
    const listed = new Map(
      this.parameters(op)
        .filter((p) => p.in === 'query')
        .map((p) => [p.name, p]),
    );
    const problems: string[] = [];
    for (const name of new Set(query.keys())) {
      const p = listed.get(name);
      if (!p) {
        problems.push(`${op.operationId} lists no query parameter ${JSON.stringify(name)} (it lists ${[...listed.keys()].join(', ')})`);
        continue;
      }
      const schema = this.parameterSchema(p);
      const values = query.getAll(name).flatMap((v) => (p.style === 'form' && p.explode === false ? v.split(',') : [v]));
      if (typeof schema.maxItems === 'number' && values.length > schema.maxItems)
        problems.push(`${name}: at most ${schema.maxItems} values, got ${values.length}`);
      const key = JSON.stringify(schema);
      let check = this.compiledParameters.get(key);
      if (!check) this.compiledParameters.set(key, (check = this.ajv.compile(schema)));
      for (const text of values) {
        const value =
          schema.type === 'integer' && /^-?\d+$/.test(text)
            ? Number(text)
            : schema.type === 'boolean' && /^(true|false)$/.test(text)
              ? text === 'true'
              : text;
        if (!check(value)) problems.push(`${name}=${JSON.stringify(text)}: ${formatErrors(check.errors).join('; ')}`);
      }
    }
    return problems;
  }
}
