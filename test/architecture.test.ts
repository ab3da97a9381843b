// The import rules that keep one folder per deployable (docs/architecture.md).
// Read from the sources with the TypeScript parser, so a rule broken by any
// import (static, re-export or dynamic) fails here before it reaches review.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { PROJECT_ROOT } from '../config/paths.js';

const SOURCE_FOLDERS = ['config', 'workflows', 'activities', 'workers', 'starter', 'cli', 'broker', 'sandbox'] as const;
type Folder = (typeof SOURCE_FOLDERS)[number];

interface ProjectImport {
  from: string;
  to: string;
  /** `import type` / `export type`: erased at compile time, so it loads nothing. */
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): ProjectImport[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: ProjectImport[] = [];
  const add = (specifier: ts.Expression | undefined, typeOnly: boolean): void => {
    if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) return;
    const target = resolve(dirname(file), specifier.text.replace(/\.js$/, '.ts'));
    found.push({ from: relative(PROJECT_ROOT, file), to: relative(PROJECT_ROOT, target), typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const folderOf = (path: string): string => path.split(sep)[0]!;

const IMPORTS: ProjectImport[] = SOURCE_FOLDERS.flatMap((folder) => sourceFiles(join(PROJECT_ROOT, folder))).flatMap(importsOf);

function importsFrom(folder: Folder): ProjectImport[] {
  return IMPORTS.filter((i) => folderOf(i.from) === folder && folderOf(i.to) !== folder);
}

const describeImports = (imports: ProjectImport[]): string[] => imports.map((i) => `${i.from} -> ${i.to}`);

test('the parser sees the imports it checks (a broken reader would pass every rule)', () => {
  expect(describeImports(importsFrom('broker'))).toContain('broker/broker.ts -> config/logger.ts');
  expect(IMPORTS.some((i) => i.from === 'workflows/triage.ts' && i.to === 'activities/index.ts' && i.typeOnly)).toBe(true);
  expect(IMPORTS.some((i) => i.from === 'workflows/status.ts' && i.to === 'workflows/messages.ts' && !i.typeOnly)).toBe(true);
});

test.each<[string, Folder, readonly string[]]>([
  ['config/ is shared by every process and imports none of them', 'config', []],
  ['the broker imports only the shared config/', 'broker', ['config']],
  ['the gateway (starter/) imports neither the worker, its activities, the CLI nor the broker', 'starter', ['config', 'workflows']],
])('%s', (_name, folder, allowed) => {
  const outside = importsFrom(folder).filter((i) => !allowed.includes(folderOf(i.to)));
  expect(describeImports(outside)).toEqual([]);
});

test('nothing imports the CLI: it is a leaf that calls into the others', () => {
  const intoCli = IMPORTS.filter((i) => folderOf(i.to) === 'cli' && folderOf(i.from) !== 'cli');
  expect(describeImports(intoCli)).toEqual([]);
});

test('workflows import activity types only: nothing of the worker is bundled into the workflow sandbox', () => {
  const loaded = importsFrom('workflows').filter((i) => folderOf(i.to) === 'activities' && !i.typeOnly);
  expect(describeImports(loaded)).toEqual([]);
});

test('production code loads nothing from sandbox/, which the image leaves out', () => {
  const production = IMPORTS.filter((i) => folderOf(i.from) !== 'sandbox' && folderOf(i.to) === 'sandbox' && !i.typeOnly);
  expect(describeImports(production)).toEqual([]);
});
