/**
 * Operational endpoints every Gatehouse component serves, as one encapsulated-free Fastify plugin:
 *   GET /healthz  liveness: the process answers.
 *   GET /readyz   readiness: every dependency check passes (503 with the failing names otherwise).
 *   GET /metrics  Prometheus text from the component's own registry.
 * It also times every request into gatehouse_http_request_duration_seconds{route,method,status}.
 */
import type { Metrics } from '@gatehouse/observability';
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { Histogram } from 'prom-client';

export type ReadinessCheck = () => Promise<boolean>;

export interface OpsOptions {
  metrics: Metrics;
  readiness: Record<string, ReadinessCheck>;
}

const opsPlugin: FastifyPluginAsync<OpsOptions> = async (app, { metrics, readiness }) => {
  const duration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP request duration by route, method and status',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [metrics.registry],
  });

  // A callback hook (no promise per request): it runs on every response.
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, never the raw URL: label values must stay bounded.
    const route = request.routeOptions.url ?? 'unmatched';
    duration.observe(
      { route, method: request.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });

  app.get('/healthz', { config: { rateLimit: false } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { rateLimit: false } }, async (_request, reply) => {
    const results = await Promise.all(
      Object.entries(readiness).map(
        async ([name, check]) => [name, await check().catch(() => false)] as const,
      ),
    );
    const failing = results.filter(([, ok]) => !ok).map(([name]) => name);
    if (failing.length > 0) return reply.code(503).send({ status: 'unavailable', failing });
    return { status: 'ready' };
  });

  app.get('/metrics', { config: { rateLimit: false } }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.render();
  });
};

export const ops = fp(opsPlugin, { name: 'gatehouse-ops', fastify: '5.x' });
