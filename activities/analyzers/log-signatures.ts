// Error signatures an on-call engineer recognises in a container's last words:
// each names what failed (a host, a variable, a path, a permission) in a form
// that holds whatever the application's own log format. Pure: lines in, the
// strongest signature out.
import type { ContainerSummary } from '../model.js';
import { cleanText } from '../../config/untrusted-text.js';

export interface LogSignature {
  /** A stable tag for the kind of failure, e.g. `dns`, `missing-env`. */
  kind: string;
  /** What failed, in a few words that name the object: `cannot resolve orders-db.prod.svc (DNS)`. */
  summary: string;
  /** The log line, cut around the signature so the quote never ends before it. */
  quote: string;
  /** The position of that line among the lines searched. */
  at: number;
}

interface SignatureRule {
  kind: string;
  pattern: RegExp;
  /** `lines` is the whole log: some failures name their target on a neighbouring line. */
  summary: (m: RegExpExecArray, lines: readonly string[], at: number) => string;
}

const HOST = String.raw`[A-Za-z0-9][A-Za-z0-9._-]*`;
// A host in host:port names something (has a letter) or is an IPv4 address, and
// starts a token: a clock time or an ISO timestamp is neither.
const HOST_NAME = String.raw`(?<![\w.-])(?!\d{4}-\d\d-\d\dT)(?:(?=[\w.-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9._-]*|\d{1,3}(?:\.\d{1,3}){3})`;
const HOST_PORT = String.raw`${HOST_NAME}:\d{1,5}`;
const ENV_NAME = String.raw`[A-Z][A-Z0-9_]{1,63}`;
// Without the words "environment variable" next to it, only a name with an underscore
// reads as one: "MFA is required" and "TLS is required" are not configuration.
const ENV_NAME_ALONE = String.raw`[A-Z][A-Z0-9]*_[A-Z0-9_]{1,62}`;

const name = (value: string | undefined, max = 120): string => cleanText(value ?? '', max);

// A failed connection whose line does not name its target (Java's
// "ConnectException: Connection refused") is named from a neighbouring line
// that does: `host:port`, or `host: x, port: y`.
const CONNECTION_FAILED =
  /Connection refused|ConnectException|ECONNREFUSED|connection timed out|no available connection|(?:failed|unable|could not) to connect|could not connect|couldn't connect/i;
const TARGET_PAIR = new RegExp(String.raw`\b(?:host|server|address)[:=]\s*["']?(${HOST})["']?,?\s+port[:=]\s*(\d{1,5})\b`, 'i');
const TARGET_HOST_PORT = new RegExp(String.raw`(${HOST_NAME}):(\d{1,5})\b`, 'g');

/** The target named on the failing line or the few lines around it, never a client's address (`from host:port`). */
function connectionTarget(lines: readonly string[], at: number): string | undefined {
  const nearest = [0, -1, 1, -2, 2, -3, 3].map((d) => at + d).filter((i) => i >= 0 && i < lines.length);
  for (const i of nearest) {
    const line = lines[i]!.replace(/\bfrom\s+\S+/gi, '');
    const pair = TARGET_PAIR.exec(line);
    if (pair) return `${pair[1]}:${pair[2]}`;
    for (const m of line.matchAll(TARGET_HOST_PORT)) {
      if (!/^https?$/i.test(m[1]!)) return `${m[1]}:${m[2]}`;
    }
  }
  return undefined;
}

