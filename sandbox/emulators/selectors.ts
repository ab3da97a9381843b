// Label and field selectors as the apiserver parses them (k8s.io/apimachinery
// labels.Parse / fields.ParseSelector), so a selector the real cluster would
// reject is rejected here too instead of silently matching everything.

export class SelectorError extends Error {
  override name = 'SelectorError';
}

export type LabelRequirement =
  | { key: string; op: 'exists' | 'notexists' }
  // `=` and `==` parse to `in` with one value, `!=` to `notin`, as upstream does.
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'gt' | 'lt'; value: number };

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const MAX_SELECTOR_LENGTH = 4096;

function checkKey(key: string): void {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefixOk = prefix === undefined || (prefix.length <= 253 && DNS1123_SUBDOMAIN.test(prefix));
  if (!prefixOk || name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    throw new SelectorError(
      `unable to parse requirement: key: Invalid value: ${JSON.stringify(key)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

function checkValue(value: string): void {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    throw new SelectorError(
      `unable to parse requirement: values[0]: Invalid value: ${JSON.stringify(value)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

type Token = { kind: 'id' | 'op'; text: string };

const OPERATORS = ['==', '!=', '=', '!', '(', ')', ',', '<', '>'];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op) {
      tokens.push({ kind: 'op', text: op });
      i += op.length;
      continue;
    }
    let j = i;
    while (j < text.length && !/\s/.test(text[j]!) && !'!=(),<>'.includes(text[j]!)) j++;
    tokens.push({ kind: 'id', text: text.slice(i, j) });
    i = j;
  }
  return tokens;
}

export function parseLabelSelector(text: string): LabelRequirement[] {
  if (text.length > MAX_SELECTOR_LENGTH) throw new SelectorError('label selector is too long');
  const tokens = tokenize(text);
  const reqs: LabelRequirement[] = [];
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  const expectId = (what: string): string => {
    const t = next();
    if (!t || t.kind !== 'id') throw new SelectorError(`found '${t?.text ?? ''}', expected: ${what}`);
    return t.text;
  };

  while (pos < tokens.length) {
    const first = peek()!;
    if (first.kind === 'op' && first.text === '!') {
      next();
      const key = expectId("identifier after '!'");
      checkKey(key);
      reqs.push({ key, op: 'notexists' });
    } else {
      const key = expectId('identifier');
      checkKey(key);
      const op = peek();
      if (!op || (op.kind === 'op' && op.text === ',')) {
        reqs.push({ key, op: 'exists' });
      } else if (op.kind === 'op' && ['=', '==', '!='].includes(op.text)) {
        next();
        // An empty value is legal (`tier=`): the following token is then a comma or the end.
        const v = peek();
        const value = v && v.kind === 'id' ? (next(), v.text) : '';
        checkValue(value);
        reqs.push({ key, op: op.text === '!=' ? 'notin' : 'in', values: [value] });
      } else if (op.kind === 'id' && (op.text === 'in' || op.text === 'notin')) {
        next();
        const open = next();
        if (!open || open.text !== '(') throw new SelectorError(`found '${open?.text ?? ''}', expected: '('`);
        const values: string[] = [];
        for (;;) {
          const t = next();
          if (!t) throw new SelectorError("found '', expected: ')'");
          if (t.kind === 'id') {
            checkValue(t.text);
            values.push(t.text);
            const sep = next();
            if (sep?.text === ')') break;
            if (sep?.text !== ',') throw new SelectorError(`found '${sep?.text ?? ''}', expected: ',' or ')'`);
          } else if (t.text === ')' && values.length > 0) {
            break;
          } else {
            throw new SelectorError(`found '${t.text}', expected: identifier`);
          }
        }
        if (values.length === 0) throw new SelectorError("for 'in', 'notin' operators, values set can't be empty");
        reqs.push({ key, op: op.text, values });
      } else if (op.kind === 'op' && (op.text === '<' || op.text === '>')) {
        next();
        const raw = expectId('integer value');
        if (!/^-?\d+$/.test(raw))
          throw new SelectorError(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
        reqs.push({ key, op: op.text === '>' ? 'gt' : 'lt', value: Number(raw) });
      } else {
        throw new SelectorError(`found '${op.text}', expected: '=', '!=', '==', 'in', notin'`);
      }
    }
    const sep = next();
    if (sep && sep.text !== ',') throw new SelectorError(`found '${sep.text}', expected: ',' or 'end of string'`);
    if (sep && pos >= tokens.length) throw new SelectorError("found '', expected: identifier after ','");
  }
  return reqs;
}

export function matchesLabels(reqs: readonly LabelRequirement[], labels: Readonly<Record<string, string>> | undefined): boolean {
  return reqs.every((r) => {
    const has = labels !== undefined && Object.hasOwn(labels, r.key);
    const value = has ? labels[r.key] : undefined;
    switch (r.op) {
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'in':
        return has && r.values.includes(value!);
      case 'notin':
        return !has || !r.values.includes(value!);
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(value!)) return false;
        return r.op === 'gt' ? Number(value) > r.value : Number(value) < r.value;
      }
    }
  });
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

/** Field selectors are `a=b`, `a==b`, `a!=b`, comma-joined; which fields are allowed depends on the resource. */
export function parseFieldSelector(text: string, supported: ReadonlySet<string>): FieldRequirement[] {
  if (text.length > MAX_SELECTOR_LENGTH) throw new SelectorError('field selector is too long');
  if (text.trim() === '') return [];
  return text.split(',').map((part) => {
    const m = /^\s*([A-Za-z0-9.]+)\s*(==|!=|=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw new SelectorError(`invalid selector: '${text}'; can't understand '${part}'`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    if (!supported.has(field)) throw new SelectorError(`field label not supported: ${field}`);
    return { field, op: op === '!=' ? '!=' : '=', value };
  });
}

export function matchesFields(reqs: readonly FieldRequirement[], fieldOf: (field: string) => string): boolean {
  return reqs.every((r) => (fieldOf(r.field) === r.value) === (r.op === '='));
}
