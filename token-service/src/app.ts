/**
 * Assembles the token service: key ring, accounts, stores, oidc-provider, and the Fastify server
 * that hosts the provider next to the login pages and the operational endpoints.
 */

import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { ops } from '@gatehouse/fastify-ops';
import type { KeyRing } from '@gatehouse/keys';
import { createAuditLog, createLogger, createMetrics, type Logger } from '@gatehouse/observability';
import { createValidator, localKeys } from '@gatehouse/validator';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { KoaContextWithOIDC, default as Provider } from 'oidc-provider';
import type { DestinationStream } from 'pino';
import { AccountStore, demoAccounts } from './accounts.ts';
import { sharedMemoryAdapter } from './adapters/memory-adapter.ts';
import { apiKeyAdminRoutes } from './api-keys/admin-routes.ts';
import { apiKeyExchange } from './api-keys/exchange.ts';
import { apiKeyExchangeDefaults, createApiKeyService, createKeyRules } from './api-keys/setup.ts';
import { redisAdapterFactory } from './adapters/redis-adapter.ts';
import { clientMetadata, loadProducerJwks, producerConfirmationKey } from './clients.ts';
import type { TokenServiceConfig } from './config.ts';
import * as tokenExchange from './grants/token-exchange.ts';
import { interactionRoutes } from './interactions/routes.ts';
import { issuedJwtProfiles, jwtTokenMiddleware } from './jwt-tokens.ts';
import { LiveKeyRing } from './live-key-ring.ts';
import { tokenServiceMetrics } from './metrics.ts';
import { CONSUMER_AUDIENCES, defaultExchangePolicy } from './policy/default-policy.ts';
import { type ExchangePolicy, parseExchangePolicy } from './policy/exchange-policy.ts';
import { createProvider } from './provider.ts';
import { wireProviderEvents } from './provider-events.ts';
import { claimedClient, rateLimitHook } from './rate-limit.ts';
import { createRedis, memoryStores, redisStores } from './stores/index.ts';
import type { Stores } from './stores/types.ts';

export interface BuildOptions {
  /** Test hooks: where the app log and the audit stream go. */
  logDestination?: DestinationStream;
  auditDestination?: DestinationStream;
}

export interface TokenService {
  app: FastifyInstance;
  config: TokenServiceConfig;
  keys: LiveKeyRing;
  stores: Stores;
  close(): Promise<void>;
}

