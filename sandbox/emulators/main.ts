// Runs the PagerDuty, Kubernetes, GitHub, Slack and Datadog emulators, the
// front that gives moto (CloudWatch) the same conditions, and the EKS Pod
// Identity Agent emulator for the local stack. The launcher reads the one
// JSON line on stdout to learn the URLs; secrets come from files so they never
// appear in argv (visible in `ps`) or in any output. Each surface's standing
// conditions (latency, error rate) come from the scenario and SANDBOX_* variables.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { allConditions } from '../conditions.js';
import { loadScenario, type SurfaceConditions } from '../scenario.js';
import { startAwsFront, type AwsFront } from './aws-front.js';
import { startDatadogEmulator } from './datadog.js';
import { startGitHubEmulator } from './github.js';
import type { Listening } from './http-server.js';
import { startKubernetesEmulator } from './kubernetes.js';
import type { TokenReviewOptions } from './kubernetes-token-review.js';
import { startPagerDutyEmulator, type PagerDutyOAuthOptions } from './pagerduty.js';
import { startPodIdentityAgent, type PodIdentityAgent } from './pod-identity.js';
import { DEFAULT_SLACK_WORKSPACE, startSlackEmulator } from './slack.js';

const HOST = '127.0.0.1';

function port(value: string | undefined, flag: string): number {
  if (value === undefined) return 0;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new Error(`${flag} must be a port number (0-65535)`);
  return Number(value);
}

