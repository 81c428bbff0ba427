/**
 * The outbox relay: publishes committed outbox rows to the event bus in seq order and marks them
 * sent only after the broker acknowledged them. Kafka down: orders are still accepted (they only
 * need the database), rows wait, the relay retries with exponential backoff and publishes on
 * recovery. A row is never skipped: a pass stops at the first failure, so nothing after it is sent
 * before it.
 *
 * At least once, not exactly once: a crash (or a lost ack) between the broker's ack and marking the
 * row sent re-publishes it. That is safe by design: the consumers dedupe on ce_id.
 *
 * One active relay per database. On PostgreSQL a pass runs in a transaction holding a
 * transaction-scoped advisory lock (a second replica's pass finds it taken and does nothing), and
 * its rows are taken FOR UPDATE SKIP LOCKED, so even a relay without the lock could not take rows
 * another holds. The embedded database belongs to one process, whose passes run one at a time.
 */
import type { Producer } from '@gatehouse/event-bus';
import type { Logger } from '@gatehouse/observability';
import type { Database, Queryable } from '@gatehouse/sql';
import { type Backoff, backoffDelay } from './backoff.ts';
import { countPending, markFailed, markSent, type OutboxEvent, pendingEvents } from './store.ts';

// Not the migrations' lock: a relay pass must never wait behind a migration (or the reverse).
const RELAY_LOCK = 0x6f75_7462; // "outb"

export interface RelayMetrics {
  published(count: number): void;
  failed(count: number, reason: string): void;
  pending(count: number): void;
}

export interface RelayOptions {
  db: Database;
  /** The bus' producer; called again after a failure (a producer that could not connect). */
  producer: () => Promise<Producer>;
  batchSize: number;
  pollMs: number;
  backoff: Backoff;
  metrics?: RelayMetrics;
  logger?: Pick<Logger, 'info' | 'warn'>;
  random?: () => number;
}

export interface PassResult {
  published: number;
  /** More rows may be waiting (the batch was full). */
  more: boolean;
  error?: unknown;
}

export interface Relay {
  /** Starts polling every pollMs (at once first). */
  start(): void;
  /** Stops polling and waits for a pass in progress. */
  stop(): Promise<void>;
  /** Publishes everything pending now; resolves with the count, rejects with the bus' error. */
  flush(): Promise<number>;
  /** New rows were committed: publish soon (unless backing off after a failure). */
  notify(): void;
  /** Consecutive failed passes (0 when healthy). */
  readonly failures: number;
}

function reasonOf(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown } | null;
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.name === 'string' ? e.name : 'error';
}

/** Consecutive rows of one topic, in order: one send each. */
function byTopic(rows: OutboxEvent[]): OutboxEvent[][] {
  const runs: OutboxEvent[][] = [];
  for (const row of rows) {
    const last = runs.at(-1);
    if (last && last[0]!.topic === row.topic) last.push(row);
    else runs.push([row]);
  }
  return runs;
}

export function createRelay(options: RelayOptions): Relay {
  const { db, batchSize } = options;
  let producer: Promise<Producer> | undefined;
  let failures = 0;
  let started = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  const getProducer = () => {
    producer ??= options.producer().catch((error: unknown) => {
      producer = undefined;
      throw error;
    });
    return producer;
  };

  /** Sends rows in order; returns how many were acknowledged before a failure (and the failure). */
  async function send(rows: OutboxEvent[]): Promise<{ sent: OutboxEvent[]; error?: unknown }> {
    const sent: OutboxEvent[] = [];
    try {
      const p = await getProducer();
      for (const run of byTopic(rows)) {
        await p.send(
          run[0]!.topic,
          run.map((row) => ({ key: row.key, value: row.value, headers: row.headers })),
        );
        sent.push(...run);
      }
      return { sent };
    } catch (error) {
      return { sent, error };
    }
  }

  async function publish(q: Queryable, rows: OutboxEvent[]): Promise<PassResult> {
    const { sent, error } = await send(rows);
    if (sent.length > 0) await markSent(q, sent.map((r) => r.seq));
    const unsent = rows.slice(sent.length);
    if (error !== undefined) await markFailed(q, unsent.map((r) => r.seq), reasonOf(error));
    return { published: sent.length, more: rows.length === batchSize, ...(error === undefined ? {} : { error }) };
  }

  async function pass(): Promise<PassResult> {
    if (db.kind === 'embedded') {
      const rows = await pendingEvents(db, batchSize, false);
      return rows.length === 0 ? { published: 0, more: false } : publish(db, rows);
    }
    return db.transaction(async (tx) => {
      const { rows: lock } = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [RELAY_LOCK]);
      if (!lock[0]?.ok) return { published: 0, more: false };
      const rows = await pendingEvents(tx, batchSize, true);
      return rows.length === 0 ? { published: 0, more: false } : publish(tx, rows);
    });
  }

  /** Passes until nothing is left or one fails. */
  async function drain(): Promise<{ published: number; error?: unknown }> {
    let published = 0;
    for (;;) {
      let result: PassResult;
      try {
        result = await pass();
      } catch (error) {
        // The database itself failed (not the bus): same backoff, rows untouched.
        result = { published: 0, more: false, error };
      }
      published += result.published;
      if (result.published > 0) options.metrics?.published(result.published);
      if (result.error !== undefined) {
        failures += 1;
        options.metrics?.failed(1, reasonOf(result.error));
        options.logger?.warn({ err: result.error, failures }, 'outbox relay: publish failed, will retry');
        await updatePending();
        return { published, error: result.error };
      }
      failures = 0;
      if (!result.more) break;
    }
    await updatePending();
    return { published };
  }

  async function updatePending(): Promise<void> {
    if (!options.metrics) return;
    try {
      options.metrics.pending(await countPending(db));
    } catch {
      // A database that cannot count is already reported by readiness.
    }
  }

  /** Passes never overlap: flush(), notify() and the poll timer all queue here. */
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  }

  function schedule(delayMs: number): void {
    if (!started || stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, delayMs);
    // Polling alone must not keep a process alive (tests, shutdown).
    timer.unref();
  }

  function tick(): void {
    void exclusive(drain).then((outcome) => {
      schedule(outcome.error === undefined ? options.pollMs : backoffDelay(failures, options.backoff, options.random));
    });
  }

  return {
    start() {
      if (started) return;
      started = true;
      schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await queue;
    },
    async flush() {
      const outcome = await exclusive(drain);
      if (outcome.error !== undefined) throw outcome.error;
      return outcome.published;
    },
    notify() {
      if (failures === 0) schedule(0);
    },
    get failures() {
      return failures;
    },
  };
}
