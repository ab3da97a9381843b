// A secret read from a mounted file. Kubernetes rotates Secret volumes by
// swapping a symlink, so a stat on every use (cheap) notices a rotation
// without a restart or a file watcher.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';

/**
 * Raised when a secret cannot be used. The message names the file path and
 * the errno code only, so it is safe to log, audit and return to a caller.
 */
export class CredentialUnavailableError extends Error {
  override name = 'CredentialUnavailableError';
}

export interface SecretValue {
  value: string;
  /** Bumped whenever the content (not just the mtime) changes. */
  version: number;
}

export class SecretFile {
  private fingerprint: string | undefined;
  private current: SecretValue | undefined;
  private version = 0;

  constructor(
    readonly path: string,
    /** What the file holds, for messages: "GitHub App private key". */
    readonly label: string,
  ) {}

  async read(): Promise<SecretValue> {
    let fingerprint: string;
    try {
      const s = await stat(this.path);
      fingerprint = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch (err) {
      throw this.unavailable(err);
    }
    if (this.current && fingerprint === this.fingerprint) return this.current;

    let value: string;
    try {
      value = (await readFile(this.path, 'utf8')).trim();
    } catch (err) {
      throw this.unavailable(err);
    }
    if (value.length === 0) throw new CredentialUnavailableError(`${this.label} file ${this.path} is empty`);
    if (!this.current || this.current.value !== value) this.version += 1;
    this.current = { value, version: this.version };
    this.fingerprint = fingerprint;
    return this.current;
  }

  private unavailable(err: unknown): CredentialUnavailableError {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    return new CredentialUnavailableError(`cannot read ${this.label} file ${this.path} (${code})`);
  }
}

/**
 * A short, non-reversible name for a credential, for audit lines: enough to
 * tell two keys apart across a rotation, useless for recovering either.
 */
export function fingerprintOf(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 12);
}
