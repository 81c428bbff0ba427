/**
 * Orders in SQL. Placing an order writes the order and its outbox row in one transaction: both or
 * neither, so an accepted order always has its event, and an event never names a missing order.
 */
import type { Database, Queryable } from '@gatehouse/sql';
import type { PricedItem } from '../catalog.ts';
import type { NewOutboxEvent } from '../outbox/store.ts';
import { insertOutboxEvent } from '../outbox/store.ts';
import type { Order } from './order.ts';

interface OrderRow {
  id: string;
  org_id: string;
  customer_sub: string;
  items: PricedItem[];
  total: number;
  currency: string;
  created_at: Date;
}

const COLUMNS = 'id, org_id, customer_sub, items, total, currency, created_at';

function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    org_id: row.org_id,
    customer: row.customer_sub,
    items: row.items,
    total: row.total,
    currency: row.currency,
    created_at: row.created_at.toISOString(),
  };
}

async function insertOrder(tx: Queryable, order: Order): Promise<void> {
  await tx.query(
    `INSERT INTO orders (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    // items as JSON text: both drivers then hand PostgreSQL the same jsonb input.
    [order.id, order.org_id, order.customer, JSON.stringify(order.items), order.total, order.currency, order.created_at],
  );
}

export async function placeOrder(db: Database, order: Order, event: NewOutboxEvent): Promise<void> {
  await db.transaction(async (tx) => {
    await insertOrder(tx, order);
    await insertOutboxEvent(tx, event);
  });
}

/** Who may see which orders: always one organisation; a customer too unless the caller is an admin. */
export interface OrderScope {
  orgId: string;
  /** Set for non-admins: only their own orders. */
  customer?: string;
}

function scopeClause(scope: OrderScope, first: number): { sql: string; params: string[] } {
  if (scope.customer === undefined) return { sql: `org_id = $${first}`, params: [scope.orgId] };
  return { sql: `org_id = $${first} AND customer_sub = $${first + 1}`, params: [scope.orgId, scope.customer] };
}

export async function listOrders(db: Database, scope: OrderScope, limit: number): Promise<Order[]> {
  const where = scopeClause(scope, 1);
  const { rows } = await db.query<OrderRow>(
    `SELECT ${COLUMNS} FROM orders WHERE ${where.sql} ORDER BY created_at DESC, id LIMIT $${where.params.length + 1}`,
    [...where.params, limit],
  );
  return rows.map(toOrder);
}

/** Undefined both when it does not exist and when it is outside the scope: callers answer 404 alike. */
export async function findOrder(db: Database, id: string, scope: OrderScope): Promise<Order | undefined> {
  const where = scopeClause(scope, 2);
  const { rows } = await db.query<OrderRow>(`SELECT ${COLUMNS} FROM orders WHERE id = $1 AND ${where.sql}`, [
    id,
    ...where.params,
  ]);
  return rows[0] && toOrder(rows[0]);
}
