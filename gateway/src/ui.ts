/**
 * Serves the browser UI (services/ui/public) at `/`, same origin as /auth and /api so the BFF's
 * SameSite=Strict cookie and the CSRF origin check just work.
 *
 * - One route per file found at start-up (@fastify/static with wildcard: false), never a catch-all:
 *   /api, /auth and the ops endpoints cannot be shadowed, an unknown path falls to the gateway's
 *   problem+json 404, and a traversal path (/..%2f...) matches no route at all.
 *   Files under the gateway's own top-level names (api/, auth/, healthz...) are never served.
 * - A strict Content-Security-Policy on the UI's answers, through per-route helmet options
 *   (config.helmet) so the rest of the security headers stay as hardening.ts sets them.
 * - Cache-Control: no-cache (revalidate with ETag): the file names carry no content hash, so a
 *   cached app.js must never outlive the index.html it belongs to.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { HelmetOptions } from 'helmet';

/** First path segments the gateway answers itself: a UI file there would be refused anyway. */
export const RESERVED_PATHS = ['api', 'auth', 'healthz', 'readyz', 'metrics'] as const;

/** The UI directory cannot be served (missing, or without index.html): a start-up error. */
export class UiDirectoryError extends Error {
  readonly code = 'ERR_UI_DIR';
  readonly setting = 'UI_DIR';
  constructor(message: string) {
    super(message);
    this.name = 'UiDirectoryError';
  }
}

export interface UiOptions {
  /** Absolute path of the directory to serve; it must hold index.html. */
  root: string;
  /** Production adds upgrade-insecure-requests (the gateway is reached over TLS there). */
  production: boolean;
}

/**
 * The UI's CSP: its own scripts, styles and API calls only; no inline script or style, no
 * plugins, no framing, and Trusted Types enforced so DOM XSS sinks (innerHTML...) throw.
 */
export function uiContentSecurityPolicy(production: boolean): Record<string, string[]> {
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'style-src': ["'self'"],
    'img-src': ["'self'"],
    'connect-src': ["'self'"],
    'font-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    'require-trusted-types-for': ["'script'"],
    'trusted-types': ["'none'"],
    ...(production ? { 'upgrade-insecure-requests': [] } : {}),
  };
}

function uiHelmet(production: boolean): HelmetOptions {
  return {
    contentSecurityPolicy: { useDefaults: false, directives: uiContentSecurityPolicy(production) },
    xFrameOptions: { action: 'deny' },
    // Not helmet's no-referrer: under it a browser sends "Origin: null" on the page's own POSTs
    // (Fetch standard), and the BFF's CSRF check rightly refuses a null origin.
    referrerPolicy: { policy: 'same-origin' },
  };
}

async function checkUiDirectory(root: string): Promise<void> {
  const index = await stat(join(root, 'index.html')).catch(() => undefined);
  if (!index?.isFile()) {
    throw new UiDirectoryError(`UI_DIR: no index.html in ${root} (set UI_DIR=off to run without the UI)`);
  }
}

async function uiPlugin(app: FastifyInstance, options: UiOptions): Promise<void> {
  await checkUiDirectory(options.root);
  const helmet = uiHelmet(options.production);
  // Every route of this encapsulated context is a UI file: give each the UI's helmet options
  // (the gateway's security-headers plugin reads a route's config.helmet, merged over its own).
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, helmet } as typeof route.config;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', 'no-cache');
    return payload;
  });
  await app.register(fastifyStatic, {
    root: options.root,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    globIgnore: RESERVED_PATHS.flatMap((name) => [name, `${name}/**`]),
    serveDotFiles: false,
    dotfiles: 'ignore',
    cacheControl: false,
    etag: true,
    lastModified: true,
    decorateReply: false,
  });
}

/** Registers the UI unless it is turned off (root undefined). */
export async function registerUi(app: FastifyInstance, root: string | undefined, production: boolean): Promise<void> {
  if (root === undefined) return;
  await app.register(uiPlugin, { root: resolve(root), production });
}
