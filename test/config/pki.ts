// A throwaway PKI for tests, made at run time with the openssl CLI (nothing
// checked in): a CA, and leaf certificates for a Temporal client or server.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

export interface Issued {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface TestCa extends Issued {
  dir: string;
  issue(name: string, opts?: { usage?: 'client' | 'server'; days?: number; dnsNames?: string[]; ips?: string[] }): Issued;
}

let serial = 1000;

export function createTestCa(name = 'test-ca', dir: string = mkdtempSync(join(tmpdir(), 'pki-'))): TestCa {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '3',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  const ca: TestCa = {
    dir,
    certFile,
    keyFile,
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
    issue(leaf, opts = {}) {
      const leafCert = join(dir, `${leaf}.crt`);
      const leafKey = join(dir, `${leaf}.key`);
      const csr = join(dir, `${leaf}.csr`);
      const ext = join(dir, `${leaf}.ext`);
      const sans = [...(opts.dnsNames ?? []).map((d) => `DNS:${d}`), ...(opts.ips ?? []).map((ip) => `IP:${ip}`)];
      writeFileSync(
        ext,
        [
          `extendedKeyUsage=${opts.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
          'keyUsage=critical,digitalSignature',
          ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : []),
        ].join('\n'),
      );
      openssl(['req', ...ec, '-keyout', leafKey, '-out', csr, '-subj', `/CN=${leaf}`], dir);
      serial += 1;
      openssl(
        [
          'x509',
          '-req',
          '-in',
          csr,
          '-CA',
          certFile,
          '-CAkey',
          keyFile,
          '-set_serial',
          String(serial),
          '-days',
          String(opts.days ?? 1),
          '-out',
          leafCert,
          '-extfile',
          ext,
        ],
        dir,
      );
      return { certFile: leafCert, keyFile: leafKey, cert: readFileSync(leafCert, 'utf8'), key: readFileSync(leafKey, 'utf8') };
    },
  };
  return ca;
}

/** The base64 body lines of a PEM block: what must never show up in a message or a log line. */
export function pemBodyLines(pem: string): string[] {
  return pem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));
}

/** A directory laid out like a Kubernetes Secret volume: files are symlinks through `..data`, swapped atomically on update. */
export function secretVolume(files: Record<string, string>): { dir: string; update(files: Record<string, string>): void } {
  const dir = mkdtempSync(join(tmpdir(), 'secret-'));
  let version = 0;
  const writeVersion = (content: Record<string, string>) => {
    version += 1;
    const data = `..2026_01_01_00_00_0${version}.${version}`;
    mkdirSync(join(dir, data));
    for (const [name, value] of Object.entries(content)) writeFileSync(join(dir, data, name), value);
    symlinkSync(data, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  writeVersion(files);
  for (const name of Object.keys(files)) symlinkSync(join('..data', name), join(dir, name));
  return { dir, update: writeVersion };
}
