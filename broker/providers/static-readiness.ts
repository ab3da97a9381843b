import type { SecretFile } from '../secret-file.js';

/** A static-key provider is ready exactly when its files can be read. */
export async function staticReadiness(files: readonly SecretFile[]): Promise<string> {
  try {
    await Promise.all(files.map((f) => f.read()));
    return 'ready';
  } catch (err) {
    return `unavailable: ${(err as Error).message}`;
  }
}
