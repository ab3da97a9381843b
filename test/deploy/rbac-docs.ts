// What docs/deploy.md promises about the worker's Kubernetes access, read
// from the page itself so the RBAC test can hold it against a real
// apiserver: the table under "What the worker's token may do", and every
// `kubectl auth can-i ... # yes|no` line in its shell blocks.
import { grant, nonResourceGrant, type Access, type Grant } from './rbac-cluster.js';

export const TOKEN_TABLE_HEADING = "### What the worker's token may do";

export type Where = { kind: 'triaged' } | { kind: 'everywhere' } | { kind: 'namespace'; namespace: string };

export interface TokenRow {
  line: number;
  where: Where;
  /** Present only when a component of deploy/components adds the row. */
  component?: string;
  grants: Grant[];
}

const cells = (row: string) =>
  row
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());
const ticked = (cell: string) => [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1]!);

function whereOf(cell: string, line: number): Where {
  if (/each triaged namespace/.test(cell)) return { kind: 'triaged' };
  const namespace = /namespace `([a-z0-9-]+)`/.exec(cell)?.[1];
  if (namespace) return { kind: 'namespace', namespace };
  if (/everywhere/.test(cell)) return { kind: 'everywhere' };
  throw new Error(`docs/deploy.md line ${line}: cannot tell where "${cell}" applies`);
}

/** The table's rows, each flattened to grants; a row the parser cannot read is an error, never skipped. */
export function tokenTable(markdown: string): TokenRow[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === TOKEN_TABLE_HEADING);
  if (start < 0) throw new Error(`docs/deploy.md has no "${TOKEN_TABLE_HEADING}" section`);
  const first = lines.findIndex((l, i) => i > start && l.startsWith('|'));
  const header = cells(lines[first]!);
  const column = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`the table under "${TOKEN_TABLE_HEADING}" has no "${name}" column`);
    return i;
  };
  const [where, group, resources, verbs] = ['where', 'API group', 'resources', 'verbs'].map(column) as [number, number, number, number];
  const rows: TokenRow[] = [];
  for (let i = first + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const row = cells(lines[i]!);
    const line = i + 1;
    const component = /`components\/([a-z-]+)`/.exec(row[where]!)?.[1];
    const names = ticked(row[resources]!);
    const verbList = row[verbs]!.split(',').map((v) => v.trim());
    if (names.length === 0 || verbList.some((v) => !/^[a-z]+$/.test(v)))
      throw new Error(`docs/deploy.md line ${line}: no resources, or verbs that are not a comma-separated list`);
    const nonResource = /non-resource URLs/.test(row[group]!);
    const groups = nonResource ? [] : ticked(row[group]!).map((g) => (g === '""' ? '' : g));
    if (!nonResource && groups.length !== 1) throw new Error(`docs/deploy.md line ${line}: name one API group, in backticks`);
    rows.push({
      line,
      where: whereOf(row[where]!, line),
      ...(component ? { component } : {}),
      grants: verbList.flatMap((verb) => names.map((n) => (nonResource ? nonResourceGrant(verb, n) : grant(verb, groups[0]!, n)))),
    });
  }
  return rows;
}

/** The grants the table promises in `namespace`, with `components` applied. */
export function promised(rows: readonly TokenRow[], namespace: string, triaged: readonly string[], components: readonly string[] = []) {
  return new Set(
    rows
      .filter((r) => r.component === undefined || components.includes(r.component))
      .filter((r) =>
        r.where.kind === 'everywhere' ? true : r.where.kind === 'triaged' ? triaged.includes(namespace) : r.where.namespace === namespace,
      )
      .flatMap((r) => r.grants),
  );
}

export interface CanIClaim {
  line: number;
  text: string;
  /** The resource as kubectl takes it: `pods`, or `deployments.apps` for another group. */
  access: Access;
  /** `--as`, with the block's shell variables expanded. */
  as: string;
  expected: boolean;
}

/** Every `kubectl auth can-i` line with a `# yes` or `# no` answer, in any fenced block. */
export function canIClaims(markdown: string): CanIClaim[] {
  const claims: CanIClaim[] = [];
  let vars: Record<string, string> | undefined;
  markdown.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.startsWith('```')) {
      vars = vars ? undefined : {};
      return;
    }
    if (!vars) return;
    const assignment = /^([A-Z_]+)=(\S+)$/.exec(raw.trim());
    if (assignment) vars[assignment[1]!] = assignment[2]!;
    if (!raw.startsWith('kubectl auth can-i')) return;
    const [command, comment = ''] = raw.split('#');
    const args = command!
      .trim()
      .split(/\s+/)
      .slice(3)
      .map((a) => a.replace(/\$([A-Z_]+)/g, (_, v: string) => vars![v] ?? `$${v}`));
    if (args.includes('--list')) return;
    const answer = /^\s*(yes|no)\b/.exec(comment)?.[1];
    if (!answer) throw new Error(`docs/deploy.md line ${line}: a can-i line must end in "# yes" or "# no"`);
    const flags: Record<string, string> = {};
    const positional: string[] = [];
    for (let j = 0; j < args.length; j++) {
      const a = args[j]!;
      if (a === '-A' || a === '--all-namespaces') flags.namespace = '';
      else if (a === '-n') flags.namespace = args[++j]!;
      else if (a.startsWith('--')) {
        const [name, value] = a.slice(2).split('=');
        if (!['namespace', 'subresource', 'as'].includes(name!) || value === undefined)
          throw new Error(`docs/deploy.md line ${line}: the test does not read ${a}`);
        flags[name!] = value;
      } else positional.push(a);
    }
    const [verb, qualified] = positional;
    if (!verb || !qualified || positional.length !== 2 || qualified.includes('/') || !flags.as)
      throw new Error(`docs/deploy.md line ${line}: expected "kubectl auth can-i VERB RESOURCE [-n NS] --as=USER"`);
    const dot = qualified.indexOf('.');
    claims.push({
      line,
      text: raw.split('#')[0]!.trim(),
      access: {
        verb,
        resource: dot < 0 ? qualified : qualified.slice(0, dot),
        group: dot < 0 ? '' : qualified.slice(dot + 1),
        ...(flags.subresource ? { subresource: flags.subresource } : {}),
        namespace: flags.namespace ?? 'default',
      },
      as: flags.as,
      expected: answer === 'yes',
    });
  });
  return claims;
}
