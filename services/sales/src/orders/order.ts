/**
 * An order and the event it produces. Pure: ids and the clock are passed in.
 */
import type { EventAttributes } from '@gatehouse/events';
import type { PricedOrder } from '../catalog.ts';
import { ORDER_CREATED } from './message-token.ts';

export const EVENT_SOURCE = 'urn:gatehouse:sales';

export interface Order extends PricedOrder {
  id: string;
  org_id: string;
  /** The user's subject (sub) the order was placed for. */
  customer: string;
  /** RFC 3339, millisecond precision: the same string is the event's ce_time. */
  created_at: string;
}

export interface OrderCreatedEvent {
  attributes: EventAttributes;
  data: Record<string, unknown>;
}

export function orderCreatedEvent(order: Order, eventId: string, subscriptionLevel: string | undefined): OrderCreatedEvent {
  return {
    attributes: { id: eventId, type: ORDER_CREATED, source: EVENT_SOURCE, time: order.created_at, subject: order.id },
    data: {
      order_id: order.id,
      org_id: order.org_id,
      customer: order.customer,
      subscription_level: subscriptionLevel ?? null,
      items: order.items,
      total: order.total,
      currency: order.currency,
      created_at: order.created_at,
    },
  };
}
