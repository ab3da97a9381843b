import { findLogSignature } from '../../../activities/analyzers/log-signatures.js';

describe('findLogSignature names what failed', () => {
  test.each([
    ['Environment variable DEPLOY_ENV is undefined', 'missing-env', 'environment variable DEPLOY_ENV is not set'],
    ['Environment variable PORT is undefined', 'missing-env', 'environment variable PORT is not set'],
    ['fatal: env var "DATABASE_URL" not set', 'missing-env', 'environment variable DATABASE_URL is not set'],
    ['Error: missing required environment variable: STRIPE_KEY', 'missing-env', 'environment variable STRIPE_KEY is not set'],
    ['config: ORDERS_DB_HOST is required since 2.14.0', 'missing-env', 'environment variable ORDERS_DB_HOST is not set'],
    ['sh: wge: not found', 'command-not-found', 'command wge not found in the image'],
    ['/bin/sh: 1: curlx: not found', 'command-not-found', 'command curlx not found in the image'],
    ['bash: line 1: jq: command not found', 'command-not-found', 'command jq not found in the image'],
    ['exec: "/app/server": executable file not found in $PATH: unknown', 'command-not-found', 'command /app/server not found in the image'],
    ['"root" execution of the PostgreSQL server is not permitted.', 'runs-as-root', 'the process refuses to run as root'],
    ['exec /usr/local/bin/app: exec format error', 'exec-format', 'the image is built for another CPU architecture (exec format error)'],
    [
      'Error: getaddrinfo EAI_AGAIN orders-db.payments.svc.cluster.local',
      'dns',
      'cannot resolve orders-db.payments.svc.cluster.local (DNS)',
    ],
    ['dial tcp: lookup redis-master on 10.96.0.10:53: no such host', 'dns', 'cannot resolve redis-master (DNS)'],
    ['curl: (6) Could not resolve host: api.stripe.com', 'dns', 'cannot resolve api.stripe.com (DNS)'],
    ['java.net.UnknownHostException: kafka-0.kafka', 'dns', 'cannot resolve kafka-0.kafka (DNS)'],
    ['socket.gaierror: [Errno -3] Temporary failure in name resolution', 'dns', 'DNS lookups fail'],
    [
      'Get "https://vault:8200/v1/sys/health": x509: certificate has expired or is not yet valid',
      'tls-expired',
      'a TLS certificate has expired (x509)',
    ],
    ['x509: certificate signed by unknown authority', 'tls-untrusted', 'a TLS certificate is not trusted (unknown authority)'],
    [
      'User: arn:aws:sts::1:assumed-role/app/x is not authorized to perform: s3:GetObject on resource',
      'cloud-permission',
      'the cloud refuses s3:GetObject (permission denied)',
    ],
    [
      'An error occurred (AccessDenied) when calling the PutObject operation',
      'cloud-permission',
      'the cloud refuses PutObject (AccessDenied)',
    ],
    [
      'pods is forbidden: User "system:serviceaccount:ci:runner" cannot list resource "pods" in API group ""',
      'kubernetes-forbidden',
      'system:serviceaccount:ci:runner is forbidden to list pods (RBAC)',
    ],
    [
      'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space',
      'runtime-oom',
      'the runtime ran out of memory (Java heap space)',
    ],
    ['FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory', 'runtime-oom', 'the runtime ran out of memory'],
    [
      'ERROR Timeout waiting for database connection after 30000ms - Pool exhausted (100/100)',
      'pool-exhausted',
      'the connection pool is exhausted (100/100)',
    ],
    [
      'FATAL: remaining connection slots are reserved for non-replication superuser connections',
      'pool-exhausted',
      'the connection pool is exhausted',
    ],
    ['Network timeout: Connection to backend timed out after 30000ms', 'connection-timeout', 'connections to backend time out'],
    ['ERROR: Connection timeout to backend-service!', 'connection-timeout', 'connections to backend-service time out'],
    ['write /data/wal/000001.log: no space left on device', 'disk-full', 'no space left on device'],
    ['accept tcp [::]:8080: accept4: too many open files', 'too-many-open-files', 'too many open files'],
    ['dial tcp 10.0.3.4:5432: connect: connection refused', 'connection-refused', 'connections to 10.0.3.4:5432 are refused'],
    ['Error: connect ECONNREFUSED 127.0.0.1:6379', 'connection-refused', 'connections to 127.0.0.1:6379 are refused'],
    ['dial tcp payments-db:5432: i/o timeout', 'connection-timeout', 'connections to payments-db:5432 time out'],
    ['open /etc/app/config.yaml: no such file or directory', 'file-missing', 'file /etc/app/config.yaml does not exist'],
    ['open /var/log/app.log: permission denied', 'permission-denied', 'permission denied on /var/log/app.log'],
    [
      'panic: runtime error: invalid memory address or nil pointer dereference',
      'panic',
      expect.stringMatching(/^the process panicked: runtime error/),
    ],
    ['Segmentation fault (core dumped)', 'segfault', 'the process crashed with a segmentation fault'],
  ])('%s', (line, kind, summary) => {
    expect(findLogSignature(['starting up', line])).toMatchObject({ kind, summary });
  });
});

