/** Token type identifiers: JOSE typ values and RFC 8693 token type URIs. */
export const TYP = {
  access: 'at+jwt',
  /** Message tokens ride on Kafka events; their own typ keeps them from passing as access tokens. */
  message: 'message+jwt',
  /** Replay grants: a producer's short-lived authority to re-publish events (grants/replay-grant.ts). */
  replay: 'replay+jwt',
} as const;

export const TOKEN_TYPE = {
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
} as const;

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
