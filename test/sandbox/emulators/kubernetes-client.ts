// How tests reach the Kubernetes emulator: a client configuration holding only
// its URL and a bearer token (nothing from ~/.kube), and raw requests for what
// the typed client will not send (no token, another Accept, a stray method).
import { KubeConfig } from '@kubernetes/client-node';

export function emulatorKubeConfig(server: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'sandbox', server, skipTLSVerify: true }],
    users: [{ name: 'triage', token }],
    contexts: [{ name: 'sandbox', cluster: 'sandbox', user: 'triage' }],
    currentContext: 'sandbox',
  });
  return kc;
}

/** `token: null` sends no Authorization header. */
export async function apiserverRequest(server: string, path: string, init: { token: string | null; method?: string; accept?: string }) {
  const headers: Record<string, string> = {};
  if (init.token !== null) headers['Authorization'] = `Bearer ${init.token}`;
  if (init.accept) headers['Accept'] = init.accept;
  const res = await fetch(`${server}${path}`, { method: init.method ?? 'GET', headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}