describe('near misses name nothing', () => {
  test.each([
    'GET /api/users: not found',
    'user alice: not found in cache, loading from db',
    'ERROR permission denied for table invoices',
    'retrying in 5s (attempt 3)',
    'DEPLOY_ENV=production',
    'the environment variable PORT defaults to 8080',
    'connection pool size 10, idle timeout 30s',
    'certificate renewed, expires 2026-03-01',
    'level=info msg="DNS cache warmed" entries=120',
    'running as root user: no (uid 1000)',
    'request rejected: MFA is required',
    'TLS is required for this listener',
    'http: TLS handshake error from 10.2.3.4:51234: read tcp 10.0.0.5:8443->10.2.3.4:51234: read: connection reset by peer',
    '[INFO] 10.0.0.9:41230 - 3 "A IN foo.svc. udp 31 false 512" NXDOMAIN qr,aa,rd 124 0.0001s',
    'grpc: request denied for client: code = PERMISSION_DENIED',
    'SystemFile loaded from cache',
    'disk fullness at 41%',
    'open /etc/app/override.yaml: no such file or directory, using defaults',
    'Could not resolve placeholder \'DB_URL\' in value "${DB_URL}"',
    'connection pool size 20, 3 idle',
  ])('%s', (line) => {
    expect(findLogSignature([line])).toBeUndefined();
  });
});

describe('which signature and which quote', () => {
  test('the cause named before its consequence: an unresolvable host outranks the refused connection and the panic after it', () => {
    const found = findLogSignature([
      'dial tcp: lookup orders-db on 10.96.0.10:53: no such host',
      'dial tcp 127.0.0.1:5432: connect: connection refused',
      'panic: could not connect',
    ]);
    expect(found).toMatchObject({ kind: 'dns', summary: 'cannot resolve orders-db (DNS)' });
  });

  test('a long line is quoted around its signature, never cut before it', () => {
    const line = `${'x'.repeat(400)} Get "https://vault:8200": x509: certificate has expired or is not yet valid ${'y'.repeat(400)}`;
    const found = findLogSignature([line]);
    expect(found?.quote).toContain('x509: certificate has expired');
    expect(found!.quote.length).toBeLessThanOrEqual(200);
  });

  test.each([
    [
      ['Connection attempt 1 failed: java.net.ConnectException: Connection refused', 'Target host: prod-db, port: 3333'],
      'cannot connect to prod-db:3333',
    ],
    [
      ['2025-03-01T12:00:01Z All host(s) tried for db query failed (tried: prod-db:3333) - no available connection'],
      'cannot connect to prod-db:3333',
    ],
    [['2025-03-01T12:00:01Z java.net.ConnectException: Connection refused'], 'connections fail'],
  ])('a failed connection is named from the line that names its target: %j', (lines, summary) => {
    expect(findLogSignature(lines)).toMatchObject({ kind: 'connection-failed', summary });
  });

  test.each([
    ['/bin/sh: syntax error: unexpected "fi"', 'the container\'s shell script does not parse (syntax error: unexpected "fi")'],
    [
      "sh: line 3: syntax error near unexpected token `done'",
      "the container's shell script does not parse (syntax error near unexpected token `done')",
    ],
  ])('a shell script that does not parse: %s', (line, summary) => {
    expect(findLogSignature([line])).toMatchObject({ kind: 'shell-syntax', summary });
  });

  test('no lines, no signature', () => {
    expect(findLogSignature([])).toBeUndefined();
  });
});