/** One secret on one line. Errors name the flag, never the file's content. */
async function secret(path: string, flag: string): Promise<string> {
  let value: string;
  try {
    value = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw new Error(`${flag}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  if (value.length === 0 || /\s/.test(value)) throw new Error(`${flag}: the file must hold one value on one line`);
  return value;
}

async function optionalSecret(path: string | undefined, flag: string): Promise<string | undefined> {
  return path === undefined ? undefined : secret(path, flag);
}

function readFlags() {
  return parseArgs({
    options: {
      scenario: { type: 'string' },
      'pagerduty-port': { type: 'string' },
      'kubernetes-port': { type: 'string' },
      'github-port': { type: 'string' },
      'pagerduty-token-file': { type: 'string' },
      'pagerduty-client-id-file': { type: 'string' },
      'pagerduty-client-secret-file': { type: 'string' },
      'kubernetes-token-file': { type: 'string' },
      'kubernetes-reviewer-token-file': { type: 'string' },
      'kubernetes-projected-token': { type: 'string', multiple: true },
      'github-app-id': { type: 'string' },
      'github-installation-id': { type: 'string' },
      'github-app-public-key-file': { type: 'string' },
      'github-repo': { type: 'string', multiple: true },
      'slack-port': { type: 'string' },
      'slack-bot-token-file': { type: 'string' },
      'slack-signing-secret-file': { type: 'string' },
      'gateway-url': { type: 'string' },
      'datadog-port': { type: 'string' },
      'datadog-api-key-file': { type: 'string' },
      'datadog-app-key-file': { type: 'string' },
      'pod-identity-port': { type: 'string' },
      'pod-identity-token-file': { type: 'string' },
      'sts-endpoint': { type: 'string' },
      'cloudwatch-port': { type: 'string' },
      'cloudwatch-upstream': { type: 'string' },
    },
    strict: true,
  }).values;
}

type Flags = ReturnType<typeof readFlags>;

/**
 * `--kubernetes-reviewer-token-file` (the broker's token, which may create
 * TokenReviews) and `--kubernetes-projected-token <namespace>/<serviceaccount>:<audience>=<file>`,
 * once per token the sandbox projects as the kubelet would.
 */
async function tokenReviewFlags(flags: Flags): Promise<TokenReviewOptions | undefined> {
  const reviewerFile = flags['kubernetes-reviewer-token-file'];
  if (reviewerFile === undefined) return undefined;
  const tokens = [];
  for (const spec of flags['kubernetes-projected-token'] ?? []) {
    const m = /^([a-z0-9-]+)\/([a-z0-9.-]+):([^=]+)=(.+)$/.exec(spec);
    if (!m) throw new Error(`--kubernetes-projected-token: expected <namespace>/<serviceaccount>:<audience>=<file>, got ${spec}`);
    tokens.push({
      namespace: m[1]!,
      serviceAccount: m[2]!,
      audiences: [m[3]!],
      token: await secret(m[4]!, '--kubernetes-projected-token'),
    });
  }
  return { reviewerToken: await secret(reviewerFile, '--kubernetes-reviewer-token-file'), tokens };
}

/** PagerDuty takes a REST API token, an OAuth client, or both. */
async function pagerdutyAuth(flags: Flags): Promise<{ token?: string; oauth?: PagerDutyOAuthOptions }> {
  const token = await optionalSecret(flags['pagerduty-token-file'], '--pagerduty-token-file');
  const clientIdFile = flags['pagerduty-client-id-file'];
  const clientSecretFile = flags['pagerduty-client-secret-file'];
  if ((clientIdFile === undefined) !== (clientSecretFile === undefined)) {
    throw new Error('--pagerduty-client-id-file and --pagerduty-client-secret-file go together');
  }
  if (token === undefined && clientIdFile === undefined) {
    throw new Error('PagerDuty needs --pagerduty-token-file or --pagerduty-client-id-file with --pagerduty-client-secret-file');
  }
  const oauth =
    clientIdFile !== undefined && clientSecretFile !== undefined
      ? {
          clientId: await secret(clientIdFile, '--pagerduty-client-id-file'),
          clientSecret: await secret(clientSecretFile, '--pagerduty-client-secret-file'),
        }
      : undefined;
  return { ...(token !== undefined ? { token } : {}), ...(oauth ? { oauth } : {}) };
}

/** GitHub runs when the App is described; its three flags go together. */
async function githubApp(flags: Flags): Promise<{ appId: string; installationId: number; appPublicKeyPem: string } | undefined> {
  const appId = flags['github-app-id'];
  const installationId = flags['github-installation-id'];
  const publicKeyFile = flags['github-app-public-key-file'];
  const given = [appId, installationId, publicKeyFile].filter((v) => v !== undefined).length;
  if (given !== 0 && given !== 3) {
    throw new Error('--github-app-id, --github-installation-id and --github-app-public-key-file go together');
  }
  if (installationId !== undefined && !/^[1-9]\d{0,15}$/.test(installationId))
    throw new Error('--github-installation-id must be a positive integer');
  if (appId === undefined || installationId === undefined || publicKeyFile === undefined) return undefined;
  return { appId, installationId: Number(installationId), appPublicKeyPem: await readFile(publicKeyFile, 'utf8') };
}

/** Slack runs when both of its secrets are given; the gateway URL is where its clicks go. */
async function slackFlags(
  flags: Flags,
): Promise<{ botToken: string; signingSecret: string; gatewayUrl?: string; port: number } | undefined> {
  const tokenFile = flags['slack-bot-token-file'];
  const secretFile = flags['slack-signing-secret-file'];
  if ((tokenFile === undefined) !== (secretFile === undefined)) {
    throw new Error('--slack-bot-token-file and --slack-signing-secret-file go together');
  }
  const gatewayUrl = flags['gateway-url'];
  if (gatewayUrl !== undefined && tokenFile === undefined)
    throw new Error('--gateway-url needs the Slack emulator (--slack-bot-token-file and --slack-signing-secret-file)');
  if (gatewayUrl !== undefined && !/^https?:\/\/[^\s/?#]+(?:\/[^\s?#]*)?$/.test(gatewayUrl))
    throw new Error('--gateway-url must be an http(s) URL');
  const secrets =
    tokenFile !== undefined && secretFile !== undefined
      ? {
          botToken: await secret(tokenFile, '--slack-bot-token-file'),
          signingSecret: await secret(secretFile, '--slack-signing-secret-file'),
        }
      : undefined;
  const slackPort = port(flags['slack-port'], '--slack-port');
  return secrets && { ...secrets, ...(gatewayUrl !== undefined ? { gatewayUrl } : {}), port: slackPort };
}

/** Datadog runs when both of its keys are given; a scenario without a datadog section serves no data. */
async function datadogFlags(flags: Flags): Promise<{ apiKey: string; appKey: string; port: number } | undefined> {
  const apiKeyFile = flags['datadog-api-key-file'];
  const appKeyFile = flags['datadog-app-key-file'];
  if ((apiKeyFile === undefined) !== (appKeyFile === undefined)) {
    throw new Error('--datadog-api-key-file and --datadog-app-key-file go together');
  }
  const keys =
    apiKeyFile !== undefined && appKeyFile !== undefined
      ? { apiKey: await secret(apiKeyFile, '--datadog-api-key-file'), appKey: await secret(appKeyFile, '--datadog-app-key-file') }
      : undefined;
  const datadogPort = port(flags['datadog-port'], '--datadog-port');
  return keys && { ...keys, port: datadogPort };
}

/** The agent hands out moto STS sessions; it needs both the token file and moto. */
async function startPodIdentity(flags: Flags): Promise<PodIdentityAgent | undefined> {
  const tokenFile = flags['pod-identity-token-file'];
  const stsEndpoint = flags['sts-endpoint'];
  if ((tokenFile === undefined) !== (stsEndpoint === undefined)) {
    throw new Error('--pod-identity-token-file and --sts-endpoint go together');
  }
  if (stsEndpoint !== undefined && !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}\/?$/.test(stsEndpoint)) {
    throw new Error('--sts-endpoint must be a loopback http URL (moto)');
  }
  if (tokenFile === undefined || stsEndpoint === undefined) return undefined;
  return startPodIdentityAgent({
    stsEndpoint,
    tokenFile,
    podName: 'keyless-triage-worker',
    host: HOST,
    port: port(flags['pod-identity-port'], '--pod-identity-port'),
  });
}

/** CloudWatch is moto; the front in between applies the surface's conditions. */
async function startCloudWatchFront(flags: Flags, conditions: SurfaceConditions): Promise<AwsFront | undefined> {
  const upstream = flags['cloudwatch-upstream'];
  if (flags['cloudwatch-port'] !== undefined && upstream === undefined)
    throw new Error('--cloudwatch-port needs --cloudwatch-upstream (moto)');
  if (upstream === undefined) return undefined;
  return startAwsFront({ upstream, conditions, host: HOST, port: port(flags['cloudwatch-port'], '--cloudwatch-port') });
}

function closeOnSignal(started: (Listening | undefined)[]): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    Promise.all(started.map((s) => s?.close())).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`emulators: error while closing: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function main(): Promise<void> {
  const flags = readFlags();
  if (!flags.scenario) throw new Error('--scenario is required');
  const scenario = await loadScenario(flags.scenario);
  const conditions = allConditions(scenario);

  const pagerdutyCredentials = await pagerdutyAuth(flags);
  const githubInstallation = await githubApp(flags);
  // Without --github-repo the scenario's repository is the installation's.
  const repos = flags['github-repo'] ?? (scenario.github ? [scenario.github.repo] : []);
  const kubernetesTokenFile = flags['kubernetes-token-file'];
  if (kubernetesTokenFile === undefined) throw new Error('--kubernetes-token-file is required');
  const kubernetesToken = await secret(kubernetesTokenFile, '--kubernetes-token-file');
  const tokenReview = await tokenReviewFlags(flags);
  const slackOptions = await slackFlags(flags);
  const datadogOptions = await datadogFlags(flags);

  const pagerduty = await startPagerDutyEmulator({
    scenario,
    conditions: conditions.pagerduty,
    ...pagerdutyCredentials,
    host: HOST,
    port: port(flags['pagerduty-port'], '--pagerduty-port'),
  });
  const kubernetes = await startKubernetesEmulator({
    scenario,
    conditions: conditions.kubernetes,
    token: kubernetesToken,
    ...(tokenReview && { tokenReview }),
    host: HOST,
    port: port(flags['kubernetes-port'], '--kubernetes-port'),
  });
  const github =
    githubInstallation &&
    (await startGitHubEmulator({
      ...githubInstallation,
      conditions: conditions.github,
      repos,
      host: HOST,
      port: port(flags['github-port'], '--github-port'),
    }));
  const workspace = scenario.slack ?? DEFAULT_SLACK_WORKSPACE;
  const slack =
    slackOptions &&
    (await startSlackEmulator({
      ...slackOptions,
      conditions: conditions.slack,
      channels: workspace.channels,
      users: workspace.users,
      host: HOST,
    }));
  const datadog =
    datadogOptions &&
    (await startDatadogEmulator({
      ...datadogOptions,
      datadog: scenario.datadog ?? { queries: [], monitorTags: [], monitors: [], logs: [] },
      conditions: conditions.datadog,
      host: HOST,
    }));
  const podIdentity = await startPodIdentity(flags);
  const cloudwatch = await startCloudWatchFront(flags, conditions.cloudwatch);

  closeOnSignal([pagerduty, kubernetes, github, slack, datadog, podIdentity, cloudwatch]);
  process.stdout.write(
    `${JSON.stringify({
      pagerdutyUrl: pagerduty.url,
      kubernetesUrl: kubernetes.url,
      ...(github ? { githubUrl: github.url, githubRepos: repos } : {}),
      ...(slack ? { slackUrl: slack.url } : {}),
      ...(datadog ? { datadogUrl: datadog.url } : {}),
      ...(podIdentity ? { podIdentityUrl: podIdentity.url } : {}),
      ...(cloudwatch ? { cloudwatchUrl: cloudwatch.url } : {}),
      scenario: scenario.name,
    })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`emulators: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
