/**
 * The request id and request log of a service behind the gateway: the id the gateway sent (or a
 * new one, the app's genReqId) echoed in X-Request-Id, and one `request completed` line with the
 * path, never the query string (which may hold values a log must not keep).
 */
import type { FastifyInstance } from 'fastify';

export function installRequestLog(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { method: request.method, path: request.url.split('?', 1)[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request completed',
    );
  });
}