export async function buildTokenService(
  config: TokenServiceConfig,
  options: BuildOptions = {},
): Promise<TokenService> {
  const production = config.NODE_ENV === 'production';
  const logger = createLogger('token-service', config.LOG_LEVEL, options.logDestination);
  const audit = createAuditLog('token-service', options.auditDestination ?? config.AUDIT_LOG);
  const metrics = createMetrics('token-service');
  const m = tokenServiceMetrics(metrics);

  const keys = await LiveKeyRing.open({ path: config.KEYSTORE_PATH, production, audit, logger, metrics });
  const producerJwks = await loadProducerJwks(config.CLIENT_KEYS_DIR, production);
  const producerKeys = new Map(
    [...producerJwks].flatMap(([id, jwks]) => {
      const key = producerConfirmationKey(jwks);
      return key ? [[id, key] as const] : [];
    }),
  );
  const accounts = await loadAccounts(config, production);
  const policy = await loadPolicy(config);
  const stores = await openStores(config, logger);
  const apiKeys = createApiKeyService(config, stores.redis);

  const validator = createValidator({
    issuer: config.ISSUER,
    keys: localKeys(() => keys.publicJwks),
    denyList: stores.denyList,
  });
  const exchangeHandler = tokenExchange.tokenExchangeHandler({
    issuer: config.ISSUER,
    apiResource: config.API_RESOURCE,
    keys: () => keys.current,
    validator,
    policy: () => policy,
    producerKey: (clientId) => producerKeys.get(clientId),
    audit,
    metrics: m,
    apiKeys: apiKeyExchange({
      service: apiKeys,
      issuer: config.ISSUER,
      keys: () => keys.current,
      policy: () => policy,
      issuedTokens: stores.grantTokens,
      audit,
      metrics: m,
      warn: (fields, message) => logger.warn(fields, message),
    }),
  });
  const jwtTokens = jwtTokenMiddleware({
    validator,
    denyList: stores.denyList,
    audit,
    metrics: m,
    profiles: issuedJwtProfiles(config.API_RESOURCE, Object.values(CONSUMER_AUDIENCES)),
    messageTokenRetentionSeconds: config.REVOKED_MESSAGE_TOKEN_RETENTION,
  });
  const adapter =
    stores.kind === 'redis' && stores.redis ? redisAdapterFactory(stores.redis) : sharedMemoryAdapter();

  // oidc-provider takes its keys at construction, so a key change builds a new provider over the
  // same adapter and cookie keys: requests in flight finish on the old one, new ones use the new.
  const buildProvider = (ring: KeyRing): Provider => {
    const built = createProvider({
      config,
      keys: ring,
      accounts,
      clients: clientMetadata(config, producerJwks),
      adapter,
      consumerAudiences: Object.values(CONSUMER_AUDIENCES),
    });
    built.registerGrantType(
      tokenExchange.grantType,
      exchangeHandler,
      [...tokenExchange.parameters],
      tokenExchange.allowedDuplicateParameters,
    );
    built.use(unauthorizedClientForDisallowedGrant);
    built.use(jwtTokens);
    wireProviderEvents(built, { audit, metrics: m, stores, logger });
    return built;
  };
  let provider = buildProvider(keys.current);
  let callback = provider.callback();
  keys.on('change', (ring) => {
    provider = buildProvider(ring);
    callback = provider.callback();
  });
  keys.watch();

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    trustProxy: config.TRUST_PROXY ?? false,
    bodyLimit: 56 * 1024,
  });
  await app.register(ops, {
    metrics,
    readiness: { store: () => stores.ping(), keys: async () => keys.current.has(keys.current.activeKid) },
  });

  const window = config.RATE_LIMIT_WINDOW_SECONDS;
  const oauthTooMany = (_req: FastifyRequest, reply: FastifyReply, retryAfter: number) => {
    reply.code(429).send({
      error: 'too_many_requests',
      error_description: `rate limit exceeded, retry in ${retryAfter} s`,
    });
  };
  const tokenLimits = rateLimitHook(
    stores.attempts,
    [
      { name: 'token_ip', max: config.RATE_LIMIT_TOKEN_PER_IP, windowSeconds: window, key: (r) => r.ip },
      {
        name: 'token_client',
        max: config.RATE_LIMIT_TOKEN_PER_CLIENT,
        windowSeconds: window,
        key: claimedClient,
      },
    ],
    { metrics: m, onExceeded: oauthTooMany },
  );
  const loginLimit = rateLimitHook(
    stores.attempts,
    [{ name: 'login_ip', max: config.RATE_LIMIT_LOGIN_PER_IP, windowSeconds: window, key: (r) => r.ip }],
    {
      metrics: m,
      onExceeded: (_req, reply) => {
        reply.code(429).type('text/plain').send('Too many requests. Try again later.');
      },
    },
  );

  await app.register(interactionRoutes, {
    provider: () => provider,
    accounts,
    attempts: stores.attempts,
    lockout: { maxAttempts: config.LOCKOUT_MAX_ATTEMPTS, windowSeconds: config.LOCKOUT_SECONDS },
    audit,
    metrics: m,
    issuer: config.ISSUER,
    csrfKey: config.COOKIE_KEYS[0]!,
    loginRateLimit: loginLimit,
  });

  await app.register(apiKeyAdminRoutes, {
    service: apiKeys,
    validator,
    apiResource: config.API_RESOURCE,
    rules: createKeyRules(config),
    issuedTokens: stores.grantTokens,
    denyList: stores.denyList,
    audit,
    metrics: m,
  });

  // Everything else is oidc-provider's, body unread: the provider parses (and size-limits) it
  // itself, so Fastify accepts any content type here and leaves the stream alone.
  const toProvider = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    await callback(request.raw, reply.raw);
  };
  await app.register(async (oidc) => {
    oidc.removeAllContentTypeParsers();
    oidc.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    for (const path of ['/token', '/token/introspection', '/token/revocation']) {
      oidc.post(path, { preHandler: tokenLimits }, toProvider);
    }
    oidc.all('/*', toProvider);
  });

  return {
    app,
    config,
    keys,
    stores,
    async close() {
      keys.close();
      await app.close();
      await stores.close();
      await audit.flush();
    },
  };
}

async function loadAccounts(config: TokenServiceConfig, production: boolean): Promise<AccountStore> {
  const store = config.ACCOUNTS_FILE
    ? await AccountStore.fromFile(config.ACCOUNTS_FILE)
    : await AccountStore.create(config.DEMO_USERS ? demoAccounts(config.DEMO_USER_PASSWORD) : []);
  if (production && store.hasDemoAccounts) throw new Error('DEMO_USERS: production refuses demo users');
  return store;
}

async function loadPolicy(config: TokenServiceConfig): Promise<ExchangePolicy> {
  if (!config.EXCHANGE_POLICY_FILE) {
    return defaultExchangePolicy(config.MESSAGE_TOKEN_TTL, apiKeyExchangeDefaults(config));
  }
  try {
    return parseExchangePolicy(JSON.parse(await readFile(config.EXCHANGE_POLICY_FILE, 'utf8')));
  } catch (error) {
    throw new Error(`EXCHANGE_POLICY_FILE: ${config.EXCHANGE_POLICY_FILE}: ${(error as Error).message}`);
  }
}

async function openStores(
  config: TokenServiceConfig,
  logger: Logger,
): Promise<Stores & { redis?: ReturnType<typeof createRedis> }> {
  if (!config.REDIS_URL) return memoryStores();
  const redis = createRedis(config.REDIS_URL, (error) =>
    logger.warn({ err: error.message }, 'redis connection error'),
  );
  await Promise.race([
    once(redis, 'ready'),
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('REDIS_URL: Redis did not answer within 5 s')), 5000).unref(),
    ),
  ]);
  return Object.assign(redisStores(redis), { redis });
}

/**
 * RFC 6749 section 5.2 names unauthorized_client for a client using a grant type it is not
 * registered for; node-oidc-provider answers invalid_request. Rewritten here, narrowly.
 */
async function unauthorizedClientForDisallowedGrant(
  ctx: KoaContextWithOIDC,
  next: () => Promise<void>,
): Promise<void> {
  await next();
  const body = ctx.body as { error?: string; error_description?: string } | undefined;
  if (
    ctx.oidc?.route === 'token' &&
    ctx.status === 400 &&
    body?.error === 'invalid_request' &&
    body.error_description === 'requested grant type is not allowed for this client'
  ) {
    ctx.body = { error: 'unauthorized_client', error_description: body.error_description };
  }
}
