import type { ExchangePolicy } from './exchange-policy.ts';

/** Audiences of the event consumers: a message token names the consumers of its topic. */
export const CONSUMER_AUDIENCES = {
  shipping: 'urn:gatehouse:consumer:shipping',
  invoicing: 'urn:gatehouse:consumer:invoicing',
} as const;

/**
 * The development exchange policy (EXCHANGE_POLICY_FILE replaces it). The gateway turns a user's
 * orders:write into a message token for the order consumers, bound to the sales service's key;
 * sales may do the same for itself. Nothing else can be exchanged.
 */
export function defaultExchangePolicy(messageTtl: number): ExchangePolicy {
  const orderEvents = {
    audiences: [CONSUMER_AUDIENCES.shipping, CONSUMER_AUDIENCES.invoicing],
    scopeMap: { 'orders:write': ['orders.created'] },
    defaultTtl: messageTtl,
    maxTtl: Math.max(messageTtl, 24 * 3600),
    claims: ['org_id', 'subscription_level', 'roles'] as const,
  };
  return {
    clients: {
      gateway: {
        subjectTokenTypes: ['access_token'],
        targets: [{ ...orderEvents, claims: [...orderEvents.claims], cnf: 'required', producers: ['sales'] }],
      },
      sales: {
        subjectTokenTypes: ['access_token'],
        targets: [{ ...orderEvents, claims: [...orderEvents.claims], cnf: 'required', producers: ['self'] }],
      },
    },
  };
}
