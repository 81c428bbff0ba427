/**
 * The gateway's own Prometheus series, on the component registry that @gatehouse/fastify-ops serves
 * at /metrics (which also records the request-duration histogram). Label values are bounded: route
 * names from the route table, status codes, validator error codes, 'ok'/'error'.
 */
import type { Metrics } from '@gatehouse/observability';
import type { FastifyInstance } from 'fastify';
import { Counter } from 'prom-client';

export interface GatewayMetrics {
  request(route: string, status: number): void;
  authFailure(reason: string): void;
  authzDenied(route: string): void;
  ipBlocked(): void;
  jwksRefresh(outcome: 'ok' | 'error'): void;
}

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
  return {
    request: (route, status) => requests.inc({ route, status: String(status) }),
    authFailure: (reason) => authFailures.inc({ reason }),
    authzDenied: (route) => authzDenied.inc({ route }),
    ipBlocked: () => ipBlocked.inc(),
    jwksRefresh: (outcome) => jwksRefreshes.inc({ outcome }),
  };
}

/** Counts every response by the route-table name it was proxied for. */
export function countRequests(app: FastifyInstance, metrics: GatewayMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.config.route?.name ?? (request.routeOptions.url ? 'ops' : 'unmatched');
    metrics.request(route, reply.statusCode);
  });
}
