// The Slack emulator's sandbox-only side: the control routes under /_sandbox/
// (state, click, response_url, gateway URL, faults) and the web page
// (sandbox/slack-page/) that shows the channels and clicks as a sandbox user.
// They need no credential, so they answer this machine only.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Fault, FaultSwitch } from './fault.js';
import { fromLoopback } from './http-server.js';
import { isObject } from './slack-arguments.js';
import type { SlackInteractivity } from './slack-interactivity.js';
import type { SlackWorkspace } from './slack-workspace.js';

/** Finds the page's files from the sources and from dist/ alike: the first `sandbox/slack-page` above this module. */
export function findPageDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    for (const candidate of [join(dir, 'slack-page'), join(dir, 'sandbox', 'slack-page')]) {
      if (existsSync(join(candidate, 'index.html'))) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Control routes and the page: this machine only, and no other site's page (DNS rebinding, CSRF). */
function localOnly(req: Request, res: Response, next: NextFunction): void {
  const host = req.hostname;
  const loopbackName = host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  if (!fromLoopback(req) || !loopbackName) {
    res.status(403).json({ error: 'the sandbox Slack answers loopback clients only' });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const origin = req.get('origin');
    const site = req.get('sec-fetch-site');
    if (
      (origin !== undefined && origin !== `${req.protocol}://${req.get('host')}`) ||
      (site !== undefined && site !== 'same-origin' && site !== 'none')
    ) {
      res.status(403).json({ error: 'cross-site requests are refused' });
      return;
    }
  }
  next();
}

// ---- /_sandbox/ ----------------------------------------------------------------------

function clickHandler(interactivity: SlackInteractivity) {
  return async (req: Request, res: Response): Promise<void> => {
    const b = req.body as Record<string, unknown> | undefined;
    const str = (k: string) => (typeof b?.[k] === 'string' ? (b[k] as string) : undefined);
    const channel = str('channel');
    const ts = str('ts');
    const actionId = str('actionId');
    const userId = str('userId');
    const offset = b?.timestampOffsetSeconds;
    if (
      !req.is('application/json') ||
      !channel ||
      !ts ||
      !actionId ||
      !userId ||
      (offset !== undefined && typeof offset !== 'number') ||
      (b?.badSignature !== undefined && typeof b.badSignature !== 'boolean')
    ) {
      res.status(400).json({
        error: 'body must be JSON {"channel", "ts", "actionId", "userId", "timestampOffsetSeconds"?: number, "badSignature"?: boolean}',
      });
      return;
    }
    const result = await interactivity.click({
      channel,
      ts,
      actionId,
      userId,
      ...(typeof offset === 'number' ? { timestampOffsetSeconds: offset } : {}),
      ...(b?.badSignature === true ? { badSignature: true } : {}),
    });
    // The app's own status, so the page and tests see its 200 or 401.
    if (result.delivered) res.status(result.status).json({ status: result.status, body: result.body, actionTs: result.actionTs });
    else res.status(result.status).json({ error: result.error });
  };
}

function gatewayUrlHandler(ws: SlackWorkspace) {
  return (req: Request, res: Response): void => {
    const url = (req.body as { url?: unknown } | undefined)?.url;
    try {
      if (url !== null && typeof url !== 'string') throw new RangeError('body must be {"url": "<http(s) URL>"} or {"url": null}');
      ws.setGatewayUrl(url ?? undefined);
    } catch (err) {
      res.status(400).json({ error: (err as Error).message });
      return;
    }
    res.json({ gatewayUrl: ws.gatewayUrl ?? null });
  };
}

function faultHandler(faults: FaultSwitch) {
  return (req: Request, res: Response): void => {
    const body = (req.body ?? null) as unknown;
    try {
      if (body !== null && !isObject(body)) throw new RangeError('body must be {"status", "retryAfterSeconds"?, "times"?} or null');
      faults.set(body === null || Object.keys(body).length === 0 ? null : (body as unknown as Fault));
    } catch (err) {
      res.status(400).json({ error: (err as Error).message });
      return;
    }
    res.json({ fault: body });
  };
}

export function sandboxRouter(opts: { workspace: SlackWorkspace; interactivity: SlackInteractivity; faults: FaultSwitch }): Router {
  const sandbox = express.Router();
  sandbox.use(localOnly);
  sandbox.get('/state', (_req, res) => {
    res.set('cache-control', 'no-store').json(opts.workspace.state());
  });
  sandbox.post('/click', express.json({ limit: '16kb' }), clickHandler(opts.interactivity));
  sandbox.post('/response/:id', express.json({ limit: '1mb', type: () => true }), (req, res) => {
    const out = opts.interactivity.respond(String(req.params.id), req.body);
    res.status(out.status).json(out.body);
  });
  sandbox.post('/gateway-url', express.json({ limit: '4kb', type: () => true }), gatewayUrlHandler(opts.workspace));
  // The emulators run in their own process in the stack; tests reach its faults here.
  sandbox.post('/fault', express.json({ limit: '4kb', strict: false, type: () => true }), faultHandler(opts.faults));
  sandbox.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });
  return sandbox;
}

// ---- the page ---------------------------------------------------------------------

function pageHeaders(res: Response): void {
  // No inline script or style, nothing from elsewhere: message text is untrusted.
  res.set({
    'content-security-policy':
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
}

/** The page at `/`, and at the channel and permalink URLs it opens on. */
export function pageRouter(pageDir: string | undefined): Router {
  const page = express.Router();
  page.get(['/', '/channels/:id', '/archives/:id/:message'], localOnly, (_req: Request, res: Response) => {
    pageHeaders(res);
    if (!pageDir) {
      res.status(503).type('text/plain').send('the sandbox Slack page files (sandbox/slack-page/) were not found\n');
      return;
    }
    res.sendFile(join(pageDir, 'index.html'));
  });
  if (pageDir) {
    page.use(
      '/static',
      localOnly,
      (_req, res, next) => {
        pageHeaders(res);
        next();
      },
      express.static(pageDir, { index: false, dotfiles: 'deny', etag: false, lastModified: false }),
    );
  }
  return page;
}
