import type { ServerResponse } from 'node:http';

/** Answers with a JSON body the broker wrote itself; returns the body's size for the audit line. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
  const text = JSON.stringify(body);
  if (res.headersSent) {
    res.destroy();
    return 0;
  }
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
  });
  res.end(text);
  return Buffer.byteLength(text);
}
