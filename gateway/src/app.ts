/**
 * Assembles the gateway: logger, audit, metrics, the validator over the token service's JWKS,
 * the Fastify server with ops endpoints, edge hardening, and one proxied route per route-table entry.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ops } from '@gatehouse/fastify-ops';
import { type AuditLog, createAuditLog, createLogger, createMetrics, type Metrics } from '@gatehouse/observability';
import { cachedDenyList, createValidator, jwksReadiness, type RemoteKeySource, remoteKeys, type Validator } from '@gatehouse/validator';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify';
import type { DestinationStream } from 'pino';
import { apiKeyAuthentication } from './api-keys/authenticate.ts';
import { accessTokenProfile, type SessionAuthentication } from './authenticate.ts';
import { CLIENT_IP_DECORATION } from './client-ip.ts';
import type { GatewayConfig } from './config.ts';
import { redisDenyList } from './deny-list.ts';
import { createTokenServiceClient, type TokenServiceClient } from './exchange/client.ts';
import { messageTokens } from './exchange/mint.ts';
import { registerHardening } from './hardening.ts';
import { countRequests, gatewayMetrics } from './metrics.ts';
import { installProblemHandlers, sendProblem } from './problem.ts';
import { bff, csrfCheck, sessionAuthenticator, sessionCookiePresent } from './bff/index.ts';
import { registerRouteProxy } from './proxy.ts';
import { deferredChildLogger } from './request-logger.ts';
import { closeGatewayRedis, createGatewayRedis, rateLimits, waitReady } from './rate-limit/index.ts';
import { authModes, loadRoutesFile, type Route, RouteTableError } from './routes.ts';
import { registerUi } from './ui.ts';

export interface BuildOptions {
  /** Test hooks: where the app log and the audit stream go. */
  logDestination?: DestinationStream;
  auditDestination?: DestinationStream;
  /** A route table already parsed (parseRoutes); ROUTES_FILE is read otherwise. */
  routes?: Route[];
}

export interface Gateway {
  app: FastifyInstance;
  config: GatewayConfig;
  routes: Route[];
  validator: Validator;
  keys: RemoteKeySource;
  audit: AuditLog;
  metrics: Metrics;
  close(): Promise<void>;
}

