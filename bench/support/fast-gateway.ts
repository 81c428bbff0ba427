/**
 * Contender "fast-gateway" (a child process): fast-gateway (restana + fast-proxy-lite) with a
 * route middleware doing the same checks as the gateway's bearer route: one `Authorization:
 * Bearer` header, ES256 signature against the token service's JWKS (fetched once at start),
 * typ at+jwt, issuer, audience, expiry, and the scope orders:read. 401/403 otherwise.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import gateway from 'fast-gateway';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { exitWithParent, required } from './children.ts';

const port = Number(required('BENCH_PORT'));
const upstream = required('BENCH_UPSTREAM');
const issuer = required('BENCH_ISSUER');
const audience = required('BENCH_AUDIENCE');

const response = await fetch(`${issuer}/jwks`, { signal: AbortSignal.timeout(10_000) });
if (response.status !== 200) throw new Error(`JWKS: ${response.status}`);
const keys = createLocalJWKSet((await response.json()) as JSONWebKeySet);

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

function refuse(res: ServerResponse, status: number): void {
  res.statusCode = status;
  res.setHeader('www-authenticate', 'Bearer realm="gatehouse"');
  res.end();
}

async function checkJwt(req: IncomingMessage, res: ServerResponse, next: () => void): Promise<void> {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? BEARER.exec(header) : null;
  if (!match?.[1]) return refuse(res, 401);
  let scope: unknown;
  try {
    const { payload } = await jwtVerify(match[1], keys, {
      issuer,
      audience,
      typ: 'at+jwt',
      algorithms: ['ES256'],
      requiredClaims: ['exp', 'sub'],
    });
    scope = payload.scope;
  } catch {
    return refuse(res, 401);
  }
  if (typeof scope !== 'string' || !scope.split(' ').includes('orders:read')) return refuse(res, 403);
  next();
}

const server = gateway({
  routes: [
    {
      prefix: '/api/orders',
      prefixRewrite: '/orders',
      target: upstream,
      methods: ['GET', 'HEAD'],
      middlewares: [
        (req: IncomingMessage, res: ServerResponse, next: () => void) => {
          void checkJwt(req, res, next);
        },
      ],
    },
  ],
});
await server.start(port, '127.0.0.1');
exitWithParent(() => server.close());
