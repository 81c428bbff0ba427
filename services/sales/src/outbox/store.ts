/**
 * The outbox table: events waiting to be published (sent_at null) and every event ever published,
 * kept for replay. Rows are read in seq order, which is the order they were committed in.
 */
import type { EventAttributes, EventRecord } from '@gatehouse/events';
import type { Database, Queryable } from '@gatehouse/sql';

export interface NewOutboxEvent {
  orderId: string;
  topic: string;
  record: EventRecord;
  attributes: EventAttributes;
  messageToken: string;
}

export interface OutboxEvent {
  seq: number;
  eventId: string;
  orderId: string;
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  attributes: EventAttributes;
  messageToken: string;
  eventTime: Date;
  sentAt: Date | null;
  attempts: number;
}

interface OutboxRow {
  seq: number;
  event_id: string;
  order_id: string;
  topic: string;
  record_key: string;
  value: Buffer;
  headers: Record<string, string>;
  attributes: EventAttributes;
  message_token: string;
  event_time: Date;
  sent_at: Date | null;
  attempts: number;
}

const COLUMNS =
  'seq, event_id, order_id, topic, record_key, value, headers, attributes, message_token, event_time, sent_at, attempts';

function toEvent(row: OutboxRow): OutboxEvent {
  return {
    seq: row.seq,
    eventId: row.event_id,
    orderId: row.order_id,
    topic: row.topic,
    key: row.record_key,
    value: row.value,
    headers: row.headers,
    attributes: row.attributes,
    messageToken: row.message_token,
    eventTime: row.event_time,
    sentAt: row.sent_at,
    attempts: row.attempts,
  };
}

export async function insertOutboxEvent(tx: Queryable, event: NewOutboxEvent): Promise<void> {
  await tx.query(
    `INSERT INTO outbox (event_id, order_id, topic, record_key, value, headers, attributes, message_token, event_time)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      event.attributes.id,
      event.orderId,
      event.topic,
      event.record.key ?? event.orderId,
      event.record.value,
      // json, not jsonb: the stored text is the header set exactly as sealed.
      JSON.stringify(event.record.headers),
      JSON.stringify(event.attributes),
      event.messageToken,
      event.attributes.time,
    ],
  );
}

/**
 * The oldest unsent rows. With lock (PostgreSQL, inside a transaction) they are row-locked and rows
 * another relay holds are skipped, so two replicas never publish the same row at the same time.
 */
export async function pendingEvents(q: Queryable, limit: number, lock: boolean): Promise<OutboxEvent[]> {
  const { rows } = await q.query<OutboxRow>(
    `SELECT ${COLUMNS} FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT $1${lock ? ' FOR UPDATE SKIP LOCKED' : ''}`,
    [limit],
  );
  return rows.map(toEvent);
}

export async function markSent(q: Queryable, seqs: number[]): Promise<void> {
  await q.query('UPDATE outbox SET sent_at = now(), last_error = NULL WHERE seq = ANY($1::bigint[])', [seqs]);
}

/** Kept for operators (how often, and why): the rows stay pending and are retried. */
export async function markFailed(q: Queryable, seqs: number[], reason: string): Promise<void> {
  await q.query('UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = ANY($1::bigint[])', [
    seqs,
    reason.slice(0, 500),
  ]);
}

export async function countPending(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL');
  return rows[0]?.n ?? 0;
}

export interface ReplaySelection {
  /** Events of this organisation's orders only. */
  orgId: string;
  /** RFC 3339; events whose ce_time is at or after it. */
  from?: string;
  /** RFC 3339; events whose ce_time is at or before it. */
  to?: string;
  orderIds?: string[];
}

/** Stored events in seq order, at most limit + 1 (so the caller can tell "too many"). */
export async function eventsForReplay(db: Database, selection: ReplaySelection, limit: number): Promise<OutboxEvent[]> {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    conditions.push(sql(params.length));
  };
  add((n) => `order_id IN (SELECT id FROM orders WHERE org_id = $${n})`, selection.orgId);
  if (selection.from !== undefined) add((n) => `event_time >= $${n}`, selection.from);
  if (selection.to !== undefined) add((n) => `event_time <= $${n}`, selection.to);
  if (selection.orderIds !== undefined) add((n) => `order_id = ANY($${n}::uuid[])`, selection.orderIds);
  params.push(limit + 1);
  const { rows } = await db.query<OutboxRow>(`SELECT ${COLUMNS} FROM outbox WHERE ${conditions.join(' AND ')} ORDER BY seq LIMIT $${params.length}`, params);
  return rows.map(toEvent);
}

export async function eventOf(db: Queryable, orderId: string): Promise<OutboxEvent | undefined> {
  const { rows } = await db.query<OutboxRow>(`SELECT ${COLUMNS} FROM outbox WHERE order_id = $1 ORDER BY seq LIMIT 1`, [orderId]);
  return rows[0] && toEvent(rows[0]);
}
