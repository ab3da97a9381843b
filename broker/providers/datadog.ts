// Datadog authenticates every call with two static keys: the organisation's
// API key and a (scoped) application key of a service account.
import type { DatadogProviderConfig } from '../config.js';
import { fingerprintOf, SecretFile } from '../secret-file.js';
import type { CredentialProvider, OutboundCredential } from './credential.js';
import { staticReadiness } from './static-readiness.js';

export function createDatadogCredentials(config: DatadogProviderConfig): CredentialProvider {
  const apiKey = new SecretFile(config.apiKeyFile, 'Datadog API key');
  const appKey = new SecretFile(config.appKeyFile, 'Datadog application key');
  return {
    provider: 'datadog',
    async credential(): Promise<OutboundCredential> {
      const [api, app] = await Promise.all([apiKey.read(), appKey.read()]);
      return {
        headers: { 'dd-api-key': api.value, 'dd-application-key': app.value },
        credentialId: `datadog:api-key:${fingerprintOf(api.value)}/app-key:${fingerprintOf(app.value)}`,
      };
    },
    readiness: () => staticReadiness([apiKey, appKey]),
  };
}
