// An emulator of the EKS Pod Identity Agent, so the worker's AWS SDK default
// credential chain runs in the sandbox exactly as in a pod: the SDK finds
// AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
// sends the token file's content as the Authorization header to
// `GET /v1/credentials`, and gets a 1-hour STS session back. The real agent
// listens on 169.254.170.23 and trades the pod's service-account token for a
// session with EKS Auth; here the session comes from moto's STS AssumeRole, so
// GetCallerIdentity answers the same assumed-role ARN the worker reports.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import express from 'express';
import { listen, tokenMatches, type ListenOptions, type Listening } from './http-server.js';

export const CREDENTIALS_PATH = '/v1/credentials';
export const DEFAULT_ROLE_ARN = 'arn:aws:iam::123456789012:role/keyless-triage-worker';
/** Pod Identity sessions last an hour; the SDK refreshes them five minutes before they end. */
const SESSION_SECONDS = 3600;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
/** STS RoleSessionName: 2-64 characters of [\w+=,.@-]. */
const MAX_SESSION_NAME = 64;

export interface PodIdentityAgentOptions extends ListenOptions {
  /** moto's URL; STS AssumeRole is called there. */
  stsEndpoint: string;
  roleArn?: string;
  /** The file the pod's token is in; re-read on every request, as the kubelet rotates it. */
  tokenFile: string;
  /** Names the STS session (`eks-sandbox-<pod>`); defaults to this host's name, which in a pod is the pod's. */
  podName?: string;
}

export interface PodIdentityAgent extends Listening {
  /** The full credentials URI: the value for AWS_CONTAINER_CREDENTIALS_FULL_URI. */
  url: string;
  /** How many sessions were handed out. */
  readonly issued: number;
}

function sessionName(pod: string): string {
  const clean = pod.replace(/[^\w+=,.@-]/g, '-');
  return `eks-sandbox-${clean}`.slice(0, MAX_SESSION_NAME);
}

export async function startPodIdentityAgent(opts: PodIdentityAgentOptions): Promise<PodIdentityAgent> {
  const roleArn = opts.roleArn ?? DEFAULT_ROLE_ARN;
  if (!ROLE_ARN.test(roleArn)) throw new TypeError(`roleArn ${JSON.stringify(roleArn)} is not an IAM role ARN`);
  // Fail at start, not on the first request, when the token file is missing.
  await readFile(opts.tokenFile);
  const roleSessionName = sessionName(opts.podName ?? hostname());

  // The agent's own identity (the node role, in EKS). moto accepts any key pair.
  const sts = new STSClient({
    endpoint: opts.stsEndpoint,
    region: 'us-east-1',
    credentials: {
      accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
    },
    maxAttempts: 2,
  });

  let issued = 0;
  const app = express();
  app.disable('x-powered-by');
  app.get(CREDENTIALS_PATH, async (req, res) => {
    const given = req.get('authorization');
    if (!given) {
      res.status(401).type('text/plain').send('Access Denied. Service account token cannot be empty');
      return;
    }
    let expected: string;
    try {
      expected = await readFile(opts.tokenFile, 'utf8');
    } catch {
      res.status(500).type('text/plain').send('Unable to read the service account token');
      return;
    }
    if (!tokenMatches(given, expected)) {
      res.status(403).type('text/plain').send('Access Denied. The service account token is not valid');
      return;
    }
    try {
      const out = await sts.send(
        new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: roleSessionName, DurationSeconds: SESSION_SECONDS }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) throw new Error('AssumeRole returned no credentials');
      issued += 1;
      res.type('application/json').send(
        JSON.stringify({
          AccessKeyId: c.AccessKeyId,
          SecretAccessKey: c.SecretAccessKey,
          Token: c.SessionToken,
          AccountId: roleArn.split(':')[4],
          Expiration: c.Expiration.toISOString(),
        }),
      );
    } catch (err) {
      // The real agent answers 500 when EKS Auth fails; the cause names no credential.
      res
        .status(500)
        .type('text/plain')
        .send(`Unable to obtain credentials: ${(err as Error).name}`);
    }
  });

  const listening = await listen(app, opts, () => sts.destroy());
  return {
    url: `${listening.url}${CREDENTIALS_PATH}`,
    close: listening.close,
    get issued() {
      return issued;
    },
  };
}
