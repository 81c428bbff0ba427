/**
 * The gateway's rate limiting: @fastify/rate-limit's counters (Redis when a client is given, an
 * in-process LRU otherwise) driven by the policies of policy.ts, one preHandler per route.
 *
 * Why not @fastify/rate-limit's own route hooks: that plugin runs at most one of its hooks per
 * request (a per-registration request flag), and a policy has several windows (sustained + burst).
 * Its `createRateLimit()` API counts one window per call (one Lua script, one reply, one promise
 * chain each). So this plugin counts every window of the route's policy in one store operation
 * (counters.ts: one script, one round trip on Redis) and answers: RateLimit-* headers of the most
 * constraining window, 429 problem+json with Retry-After when any window is exceeded, and the
 * declared mode when the counter store fails.
 *
 * See README.md in this directory for the key layout, headers, metrics and audit events.
 */
import { normalizeIP } from '@fastify/rate-limit';
import { type AuditLog, fingerprint, hashSubject } from '@gatehouse/observability';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import { CLIENT_IP_DECORATION, clientIp } from '../client-ip.ts';
import { sendProblem } from '../problem.ts';
import { type CounterStore, type CountWindows, memoryCounters, redisCounters } from './counters.ts';
import {
  decide,
  isRateLimitPolicyName,
  RATE_LIMIT_POLICY_NAMES,
  type RateLimitFacts,
  rateLimitKey,
  type RateLimitPolicies,
  type RateLimitPolicyName,
  type RateLimitPolicyOverrides,
  resolvePolicies,
  type WindowState,
  windowKey,
} from './policy.ts';
import { syncedCounters } from './synced-counters.ts';

export type FailMode = 'open' | 'closed';

export interface RateLimitsOptions {
  /** A client from createGatewayRedis (the caller owns it and quits it). Absent: in-memory counters. */
  redis?: Redis | undefined;
  /** Replaces the windows of the named policies (see DEFAULT_POLICIES). */
  policies?: RateLimitPolicyOverrides | undefined;
  audit: AuditLog;
  registry: Registry;
  /** What a route does when the counter store fails, unless the route says otherwise. Default 'open'. */
  defaultFailMode?: FailMode | undefined;
  /** Redis key prefix. Default 'gatehouse:gateway:rl:'. */
  keyPrefix?: string | undefined;
  /** Retry-After of the fail-closed 503, seconds. Default 5. */
  storeRetryAfterSeconds?: number | undefined;
  /** At most one rate_limit.store_unavailable audit record (and warn log) per this many ms. Default 30 000. */
  storeErrorAuditIntervalMs?: number | undefined;
  /**
   * With Redis: 0 (default) counts every request on Redis (counters.ts); N > 0 counts in the process
   * and sums on Redis every N ms (synced-counters.ts). Ignored without Redis.
   */
  syncIntervalMs?: number | undefined;
  /** In-memory mode: counters kept per window (LRU). Default 10 000. */
  cacheSize?: number | undefined;
  /** Where the key facts come from. Default: request.principal?.sub / .clientId, request.apiKeyId, request.ip. */
  facts?: ((request: FastifyRequest) => RateLimitFacts) | undefined;
}

export interface RouteRateLimitOptions {
  failMode?: FailMode | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The preHandler enforcing a policy on a route. Put it after authentication (it reads the
     * principal); an unknown policy name throws here, at route definition.
     */
    gatehouseRateLimit(policy: RateLimitPolicyName, options?: RouteRateLimitOptions): preHandlerAsyncHookHandler;
  }
}

/** The request fields the default facts() reads; the auth step sets them. */
interface AuthenticatedRequestFields {
  principal?: { sub?: string; clientId?: string } | undefined;
  apiKeyId?: string | undefined;
}

function defaultFacts(request: FastifyRequest): RateLimitFacts {
  const r = request as FastifyRequest & AuthenticatedRequestFields;
  return {
    sub: r.principal?.sub,
    clientId: r.principal?.clientId,
    apiKeyId: r.apiKeyId,
    // IPv4 as is, IPv4-mapped IPv6 as IPv4, other IPv6 by /64 (one host usually holds a whole /64).
    ip: normalizeIP(clientIp(request)),
  };
}

