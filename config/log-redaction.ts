// Container logs are written by applications, not by us, and applications
// print credentials: a connection string at startup, a request dump with its
// Authorization header, a config struct with a token field. Log lines that
// become evidence are stored in Temporal history and copied into a GitHub
// issue and a Slack message, so anything shaped like a secret is replaced
// here, before the line is stored anywhere.
//
// The rules favour recall: a false positive costs a few readable characters, a
// false negative publishes a credential. Key names are kept (`password=[redacted]`)
// so the line still says what was there. Input is expected to be one printable
// line (see printableLine in config/printable-text.ts): controls and zero-width
// characters that could split a secret must already be gone. Every pattern
// runs in linear time, since a line may be many kilobytes of hostile text.

export const REDACTED = '[redacted]';

export interface RedactedLine {
  text: string;
  /** How many secrets were replaced in this line. */
  redactions: number;
}

type Groups = Record<string, string | undefined>;

interface PatternRule {
  /** What a match is, as a scanner reports it (never the value itself). */
  kind: string;
  /** Global, with named groups. */
  pattern: RegExp;
  /** The replacement, or undefined to leave the match as it is (not counted). */
  replace(groups: Groups): string | undefined;
}

const PRIVATE_KEY_BEGIN = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/;
const PRIVATE_KEY_END = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/;

const PEM_PRIVATE_KEY = 'private key (PEM)';
const JWT = 'JWT';
const BASE64_BLOB = 'base64 blob (key material?)';

/**
 * A quote as JSON writes it, or JSON inside a JSON string (`\"`), or deeper (`\\\"`: a JSON log
 * line wrapped by a shipper, or an error body quoted in a log line). Bounded, so no hostile run of
 * backslashes costs more than a few steps per character.
 */
const ESCAPED_QUOTE = `\\\\{0,7}["']?`;

/**
 * Where a word (a token, a key, a scheme) may start: not inside another word, but right after
 * a JSON escape such as `\n`, which glues a letter to it in a JSON log line
 * (`"msg":"retrying\nghp_…"`). `word` is the character class that would continue a word.
 */
const after = (word: string) => `(?<=^|[^${word}]|\\\\[nrt])`;

/** Authorization schemes whose credential follows after a space. */
const AUTH_SCHEMES = 'bearer|basic|digest|token|negotiate|ntlm|aws4-hmac-sha256|apikey|ssws|dpop';

