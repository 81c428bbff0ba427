/**
 * Assembles the sales service: logger, audit, metrics, database (migrated), signing key, event bus,
 * the validator over the token service's JWKS, the outbox relay, and the Fastify app.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { redisDenyList } from '@gatehouse/deny-list';
import { busFromSettings, createEmbeddedBus, type EventBus, type Producer } from '@gatehouse/event-bus';
import { ops } from '@gatehouse/fastify-ops';
import { createAuditLog, createLogger, createMetrics, type Logger, type Metrics } from '@gatehouse/observability';
import { type Database, migrate, openDatabase } from '@gatehouse/sql';
import { createValidator, jwksReadiness, type RemoteKeySource, remoteKeys } from '@gatehouse/validator';
import { Gauge } from 'prom-client';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify';
import type { DestinationStream } from 'pino';
import type { SalesConfig } from './config.ts';
import type { SalesContext } from './context.ts';
import { accessTokenProfile } from '@gatehouse/service-http';
import type { AuthDeps } from './http/authenticate.ts';
import { installProblemHandlers, installRequestLog, sendProblem } from '@gatehouse/service-http';
import { salesMetrics } from './metrics.ts';
import { MIGRATIONS } from './migrations.ts';
import { messageTokenProfile } from './orders/message-token.ts';
import { createRelay, type Relay } from './outbox/relay.ts';
import { createGrantClient } from './replay/grant-client.ts';
import { adminRoutes } from './routes/admin.ts';
import { orderRoutes } from './routes/orders.ts';
import { loadSigningKey } from './signing-key.ts';

export interface SalesDeps {
  /** An event bus to publish on (tests, the all-in-one stack); else Kafka from settings, else embedded. */
  bus?: EventBus;
  /** A database already open (it stays open on close); else DATABASE_URL or embedded. */
  db?: Database;
  auditDestination?: DestinationStream;
  logDestination?: DestinationStream;
  /** For the JWKS and the token endpoint (tests inject failures). */
  fetch?: typeof fetch;
  /** Poll the outbox in the background (default true); tests may drive relay.flush() alone. */
  startRelay?: boolean;
}