/** An incoming X-Request-Id is kept only if it is short and plain; anything else is replaced. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(request: IncomingMessage): string {
  const incoming = request.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

export async function buildGateway(config: GatewayConfig, options: BuildOptions = {}): Promise<Gateway> {
  // At LOG_LEVEL=info every request writes a line: buffer stdout like the audit stream below.
  const logger = createLogger('gateway', config.LOG_LEVEL, options.logDestination, { bufferBytes: 4096 });
  // Every authenticated request writes an audit record: buffer them (4 KiB, or 1 s at most) so a
  // busy gateway makes one write per few KiB, not one per request. A clean exit flushes the rest.
  const audit = createAuditLog('gateway', options.auditDestination ?? config.AUDIT_LOG, {
    bufferBytes: 4096,
    flushIntervalMs: 1000,
  });
  const metrics = createMetrics('gateway');
  const m = gatewayMetrics(metrics);
  const routes = options.routes ?? (await loadRoutesFile(config.ROUTES_FILE));

  const keys = remoteKeys(`${config.TOKEN_SERVICE_URL}/jwks`, {
    maxAgeMs: config.JWKS_MAX_AGE_SECONDS * 1000,
    cooldownMs: config.JWKS_COOLDOWN_SECONDS * 1000,
    onRefresh: (outcome, error) => {
      m.jwksRefresh(outcome);
      if (outcome === 'error') logger.warn({ err: error }, 'JWKS refresh failed');
    },
  });
  const tokenService = tokenServiceClient(config, routes);

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    trustProxy: trustProxyOption(config.TRUST_PROXY),
    bodyLimit: config.BODY_LIMIT_BYTES,
    genReqId: requestId,
    // The per-request child logger is made when a request first logs, not for every request.
    childLoggerFactory: deferredChildLogger,
    // Fastify's request log prints the URL with its query string; ours prints the path only.
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors: (error: FastifyError, _request, reply) => {
      sendProblem(reply, 400, { slug: 'bad-request', code: 'ERR_BAD_REQUEST', detail: 'The request could not be read.' });
      void error;
    },
  });
  // Other gateway plugins (rate limits) may declare the same decorations: declare each once.
  for (const name of ['principal', 'accessToken', 'upstreamHeaders', 'apiKeyId', CLIENT_IP_DECORATION]) {
    if (!app.hasRequestDecorator(name)) app.decorateRequest(name, undefined);
  }
  installProblemHandlers(app);

  // Callback hooks, not async ones: these run on every request, and a promise each adds up.
  // LOG_LEVEL is fixed at start, so whether the request line is logged is decided once.
  const logRequests = logger.isLevelEnabled('info');
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (logRequests) {
      request.log.info(
        {
          method: request.method,
          path: request.url.split('?', 1)[0],
          route: request.routeOptions.config?.route?.name,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
        },
        'request completed',
      );
    }
    done();
  });
  countRequests(app, m);

  await app.register(ops, { metrics, readiness: { jwks: jwksReadiness(keys, config.JWKS_COOLDOWN_SECONDS * 1000) } });
  await registerHardening(app, config, { audit, metrics: m });

  const redis = config.REDIS_URL
    ? createGatewayRedis(config.REDIS_URL, (error) => logger.warn({ err: error.message }, 'redis connection error'))
    : undefined;
  // No offline queue: until Redis is ready, limits would take the store-down path.
  if (redis) await waitReady(redis);

  // The token service's revocations (same Redis). Without REDIS_URL, none: a revoked JWT then lives
  // until its short exp. The validator fails closed (503) when Redis cannot answer. Answers are
  // reused for DENY_LIST_CACHE_SECONDS per jti: one Redis lookup per token per window, not per request.
  const validator = createValidator({
    issuer: config.TOKEN_SERVICE_URL,
    keys,
    ...(redis
      ? { denyList: cachedDenyList(redisDenyList(redis), { ttlMs: config.DENY_LIST_CACHE_SECONDS * 1000 }) }
      : {}),
  });
  // Warm the key set so the first request does not wait for it; failure is logged by onRefresh.
  keys.refresh().catch(() => {});
  await app.register(rateLimits, {
    redis,
    audit,
    registry: metrics.registry,
    defaultFailMode: 'open',
    syncIntervalMs: config.RATE_LIMIT_SYNC_MS,
  });
  app.addHook('onClose', async () => {
    if (redis) await closeGatewayRedis(redis);
  });

  // The browser UI's backend-for-frontend: /auth/* and the cookie session behind auth 'session'.
  // It is the OAuth client 'gateway' too, so it needs the client secret, and a cookie secret.
  const secret = config.GATEWAY_CLIENT_SECRET;
  const cookieSecret = config.BFF_COOKIE_SECRET;
  const bffEnabled = secret !== undefined && cookieSecret !== undefined;
  if (bffEnabled) {
    await app.register(bff, {
      issuer: config.TOKEN_SERVICE_URL,
      clientId: config.GATEWAY_CLIENT_ID,
      clientSecret: secret,
      redirectUri: config.BFF_REDIRECT_URI,
      postLogoutRedirectUri: config.BFF_POST_LOGOUT_REDIRECT_URI,
      cookieSecret,
      secureCookies: config.BFF_REDIRECT_URI.startsWith('https://'),
      allowedOrigins: config.CORS_ORIGINS,
      audit,
      // Refreshes claimed on Redis: one rotation per session across the replicas.
      ...(redis ? { redis } : {}),
    });
  }

  const profile = accessTokenProfile(config.API_AUDIENCE);
  // Unusable keys (never fetched, or not renewed for two max-ages): KEY_UNKNOWN is then an outage.
  const keysAvailable = () => keys.usable;
  const deps = {
    rateLimit: (route: Route) =>
      route.rateLimit
        ? app.gatehouseRateLimit(route.rateLimit.policy, { failMode: route.rateLimit.failMode })
        : undefined,
    validator,
    profile,
    audit,
    metrics: m,
    keysAvailable,
    ...(bffEnabled
      ? {
          session: {
            present: sessionCookiePresent,
            csrf: csrfCheck,
            accessToken: sessionAuthenticator,
          } satisfies SessionAuthentication,
        }
      : {}),
    ...(tokenService
      ? {
          messageToken: messageTokens({ client: tokenService, header: config.MESSAGE_TOKEN_HEADER, audit, metrics: m }),
          apiKeys: apiKeyAuthentication({
            client: tokenService,
            validator,
            profile,
            apiAudience: config.API_AUDIENCE,
            cacheSeconds: config.API_KEY_CACHE_SECONDS,
            audit,
            metrics: m,
            keysAvailable,
          }),
        }
      : {}),
    bodyLimit: config.BODY_LIMIT_BYTES,
    upstreamTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
  };
  for (const route of routes) await registerRouteProxy(app, route, deps);
  // The browser UI's static files at /: one route per file, so no route above is shadowed.
  await registerUi(app, config.UI_DIR, config.NODE_ENV === 'production');

  return {
    app,
    config,
    routes,
    validator,
    keys,
    audit,
    metrics,
    async close() {
      await app.close();
      await audit.flush();
    },
  };
}

/**
 * The token-service client when the gateway has its client secret. Production has no default
 * secret: a route table that needs exchanges (exchange blocks, api-key routes) then refuses to
 * start, rather than failing every such request later.
 */
function tokenServiceClient(config: GatewayConfig, routes: Route[]): TokenServiceClient | undefined {
  if (config.GATEWAY_CLIENT_SECRET === undefined) {
    const needing = routes.filter((r) => r.exchange !== undefined || authModes(r).includes('api-key'));
    if (needing.length > 0) {
      throw new RouteTableError(
        'GATEWAY_CLIENT_SECRET',
        needing.map((r) => `route "${r.name}" needs the token service: set GATEWAY_CLIENT_SECRET`),
      );
    }
    return undefined;
  }
  return createTokenServiceClient({
    url: config.TOKEN_SERVICE_URL,
    clientId: config.GATEWAY_CLIENT_ID,
    clientSecret: config.GATEWAY_CLIENT_SECRET,
    timeoutMs: config.EXCHANGE_TIMEOUT_MS,
  });
}

/** A hop count becomes Fastify's function form (its types omit the number form). */
function trustProxyOption(value: GatewayConfig['TRUST_PROXY']): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof value === 'number' ? (_address, hop) => hop < value : value;
}
