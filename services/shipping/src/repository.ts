/**
 * Shipments in SQL. Reads always go through a Visibility (the caller's org, and their own
 * customer id unless admin), so a query cannot forget the tenant filter.
 */
import { randomUUID } from 'node:crypto';
import { type Visibility, visibilityClause, visibilityParams } from '@gatehouse/consumer';
import type { Queryable } from '@gatehouse/sql';
import type { ShippingMethod } from './policy.ts';

export interface NewShipment {
  orderId: string;
  orgId: string;
  customer: string;
  method: ShippingMethod;
  itemsCount: number;
  eventId: string;
}

export interface Shipment {
  id: string;
  order_id: string;
  org_id: string;
  customer: string;
  method: ShippingMethod;
  items_count: number;
  event_id: string;
  created_at: string;
}

const COLUMNS = 'id, order_id, org_id, customer, method, items_count, event_id, created_at';

interface Row extends Omit<Shipment, 'created_at'> {
  created_at: Date;
}

const toShipment = (row: Row): Shipment => ({ ...row, created_at: row.created_at.toISOString() });

/** One shipment per order: a second event for an order already shipped creates nothing (false). */
export async function insertShipment(tx: Queryable, shipment: NewShipment): Promise<boolean> {
  const result = await tx.query(
    `INSERT INTO shipments (id, order_id, org_id, customer, method, items_count, event_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (order_id) DO NOTHING`,
    [
      randomUUID(),
      shipment.orderId,
      shipment.orgId,
      shipment.customer,
      shipment.method,
      shipment.itemsCount,
      shipment.eventId,
    ],
  );
  return result.rowCount === 1;
}

export interface ListOptions {
  orderId?: string;
  limit: number;
}

export async function listShipments(db: Queryable, visibility: Visibility, options: ListOptions): Promise<Shipment[]> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM shipments
     WHERE ${visibilityClause(1)} AND ($3::text IS NULL OR order_id = $3)
     ORDER BY created_at DESC, id
     LIMIT $4`,
    [...visibilityParams(visibility), options.orderId ?? null, options.limit],
  );
  return rows.map(toShipment);
}

export async function findShipment(db: Queryable, visibility: Visibility, id: string): Promise<Shipment | undefined> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM shipments WHERE ${visibilityClause(1)} AND id = $3`,
    [...visibilityParams(visibility), id],
  );
  return rows[0] && toShipment(rows[0]);
}
