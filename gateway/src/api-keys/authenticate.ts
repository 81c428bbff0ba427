/**
 * Auth mode 'api-key': a producer's X-API-Key is exchanged at the token service (RFC 8693, subject
 * token type urn:gatehouse:params:oauth:token-type:api-key, audience API_AUDIENCE) for a short-lived
 * access token (at+jwt, sub apikey:<id>, at most 5 min). That JWT is verified with the gateway's
 * validator like any access token, becomes request.principal / request.accessToken (forwarded
 * upstream as Authorization: Bearer), and its api_key_id claim becomes request.apiKeyId (the
 * 'api-key' rate-limit policy keys on it). Upstreams only ever see JWTs: proxy.ts strips X-API-Key.
 *
 * The JWT is cached per HMAC of the key for at most API_KEY_CACHE_SECONDS (≤ 60 s) and never past
 * shortly before its exp. It is re-verified on every request, so with a shared deny list (REDIS_URL)
 * revoking the key (which deny-lists its tokens) takes effect at once; without one, a revoked key
 * keeps working for at most the cache window.
 *
 * The key itself is never logged, audited or used as a map key: logs carry its display prefix.
 */
import { type AuditLog, hashSubject } from '@gatehouse/observability';
import {
  isTokenValidationError,
  type Principal,
  type TokenProfile,
  type Validator,
} from '@gatehouse/validator';
import { RETRY_AFTER_SECONDS, unavailableCode } from '@gatehouse/service-http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { apiKeyCacheUntil, createTokenCache, type TokenCache } from '../exchange/cache.ts';
import { TOKEN_TYPE_API_KEY, type TokenServiceClient, TokenServiceError } from '../exchange/client.ts';
import { clientIp } from '../client-ip.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { sendProblem } from '../problem.ts';
import type { Route } from '../routes.ts';
import { apiKeyCacheKey, apiKeyPrefix, readApiKey } from './key.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key's id (api_key_id claim) on 'api-key' routes: the rate-limit key. Not a secret. */
    apiKeyId?: string;
  }
}

/** Not a registered HTTP auth scheme; names the header to use, like Bearer's realm. */
export const API_KEY_CHALLENGE = 'ApiKey realm="gatehouse", header="X-API-Key"';
export const API_KEY_CACHE_ENTRIES = 10_000;

export interface ApiKeyDeps {
  client: TokenServiceClient;
  validator: Validator;
  profile: TokenProfile;
  apiAudience: string;
  cacheSeconds: number;
  audit: AuditLog;
  metrics: GatewayMetrics;
  keysAvailable: () => boolean;
  now?: () => number;
  cache?: TokenCache<string>;
}

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

