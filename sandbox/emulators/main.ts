// Runs the PagerDuty, Kubernetes, GitHub, Slack and Datadog emulators, the
// front that gives moto (CloudWatch) the same conditions, and the EKS Pod
// Identity Agent emulator for the local stack. The launcher reads the one
// JSON line on stdout to learn the URLs; secrets come from files so they never
// appear in argv (visible in `ps`) or in any output. Each surface's standing
// conditions (latency, error rate) come from the scenario and SANDBOX_* variables.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { allConditions } from '../conditions.js';
import { loadScenario } from '../scenario.js';
import { startAwsFront, type AwsFront } from './aws-front.js';
import { startDatadogEmulator, type DatadogEmulator } from './datadog.js';
import { startGitHubEmulator, type GitHubEmulator } from './github.js';
import { startKubernetesEmulator } from './kubernetes.js';
import { startPagerDutyEmulator } from './pagerduty.js';
import { startPodIdentityAgent, type PodIdentityAgent } from './pod-identity.js';
import { DEFAULT_SLACK_WORKSPACE, startSlackEmulator, type SlackEmulator } from './slack.js';

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
    throw new Error(`${flag}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (value.length === 0 || /\s/.test(value)) throw new Error(`${flag}: the file must hold one value on one line`);
  return value;
}

async function optionalSecret(path: string | undefined, flag: string): Promise<string | undefined> {
  return path === undefined ? undefined : secret(path, flag);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string' },
      'pagerduty-port': { type: 'string' },
      'kubernetes-port': { type: 'string' },
      'github-port': { type: 'string' },
      'pagerduty-token-file': { type: 'string' },
      'pagerduty-client-id-file': { type: 'string' },
      'pagerduty-client-secret-file': { type: 'string' },
      'kubernetes-token-file': { type: 'string' },
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
  });
  if (!values.scenario) throw new Error('--scenario is required');
  const scenario = await loadScenario(values.scenario);
  const conditions = allConditions(scenario);

  const pagerdutyToken = await optionalSecret(values['pagerduty-token-file'], '--pagerduty-token-file');
  const clientIdFile = values['pagerduty-client-id-file'];
  const clientSecretFile = values['pagerduty-client-secret-file'];
  if ((clientIdFile === undefined) !== (clientSecretFile === undefined)) {
    throw new Error('--pagerduty-client-id-file and --pagerduty-client-secret-file go together');
  }
  if (pagerdutyToken === undefined && clientIdFile === undefined) {
    throw new Error('PagerDuty needs --pagerduty-token-file or --pagerduty-client-id-file with --pagerduty-client-secret-file');
  }
  const oauth =
    clientIdFile !== undefined && clientSecretFile !== undefined
      ? { clientId: await secret(clientIdFile, '--pagerduty-client-id-file'), clientSecret: await secret(clientSecretFile, '--pagerduty-client-secret-file') }
      : undefined;

  // GitHub runs when the App is described; its three flags go together.
  const appId = values['github-app-id'];
  const installationId = values['github-installation-id'];
  const publicKeyFile = values['github-app-public-key-file'];
  const githubFlags = [appId, installationId, publicKeyFile].filter((v) => v !== undefined).length;
  if (githubFlags !== 0 && githubFlags !== 3) {
    throw new Error('--github-app-id, --github-installation-id and --github-app-public-key-file go together');
  }
  if (installationId !== undefined && !/^[1-9]\d{0,15}$/.test(installationId)) throw new Error('--github-installation-id must be a positive integer');
  // Without --github-repo the scenario's repository is the installation's.
  const repos = values['github-repo'] ?? (scenario.github ? [scenario.github.repo] : []);
  const appPublicKeyPem = publicKeyFile === undefined ? undefined : await readFile(publicKeyFile, 'utf8');
  const kubernetesTokenFile = values['kubernetes-token-file'];
  if (kubernetesTokenFile === undefined) throw new Error('--kubernetes-token-file is required');
  const kubernetesToken = await secret(kubernetesTokenFile, '--kubernetes-token-file');

  // Slack runs when both of its secrets are given; the gateway URL is where its clicks go.
  const slackTokenFile = values['slack-bot-token-file'];
  const slackSecretFile = values['slack-signing-secret-file'];
  if ((slackTokenFile === undefined) !== (slackSecretFile === undefined)) {
    throw new Error('--slack-bot-token-file and --slack-signing-secret-file go together');
  }
  const gatewayUrl = values['gateway-url'];
  if (gatewayUrl !== undefined && slackTokenFile === undefined) throw new Error('--gateway-url needs the Slack emulator (--slack-bot-token-file and --slack-signing-secret-file)');
  if (gatewayUrl !== undefined && !/^https?:\/\/[^\s/?#]+(?:\/[^\s?#]*)?$/.test(gatewayUrl)) throw new Error('--gateway-url must be an http(s) URL');
  const slackSecrets =
    slackTokenFile !== undefined && slackSecretFile !== undefined
      ? { botToken: await secret(slackTokenFile, '--slack-bot-token-file'), signingSecret: await secret(slackSecretFile, '--slack-signing-secret-file') }
      : undefined;
  const slackPort = port(values['slack-port'], '--slack-port');

  // Datadog runs when both of its keys are given; a scenario without a datadog section serves no data.
  const ddApiKeyFile = values['datadog-api-key-file'];
  const ddAppKeyFile = values['datadog-app-key-file'];
  if ((ddApiKeyFile === undefined) !== (ddAppKeyFile === undefined)) {
    throw new Error('--datadog-api-key-file and --datadog-app-key-file go together');
  }
  const datadogKeys =
    ddApiKeyFile !== undefined && ddAppKeyFile !== undefined
      ? { apiKey: await secret(ddApiKeyFile, '--datadog-api-key-file'), appKey: await secret(ddAppKeyFile, '--datadog-app-key-file') }
      : undefined;
  const datadogPort = port(values['datadog-port'], '--datadog-port');

  const pagerduty = await startPagerDutyEmulator({
    scenario,
    conditions: conditions.pagerduty,
    ...(pagerdutyToken !== undefined ? { token: pagerdutyToken } : {}),
    ...(oauth ? { oauth } : {}),
    host: HOST,
    port: port(values['pagerduty-port'], '--pagerduty-port'),
  });
  const kubernetes = await startKubernetesEmulator({
    scenario,
    conditions: conditions.kubernetes,
    token: kubernetesToken,
    host: HOST,
    port: port(values['kubernetes-port'], '--kubernetes-port'),
  });
  let github: GitHubEmulator | undefined;
  if (appId !== undefined && installationId !== undefined && appPublicKeyPem !== undefined) {
    github = await startGitHubEmulator({
      conditions: conditions.github,
      appId,
      installationId: Number(installationId),
      appPublicKeyPem,
      repos,
      host: HOST,
      port: port(values['github-port'], '--github-port'),
    });
  }

  let slack: SlackEmulator | undefined;
  if (slackSecrets) {
    const workspace = scenario.slack ?? DEFAULT_SLACK_WORKSPACE;
    slack = await startSlackEmulator({
      ...slackSecrets,
      conditions: conditions.slack,
      ...(gatewayUrl !== undefined ? { gatewayUrl } : {}),
      channels: workspace.channels,
      users: workspace.users,
      host: HOST,
      port: slackPort,
    });
  }

  let datadog: DatadogEmulator | undefined;
  if (datadogKeys) {
    datadog = await startDatadogEmulator({
      ...datadogKeys,
      datadog: scenario.datadog ?? { queries: [], monitorTags: [], monitors: [], logs: [] },
      conditions: conditions.datadog,
      host: HOST,
      port: datadogPort,
    });
  }

  // The agent hands out moto STS sessions; it needs both the token file and moto.
  const podIdentityTokenFile = values['pod-identity-token-file'];
  const stsEndpoint = values['sts-endpoint'];
  if ((podIdentityTokenFile === undefined) !== (stsEndpoint === undefined)) {
    throw new Error('--pod-identity-token-file and --sts-endpoint go together');
  }
  if (stsEndpoint !== undefined && !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}\/?$/.test(stsEndpoint)) {
    throw new Error('--sts-endpoint must be a loopback http URL (moto)');
  }
  let podIdentity: PodIdentityAgent | undefined;
  if (podIdentityTokenFile !== undefined && stsEndpoint !== undefined) {
    podIdentity = await startPodIdentityAgent({
      stsEndpoint,
      tokenFile: podIdentityTokenFile,
      podName: 'keyless-triage-worker',
      host: HOST,
      port: port(values['pod-identity-port'], '--pod-identity-port'),
    });
  }

  // CloudWatch is moto; the front in between applies the surface's conditions.
  const cloudwatchUpstream = values['cloudwatch-upstream'];
  if (values['cloudwatch-port'] !== undefined && cloudwatchUpstream === undefined) throw new Error('--cloudwatch-port needs --cloudwatch-upstream (moto)');
  let cloudwatch: AwsFront | undefined;
  if (cloudwatchUpstream !== undefined) {
    cloudwatch = await startAwsFront({
      upstream: cloudwatchUpstream,
      conditions: conditions.cloudwatch,
      host: HOST,
      port: port(values['cloudwatch-port'], '--cloudwatch-port'),
    });
  }

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    Promise.all([pagerduty.close(), kubernetes.close(), github?.close(), slack?.close(), datadog?.close(), podIdentity?.close(), cloudwatch?.close()]).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`emulators: error while closing: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
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
