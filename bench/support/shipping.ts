/**
 * bench:events' consumer rows: the shipping consumer as it runs (services/consumer's startConsumer
 * with shipping's effect: per record one transaction that records the event id and inserts the
 * shipment), once with the consumers' verifier and once with a verifier that checks nothing.
 * Each round gets a fresh database, so every record is applied (none is a duplicate).
 */
import { DEFAULT_EXPIRY_POLICY, PROCESSED_EVENTS_MIGRATION, startConsumer } from '@gatehouse/consumer';
import type { EventBus } from '@gatehouse/event-bus';
import { type AcceptedEvent, decodeEvent, type EventRecord } from '@gatehouse/events';
import { createAuditLog, createLogger, createMetrics, memoryAuditSink } from '@gatehouse/observability';
import { applyShipping, SHIPPING_MIGRATIONS } from '@gatehouse/shipping';
import { type Database, migrate, openDatabase } from '@gatehouse/sql';
import { findPostgresBin, startPostgres } from '@gatehouse/sql/testing';
import type { Principal, Validator } from '@gatehouse/validator';
import { decodeJwt } from 'jose';
import type { Test } from 'tap';
import { BenchError } from './children.ts';

export interface BenchDatabase {
  /** What the header prints: which database, and how it runs. */
  kind: string;
  /** The server's main process (PostgreSQL), for its CPU; undefined in process (PGlite). */
  pid: number | undefined;
  /** A new, migrated database for one round, closed by the caller (the server and its files go at the end). */
  fresh(): Promise<Database>;
}

/**
 * PostgreSQL (Debian's server, started as the tests start it) when installed and BENCH_DATABASE is
 * not `embedded`; else PGlite in process, the all-in-one default.
 */
export async function openBenchDatabase(cleanup: Array<() => Promise<unknown>>): Promise<BenchDatabase> {
  const migrations = [PROCESSED_EVENTS_MIGRATION, ...SHIPPING_MIGRATIONS];
  const wanted = process.env.BENCH_DATABASE?.trim() || 'postgres';
  if (wanted !== 'postgres' && wanted !== 'embedded') {
    throw new BenchError(`BENCH_DATABASE=${wanted}: expected postgres or embedded`);
  }
  if (wanted === 'postgres' && findPostgresBin() !== undefined) {
    // startPostgres takes a tap test for its teardown only.
    const server = await startPostgres({ teardown: (stop: () => Promise<void>) => cleanup.push(stop) } as unknown as Test);
    let count = 0;
    return {
      kind: "PostgreSQL (Debian's server on loopback, as the tests start it: fsync and synchronous_commit off), a pool of 10",
      pid: server.pid,
      async fresh() {
        const db = await openDatabase({ url: await server.createDatabase(`bench_${process.pid}_${++count}`) });
        await migrate(db, migrations);
        return db;
      },
    };
  }
  return {
    kind: `PGlite in process (${wanted === 'embedded' ? 'BENCH_DATABASE=embedded' : 'no PostgreSQL server installed'})`,
    pid: undefined,
    async fresh() {
      const db = await openDatabase();
      await migrate(db, migrations);
      return db;
    },
  };
}

/**
 * "Validation off" for the consumer: the envelope decoded as the verifier decodes it, the principal
 * read from the message token's claims without checking anything (no signature, proof, digest,
 * binding, scope, org or expiry). What a consumer that trusted its topic would do.
 */
export function trustingVerifier(): { verify(record: EventRecord): Promise<AcceptedEvent> } {
  return {
    async verify(record) {
      const event = decodeEvent(record);
      const claims = decodeJwt(event.messageToken ?? '');
      const principal: Principal = {
        kind: 'message',
        sub: String(claims.sub),
        scopes: typeof claims.scope === 'string' ? claims.scope.split(' ') : [],
        roles: [],
        jti: String(claims.jti),
        iat: Number(claims.iat),
        exp: Number(claims.exp),
        claims,
        tokenHash: '',
      };
      if (typeof claims.org_id === 'string') principal.orgId = claims.org_id;
      if (typeof claims.subscription_level === 'string') principal.subscriptionLevel = claims.subscription_level;
      return { attributes: event.attributes, data: event.data, principal, basis: 'fresh' };
    },
  };
}

export interface ShippingRound {
  bus: EventBus;
  /** A fresh, migrated database (BenchDatabase.fresh), closed by the caller. */
  db: Database;
  topic: string;
  audience: string;
  validator: Validator;
  verifier: { verify(record: EventRecord): Promise<AcceptedEvent> };
  count: number;
  label: string;
  timeoutMs: number;
}

/**
 * Reads every record once with the shipping consumer in a fresh group over a fresh database;
 * events/s from the first shipment inserted to the last. Any refusal ends the round with an error.
 */
export async function consumeWithShipping(round: ShippingRound): Promise<number> {
  const { db } = round;
  let applied = 0;
  let first = 0;
  let last = 0;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const audit = memoryAuditSink();
  const consumer = await startConsumer({
      name: 'shipping',
      audience: round.audience,
      topic: round.topic,
      dlqTopic: `${round.topic}.shipping.dlq`,
      groupId: `bench-${round.label}-${crypto.randomUUID()}`,
      bus: round.bus,
      db,
      validator: round.validator,
      policy: DEFAULT_EXPIRY_POLICY,
      audit: createAuditLog('bench-shipping', audit.stream),
      // Its counters only: the process-wide default metrics would be registered again every round.
      metrics: createMetrics('bench-shipping', { defaults: false }),
      logger: createLogger('bench-shipping', 'silent'),
      async apply(event, tx) {
        await applyShipping(event, tx);
        if (applied === 0) first = performance.now();
        applied += 1;
        if (applied === round.count) {
          last = performance.now();
          finish();
        }
      },
      verifier: round.verifier,
    });
    const timer = setTimeout(finish, round.timeoutMs);
    // A refused record is dead-lettered and audited: end the round at once.
    const watch = setInterval(() => audit.records.length > 0 && finish(), 100);
    await done;
    clearTimeout(timer);
    clearInterval(watch);
    await consumer.stop();
    const refused = audit.records.find((record) => record.event === 'event.refused');
    if (refused) throw new BenchError(`${round.label}: a record was refused (${String(refused.reason)})`);
    if (applied < round.count) throw new BenchError(`${round.label}: only ${applied} of ${round.count} records within ${round.timeoutMs} ms`);
  return (round.count / (last - first)) * 1000;
}
