/**
 * The shipping service: consumes orders.created and creates one shipment per order, express for
 * premium subscribers; serves GET /shipments to the order's customer and their org's admins.
 */
import {
  type ConsumerService,
  type ConsumerServiceDeps,
  buildConsumerService,
  orderCreated,
  registerReadRoutes,
} from '@gatehouse/consumer';
import type { AcceptedEvent } from '@gatehouse/events';
import type { Queryable } from '@gatehouse/sql';
import type { ShippingConfig } from './config.ts';
import { SHIPPING_MIGRATIONS } from './migrations.ts';
import { itemsCount, shippingMethod } from './policy.ts';
import { findShipment, insertShipment, listShipments, type Shipment } from './repository.ts';

export const SHIPMENTS_SCOPE = 'shipments:read';

/** The business effect of one accepted event, in the transaction that records its id. */
export async function applyShipping(event: AcceptedEvent, tx: Queryable): Promise<void> {
  const { order, principal, eventId } = orderCreated(event);
  await insertShipment(tx, {
    orderId: order.order_id,
    orgId: order.org_id,
    customer: principal.sub,
    method: shippingMethod(principal),
    itemsCount: itemsCount(order.items),
    eventId,
  });
}

export type ShippingService = ConsumerService;

export function buildShippingService(config: ShippingConfig, deps: ConsumerServiceDeps): Promise<ShippingService> {
  return buildConsumerService(
    {
      migrations: SHIPPING_MIGRATIONS,
      apply: applyShipping,
      routes(api, db) {
        registerReadRoutes<Shipment>(api, {
          collection: 'shipments',
          resource: 'shipment',
          scope: SHIPMENTS_SCOPE,
          list: (visibility, options) => listShipments(db, visibility, options),
          find: (visibility, id) => findShipment(db, visibility, id),
        });
      },
    },
    config,
    deps,
  );
}
