/**
 * Shipping's business rule, pure: express shipping is a premium benefit. The subscription level
 * comes from the verified message token's claims (the principal), never from the event data or a
 * header, so nobody who can merely write to the topic can upgrade an order.
 */
import type { Principal } from '@gatehouse/validator';

export type ShippingMethod = 'express' | 'standard';

export function shippingMethod(principal: Pick<Principal, 'subscriptionLevel'>): ShippingMethod {
  return principal.subscriptionLevel === 'premium' ? 'express' : 'standard';
}

/** Pieces to ship: the sum of the order lines' quantities. */
export function itemsCount(items: ReadonlyArray<{ quantity: number }>): number {
  return items.reduce((sum, item) => sum + item.quantity, 0);
}
