// Credential-shaped strings for the redaction tests, made at run time with
// random characters: the repository holds nothing a secret scanner (or a
// reader) could take for a real key, and no test depends on a fixed value.
import { randomBytes } from 'node:crypto';

const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function pick(alphabet: string, n: number): string {
  return Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
}

const digits = (n: number) => pick('0123456789', n);
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export const fakeCredential = {
  awsAccessKeyId: (prefix: 'AKIA' | 'ASIA' = 'AKIA') => `${prefix}${pick(UPPER_DIGITS, 16)}`,
  awsSecretAccessKey: () => pick(`${ALNUM}/+`, 40),
  gitHubToken: (kind: 'ghp' | 'gho' | 'ghu' | 'ghs' | 'ghr') => `${kind}_${pick(ALNUM, 36)}`,
  gitHubFineGrainedToken: () => `github_pat_11${pick(ALNUM, 20)}_${pick(ALNUM, 59)}`,
  slackBotToken: () => `xoxb-${digits(12)}-${digits(13)}-${pick(ALNUM, 24)}`,
  slackAppToken: () => `xapp-1-A${pick(UPPER_DIGITS, 10)}-${digits(13)}-${randomBytes(32).toString('hex')}`,
  /** User, legacy app, workspace, refresh and configuration tokens share the bot token's shape. */
  slackToken: (kind: 'xoxa' | 'xoxb' | 'xoxp' | 'xoxo' | 'xoxr' | 'xoxs') => `${kind}-${digits(12)}-${digits(13)}-${pick(ALNUM, 24)}`,
  /** Datadog API keys are 32 hex digits, application keys 40. */
  datadogKey: (length: 32 | 40 = 32) => randomBytes(length / 2).toString('hex'),
  /** The value of `Authorization: Basic …`: base64 of `user:password`. */
  basicCredential: () => Buffer.from(`svc-${pick(ALNUM, 6)}:${pick(ALNUM, 16)}`).toString('base64'),
  /** A password as people put them in connection strings: letters, digits and a symbol. */
  password: () => `${pick(ALNUM, 10)}${pick('!$%*+-', 1)}${digits(3)}`,
  /** An opaque API token, as a URL's whole userinfo or a `token …` argument carries it. */
  opaqueToken: () => `${pick(ALNUM, 20)}${digits(4)}`,
  jwt: () => [base64url({ alg: 'HS256' }), base64url({ sub: digits(10) }), randomBytes(32).toString('base64url')].join('.'),
  /** Base64 body lines of a key, as a PEM block holds them. */
  pemBody: (length = 64) => pick(`${ALNUM}+/`, length),
};

/** `-----BEGIN <label>PRIVATE KEY-----` and its END, assembled so no marker sits in the source as a literal. */
export function pemMarker(edge: 'BEGIN' | 'END', label = ''): string {
  return `-----${edge} ${label}${['PRIVATE', 'KEY'].join(' ')}-----`;
}
