/**
 * Edge hardening, applied to every request before routing decisions:
 *   1. the IP block list (403 problem, audited), first so a blocked client costs nothing more;
 *   2. load shedding with @fastify/under-pressure (503 problem + Retry-After);
 *   3. helmet's security headers (HSTS only in production, behind TLS termination), computed once
 *      per configuration (security-headers.ts) rather than per request;
 *   4. CORS with an explicit origin allow-list (@fastify/cors).
 * The body limit is Fastify's bodyLimit (set in app.ts and on the proxy's body parser).
 */
import { BlockList, isIP } from 'node:net';
import cors from '@fastify/cors';
import underPressure from '@fastify/under-pressure';
import type { AuditLog } from '@gatehouse/observability';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientIp } from './client-ip.ts';
import type { GatewayConfig } from './config.ts';
import type { GatewayMetrics } from './metrics.ts';
import { sendProblem } from './problem.ts';
import { securityHeaders } from './security-headers.ts';

export const UNDER_PRESSURE_RETRY_AFTER_SECONDS = 10;

/** IPs and CIDRs (v4 or v6) → a node:net BlockList. Throws on an entry it cannot read. */
export function parseBlockList(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits, extra] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || extra !== undefined) throw new TypeError(`not an IP or CIDR: ${entry}`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : Number.NaN;
    if (!(prefix >= 0 && prefix <= (family === 4 ? 32 : 128))) throw new TypeError(`not an IP or CIDR: ${entry}`);
    list.addSubnet(address, prefix, type);
  }
  return list;
}

/** request.ip may be an IPv4-mapped IPv6 address (::ffff:203.0.113.7): check it as IPv4 too. */
export function isBlocked(list: BlockList, ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return list.check(mapped[1]!, 'ipv4') || list.check(ip, 'ipv6');
  const family = isIP(ip);
  if (family === 0) return false;
  return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

export interface HardeningDeps {
  audit: AuditLog;
  metrics: GatewayMetrics;
}

export async function registerHardening(
  app: FastifyInstance,
  config: GatewayConfig,
  deps: HardeningDeps,
): Promise<void> {
  registerIpBlockList(app, config, deps);
  await app.register(underPressure, {
    maxEventLoopDelay: config.UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS,
    retryAfter: UNDER_PRESSURE_RETRY_AFTER_SECONDS,
    pressureHandler: async (request, reply, type) => {
      // Resolves once the problem is sent, so the request goes no further.
      await overloaded(request, reply, type);
    },
  });
  const production = config.NODE_ENV === 'production';
  await app.register(securityHeaders, {
    // The gateway sits behind a TLS-terminating load balancer in production; in development it
    // speaks plain HTTP on localhost, where HSTS would pin the browser to https for localhost.
    hsts: production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
  await app.register(cors, {
    // An allow-list, never a reflection of whatever Origin arrives. Credentials are allowed so
    // the BFF's session cookie works from the allowed UI origins.
    origin: config.CORS_ORIGINS,
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'X-Requested-With'],
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'WWW-Authenticate'],
    maxAge: 600,
  });
}

function registerIpBlockList(app: FastifyInstance, config: GatewayConfig, deps: HardeningDeps): void {
  if (config.IP_BLOCK_LIST.length === 0) return;
  const list = parseBlockList(config.IP_BLOCK_LIST);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isBlocked(list, clientIp(request))) return undefined;
    deps.metrics.ipBlocked();
    deps.audit.record({
      event: 'ip.blocked',
      outcome: 'denied',
      reason: 'ip_block_list',
      ip: clientIp(request),
      method: request.method,
      request_id: request.id,
    });
    return sendProblem(reply, 403, {
      slug: 'forbidden',
      code: 'ERR_IP_BLOCKED',
      detail: 'Requests from this address are not accepted.',
    });
  });
}

async function overloaded(request: FastifyRequest, reply: FastifyReply, type: string): Promise<FastifyReply> {
  request.log.warn({ pressure: type }, 'shedding load');
  return sendProblem(
    reply,
    503,
    { slug: 'overloaded', code: 'ERR_OVERLOADED', detail: 'The gateway is overloaded. Retry later.' },
    { 'retry-after': String(UNDER_PRESSURE_RETRY_AFTER_SECONDS) },
  );
}
