// A consumer runtime on the embedded bus and an embedded database, with a test business effect
// (one row per applied event, from the principal), for tests of the runtime itself.
import { createEmbeddedBus, type EventBus, type Producer } from '@gatehouse/event-bus';
import type { EventRecord } from '@gatehouse/events';
import { createAuditLog, createLogger, createMetrics, memoryAuditSink } from '@gatehouse/observability';
import { type Database, migrate, openDatabase } from '@gatehouse/sql';
import { createValidator, type DenyList } from '@gatehouse/validator';
import type { Test } from 'tap';
import {
  type ApplyEvent,
  DEFAULT_EXPIRY_POLICY,
  orderCreated,
  PROCESSED_EVENTS_MIGRATION,
  startConsumer,
} from '../../src/index.ts';
import { ISSUER, now, SHIPPING, until, type World } from './world.ts';

export const TOPIC = 'orders';
export const DLQ = 'orders.shipping.dlq';

export const recordEffect: ApplyEvent = async (event, tx) => {
  const { order, principal, eventId } = orderCreated(event);
  await tx.query('INSERT INTO applied (event_id, customer, org_id, level, basis) VALUES ($1, $2, $3, $4, $5)', [
    eventId,
    principal.sub,
    order.org_id,
    principal.subscriptionLevel ?? null,
    event.basis,
  ]);
};

export interface RuntimeOptions {
  denyList?: DenyList;
  apply?: ApplyEvent;
  /** Wraps the bus (fault injection). */
  wrapBus?: (bus: EventBus) => EventBus;
  db?: Database;
  /** Signature-pool threads (default 0: on the event loop). */
  verifyThreads?: number;
  /** EVENT_PROOF_ALGORITHMS (default: the verifier's own). */
  proofAlgorithms?: string[];
}

export async function startRuntime(t: Test, world: World, options: RuntimeOptions = {}) {
  const embedded = createEmbeddedBus({ retry: { initialMs: 5, maxMs: 40 } });
  const bus = options.wrapBus ? options.wrapBus(embedded) : embedded;
  const db = options.db ?? (await openDatabase());
  await migrate(db, [
    PROCESSED_EVENTS_MIGRATION,
    {
      id: '0001_test_applied',
      sql: 'CREATE TABLE IF NOT EXISTS applied (event_id text PRIMARY KEY, customer text, org_id text, level text, basis text)',
    },
  ]);
  const sink = memoryAuditSink();
  const metrics = createMetrics('consumer-test', { defaults: false });
  const validator = createValidator({
    issuer: ISSUER,
    keys: world.keys,
    now,
    ...(options.denyList ? { denyList: options.denyList } : {}),
  });
  const consumer = await startConsumer({
    name: 'shipping',
    audience: SHIPPING,
    topic: TOPIC,
    dlqTopic: DLQ,
    groupId: 'shipping',
    bus,
    db,
    validator,
    policy: DEFAULT_EXPIRY_POLICY,
    audit: createAuditLog('consumer-test', sink.stream),
    metrics,
    logger: createLogger('consumer-test', 'silent'),
    apply: options.apply ?? recordEffect,
    now,
    ...(options.verifyThreads ? { verifyThreads: options.verifyThreads } : {}),
    ...(options.proofAlgorithms ? { proofAlgorithms: options.proofAlgorithms } : {}),
  });
  const producer: Producer = await embedded.producer();
  t.teardown(async () => {
    await consumer.stop();
    await embedded.close();
    if (!options.db) await db.close();
  });

  const appliedRow = async (eventId: string) => {
    const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM applied WHERE event_id = $1', [eventId]);
    return rows[0];
  };
  return {
    bus: embedded,
    db,
    consumer,
    audit: sink.records,
    metrics: () => metrics.render(),
    publish: (...records: EventRecord[]) => producer.send(TOPIC, records),
    deadLettered: () => embedded.messages(DLQ),
    appliedRow,
    /** Resolves once the event is applied (its effect row exists). */
    applied: (record: EventRecord) => until(() => appliedRow(record.headers.ce_id!), `event ${record.headers.ce_id} applied`),
    processedCount: async (eventId: string) =>
      Number(
        (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_events WHERE event_id = $1', [eventId]))
          .rows[0]!.n,
      ),
  };
}
