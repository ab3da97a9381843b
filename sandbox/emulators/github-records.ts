// What the GitHub emulator holds: the installation's repositories with their
// issues and labels, the grants behind the tokens it issued, and the context
// every route handler is given.
import { createHash } from 'node:crypto';
import type { importSPKI } from 'jose';
import type { FaultSwitch } from './fault.js';
import type { RequestLogEntry } from './http-server.js';
import type { IssuedTokens } from './issued-tokens.js';

export type PermissionLevel = 'read' | 'write';

export type StateReason = 'completed' | 'reopened' | 'not_planned' | 'duplicate';

export const LEVEL_RANK: Record<string, number> = { read: 1, write: 2, admin: 3 };

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO_NAME = /^(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/;

export interface LabelRecord {
  id: number;
  nodeId: string;
  name: string;
  color: string;
  description: string | null;
}

export interface IssueRecord {
  id: number;
  nodeId: string;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  stateReason: StateReason | null;
  labels: LabelRecord[];
  assignees: string[];
  createdAt: number;
  updatedAt: number;
  closedAt: number | null;
  closedByApp: boolean;
}

export interface RepoRecord {
  owner: string;
  name: string;
  fullName: string;
  id: number;
  nodeId: string;
  /** Lower-cased label name → label: GitHub label names are case-insensitive. */
  labels: Map<string, LabelRecord>;
  issues: IssueRecord[];
}

export interface TokenGrant {
  permissions: Record<string, PermissionLevel>;
  /** Lower-cased `owner/name` of the repositories the token reaches. */
  repos: Set<string>;
}

/** What one issued token reaches, as GitHub would answer it, without the token: for tests to check a minter's narrowing. */
export interface MintRecord {
  /** `owner/name` of every repository the token reaches, in the installation's order. */
  repositories: string[];
  permissions: Record<string, PermissionLevel>;
  expiresAt: string;
}

export interface AppIdentity {
  appId: number;
  slug: string;
  owner: string | undefined;
  permissions: Record<string, PermissionLevel>;
  createdAt: string;
}

export interface AppContext {
  app: AppIdentity;
  installationId: number;
  publicKey: Awaited<ReturnType<typeof importSPKI>>;
  /** By lower-cased `owner/name`. */
  repos: Map<string, RepoRecord>;
  tokens: IssuedTokens<TokenGrant>;
  /** One per token issued, oldest first. */
  mints: MintRecord[];
  tokenTtlMs: number;
  assignable: Set<string>;
  faults: FaultSwitch;
  log: RequestLogEntry[];
  now: () => number;
  base: () => string;
  /** Holds create-issue responses back after the write (POST /_sandbox/hold-after-create). */
  hold: { set(ms: number): void; wait(): Promise<void> };
  onRequest: () => void;
  nextId: () => number;
}

/** Ids that stay the same across restarts for the same name, so links in a demo survive a restart. */
export function stableId(kind: string, name: string): number {
  return 100_000_000 + (parseInt(createHash('sha256').update(`${kind}:${name.toLowerCase()}`).digest('hex').slice(0, 8), 16) % 900_000_000);
}

export function nodeId(prefix: string, id: number): string {
  return `${prefix}_kwDO${Buffer.from(String(id)).toString('base64url')}`;
}

export function parseRepos(repos: string[]): { owner: string | undefined; repos: RepoRecord[] } {
  const out = new Map<string, RepoRecord>();
  let owner: string | undefined;
  for (const full of repos) {
    const [o, n, ...rest] = full.split('/');
    if (o === undefined || n === undefined || rest.length > 0 || !OWNER.test(o) || !REPO_NAME.test(n)) {
      throw new Error(`GitHub emulator: repository ${JSON.stringify(full)} must be owner/name`);
    }
    if (owner !== undefined && owner.toLowerCase() !== o.toLowerCase()) {
      throw new Error(`GitHub emulator: an installation belongs to one account; got repositories of ${owner} and ${o}`);
    }
    owner ??= o;
    const id = stableId('repo', full);
    out.set(full.toLowerCase(), { owner: o, name: n, fullName: `${o}/${n}`, id, nodeId: nodeId('R', id), labels: new Map(), issues: [] });
  }
  return { owner, repos: [...out.values()] };
}