function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

function tooManyRequests(reply: FastifyReply, retryAfter: number): FastifyReply {
  return sendProblem(
    reply,
    429,
    {
      slug: 'rate-limited',
      code: 'ERR_RATE_LIMITED',
      detail: `Rate limit exceeded; retry in ${retryAfter} second${retryAfter === 1 ? '' : 's'}.`,
    },
    { 'retry-after': String(retryAfter) },
  );
}

function rateLimitUnavailable(reply: FastifyReply, retryAfter: number): FastifyReply {
  return sendProblem(
    reply,
    503,
    { slug: 'rate-limit-unavailable', code: 'ERR_RATE_LIMIT_UNAVAILABLE', detail: 'The gateway cannot serve this route right now; retry later.' },
    { 'retry-after': String(retryAfter) },
  );
}

const MAX_TRACKED_EXCEEDED = 10_000;

const rateLimitsPlugin: FastifyPluginAsync<RateLimitsOptions> = async (app, options) => {
  const policies: RateLimitPolicies = resolvePolicies(options.policies);
  const defaultFailMode: FailMode = options.defaultFailMode ?? 'open';
  if (defaultFailMode !== 'open' && defaultFailMode !== 'closed') throw new Error(`invalid rate-limit fail mode "${String(defaultFailMode)}"`);
  const prefix = options.keyPrefix ?? 'gatehouse:gateway:rl:';
  const storeRetryAfter = options.storeRetryAfterSeconds ?? 5;
  const auditInterval = options.storeErrorAuditIntervalMs ?? 30_000;
  const factsOf = options.facts ?? defaultFacts;
  const { audit } = options;

  const limited = counter(options.registry, 'gatehouse_gateway_rate_limited_total', 'Requests refused with 429, by rate-limit policy', ['policy']);
  const storeErrors = counter(
    options.registry,
    'gatehouse_gateway_rate_limit_store_errors_total',
    'Rate-limit checks the counter store could not answer, by policy and fail mode',
    ['policy', 'mode'],
  );

  // The auth step sets these; declared here so the request shape is stable whichever plugin loads first.
  if (!app.hasRequestDecorator('principal')) app.decorateRequest('principal', undefined);
  if (!app.hasRequestDecorator('apiKeyId')) app.decorateRequest('apiKeyId', undefined);
  if (!app.hasRequestDecorator(CLIENT_IP_DECORATION)) app.decorateRequest(CLIENT_IP_DECORATION, undefined);

  const syncErrors = counter(
    options.registry,
    'gatehouse_gateway_rate_limit_sync_errors_total',
    'Syncs of process-local rate-limit counts to Redis that failed (RATE_LIMIT_SYNC_MS > 0)',
    [],
  );
  let lastSyncErrorLog = -Infinity;
  const onSyncError = (err: unknown) => {
    syncErrors.inc();
    const now = Date.now();
    if (now - lastSyncErrorLog < auditInterval) return;
    lastSyncErrorLog = now;
    app.log.warn({ err }, 'rate-limit counts could not be synced to Redis; kept for the next sync');
  };

  // One counter per policy, over all of its windows: Redis when a client is given (per request, or
  // synced every syncIntervalMs), else memory.
  const syncIntervalMs = options.syncIntervalMs ?? 0;
  if (!Number.isInteger(syncIntervalMs) || syncIntervalMs < 0) throw new Error(`invalid rate-limit sync interval "${String(syncIntervalMs)}"`);
  const store: CounterStore = !options.redis
    ? memoryCounters(options.cacheSize ?? 10_000)
    : syncIntervalMs > 0
      ? syncedCounters(options.redis, prefix, { intervalMs: syncIntervalMs, onSyncError })
      : redisCounters(options.redis, prefix);
  // A last sync at close (a no-op once the caller has quit its client: nothing is sent then).
  if (store.close) app.addHook('onClose', async () => store.close?.());
  const counters = new Map<RateLimitPolicyName, CountWindows>(
    RATE_LIMIT_POLICY_NAMES.map((name) => [name, store.forWindows(policies[name])]),
  );

  // Audit throttles: one store_unavailable per interval; one exceeded per counter per window.
  let lastStoreErrorAudit = -Infinity;
  let storeFailing = false;
  const exceededAudited = new Map<string, number>();

  function onStoreError(request: FastifyRequest, policy: RateLimitPolicyName, mode: FailMode, err: unknown): void {
    storeErrors.inc({ policy, mode });
    storeFailing = true;
    const now = Date.now();
    if (now - lastStoreErrorAudit < auditInterval) return;
    lastStoreErrorAudit = now;
    const message = err instanceof Error ? err.message : String(err);
    request.log.warn({ err, policy, mode }, 'rate-limit store unavailable');
    audit.record({
      event: 'rate_limit.store_unavailable',
      outcome: 'failure',
      reason: 'store_error',
      mode,
      policy,
      error: message,
    });
  }

  function onStoreOk(): void {
    if (!storeFailing) return;
    storeFailing = false;
    lastStoreErrorAudit = -Infinity;
    audit.record({ event: 'rate_limit.store_recovered', outcome: 'info' });
  }

  function auditExceeded(request: FastifyRequest, policy: RateLimitPolicyName, key: string, facts: RateLimitFacts, exceeded: WindowState[]): void {
    const now = Date.now();
    for (const state of exceeded) {
      const counterKey = windowKey(key, state.window);
      if ((exceededAudited.get(counterKey) ?? 0) > now) continue;
      if (exceededAudited.size >= MAX_TRACKED_EXCEEDED) {
        const oldest = exceededAudited.keys().next();
        if (!oldest.done) exceededAudited.delete(oldest.value);
      }
      exceededAudited.delete(counterKey);
      exceededAudited.set(counterKey, now + state.resetSeconds * 1000);
      audit.record({
        event: 'rate_limit.exceeded',
        outcome: 'denied',
        reason: 'rate_limited',
        policy,
        key: `rlk_${fingerprint(key)}`,
        limit: state.window.max,
        window_ms: state.window.window,
        sub: hashSubject(facts.sub),
        client_id: facts.clientId,
        ip: facts.ip,
        method: request.method,
        route: request.routeOptions.url,
      });
    }
  }

  app.decorate('gatehouseRateLimit', function gatehouseRateLimit(policy: RateLimitPolicyName, routeOptions: RouteRateLimitOptions = {}) {
    if (!isRateLimitPolicyName(policy)) throw new Error(`unknown rate-limit policy "${String(policy)}"`);
    const failMode = routeOptions.failMode ?? defaultFailMode;
    if (failMode !== 'open' && failMode !== 'closed') throw new Error(`invalid rate-limit fail mode "${String(failMode)}"`);
    const windows = policies[policy];
    const count = counters.get(policy)!;

    const hook: preHandlerAsyncHookHandler = async function rateLimit(request, reply) {
      const facts = factsOf(request);
      const key = rateLimitKey(policy, facts);
      let counts: Awaited<ReturnType<CountWindows>>;
      try {
        counts = await count(key);
      } catch (err) {
        onStoreError(request, policy, failMode, err);
        if (failMode === 'open') return;
        return rateLimitUnavailable(reply, storeRetryAfter);
      }
      onStoreOk();

      const states: WindowState[] = windows.map((window, i) => {
        const { current, ttlMs } = counts[i]!;
        return {
          window,
          remaining: Math.max(0, window.max - current),
          resetSeconds: Math.max(0, Math.ceil(ttlMs / 1000)),
          exceeded: current > window.max,
        };
      });
      const decision = decide(states);
      reply.header('ratelimit-limit', String(decision.reported.window.max));
      reply.header('ratelimit-remaining', String(decision.reported.remaining));
      reply.header('ratelimit-reset', String(decision.allowed ? decision.reported.resetSeconds : decision.retryAfterSeconds));
      if (decision.allowed) return;

      limited.inc({ policy });
      auditExceeded(request, policy, key, facts, decision.exceeded);
      return tooManyRequests(reply, decision.retryAfterSeconds);
    };
    return hook;
  });
};

/** Register once, at the root (it is not encapsulated), before the routes that use it. */
export const rateLimits = fp(rateLimitsPlugin, { name: 'gatehouse-rate-limits', fastify: '5.x' });