/** One cache per gateway: build once, then call per route. */
export function apiKeyAuthentication(deps: ApiKeyDeps): (route: Route) => Hook {
  const now = deps.now ?? Date.now;
  const cache = deps.cache ?? createTokenCache<string>({ maxEntries: API_KEY_CACHE_ENTRIES, now });
  const cacheKey = apiKeyCacheKey();

  return (route) => {
    const refuse = (
      request: FastifyRequest,
      reply: FastifyReply,
      status: 400 | 401 | 503,
      code: string,
      detail: string,
      keyPrefix?: string,
    ) => {
      deps.metrics.authFailure(code);
      deps.audit.record({
        event: 'auth.failure',
        outcome: 'failure',
        reason: code,
        route: route.name,
        method: request.method,
        ip: clientIp(request),
        key_prefix: keyPrefix,
        request_id: request.id,
      });
      const headers: Record<string, string> =
        status === 503 ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : { 'www-authenticate': API_KEY_CHALLENGE };
      const slug = status === 503 ? 'api-key-unavailable' : status === 400 ? 'invalid-request' : 'invalid-api-key';
      return sendProblem(reply, status, { slug, code, detail }, headers);
    };

    /** The cached JWT, or a fresh one from the token service. */
    const jwtFor = async (key: string): Promise<{ token: string; cached: boolean }> => {
      const id = cacheKey(key);
      const hit = cache.get(id);
      if (hit !== undefined) return { token: hit, cached: true };
      const started = performance.now();
      try {
        const grant = await deps.client.exchange({
          subjectToken: key,
          subjectTokenType: TOKEN_TYPE_API_KEY,
          audience: [deps.apiAudience],
        });
        cache.set(
          id,
          grant.token,
          apiKeyCacheUntil({ nowMs: now(), expiresInSeconds: grant.expiresIn, cacheSeconds: deps.cacheSeconds }),
        );
        return { token: grant.token, cached: false };
      } finally {
        deps.metrics.exchangeDuration('api_key', (performance.now() - started) / 1000);
      }
    };

    return async function apiKey(request, reply) {
      const read = readApiKey(request.raw.rawHeaders, request.headers['x-api-key']);
      if ('refusal' in read) {
        deps.metrics.apiKey(read.refusal);
        if (read.refusal === 'repeated') {
          return refuse(request, reply, 400, 'ERR_API_KEY_REPEATED', 'Exactly one X-API-Key header is allowed.');
        }
        return read.refusal === 'missing'
          ? refuse(request, reply, 401, 'ERR_API_KEY_MISSING', 'An API key is required in the X-API-Key header.')
          : refuse(request, reply, 401, 'ERR_API_KEY_MALFORMED', 'The API key is malformed.');
      }
      const prefix = apiKeyPrefix(read.key);

      let exchanged: { token: string; cached: boolean };
      try {
        exchanged = await jwtFor(read.key);
      } catch (error) {
        if (!(error instanceof TokenServiceError)) throw error;
        if (error.kind === 'refused') {
          deps.metrics.apiKey('refused');
          request.log.info({ key_prefix: prefix, reason: error.reason }, 'api key refused by the token service');
          return refuse(request, reply, 401, 'ERR_API_KEY_INVALID', 'The API key is not valid.', prefix);
        }
        deps.metrics.apiKey('unavailable');
        request.log.warn({ err: error, key_prefix: prefix }, 'api key exchange unavailable');
        return refuse(request, reply, 503, 'ERR_EXCHANGE_UNAVAILABLE', 'The API key cannot be checked right now. Retry later.', prefix);
      }
      if (exchanged.cached) deps.metrics.exchangeCacheHit('api_key');

      let principal: Principal;
      try {
        // Every time, cached or not: the validator consults the deny list, where revoking the key
        // puts the tokens exchanged for it.
        principal = await deps.validator.verify(exchanged.token, deps.profile);
      } catch (error) {
        cache.delete(cacheKey(read.key));
        const outage = unavailableCode(error, deps.keysAvailable);
        if (outage) return refuse(request, reply, 503, outage, 'The API key cannot be checked right now. Retry later.', prefix);
        if (!isTokenValidationError(error)) throw error;
        deps.metrics.apiKey('refused');
        request.log.info({ key_prefix: prefix, reason: error.code }, 'api key token refused');
        return refuse(request, reply, 401, 'ERR_API_KEY_INVALID', 'The API key is not valid.', prefix);
      }
      const apiKeyId = principal.claims.api_key_id;
      if (typeof apiKeyId !== 'string' || apiKeyId === '') {
        // A token without the claim is not an API key's: never let it through this mode.
        cache.delete(cacheKey(read.key));
        return refuse(request, reply, 401, 'ERR_API_KEY_INVALID', 'The API key is not valid.', prefix);
      }

      deps.metrics.apiKey(exchanged.cached ? 'cached' : 'ok');
      request.principal = principal;
      request.accessToken = exchanged.token;
      request.apiKeyId = apiKeyId;
      deps.audit.record({
        event: 'auth.success',
        outcome: 'success',
        route: route.name,
        method: request.method,
        sub: hashSubject(principal.sub),
        client_id: principal.clientId,
        api_key_id: apiKeyId,
        key_prefix: prefix,
        jti: principal.jti,
        request_id: request.id,
      });
      return undefined;
    };
  };
}
