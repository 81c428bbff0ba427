import type { Migration } from '@gatehouse/sql';

export const SHIPPING_MIGRATIONS: Migration[] = [
  {
    id: '0001_shipping_shipments',
    sql: `
      CREATE TABLE shipments (
        id          uuid        PRIMARY KEY,
        order_id    text        NOT NULL UNIQUE,
        org_id      text        NOT NULL,
        customer    text        NOT NULL,
        method      text        NOT NULL CHECK (method IN ('express', 'standard')),
        items_count integer     NOT NULL CHECK (items_count > 0),
        event_id    text        NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX shipments_by_org_customer ON shipments (org_id, customer, created_at DESC);
    `,
  },
];
