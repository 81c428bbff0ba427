/**
 * Message-token minting for routes with an `exchange` block: the adapter between a proxied request,
 * the token service client and the cache. Runs as a route preHandler after authentication,
 * authorisation and the rate limit (so a refused or limited request never costs an exchange).
 *
 * Only unsafe methods (POST/PUT/PATCH/DELETE) produce events, so only they get a message token.
 * The token is cached per (subject jti, route) until shortly before it expires, never beyond the
 * subject token's exp. Token service down or slow: 503 + Retry-After, and nothing is proxied.
 * Exchange refused (the user's scopes do not map to the topic, ...): 403.
 */
import { type AuditLog, hashSubject } from '@gatehouse/observability';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { GatewayMetrics } from '../metrics.ts';
import { sendProblem } from '../problem.ts';
import { setUpstreamHeader } from '../proxy.ts';
import type { Route } from '../routes.ts';
import { createTokenCache, messageTokenCacheUntil, type TokenCache } from './cache.ts';
import { TOKEN_TYPE_ACCESS_TOKEN, type TokenServiceClient, TokenServiceError } from './client.ts';

export const UNSAFE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const MESSAGE_TOKEN_CACHE_ENTRIES = 10_000;
/** How long a client should wait when the token service cannot mint. */
export const EXCHANGE_RETRY_AFTER_SECONDS = 5;

export interface MintDeps {
  client: TokenServiceClient;
  header: string;
  audit: AuditLog;
  metrics: GatewayMetrics;
  cache?: TokenCache<string>;
  now?: () => number;
}

/** Whether a request on this route needs a message token: the pure decision. */
export function needsMessageToken(route: Pick<Route, 'exchange'>, method: string): boolean {
  return route.exchange !== undefined && UNSAFE_METHODS.has(method);
}

/** Cache key: the subject token's jti and the route (each route has one exchange block). */
export const messageCacheKey = (jti: string, route: string): string => `${jti}\u0000${route}`;

/** One shared cache per gateway: build the hook factory once, then call it per route. */
export function messageTokens(deps: MintDeps): (route: Route) => preHandlerAsyncHookHandler | undefined {
  const now = deps.now ?? Date.now;
  const cache = deps.cache ?? createTokenCache<string>({ maxEntries: MESSAGE_TOKEN_CACHE_ENTRIES, now });

  return (route) => {
    const exchange = route.exchange;
    if (exchange === undefined) return undefined;

    return async function mintMessageToken(request: FastifyRequest, reply: FastifyReply) {
      if (!UNSAFE_METHODS.has(request.method)) return;
      const principal = request.principal;
      const subjectToken = request.accessToken;
      // Routes with an exchange block are never auth 'none' (routes.ts refuses it); be safe anyway.
      if (principal === undefined || subjectToken === undefined) {
        return sendProblem(reply, 500, { slug: 'internal', code: 'ERR_INTERNAL', detail: 'The gateway could not process the request.' });
      }
      const key = messageCacheKey(principal.jti, route.name);
      const cached = cache.get(key);
      if (cached !== undefined) {
        deps.metrics.exchangeCacheHit('message_token');
        deps.metrics.exchange(route.name, 'cached');
        setUpstreamHeader(request, deps.header, cached);
        return;
      }

      const facts = {
        route: route.name,
        method: request.method,
        sub: hashSubject(principal.sub),
        jti: principal.jti,
        aud: exchange.audience,
        producer: exchange.producer,
        request_id: request.id,
      };
      deps.audit.record({ event: 'exchange.requested', outcome: 'success', ...facts });
      const started = performance.now();
      try {
        const grant = await deps.client.exchange({
          subjectToken,
          subjectTokenType: TOKEN_TYPE_ACCESS_TOKEN,
          audience: exchange.audience,
          scope: exchange.scope,
          requestedLifetime: exchange.ttl,
          producer: exchange.producer,
        });
        deps.metrics.exchangeDuration('message_token', (performance.now() - started) / 1000);
        const nowMs = now();
        cache.set(
          key,
          grant.token,
          messageTokenCacheUntil({ nowMs, expiresInSeconds: grant.expiresIn, subjectExpMs: principal.exp * 1000 }),
        );
        deps.metrics.exchange(route.name, 'granted');
        deps.audit.record({ event: 'exchange.granted', outcome: 'success', ...facts, scope: grant.scope, expires_in: grant.expiresIn });
        setUpstreamHeader(request, deps.header, grant.token);
      } catch (error) {
        deps.metrics.exchangeDuration('message_token', (performance.now() - started) / 1000);
        if (!(error instanceof TokenServiceError)) throw error;
        deps.metrics.exchange(route.name, error.kind === 'refused' ? 'refused' : 'unavailable');
        deps.audit.record({ event: 'exchange.failed', outcome: 'failure', ...facts, reason: error.reason, kind: error.kind });
        if (error.kind === 'refused') {
          request.log.info({ reason: error.reason, route: route.name }, 'message-token exchange refused');
          return sendProblem(reply, 403, {
            slug: 'exchange-refused',
            code: 'ERR_EXCHANGE_REFUSED',
            detail: 'This request is not allowed to produce the event it would emit.',
            extensions: { error: error.reason },
          });
        }
        request.log.warn({ err: error, route: route.name }, 'message-token exchange unavailable');
        return sendProblem(
          reply,
          503,
          {
            slug: 'exchange-unavailable',
            code: 'ERR_EXCHANGE_UNAVAILABLE',
            detail: 'The request cannot be authorised for event production right now. Retry later.',
          },
          { 'retry-after': String(EXCHANGE_RETRY_AFTER_SECONDS) },
        );
      }
    };
  };
}
