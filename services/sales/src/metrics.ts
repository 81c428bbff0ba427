/** The sales service's own metrics, on its registry (served at /metrics by fastify-ops). */
import type { Metrics } from '@gatehouse/observability';
import { Counter, Gauge } from 'prom-client';
import type { RelayMetrics } from './outbox/relay.ts';

export interface SalesMetrics {
  relay: RelayMetrics;
  orderCreated(): void;
  orderRefused(code: string): void;
  authFailure(code: string): void;
  replayed(count: number): void;
  jwksRefresh(outcome: 'ok' | 'error'): void;
}

export function salesMetrics(metrics: Metrics): SalesMetrics {
  const registers = [metrics.registry];
  const pending = new Gauge({
    name: 'gatehouse_outbox_pending',
    help: 'Outbox events not yet acknowledged by the event bus',
    registers,
  });
  const published = new Counter({
    name: 'gatehouse_outbox_published_total',
    help: 'Outbox events published and marked sent',
    registers,
  });
  const failed = new Counter({
    name: 'gatehouse_outbox_publish_failures_total',
    help: 'Failed relay passes, by reason (the rows stay pending and are retried)',
    labelNames: ['reason'],
    registers,
  });
  const orders = new Counter({ name: 'gatehouse_orders_created_total', help: 'Orders accepted', registers });
  const refused = new Counter({
    name: 'gatehouse_orders_refused_total',
    help: 'Order requests refused after authentication, by code',
    labelNames: ['code'],
    registers,
  });
  const auth = new Counter({
    name: 'gatehouse_sales_auth_failures_total',
    help: 'Requests refused by authentication or authorisation, by code',
    labelNames: ['code'],
    registers,
  });
  const replayed = new Counter({ name: 'gatehouse_events_replayed_total', help: 'Events re-published by replay', registers });
  const jwks = new Counter({
    name: 'gatehouse_jwks_refresh_total',
    help: 'JWKS fetch attempts by outcome',
    labelNames: ['outcome'],
    registers,
  });
  return {
    relay: {
      published: (n) => published.inc(n),
      failed: (n, reason) => failed.inc({ reason }, n),
      pending: (n) => pending.set(n),
    },
    orderCreated: () => orders.inc(),
    orderRefused: (code) => refused.inc({ code }),
    authFailure: (code) => auth.inc({ code }),
    replayed: (n) => replayed.inc(n),
    jwksRefresh: (outcome) => jwks.inc({ outcome }),
  };
}
