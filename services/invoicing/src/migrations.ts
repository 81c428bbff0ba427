import type { Migration } from '@gatehouse/sql';

export const INVOICING_MIGRATIONS: Migration[] = [
  {
    id: '0001_invoicing_invoices',
    sql: `
      -- Invoice numbers run per organisation without gaps: the counter moves in the same
      -- transaction as the invoice it numbers, so a rolled-back invoice takes its number back.
      CREATE TABLE invoice_counters (
        org_id      text   PRIMARY KEY,
        last_number bigint NOT NULL
      );
      CREATE TABLE invoices (
        id             uuid        PRIMARY KEY,
        invoice_number text        NOT NULL,
        order_id       text        NOT NULL UNIQUE,
        org_id         text        NOT NULL,
        customer       text        NOT NULL,
        amount         bigint      NOT NULL CHECK (amount >= 0),
        currency       text        NOT NULL,
        event_id       text        NOT NULL,
        issued_at      timestamptz NOT NULL DEFAULT now(),
        UNIQUE (org_id, invoice_number)
      );
      CREATE INDEX invoices_by_org_customer ON invoices (org_id, customer, issued_at DESC);
    `,
  },
];
