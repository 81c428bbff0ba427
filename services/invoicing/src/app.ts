/**
 * The invoicing service: consumes orders.created and issues one invoice per order for the order's
 * total; serves GET /invoices to the order's customer and their org's admins.
 */
import {
  buildConsumerService,
  type ConsumerService,
  type ConsumerServiceDeps,
  orderCreated,
  registerReadRoutes,
} from '@gatehouse/consumer';
import type { AcceptedEvent } from '@gatehouse/events';
import type { Queryable } from '@gatehouse/sql';
import type { InvoicingConfig } from './config.ts';
import { INVOICING_MIGRATIONS } from './migrations.ts';
import { findInvoice, insertInvoice, type Invoice, listInvoices } from './repository.ts';

export const INVOICES_SCOPE = 'invoices:read';

/** The business effect of one accepted event, in the transaction that records its id. */
export async function applyInvoicing(event: AcceptedEvent, tx: Queryable): Promise<void> {
  const { order, principal, eventId } = orderCreated(event);
  await insertInvoice(tx, {
    orderId: order.order_id,
    orgId: order.org_id,
    customer: principal.sub,
    // The producer computed the total from its own price list; the event proof vouches for it.
    amount: order.total,
    currency: order.currency,
    eventId,
  });
}

export type InvoicingService = ConsumerService;

export function buildInvoicingService(config: InvoicingConfig, deps: ConsumerServiceDeps): Promise<InvoicingService> {
  return buildConsumerService(
    {
      migrations: INVOICING_MIGRATIONS,
      apply: applyInvoicing,
      routes(api, db) {
        registerReadRoutes<Invoice>(api, {
          collection: 'invoices',
          resource: 'invoice',
          scope: INVOICES_SCOPE,
          list: (visibility, options) => listInvoices(db, visibility, options),
          find: (visibility, id) => findInvoice(db, visibility, id),
        });
      },
    },
    config,
    deps,
  );
}
