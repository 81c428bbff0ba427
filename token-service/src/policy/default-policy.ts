import type { ExchangePolicy } from './exchange-policy.ts';

/** Audiences of the event consumers: a message token names the consumers of its topic. */
export const CONSUMER_AUDIENCES = {
  shipping: 'urn:gatehouse:consumer:shipping',
  invoicing: 'urn:gatehouse:consumer:invoicing',
} as const;

/** What an API key may become: an access token for the API, with the key's own scopes. */
export interface ApiKeyExchangeDefaults {
  /** API_RESOURCE. */
  audience: string;
  /** API_KEY_SCOPES: each maps to itself. */
  scopes: readonly string[];
  /** API_KEY_TOKEN_TTL: both the default and the cap. */
  ttl: number;
}

/**
 * The development exchange policy (EXCHANGE_POLICY_FILE replaces it). The gateway turns a user's
 * orders:write into a message token for the order consumers, bound to the sales service's key;
 * sales may do the same for itself. With apiKeys, the gateway (and only the gateway) may also turn
 * a producer's API key into a short-lived API access token. Nothing else can be exchanged.
 */
export function defaultExchangePolicy(messageTtl: number, apiKeys?: ApiKeyExchangeDefaults): ExchangePolicy {
  const orderEvents = {
    subjectTokenType: 'access_token' as const,
    audiences: [CONSUMER_AUDIENCES.shipping, CONSUMER_AUDIENCES.invoicing],
    scopeMap: { 'orders:write': ['orders.created'] },
    defaultTtl: messageTtl,
    maxTtl: Math.max(messageTtl, 24 * 3600),
    claims: ['org_id', 'subscription_level', 'roles'] as const,
  };
  const apiKeyTargets = apiKeys
    ? [
        {
          subjectTokenType: 'api_key' as const,
          audiences: [apiKeys.audience],
          scopeMap: Object.fromEntries(apiKeys.scopes.map((s) => [s, [s]])),
          defaultTtl: apiKeys.ttl,
          maxTtl: apiKeys.ttl,
          // A key speaks for an org, not a person: no roles, no subscription level.
          claims: ['org_id' as const],
          cnf: 'never' as const,
          producers: [],
        },
      ]
    : [];
  return {
    clients: {
      gateway: {
        subjectTokenTypes: apiKeys ? ['access_token', 'api_key'] : ['access_token'],
        targets: [
          { ...orderEvents, claims: [...orderEvents.claims], cnf: 'required', producers: ['sales'] },
          ...apiKeyTargets,
        ],
      },
      sales: {
        subjectTokenTypes: ['access_token'],
        targets: [{ ...orderEvents, claims: [...orderEvents.claims], cnf: 'required', producers: ['self'] }],
      },
    },
  };
}
