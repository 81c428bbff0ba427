/**
 * The orders.created event as the consumers read it. The verifier has already proved who sent the
 * data and for whom; this checks that it has the shape the type promises, and ties it to the
 * principal: the business logic takes identity from the message token's claims, and data that
 * names another customer than the token's subject is refused rather than silently trusted.
 */
import type { AcceptedEvent } from '@gatehouse/events';
import type { Principal } from '@gatehouse/validator';
import { z } from 'zod';
import { EventRejected } from './rejection.ts';

export const ORDER_CREATED = 'orders.created';

const minorUnits = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

// Not .strict(): a producer may add members; consumers read only what they know.
const orderCreatedData = z.object({
  order_id: z.string().min(1).max(128),
  org_id: z.string().min(1).max(128),
  customer: z.string().min(1).max(255),
  items: z
    .array(
      z.object({
        sku: z.string().min(1).max(64),
        quantity: z.number().int().min(1),
        unit_price: minorUnits,
      }),
    )
    .min(1),
  total: minorUnits,
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code'),
  created_at: z.iso.datetime({ offset: true }),
});

export type OrderCreatedData = z.output<typeof orderCreatedData>;

/** The order, and the principal it was placed for (the only identity the consumers act on). */
export interface OrderCreated {
  eventId: string;
  order: OrderCreatedData;
  principal: Principal;
}

export function orderCreated(event: AcceptedEvent): OrderCreated {
  if (event.attributes.type !== ORDER_CREATED) {
    throw new EventRejected('ERR_EVENT_TYPE_UNSUPPORTED', `event type ${event.attributes.type} is not handled`);
  }
  const parsed = orderCreatedData.safeParse(event.data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'data';
    throw new EventRejected('ERR_EVENT_DATA_INVALID', `${where}: ${issue?.message ?? 'invalid'}`);
  }
  // An invoice whose lines do not add up to its total is a producer bug, not something to bill.
  const sum = parsed.data.items.reduce((total, item) => total + item.quantity * item.unit_price, 0);
  if (sum !== parsed.data.total) {
    throw new EventRejected('ERR_EVENT_DATA_INVALID', 'total differs from the sum of the items');
  }
  // ce_subject is the key Kafka ordered this record by; an order id elsewhere would be a producer bug.
  if (event.attributes.subject !== undefined && event.attributes.subject !== parsed.data.order_id) {
    throw new EventRejected('ERR_EVENT_DATA_INVALID', 'order_id differs from the event subject');
  }
  if (parsed.data.customer !== event.principal.sub) {
    throw new EventRejected('ERR_EVENT_SUBJECT_MISMATCH', "the order's customer is not the message token's subject");
  }
  return { eventId: event.attributes.id, order: parsed.data, principal: event.principal };
}