export interface SalesService {
  app: FastifyInstance;
  config: SalesConfig;
  db: Database;
  bus: EventBus;
  relay: Relay;
  keys: RemoteKeySource;
  metrics: Metrics;
  logger: Logger;
  close(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The gateway's X-Request-Id is kept when plain, so one id follows a request across hops. */
function requestId(request: IncomingMessage): string {
  const incoming = request.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** One producer for the relay and replays, connected on first use; a failed connect is retried next time. */
function sharedProducer(bus: EventBus): { get: () => Promise<Producer>; disconnect: () => Promise<void> } {
  let current: Promise<Producer> | undefined;
  return {
    get() {
      current ??= bus.producer().catch((error: unknown) => {
        current = undefined;
        throw error;
      });
      return current;
    },
    async disconnect() {
      const producer = await current?.catch(() => undefined);
      await producer?.disconnect().catch(() => undefined);
    },
  };
}

/** 1 when the event bus answers, read at each scrape. */
function busGauge(metrics: Metrics, bus: EventBus): void {
  new Gauge({
    name: 'gatehouse_event_bus_up',
    help: 'Whether the event bus (Kafka or embedded) answers, checked at scrape time',
    registers: [metrics.registry],
    async collect() {
      this.set((await bus.ping().catch(() => false)) ? 1 : 0);
    },
  });
}

export async function buildSalesService(config: SalesConfig, deps: SalesDeps = {}): Promise<SalesService> {
  // Before anything is opened: a bad key file is a configuration error (exit 78), nothing to undo.
  const signingKey = await loadSigningKey(config.SALES_SIGNING_KEY_FILE, config.NODE_ENV === 'production');
  const logger = createLogger('sales', config.LOG_LEVEL, deps.logDestination);
  const audit = createAuditLog('sales', deps.auditDestination ?? config.AUDIT_LOG);
  const metrics = createMetrics('sales');
  const m = salesMetrics(metrics);

  const ownsDb = deps.db === undefined;
  const db =
    deps.db ??
    (await openDatabase({
      ...(config.DATABASE_URL ? { url: config.DATABASE_URL } : {}),
      ...(config.SALES_DATA_DIR ? { dataDir: config.SALES_DATA_DIR } : {}),
      onError: (error) => logger.warn({ err: error.message }, 'database connection error'),
    }));
  const ownsBus = deps.bus === undefined;
  let bus: EventBus;
  try {
    await migrate(db, MIGRATIONS);
    bus = deps.bus ?? busFromSettings(config, logger) ?? createEmbeddedBus();
  } catch (error) {
    if (ownsDb) await db.close().catch(() => undefined);
    throw error;
  }
  const producer = sharedProducer(bus);
  // Not awaited: a broker that is down at start-up must not stop orders being accepted.
  bus.ensureTopics([config.EVENTS_TOPIC]).catch((error: unknown) => logger.warn({ err: error }, 'could not ensure the events topic'));

  const keys = remoteKeys(`${config.TOKEN_SERVICE_URL}/jwks`, {
    maxAgeMs: config.JWKS_MAX_AGE_SECONDS * 1000,
    cooldownMs: config.JWKS_COOLDOWN_SECONDS * 1000,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    onRefresh: (outcome, error) => {
      m.jwksRefresh(outcome);
      if (outcome === 'error') logger.warn({ err: error }, 'JWKS refresh failed');
    },
  });
  // The token service's jti deny list (REDIS_URL): a revoked access or message token is refused
  // here too, not only at the gateway. Unanswerable: 503, nothing stored.
  const denyList = config.REDIS_URL
    ? redisDenyList(config.REDIS_URL, (error) => logger.warn({ err: error.message }, 'redis connection error'))
    : undefined;
  const validator = createValidator({ issuer: config.TOKEN_SERVICE_URL, keys, ...(denyList ? { denyList } : {}) });
  keys.refresh().catch(() => {});

  const relay = createRelay({
    db,
    producer: producer.get,
    batchSize: config.OUTBOX_BATCH_SIZE,
    pollMs: config.OUTBOX_POLL_MS,
    backoff: { baseMs: config.RELAY_BACKOFF_BASE_MS, maxMs: config.RELAY_BACKOFF_MAX_MS },
    metrics: m.relay,
    logger,
  });

  const auth: AuthDeps = {
    validator,
    profile: accessTokenProfile(config.API_AUDIENCE),
    audit,
    keysAvailable: () => keys.usable,
    onFailure: (code) => m.authFailure(code),
  };
  const ctx: SalesContext = {
    config,
    db,
    validator,
    auth,
    messageProfile: messageTokenProfile(config.MESSAGE_TOKEN_AUDIENCES),
    signingKey,
    relay,
    producer: producer.get,
    grants: createGrantClient({
      tokenServiceUrl: config.TOKEN_SERVICE_URL,
      clientId: config.SALES_CLIENT_ID,
      clientSecret: config.SALES_CLIENT_SECRET,
      resource: config.REPLAY_GRANT_RESOURCE,
      timeoutMs: config.TOKEN_SERVICE_TIMEOUT_MS,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    }),
    audit,
    metrics: m,
  };

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    genReqId: requestId,
    // Fastify's request log prints the URL with its query string; ours prints the path only.
    logController: new LogController({ disableRequestLogging: true }),
    // Strict JSON schemas: no silent removal of unknown members, no "5" → 5 coercion.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    frameworkErrors: (_error: FastifyError, _request, reply) => {
      sendProblem(reply, 400, { slug: 'bad-request', code: 'ERR_BAD_REQUEST', detail: 'The request could not be read.' });
    },
  });
  app.decorateRequest('principal', undefined);
  app.decorateRequest('messageToken', undefined);
  // JSON only: Fastify's default text/plain parser would turn a wrong content type into a 400.
  app.removeContentTypeParser('text/plain');
  installProblemHandlers(app);
  installRequestLog(app);
  await app.register(ops, {
    metrics,
    readiness: {
      database: () => db.ping(),
      // Not the bus: with Kafka down, orders are still taken (the outbox holds their events), so
      // the service must stay in its load balancer. gatehouse_event_bus_up reports the bus.
      jwks: jwksReadiness(keys, config.JWKS_COOLDOWN_SECONDS * 1000),
    },
  });
  busGauge(metrics, bus);
  await orderRoutes(app, ctx);
  await adminRoutes(app, ctx);

  if (deps.startRelay ?? true) relay.start();
  logger.info({ database: db.kind, bus: bus.kind, topic: config.EVENTS_TOPIC, kid: signingKey.signer.kid }, 'sales service ready');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await app.close();
      await relay.stop();
      await producer.disconnect();
      if (ownsBus) await bus.close().catch(() => undefined);
      if (ownsDb) await db.close();
      await denyList?.close();
      await audit.flush();
    })();
    return closing;
  };
  return { app, config, db, bus, relay, keys, metrics, logger, close };
}
