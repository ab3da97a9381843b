// What every provider gives the proxy: headers to add on the outbound request
// and an id that names the credential in the audit log without revealing it.
import type { Dispatcher } from 'undici';
import type { Logger } from '../../config/logger.js';
import type { ProviderName } from '../config.js';

export interface OutboundCredential {
  /** Added to the upstream request after the caller's own credential headers are stripped. */
  headers: Record<string, string>;
  /** e.g. `github-app:123/installation:456`; never a secret value. */
  credentialId: string;
}

/** The allowed request a credential is wanted for, as the policy decided it. */
export interface CredentialRequest {
  /** Lower-cased `owner/repo` when the route is repository-scoped: a token need reach no further. */
  repo?: string;
}

export interface CredentialProvider {
  readonly provider: ProviderName;
  /** Throws CredentialUnavailableError (its message is safe to return to the caller). */
  credential(request: CredentialRequest): Promise<OutboundCredential>;
  /** "ready" or "unavailable: <reason>", from local files and cached state only: never calls upstream. */
  readiness(): Promise<string>;
  /** Request headers set only when the caller sent none. */
  readonly defaultHeaders?: Readonly<Record<string, string>>;
}

export type Clock = () => number;

/** What a provider that mints short-lived tokens upstream (GitHub App, PagerDuty OAuth) is given by the broker. */
export interface MintingDeps {
  /** The broker's upstream connection pool, so token requests get its TLS and timeout settings. */
  dispatcher: Dispatcher;
  timeoutMs: number;
  now: Clock;
  log: Logger;
  /** How long a failed mint is remembered before the next request tries again. */
  failureBackoffMs: number;
  userAgent: string;
}