const PATTERN_RULES: PatternRule[] = [
  {
    // A PEM block logged on one line (JSON-escaped newlines): the body goes, the markers stay.
    kind: PEM_PRIVATE_KEY,
    pattern: new RegExp(`(?<begin>${PRIVATE_KEY_BEGIN.source})(?<body>.*?)(?<end>${PRIVATE_KEY_END.source}|$)`, 'g'),
    replace: (g) => (g.body?.trim() ? `${g.begin}${REDACTED}${g.end}` : undefined),
  },
  {
    // scheme://user:password@host: the user stays (it says which account), the password goes.
    // The password runs to the last `@` of the authority, since unencoded `@` in passwords is common.
    kind: 'password in a URL',
    pattern: /(?<prefix>\b[A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/[^\s:/?#@]*:)(?<password>[^\s/?#]*)@/g,
    replace: (g) => (g.password ? `${g.prefix}${REDACTED}@` : undefined),
  },
  {
    // Authorization / Proxy-Authorization as a header, a JSON field or key=value; the scheme stays.
    kind: 'Authorization header credential',
    pattern: new RegExp(
      `(?<key>${after('A-Za-z0-9_')}(?:proxy-)?authorization${ESCAPED_QUOTE}\\s*[:=]\\s*${ESCAPED_QUOTE})(?<scheme>(?:${AUTH_SCHEMES})\\s+)?(?<credential>[^\\s"',;\\\\]+)`,
      'gi',
    ),
    replace: (g) => (g.credential === REDACTED ? undefined : `${g.key}${g.scheme ?? ''}${REDACTED}`),
  },
  {
    // scheme://token@host: a token as the whole userinfo (`https://<PAT>@github.com`). Only a long
    // run holding a digit counts, so `ssh://git@github.com` and `mailto`-like users keep their name.
    kind: 'token in a URL',
    pattern: /(?<prefix>\b[A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/)(?<token>(?=[A-Za-z0-9._~%+-]*[0-9])[A-Za-z0-9._~%+-]{16,})@/g,
    replace: (g) => `${g.prefix}${REDACTED}@`,
  },
  {
    // A credential after its scheme word anywhere else: an echoed header, a client's debug line.
    // It must hold a digit or symbol, so "Bearer authentication" and "Basic auth is off" are prose.
    kind: 'Bearer, Basic or token credential',
    pattern: new RegExp(
      `(?<scheme>${after('A-Za-z0-9_')}(?:bearer|basic|token)\\s+)(?<token>(?=[A-Za-z0-9._~+/-]*[0-9._~+/=-])[A-Za-z0-9._~+/-]{8,}=*)`,
      'gi',
    ),
    replace: (g) => `${g.scheme}${REDACTED}`,
  },
  {
    // AWS access key ids: long-term (AKIA) and STS session (ASIA).
    kind: 'AWS access key id',
    pattern: new RegExp(`${after('A-Za-z0-9')}(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])`, 'g'),
    replace: () => REDACTED,
  },
  {
    // GitHub personal, OAuth, user-to-server, server-to-server and refresh tokens; fine-grained PATs.
    kind: 'GitHub token',
    pattern: new RegExp(`${after('A-Za-z0-9_')}(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})`, 'g'),
    replace: () => REDACTED,
  },
  {
    // Slack bot, user, app-level, workspace and refresh tokens.
    kind: 'Slack token',
    pattern: new RegExp(`${after('A-Za-z0-9')}(?:xox[abposr]|xapp)-[A-Za-z0-9-]{10,}`, 'g'),
    replace: () => REDACTED,
  },
  {
    // JWTs (and JWEs): base64url segments, the first a JSON object ("eyJ" is `{"`).
    kind: JWT,
    pattern: new RegExp(`${after('A-Za-z0-9_-')}eyJ[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]{5,}(?:\\.[A-Za-z0-9_-]*){1,3}`, 'g'),
    replace: () => REDACTED,
  },
  {
    // Datadog-style 32/40-hex API and application keys, only when labelled: a bare hex
    // run is far more often a commit, a digest or a trace id.
    kind: 'API or application key',
    pattern: new RegExp(
      `(?<label>${after('A-Za-z0-9_')}(?:api|app(?:lication)?)[ _-]?key${ESCAPED_QUOTE}\\s*[:=]?\\s*${ESCAPED_QUOTE})(?<key>[0-9a-fA-F]{32}(?:[0-9a-fA-F]{8})?)(?![0-9a-zA-Z])`,
      'gi',
    ),
    replace: (g) => `${g.label}${REDACTED}`,
  },
];

// ---- key = value ------------------------------------------------------------------

/**
 * A key and its separator: `key=`, `key: `, `"key": `, `\"key\":` (JSON inside a
 * JSON string, or deeper), `key => `, `key := `. A key may follow `-` (`--password=`),
 * never a backslash: in `\npassword=` the `n` ends an escaped newline.
 */
const KEY_SEPARATOR = new RegExp(
  `${after('A-Za-z0-9_.\\\\')}(?<key>[A-Za-z_][A-Za-z0-9_.-]{0,79})(?<keyQuote>${ESCAPED_QUOTE})(?<sep> *(?:=>|:=|[:=]) *)`,
  'g',
);

/**
 * A value: a JSON string (escapes allowed), a single-quoted string, a string quoted by an escaped
 * quote (`\"…\"`, `\\\"…\\\"`: it runs to the next quote escaped as deeply), or a bare run.
 */
const VALUE = /"(?:[^"\\]|\\.)*"?|'[^']*'?|(?<escape>\\{1,7})"(?:(?!\k<escape>")[\s\S])*(?:\k<escape>")?|[^\s"'`,;&<>(){}[\]\\]+/y;

/** The last word of a key that makes it secret: `db_password`, `X-Amz-Signature`, `sessionToken`. */
const SECRET_NOUNS = new Set([
  'password',
  'passwd',
  'passphrase',
  'pwd',
  'pass',
  'secret',
  'token',
  'credential',
  'credentials',
  'signature',
  'sig',
  'apikey',
  'auth',
  'cookie',
  'secretkey',
  'accesskey',
  'privatekey',
]);
/** The last two words of a key that make it secret: `aws_secret_access_key`, `DD-APPLICATION-KEY`. */
const SECRET_PAIRS = new Set([
  'api key',
  'app key',
  'application key',
  'access key',
  'private key',
  'secret key',
  'signing key',
  'encryption key',
  'master key',
  'account key',
  'session key',
]);
/** Glued words: `pgpassword`, `accesstoken`, `xapikey`. */
const SECRET_SUFFIXES = ['password', 'passwd', 'secret', 'token', 'apikey'];

/** Words of a key, whatever its case style: `secretAccessKey`, `DB_PASSWORD`, `X-Api-Key`. */
function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/**
 * Judged on the key's last word, the noun it names: `password_file`, `token_ttl`,
 * `secretName` and `max_tokens` name something else and keep their values.
 */
export function isSecretKey(key: string): boolean {
  const words = keyWords(key);
  const last = words[words.length - 1];
  if (last === undefined) return false;
  if (SECRET_NOUNS.has(last)) return true;
  if (words.length >= 2 && SECRET_PAIRS.has(`${words[words.length - 2]} ${last}`)) return true;
  return SECRET_SUFFIXES.some((s) => last.endsWith(s));
}

function quotedReplacement(value: string): string | undefined {
  const quote = /^\\{0,7}["']/.exec(value)?.[0];
  if (quote === undefined) return REDACTED;
  const closed = value.length >= 2 * quote.length && value.endsWith(quote);
  const inner = value.slice(quote.length, closed ? -quote.length : undefined);
  if (inner === '' || inner === REDACTED) return undefined;
  return `${quote}${REDACTED}${closed ? quote : ''}`;
}

/**
 * `key: word more text` is prose (Go error chains read "invalid token: signature
 * is invalid"), not an assignment. Only a letters-only word that the line goes on
 * after is spared; `password: hunter2`, `password: changeme` at the end of a line,
 * `password:x` and `password=word` all go. A quoted key does not make it an
 * assignment: the kubelet writes `volume "db-credentials" : secret "db" not found`,
 * and a JSON value would be quoted, a number or a literal.
 */
function isProse(sep: string, value: string, rest: string): boolean {
  return sep.includes(':') && sep.endsWith(' ') && /^[A-Za-z]+$/.test(value) && /^ +\S/.test(rest);
}

/** What a scanner reports for a value redacted because of its key: the key names it, the value stays unsaid. */
function keyKind(key: string): string {
  return `secret-named field "${key}"`;
}

function redactKeyValues(text: string, found?: (kind: string) => void): RedactedLine {
  // The scan is synchronous, so the shared stateful patterns are safe once reset.
  KEY_SEPARATOR.lastIndex = 0;
  let out = '';
  let copied = 0;
  let redactions = 0;
  for (let m = KEY_SEPARATOR.exec(text); m !== null; m = KEY_SEPARATOR.exec(text)) {
    const g = m.groups as Groups;
    // A key that is not secret is passed over, not consumed, so `conn="user=app password=x"` is still searched.
    if (!isSecretKey(g.key ?? '')) continue;
    const start = m.index + m[0].length;
    VALUE.lastIndex = start;
    const v = VALUE.exec(text)?.[0];
    if (v === undefined) continue;
    const end = start + v.length;
    if (isProse(g.sep ?? '', v, text.slice(end, end + 2))) continue;
    const replacement = quotedReplacement(v);
    if (replacement === undefined) continue;
    out += text.slice(copied, start) + replacement;
    copied = end;
    KEY_SEPARATOR.lastIndex = end;
    redactions += 1;
    found?.(keyKind(g.key ?? ''));
  }
  return { text: out + text.slice(copied), redactions };
}

// ---- lines ------------------------------------------------------------------------

/**
 * A line that is nothing but a long mixed-case base64 run: the body of a PEM block
 * whose BEGIN line fell outside the tail, or an encoded blob. A hex digest (one
 * case) and a long identifier (no digit) are left alone.
 */
const BASE64_LINE = /^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9])[A-Za-z0-9+/]{40,}={0,2}$/;

/** Replaces every secret-shaped string in one printable line. */
export function redactLogLine(line: string): RedactedLine {
  return scanLine(line, PATTERN_RULES);
}

/** Redaction of one line by `rules`, telling `found` the kind of each replacement. */
function scanLine(line: string, rules: readonly PatternRule[], found?: (kind: string) => void): RedactedLine {
  if (BASE64_LINE.test(line)) {
    found?.(BASE64_BLOB);
    return { text: REDACTED, redactions: 1 };
  }
  let text = line;
  let redactions = 0;
  for (const rule of rules) {
    text = text.replace(rule.pattern, (match: string, ...args: unknown[]) => {
      const replacement = rule.replace(args[args.length - 1] as Groups);
      if (replacement === undefined) return match;
      redactions += 1;
      found?.(rule.kind);
      return replacement;
    });
  }
  const kv = redactKeyValues(text, found);
  return { text: kv.text, redactions: redactions + kv.redactions };
}

/**
 * Redacts consecutive lines of one log. Also removes the inside of a PEM private
 * key printed over several lines: every line after a BEGIN marker up to its END.
 */
export function redactLogLines(lines: readonly string[]): RedactedLine[] {
  let insideKey = false;
  return lines.map((line) => {
    if (insideKey) {
      const end = PRIVATE_KEY_END.exec(line);
      if (!end) return { text: REDACTED, redactions: 1 };
      insideKey = false;
      const body = line.slice(0, end.index).trim();
      const rest = redactLogLine(line.slice(end.index + end[0].length));
      return { text: `${body ? REDACTED : ''}${end[0]}${rest.text}`, redactions: rest.redactions + (body ? 1 : 0) };
    }
    const begin = PRIVATE_KEY_BEGIN.exec(line);
    if (begin && !PRIVATE_KEY_END.test(line.slice(begin.index))) {
      insideKey = true;
      const head = redactLogLine(line.slice(0, begin.index));
      const body = line.slice(begin.index + begin[0].length).trim();
      return { text: `${head.text}${begin[0]}${body ? REDACTED : ''}`, redactions: head.redactions + (body ? 1 : 0) };
    }
    return redactLogLine(line);
  });
}

// ---- finding, for scanners ------------------------------------------------------

export interface SecretFinding {
  /** 1-based line of the scanned text. */
  line: number;
  /** What was found ("Slack token", "private key (PEM)", `secret-named field "password"`): never the value. */
  kind: string;
}

/**
 * A bare JWT is only reported with a bearer context (an Authorization header,
 * `Bearer …`, or a secret-named key such as `token:`, which the other rules
 * catch): on its own it is as often an id token or a signed claim as a credential.
 */
const FINDING_RULES = PATTERN_RULES.filter((r) => r.kind !== JWT);
const ANY_PEM_BEGIN = /-----BEGIN [A-Z0-9 ]{1,60}-----/;
const ANY_PEM_END = /-----END [A-Z0-9 ]{1,60}-----/;

/**
 * Where a text (a file, an environment value) holds something shaped like a
 * credential, and what kind, by the redaction rules above: for `triage doctor`,
 * which must say what it found and where without repeating it. Certificates and
 * public keys are not secrets; their base64 bodies are passed over.
 */
export function findSecrets(text: string): SecretFinding[] {
  const findings: SecretFinding[] = [];
  let inside: 'private key' | 'other' | undefined;
  text.split(/\r?\n/).forEach((line, i) => {
    const seen = new Set<string>();
    const found = (kind: string) => {
      if (seen.has(kind)) return;
      seen.add(kind);
      findings.push({ line: i + 1, kind });
    };
    if (inside !== undefined) {
      const end = ANY_PEM_END.exec(line);
      if (!end) return;
      inside = undefined;
      scanLine(line.slice(end.index + end[0].length), FINDING_RULES, found);
      return;
    }
    const begin = ANY_PEM_BEGIN.exec(line);
    if (begin && !ANY_PEM_END.test(line.slice(begin.index))) {
      inside = PRIVATE_KEY_BEGIN.test(begin[0]) ? 'private key' : 'other';
      scanLine(line.slice(0, begin.index), FINDING_RULES, found);
      if (inside === 'private key') found(PEM_PRIVATE_KEY);
      return;
    }
    scanLine(line, FINDING_RULES, found);
  });
  return findings;
}

/** Whether a variable or field of this name holds a secret by its name alone (`DB_PASSWORD`, `apiKey`), as redaction judges keys. */
export { isSecretKey as isSecretName };
