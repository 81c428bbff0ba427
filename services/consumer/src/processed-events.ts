/**
 * Exactly-once in effect over at-least-once delivery: a consumer claims an event id in the same
 * transaction as its business effect. A redelivered or replayed event finds its id and is skipped.
 *
 * The key is (consumer, event_id), not event_id alone: shipping and invoicing must each process
 * every event, and nothing stops an operator from giving both one database. The row is written
 * with ON CONFLICT DO NOTHING, so on PostgreSQL two deliveries racing on two replicas serialise on
 * the primary key: the second waits for the first to commit and then sees the conflict.
 */
import type { Migration, Queryable } from '@gatehouse/sql';

export const PROCESSED_EVENTS_MIGRATION: Migration = {
  id: '0001_consumer_processed_events',
  sql: `
    CREATE TABLE IF NOT EXISTS processed_events (
      consumer     text        NOT NULL,
      event_id     text        NOT NULL,
      type         text        NOT NULL,
      basis        text        NOT NULL CHECK (basis IN ('fresh', 'replay')),
      processed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, event_id)
    );
  `,
};

export interface ProcessedEvent {
  consumer: string;
  eventId: string;
  type: string;
  basis: 'fresh' | 'replay';
}

/** True when this call recorded the id (first delivery), false when it was already there. */
export async function claimEvent(tx: Queryable, event: ProcessedEvent): Promise<boolean> {
  const result = await tx.query(
    `INSERT INTO processed_events (consumer, event_id, type, basis)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (consumer, event_id) DO NOTHING`,
    [event.consumer, event.eventId, event.type, event.basis],
  );
  return result.rowCount === 1;
}