// Ordered: the first rule that matches any line wins, so a specific cause
// (an unresolvable host) is named before the generic one it leads to (a refused
// connection, a panic).
const RULES: readonly SignatureRule[] = [
  {
    kind: 'missing-env',
    pattern: new RegExp(
      String.raw`\b(?:[Ee]nv(?:ironment)?\s+[Vv]ar(?:iable)?|[Ee]nv)\s+["'\x60]?(${ENV_NAME})["'\x60]?\s+(?:is\s+|was\s+)?(?:not\s+set|unset|undefined|not\s+defined|missing|required|empty)` +
        String.raw`|\b[Mm]issing\s+(?:required\s+)?[Ee]nv(?:ironment)?\s+[Vv]ar(?:iable)?s?:?\s+["'\x60]?(${ENV_NAME})` +
        String.raw`|\b(${ENV_NAME_ALONE})\s+(?:is|must\s+be)\s+(?:not\s+set|unset|undefined|required|missing|empty)\b`,
    ),
    summary: (m) => `environment variable ${name(m[1] ?? m[2] ?? m[3])} is not set`,
  },
  {
    kind: 'command-not-found',
    // The container runtime's words when the entrypoint is missing, and a shell's
    // when a script calls a command the image lacks.
    pattern: new RegExp(
      String.raw`exec:?\s+["'\x60]?([^\s"'\x60:]{1,200})["'\x60]?:\s+executable file not found` +
        String.raw`|(?:^|\s)(?:/bin/|/usr/bin/)?(?:sh|bash|ash|dash|zsh)(?::\s+line\s+\d+)?:\s+(?:\d+:\s+)?([\w./-]{1,200}):\s+(?:command\s+)?not found`,
    ),
    summary: (m) => `command ${name(m[1] ?? m[2], 80)} not found in the image`,
  },
  {
    kind: 'runs-as-root',
    pattern:
      /"root" execution of the [\w ]{1,40} is not permitted|(?:must|should) not (?:be )?run as root|(?:cannot|can't|refuses? to) (?:be )?run as root|running as root is not (?:allowed|permitted|supported)/i,
    summary: () => 'the process refuses to run as root',
  },
  {
    kind: 'exec-format',
    pattern: /exec format error/,
    summary: () => 'the image is built for another CPU architecture (exec format error)',
  },
  {
    kind: 'dns',
    pattern: new RegExp(
      String.raw`getaddrinfo\s+(?:EAI_AGAIN|ENOTFOUND|EAI_NONAME)\s+(${HOST})` +
        String.raw`|lookup\s+(${HOST})(?:\s+on\s+[\d.:\[\]a-f]+)?:\s+(?:no such host|server misbehaving|i/o timeout|Temporary failure)` +
        String.raw`|(?:Could not resolve host|could not translate host name|UnknownHostException|Unknown host|unknown host)[:\s"']+(${HOST})` +
        // Not a build tool's or a config library's "could not resolve placeholder/module/import".
        String.raw`|(?:[Ff]ailed|[Uu]nable|[Cc]annot|can't|[Cc]ould not) (?:to )?resolve[:\s]+(?!(?:placeholder|module|import|symbol|dependenc|reference|type|class|path|plugin)\w*\b)(?:host(?:name)?\s+)?["']?(${HOST})` +
        String.raw`|\b(${HOST})[:\s]+(?:Name or service not known|Temporary failure in name resolution|nodename nor servname provided)` +
        // Not a bare NXDOMAIN: a DNS server logs one for every query that names nothing.
        String.raw`|\b(EAI_AGAIN|Temporary failure in name resolution|Name or service not known)\b`,
    ),
    summary: (m) => {
      const host = m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5];
      return host ? `cannot resolve ${name(host, 200)} (DNS)` : 'DNS lookups fail';
    },
  },
  {
    kind: 'tls-expired',
    pattern: /x509: certificate has expired|certificate has expired|CERT_HAS_EXPIRED|certificate expired/i,
    summary: () => 'a TLS certificate has expired (x509)',
  },
  {
    kind: 'tls-untrusted',
    pattern:
      /x509: certificate signed by unknown authority|unable to (?:get local issuer|verify the first) certificate|SELF_SIGNED_CERT_IN_CHAIN|PKIX path building failed|certificate verify failed/i,
    summary: () => 'a TLS certificate is not trusted (unknown authority)',
  },
  {
    kind: 'cloud-permission',
    // The app's own call refused (IAM's message, an SDK's "error occurred … when calling"), not
    // a request the app itself denied its clients: those log AccessDenied all day.
    pattern: new RegExp(
      String.raw`is not authorized to perform:?\s+([\w-]+:[\w*-]+)` +
        String.raw`|error occurred \((AccessDenied(?:Exception)?|UnauthorizedOperation|AuthorizationFailed)\) when calling the (\w+) operation`,
    ),
    summary: (m) =>
      m[1] ? `the cloud refuses ${name(m[1], 100)} (permission denied)` : `the cloud refuses ${name(m[3], 60)} (${name(m[2], 40)})`,
  },
  {
    kind: 'kubernetes-forbidden',
    pattern: /forbidden: User "([^"]{1,200})" cannot (\w+) resource "([^"]{1,100})"/,
    summary: (m) => `${name(m[1], 120)} is forbidden to ${name(m[2], 20)} ${name(m[3], 60)} (RBAC)`,
  },
  {
    kind: 'runtime-oom',
    pattern:
      /java\.lang\.OutOfMemoryError(?::\s*([\w .-]{1,60}))?|JavaScript heap out of memory|FATAL ERROR: .{0,80}heap|fatal error: runtime: out of memory|\bMemoryError\b|Cannot allocate memory/,
    summary: (m) => `the runtime ran out of memory${m[1] ? ` (${name(m[1], 60)})` : ''}`,
  },
  { kind: 'disk-full', pattern: /no space left on device|\bENOSPC\b|\bdisk (?:is )?full\b/i, summary: () => 'no space left on device' },
  { kind: 'too-many-open-files', pattern: /too many open files|\bEMFILE\b/i, summary: () => 'too many open files' },
  {
    kind: 'connection-refused',
    pattern: new RegExp(
      String.raw`(?:dial tcp|connect to|connecting to|connection to|Connection to)\s+(?:\[?)(${HOST_PORT})\]?[^\n]{0,80}?(?:connection refused|refused)` +
        String.raw`|ECONNREFUSED\s+(${HOST_PORT})` +
        String.raw`|(${HOST_PORT})[^\n]{0,40}?connection refused`,
      'i',
    ),
    summary: (m) => `connections to ${name(m[1] ?? m[2] ?? m[3], 200)} are refused`,
  },
  {
    kind: 'connection-timeout',
    pattern: new RegExp(
      String.raw`(?:dial tcp|connect to|connecting to)\s+(${HOST_PORT})[^\n]{0,60}?(?:i/o timeout|timed out|connection timed out)` +
        String.raw`|ETIMEDOUT\s+(${HOST_PORT})` +
        String.raw`|[Cc]onnection to (${HOST})(?::\d{1,5})? timed out` +
        String.raw`|[Cc]onnection timeout (?:to|connecting to) (${HOST})(?::\d{1,5})?`,
      'i',
    ),
    summary: (m) => `connections to ${name(m[1] ?? m[2] ?? m[3] ?? m[4], 200)} time out`,
  },
  {
    kind: 'connection-failed',
    pattern: CONNECTION_FAILED,
    summary: (_m, lines, at) => {
      const target = connectionTarget(lines, at);
      return target ? `cannot connect to ${name(target, 200)}` : 'connections fail';
    },
  },
  {
    kind: 'pool-exhausted',
    pattern:
      /(?:connection )?pool (?:is )?exhausted(?:[^\n]{0,40}?(\d+\/\d+))?|Timeout waiting for (?:a |database )?connection(?:[^\n]{0,60}?(\d+\/\d+))?|too many (?:clients|connections)|remaining connection slots are reserved/i,
    summary: (m) => `the connection pool is exhausted${(m[1] ?? m[2]) ? ` (${name(m[1] ?? m[2], 20)})` : ''}`,
  },
  {
    kind: 'file-missing',
    // Not a file the app says it can do without ("…, using defaults").
    pattern:
      /open ((?:\/[\w.@-]+)+): no such file or directory(?![^\n]{0,40}(?:using default|ignor|skipp|optional))|No such file or directory: '((?:\/[\w.@-]+)+)'|ENOENT[^']{0,60}'((?:\/[\w.@-]+)+)'/,
    summary: (m) => `file ${name(m[1] ?? m[2] ?? m[3], 200)} does not exist`,
  },
  {
    kind: 'permission-denied',
    pattern: /((?:\/[\w.@-]+)+)[:'"]?\s*[:,]?\s*permission denied|permission denied[:,]?\s+(?:open\s+)?'?((?:\/[\w.@-]+)+)/i,
    summary: (m) => `permission denied on ${name(m[1] ?? m[2], 200)}`,
  },
  {
    kind: 'shell-syntax',
    pattern: /(?:sh|bash|ash|dash):\s+(?:line\s+\d+:\s+|\d+:\s+)?(?:[\w./-]+:\s+)?(syntax error[^\n]{0,80})/,
    summary: (m) => `the container's shell script does not parse (${name(m[1], 80)})`,
  },
  { kind: 'panic', pattern: /\bpanic: (.{1,120})/, summary: (m) => `the process panicked: ${name(m[1], 120)}` },
  { kind: 'segfault', pattern: /segmentation fault|SIGSEGV/i, summary: () => 'the process crashed with a segmentation fault' },
];

const QUOTE_CHARS = 200;

/** The line around the match: a long line is cut on both sides so the signature itself is always in the quote. */
function quoteAround(line: string, index: number, length: number): string {
  if (line.length <= QUOTE_CHARS) return cleanText(line, QUOTE_CHARS);
  const start = Math.max(0, Math.min(index - 60, line.length - QUOTE_CHARS));
  const excerpt = line.slice(start, start + QUOTE_CHARS - 2);
  const shown = `${start > 0 ? '…' : ''}${excerpt}${start + excerpt.length < line.length ? '…' : ''}`;
  return index + length <= start + excerpt.length
    ? cleanText(shown, QUOTE_CHARS)
    : cleanText(line.slice(index, index + QUOTE_CHARS), QUOTE_CHARS);
}

/** The strongest known signature in the lines, newest line first within a rule; undefined when none is known. */
export function findLogSignature(lines: readonly string[]): LogSignature | undefined {
  for (const rule of RULES) {
    for (let i = lines.length - 1; i >= 0; i--) {
      const line = lines[i]!;
      const m = rule.pattern.exec(line);
      if (m) return { kind: rule.kind, summary: rule.summary(m, lines, i), quote: quoteAround(line, m.index, m[0].length), at: i };
    }
  }
  return undefined;
}

/**
 * What a failed container says killed it: the runtime's termination message
 * (why a process never started: exec failures) and the failed run's log (why
 * it stopped).
 */
export function containerSignature(container: ContainerSummary): LogSignature | undefined {
  const log = container.previousLog;
  const said = [container.lastTerminated?.message ?? '', ...(log?.status === 'ok' ? log.lines : [])];
  return findLogSignature(said.filter((line) => line !== ''));
}
