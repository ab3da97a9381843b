// The GitHub App's side of authentication: App JWTs, checked as GitHub checks
// them (signature, issuer, lifetime, clock skew, with GitHub's own messages), and
// the installation access tokens they buy, narrowed to the repositories and
// permissions the caller asks for.
import type { NextFunction, Request, Response } from 'express';
import { errors as joseErrors, jwtVerify } from 'jose';
import { formatTimestamp } from '../scenario.js';
import { DOCS, repositoryObject, sendError } from './github-objects.js';
import { LEVEL_RANK, type AppContext, type PermissionLevel, type RepoRecord } from './github-records.js';
import { randomBase62 } from './issued-tokens.js';

/** GitHub refuses App JWTs whose lifetime exceeds ten minutes. */
const MAX_JWT_LIFETIME_S = 600;
/** Clock drift GitHub tolerates on `iat` and `exp` (its docs say to backdate `iat` by 60 s). */
const CLOCK_SKEW_S = 60;

const JWT_UNDECODABLE = 'A JSON web token could not be decoded';
const JWT_EXP_INVALID =
  "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
const JWT_EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future";
const JWT_IAT_INVALID = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";

const NOT_ACCESSIBLE = 'There is at least one repository that does not exist or is not accessible to the parent installation.';

export function credential(req: Request): string | undefined {
  // Octokit sends `token …` for installation tokens and `bearer …` for JWTs; GitHub takes either scheme for both.
  return /^(?:bearer|token)\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
}

/** Why GitHub would refuse this App JWT, in its words; undefined when it is good. */
async function checkAppJwt(ctx: AppContext, jwt: string): Promise<string | undefined> {
  const nowMs = ctx.now();
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(jwt, ctx.publicKey, {
      algorithms: ['RS256'],
      clockTolerance: CLOCK_SKEW_S,
      currentDate: new Date(nowMs),
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) return JWT_EXP_INVALID;
    if (err instanceof joseErrors.JWTClaimValidationFailed)
      return err.claim === 'iat' ? JWT_IAT_INVALID : err.claim === 'exp' ? JWT_EXP_INVALID : JWT_UNDECODABLE;
    return JWT_UNDECODABLE;
  }
  // GitHub picks the verification key by `iss`; a JWT naming another App cannot be verified.
  const iss = payload.iss;
  if (!((typeof iss === 'string' || typeof iss === 'number') && String(iss) === String(ctx.app.appId))) return JWT_UNDECODABLE;
  const nowS = Math.floor(nowMs / 1000);
  const { iat, exp } = payload;
  if (typeof iat !== 'number' || !Number.isInteger(iat) || iat > nowS + CLOCK_SKEW_S) return JWT_IAT_INVALID;
  if (typeof exp !== 'number' || exp + CLOCK_SKEW_S <= nowS) return JWT_EXP_INVALID;
  if (exp - iat > MAX_JWT_LIFETIME_S) return JWT_EXP_TOO_FAR;
  return undefined;
}

/** Lets a token request through only with a good App JWT for this installation. */
export function appJwtGate(ctx: AppContext) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const jwt = credential(req);
    if (!jwt) {
      sendError(res, 401, 'Requires authentication', DOCS.accessToken);
      return;
    }
    const refusal = await checkAppJwt(ctx, jwt);
    if (refusal) {
      sendError(res, 401, refusal, DOCS.rest);
      return;
    }
    if (req.params.installation_id !== String(ctx.installationId)) {
      sendError(res, 404, 'Not Found', DOCS.accessToken);
      return;
    }
    next();
  };
}

type Refusal = { refused: string };

/** The installed repositories the token is narrowed to by name and id; all of them when neither is given. */
function tokenReach(installed: RepoRecord[], repositories: unknown, repositoryIds: unknown): { reach: RepoRecord[] } | Refusal {
  if (repositories === undefined && repositoryIds === undefined) return { reach: installed };
  if (
    (repositories !== undefined && !(Array.isArray(repositories) && repositories.every((r) => typeof r === 'string'))) ||
    (repositoryIds !== undefined && !(Array.isArray(repositoryIds) && repositoryIds.every((r) => Number.isInteger(r))))
  ) {
    return { refused: 'Invalid request.\n\nrepositories must be an array of names and repository_ids an array of integers.' };
  }
  const names = (repositories as string[] | undefined) ?? [];
  const ids = (repositoryIds as number[] | undefined) ?? [];
  const picked = new Set<RepoRecord>();
  for (const n of names) {
    // Names without the owner, as GitHub takes them: `owner/name` matches no repository there either.
    const found = installed.find((r) => r.name.toLowerCase() === n.toLowerCase());
    if (!found) return { refused: NOT_ACCESSIBLE };
    picked.add(found);
  }
  for (const id of ids) {
    const found = installed.find((r) => r.id === id);
    if (!found) return { refused: NOT_ACCESSIBLE };
    picked.add(found);
  }
  return { reach: [...picked] };
}

/** The permissions asked for, if the installation has them; all of the installation's when none are asked for. */
function tokenPermissions(
  installation: Record<string, PermissionLevel>,
  permissions: unknown,
): { granted: Record<string, PermissionLevel> } | Refusal {
  if (permissions === undefined) return { granted: { ...installation } };
  if (permissions === null || typeof permissions !== 'object' || Array.isArray(permissions)) {
    return { refused: 'Invalid request.\n\npermissions must be an object.' };
  }
  const granted: Record<string, PermissionLevel> = {};
  for (const [name, level] of Object.entries(permissions)) {
    const has = installation[name];
    if (has === undefined || typeof level !== 'string' || LEVEL_RANK[level] === undefined || LEVEL_RANK[level]! > LEVEL_RANK[has]!) {
      return { refused: 'The permissions requested are not granted to this installation.' };
    }
    granted[name] = level as PermissionLevel;
  }
  // Every installation token can read repository metadata.
  if (installation.metadata && !granted.metadata) granted.metadata = 'read';
  return { granted };
}

export function createAccessToken(ctx: AppContext) {
  return (req: Request, res: Response): void => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) {
      sendError(res, 400, 'Problems parsing JSON', DOCS.accessToken);
      return;
    }
    const { repositories, repository_ids: repositoryIds, permissions } = body;
    const narrowing = tokenReach([...ctx.repos.values()], repositories, repositoryIds);
    if ('refused' in narrowing) {
      sendError(res, 422, narrowing.refused, DOCS.accessToken);
      return;
    }
    const asked = tokenPermissions(ctx.app.permissions, permissions);
    if ('refused' in asked) {
      sendError(res, 422, asked.refused, DOCS.accessToken);
      return;
    }
    const { reach } = narrowing;
    const { granted } = asked;
    const token = `ghs_${randomBase62(36)}`;
    // GitHub's timestamps have whole seconds; expiry is stored at that precision so expires_at is exact.
    const expiresAtMs = Math.floor((ctx.now() + ctx.tokenTtlMs) / 1000) * 1000;
    ctx.tokens.add(token, { permissions: granted, repos: new Set(reach.map((r) => r.fullName.toLowerCase())) }, expiresAtMs);
    const expiresAt = formatTimestamp(expiresAtMs);
    ctx.mints.push({ repositories: reach.map((r) => r.fullName), permissions: { ...granted }, expiresAt });
    const narrowed = repositories !== undefined || repositoryIds !== undefined;
    res.status(201).json({
      token,
      expires_at: expiresAt,
      permissions: granted,
      repository_selection: 'selected',
      ...(narrowed ? { repositories: reach.map((r) => repositoryObject(ctx.base(), r, ctx.app.createdAt)) } : {}),
    });
  };
}
