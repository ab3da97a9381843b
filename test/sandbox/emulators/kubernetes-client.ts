// How tests reach the Kubernetes emulator: the emulator's own client
// configuration, and raw requests for what the typed client will not send (no
// token, another Accept, a stray method).
export { emulatorKubeConfig } from '../../../sandbox/emulators/kubernetes.js';

/** `token: null` sends no Authorization header. */
export async function apiserverRequest(server: string, path: string, init: { token: string | null; method?: string; accept?: string }) {
  const headers: Record<string, string> = {};
  if (init.token !== null) headers['Authorization'] = `Bearer ${init.token}`;
  if (init.accept) headers['Accept'] = init.accept;
  const res = await fetch(`${server}${path}`, { method: init.method ?? 'GET', headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}
