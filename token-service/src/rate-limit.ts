/**
 * Fixed-window request limits for the token endpoints and the login form, on the same counter
 * store as the lockouts (Redis when configured, memory otherwise). Several limits can apply to
 * one route (per client AND per source IP), which is why this is not @fastify/rate-limit: that
 * plugin runs at most one limit per request.
 *
 * A store failure lets the request through (fail-open), logged and counted: a dead Redis must
 * not take sign-in down with it; the lockout check, a security control, fails closed instead.
 */
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { TokenServiceMetrics } from './metrics.ts';
import type { AttemptCounter } from './stores/types.ts';

export interface RequestLimit {
  name: string;
  max: number;
  windowSeconds: number;
  /** The bucket of this request, or undefined to skip this limit. */
  key(request: FastifyRequest): string | undefined;
}

export function rateLimitHook(
  counter: AttemptCounter,
  limits: RequestLimit[],
  deps: {
    metrics: TokenServiceMetrics;
    onExceeded: (request: FastifyRequest, reply: FastifyReply, retryAfter: number) => void;
  },
): preHandlerAsyncHookHandler {
  return async function rateLimit(request, reply) {
    for (const limit of limits) {
      const key = limit.key(request);
      if (key === undefined) continue;
      let count: number;
      let reset: number;
      try {
        count = await counter.hit(`rate:${limit.name}:${key}`, limit.windowSeconds);
        reset =
          count > limit.max ? await counter.secondsLeft(`rate:${limit.name}:${key}`) : limit.windowSeconds;
      } catch (error) {
        request.log.warn(
          { err: error, limit: limit.name },
          'rate limit store unavailable; allowing the request',
        );
        deps.metrics.rateLimited.inc({ limit: `${limit.name}_store_error` });
        continue;
      }
      reply.header('ratelimit-limit', limit.max);
      reply.header('ratelimit-remaining', Math.max(0, limit.max - count));
      reply.header('ratelimit-reset', reset);
      if (count > limit.max) {
        deps.metrics.rateLimited.inc({ limit: limit.name });
        reply.header('retry-after', Math.max(1, reset));
        deps.onExceeded(request, reply, Math.max(1, reset));
        return reply;
      }
    }
  };
}

/**
 * The client a token-endpoint request claims to be, from its Basic header. The body is left
 * unread for oidc-provider, so a private_key_jwt client (client_id in the body) is limited by
 * source IP only.
 */
export function claimedClient(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header?.toLowerCase().startsWith('basic ')) return undefined;
  const id = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')[0];
  return id ? safeDecode(id).slice(0, 128) : undefined;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
