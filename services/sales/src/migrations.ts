/**
 * The sales schema. Forward-only (packages/sql migrate); never edit an applied migration, add one.
 *
 * outbox holds each event exactly as it goes on the wire (value bytes and headers), so the relay
 * re-sends the very record whose proof was signed, and the message token it carries, so an admin
 * replay can re-seal it later. The message token is a credential for the consumers only (typ
 * message+jwt, bound to our key by cnf): it is not accepted as an access token anywhere.
 */
import type { Migration } from '@gatehouse/sql';

export const MIGRATIONS: Migration[] = [
  {
    id: 'sales_0001_orders_outbox',
    sql: `
      CREATE TABLE orders (
        id uuid PRIMARY KEY,
        org_id text NOT NULL,
        customer_sub text NOT NULL,
        items jsonb NOT NULL,
        total bigint NOT NULL CHECK (total >= 0),
        currency text NOT NULL,
        created_at timestamptz NOT NULL
      );
      CREATE INDEX orders_by_org ON orders (org_id, created_at DESC, id);
      CREATE INDEX orders_by_customer ON orders (org_id, customer_sub, created_at DESC, id);

      CREATE TABLE outbox (
        seq bigserial PRIMARY KEY,
        event_id uuid NOT NULL UNIQUE,
        order_id uuid NOT NULL REFERENCES orders (id),
        topic text NOT NULL,
        record_key text NOT NULL,
        value bytea NOT NULL,
        headers json NOT NULL,
        attributes json NOT NULL,
        message_token text NOT NULL,
        event_time timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        last_error text
      );
      CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
      CREATE INDEX outbox_by_time ON outbox (event_time, seq);
    `,
  },
];
