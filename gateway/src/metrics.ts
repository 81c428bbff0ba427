/**
 * The gateway's own Prometheus series, on the component registry that @gatehouse/fastify-ops serves
 * at /metrics (which also records the request-duration histogram). Label values are bounded: route
 * names from the route table, status codes, validator error codes, 'ok'/'error'.
 */
import type { Metrics } from '@gatehouse/observability';
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram } from 'prom-client';

export interface GatewayMetrics {
  request(route: string, status: number): void;
  authFailure(reason: string): void;
  authzDenied(route: string): void;
  ipBlocked(): void;
  jwksRefresh(outcome: 'ok' | 'error'): void;
  /** Message-token exchanges: outcome granted | refused | unavailable | cached. */
  exchange(route: string, outcome: ExchangeOutcome): void;
  /** Latency of calls to the token service's exchange, by kind (message_token | api_key). */
  exchangeDuration(kind: ExchangeKind, seconds: number): void;
  /** Cache hits by kind: a request served without calling the token service. */
  exchangeCacheHit(kind: ExchangeKind): void;
  /** API-key authentications: outcome ok | cached | malformed | missing | refused | unavailable. */
  apiKey(outcome: string): void;
}

export type ExchangeOutcome = 'granted' | 'refused' | 'unavailable' | 'cached';
export type ExchangeKind = 'message_token' | 'api_key';

export function gatewayMetrics(metrics: Metrics): GatewayMetrics {
  const registers = [metrics.registry];
  const requests = new Counter({
    name: 'gatehouse_gateway_requests_total',
    help: 'Requests by route (route-table name, or ops / unmatched) and status',
    labelNames: ['route', 'status'],
    registers,
  });
  const authFailures = new Counter({
    name: 'gatehouse_gateway_auth_failures_total',
    help: 'Authentication failures by reason code',
    labelNames: ['reason'],
    registers,
  });
  const authzDenied = new Counter({
    name: 'gatehouse_gateway_authz_denied_total',
    help: 'Requests refused with 403 for a missing scope or role, by route',
    labelNames: ['route'],
    registers,
  });
  const ipBlocked = new Counter({
    name: 'gatehouse_gateway_ip_blocked_total',
    help: 'Requests refused by the IP block list',
    registers,
  });
  const jwksRefreshes = new Counter({
    name: 'gatehouse_gateway_jwks_refreshes_total',
    help: 'JWKS fetch attempts by outcome',
    labelNames: ['outcome'],
    registers,
  });
  const exchanges = new Counter({
    name: 'gatehouse_gateway_exchanges_total',
    help: 'Message-token exchanges by route and outcome (granted, refused, unavailable, cached)',
    labelNames: ['route', 'outcome'],
    registers,
  });
  const exchangeDuration = new Histogram({
    name: 'gatehouse_gateway_exchange_duration_seconds',
    help: 'Latency of token-exchange calls to the token service, by kind',
    labelNames: ['kind'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const cacheHits = new Counter({
    name: 'gatehouse_gateway_exchange_cache_hits_total',
    help: 'Requests served from the exchanged-token cache, by kind',
    labelNames: ['kind'],
    registers,
  });
  const apiKeys = new Counter({
    name: 'gatehouse_gateway_api_key_auth_total',
    help: 'API-key authentications by outcome',
    labelNames: ['outcome'],
    registers,
  });
  return {
    exchange: (route, outcome) => exchanges.inc({ route, outcome }),
    exchangeDuration: (kind, seconds) => exchangeDuration.observe({ kind }, seconds),
    exchangeCacheHit: (kind) => cacheHits.inc({ kind }),
    apiKey: (outcome) => apiKeys.inc({ outcome }),
    request: (route, status) => requests.inc({ route, status: String(status) }),
    authFailure: (reason) => authFailures.inc({ reason }),
    authzDenied: (route) => authzDenied.inc({ route }),
    ipBlocked: () => ipBlocked.inc(),
    jwksRefresh: (outcome) => jwksRefreshes.inc({ outcome }),
  };
}

/** Counts every response by the route-table name it was proxied for. */
export function countRequests(app: FastifyInstance, metrics: GatewayMetrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    // Fastify builds a new routeOptions object on every read: read it once.
    const options = request.routeOptions;
    const route = options.config.route?.name ?? (options.url ? 'ops' : 'unmatched');
    metrics.request(route, reply.statusCode);
    done();
  });
}
