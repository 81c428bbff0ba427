/**
 * Invoices in SQL. Reads always go through a Visibility (the caller's org, and their own customer
 * id unless admin), so a query cannot forget the tenant filter.
 */
import { randomUUID } from 'node:crypto';
import { type Visibility, visibilityClause, visibilityParams } from '@gatehouse/consumer';
import type { Queryable } from '@gatehouse/sql';
import { invoiceNumber } from './numbering.ts';

export interface NewInvoice {
  orderId: string;
  orgId: string;
  customer: string;
  /** Minor units (cents), the order total. */
  amount: number;
  currency: string;
  eventId: string;
}

export interface Invoice {
  id: string;
  invoice_number: string;
  order_id: string;
  org_id: string;
  customer: string;
  amount: number;
  currency: string;
  event_id: string;
  issued_at: string;
}

const COLUMNS = 'id, invoice_number, order_id, org_id, customer, amount, currency, event_id, issued_at';

interface Row extends Omit<Invoice, 'issued_at'> {
  issued_at: Date;
}

const toInvoice = (row: Row): Invoice => ({ ...row, amount: Number(row.amount), issued_at: row.issued_at.toISOString() });

/**
 * One invoice per order: an order already invoiced (by another event id) gets nothing new, and
 * takes no number. Two replicas racing on one order meet the order_id unique constraint: the
 * loser's transaction fails, is retried, and then finds the invoice.
 */
export async function insertInvoice(tx: Queryable, invoice: NewInvoice): Promise<Invoice | undefined> {
  const existing = await tx.query('SELECT 1 FROM invoices WHERE order_id = $1', [invoice.orderId]);
  if (existing.rowCount > 0) return undefined;
  // The row lock on the org's counter serialises numbering per org until this transaction ends.
  const { rows } = await tx.query<{ last_number: number }>(
    `INSERT INTO invoice_counters (org_id, last_number) VALUES ($1, 1)
     ON CONFLICT (org_id) DO UPDATE SET last_number = invoice_counters.last_number + 1
     RETURNING last_number`,
    [invoice.orgId],
  );
  const inserted = await tx.query<Row>(
    `INSERT INTO invoices (id, invoice_number, order_id, org_id, customer, amount, currency, event_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     RETURNING ${COLUMNS}`,
    [
      randomUUID(),
      invoiceNumber(Number(rows[0]!.last_number)),
      invoice.orderId,
      invoice.orgId,
      invoice.customer,
      invoice.amount,
      invoice.currency,
      invoice.eventId,
    ],
  );
  return toInvoice(inserted.rows[0]!);
}

export interface ListOptions {
  orderId?: string;
  limit: number;
}

export async function listInvoices(db: Queryable, visibility: Visibility, options: ListOptions): Promise<Invoice[]> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM invoices
     WHERE ${visibilityClause(1)} AND ($3::text IS NULL OR order_id = $3)
     ORDER BY issued_at DESC, id
     LIMIT $4`,
    [...visibilityParams(visibility), options.orderId ?? null, options.limit],
  );
  return rows.map(toInvoice);
}

export async function findInvoice(db: Queryable, visibility: Visibility, id: string): Promise<Invoice | undefined> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM invoices WHERE ${visibilityClause(1)} AND id = $3`, [
    ...visibilityParams(visibility),
    id,
  ]);
  return rows[0] && toInvoice(rows[0]);
}
