// Slack: the bot token of an app installed with chat:write and channels:read only.
import type { SlackProviderConfig } from '../config.js';
import { fingerprintOf, SecretFile } from '../secret-file.js';
import type { CredentialProvider, OutboundCredential } from './credential.js';
import { staticReadiness } from './static-readiness.js';

export function createSlackCredentials(config: SlackProviderConfig): CredentialProvider {
  const botToken = new SecretFile(config.botTokenFile, 'Slack bot token');
  return {
    provider: 'slack',
    async credential(): Promise<OutboundCredential> {
      const token = await botToken.read();
      return { headers: { authorization: `Bearer ${token.value}` }, credentialId: `slack-bot:${fingerprintOf(token.value)}` };
    },
    readiness: () => staticReadiness([botToken]),
  };
}
