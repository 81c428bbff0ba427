/**
 * The client address, read once per request. With trustProxy, Fastify's request.ip walks
 * X-Forwarded-For through the trust function (an IP parse per hop) on every read, and a proxied
 * request reads it more than once (upstream X-Forwarded-For, the rate-limit key, audit records).
 */
import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** request.ip, memoised by clientIp(); read it through clientIp(). */
    clientIp?: string;
  }
}

/** Declared by the gateway app and by the rate-limit plugin (whichever registers first). */
export const CLIENT_IP_DECORATION = 'clientIp';

export function clientIp(request: FastifyRequest): string {
  let ip = request.clientIp;
  if (ip === undefined) {
    ip = request.ip;
    request.clientIp = ip;
  }
  return ip;
}
