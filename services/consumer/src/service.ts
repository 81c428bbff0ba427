/**
 * buildConsumerService: everything a consumer deployable runs, assembled once for shipping and
 * invoicing alike: logger, audit stream, metrics, the validator over the token service's JWKS (and
 * deny list), the database with its migrations, the read API and the consumer itself. A service
 * brings only its name, its tables, its business effect and its routes.
 */
import type { EventBus } from '@gatehouse/event-bus';
import {
  type AuditLog,
  createAuditLog,
  createLogger,
  createMetrics,
  type Logger,
  type Metrics,
} from '@gatehouse/observability';
import { type Database, type Migration, migrate, openDatabase } from '@gatehouse/sql';
import { createValidator, type DenyList, jwksReadiness, type KeySource, remoteKeys, type Validator } from '@gatehouse/validator';
import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import type { DestinationStream } from 'pino';
import type { ConsumerServiceConfig } from './config.ts';
import { type RedisDenyList, redisDenyList } from './deny-list.ts';
import { buildReadApi, type ReadApi } from './http/server.ts';
import { PROCESSED_EVENTS_MIGRATION } from './processed-events.ts';
import type { ApplyEvent } from './record.ts';
import { type RunningConsumer, startConsumer } from './runtime.ts';

export interface ConsumerServiceSpec {
  /** Its tables; the processed_events migration comes first on its own. */
  migrations: Migration[];
  apply: ApplyEvent;
  /** Adds the read routes. */
  routes(api: ReadApi, db: Database): void | Promise<void>;
}

export interface ConsumerServiceDeps {
  bus: EventBus;
  /** Test hook: keys instead of the token service's JWKS. */
  validatorKeys?: KeySource;
  /** Test hook: a deny list instead of REDIS_URL's. */
  denyList?: DenyList;
  auditDestination?: DestinationStream;
  logDestination?: DestinationStream;
  /** Millisecond clock, for tests (validator, verifier, dead-letter time). */
  now?: () => number;
}

export interface ConsumerService {
  app: FastifyInstance;
  consumer: RunningConsumer;
  db: Database;
  validator: Validator;
  metrics: Metrics;
  audit: AuditLog;
  logger: Logger;
  close(): Promise<void>;
}

/** The message tokens a consumer accepts name it in aud: urn:gatehouse:consumer:<name>. */
export function consumerAudience(name: string): string {
  return `urn:gatehouse:consumer:${name}`;
}

export async function buildConsumerService(
  spec: ConsumerServiceSpec,
  config: ConsumerServiceConfig,
  deps: ConsumerServiceDeps,
): Promise<ConsumerService> {
  const { name } = config;
  const logger = createLogger(name, config.logLevel, deps.logDestination);
  const audit = createAuditLog(name, deps.auditDestination ?? config.auditLog);
  const metrics = createMetrics(name);
  new Gauge({
    name: 'gatehouse_event_bus_up',
    help: 'Whether the event bus (Kafka or embedded) answers, checked at scrape time',
    registers: [metrics.registry],
    async collect() {
      this.set((await deps.bus.ping().catch(() => false)) ? 1 : 0);
    },
  });
  const now = deps.now ?? Date.now;

  const remote = deps.validatorKeys
    ? undefined
    : remoteKeys(`${config.tokenServiceUrl}/jwks`, {
        maxAgeMs: config.jwksMaxAgeSeconds * 1000,
        cooldownMs: config.jwksCooldownSeconds * 1000,
        onRefresh: (outcome, error) => {
          if (outcome === 'error') logger.warn({ err: (error as Error)?.message }, 'JWKS refresh failed');
        },
      });
  const keys = deps.validatorKeys ?? remote!;
  const redis: RedisDenyList | undefined =
    deps.denyList === undefined && config.redisUrl
      ? redisDenyList(config.redisUrl, (error) => logger.warn({ err: error.message }, 'redis connection error'))
      : undefined;
  const denyList = deps.denyList ?? redis;
  const validator = createValidator({ issuer: config.tokenServiceUrl, keys, now, ...(denyList ? { denyList } : {}) });
  remote?.refresh().catch(() => {});

  const db = await openDatabase({
    ...(config.databaseUrl ? { url: config.databaseUrl } : {}),
    ...(config.dataDir ? { dataDir: config.dataDir } : {}),
    onError: (error) => logger.warn({ err: error.message }, 'database connection error'),
  });
  const cleanup: Array<() => Promise<unknown>> = [() => db.close(), async () => redis?.close()];
  try {
    await migrate(db, [PROCESSED_EVENTS_MIGRATION, ...spec.migrations]);
    const api = await buildReadApi({
      logger,
      metrics,
      audit,
      validator,
      apiAudience: config.apiAudience,
      keysAvailable: () => remote === undefined || remote.usable,
      readiness: {
        database: () => db.ping(),
        // Not the bus: the read API serves from the database whatever Kafka does (the consumer
        // resumes by itself); gatehouse_event_bus_up reports the bus.
        ...(remote ? { jwks: jwksReadiness(remote, config.jwksCooldownSeconds * 1000) } : {}),
      },
    });
    cleanup.unshift(() => api.app.close());
    await spec.routes(api, db);
    const consumer = await startConsumer({
      name,
      audience: consumerAudience(name),
      topic: config.eventsTopic,
      dlqTopic: config.dlqTopic,
      groupId: config.groupId,
      bus: deps.bus,
      db,
      validator,
      policy: config.expiryPolicy,
      audit,
      metrics,
      logger,
      apply: spec.apply,
      now,
      verifyThreads: config.verifyThreads,
      proofAlgorithms: config.proofAlgorithms,
      ...(remote ? { keysUsable: () => remote.usable } : {}),
    });
    let closed: Promise<void> | undefined;
    return {
      app: api.app,
      consumer,
      db,
      validator,
      metrics,
      audit,
      logger,
      close() {
        // The consumer first: the record in hand finishes against an open database.
        closed ??= (async () => {
          await consumer.stop();
          for (const step of cleanup) await step().catch(() => undefined);
          await audit.flush();
        })();
        return closed;
      },
    };
  } catch (error) {
    for (const step of cleanup) await step().catch(() => undefined);
    throw error;
  }
}
