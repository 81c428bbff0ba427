import type { Metrics } from '@gatehouse/observability';
import { Counter, Histogram } from 'prom-client';

export type TokenServiceMetrics = ReturnType<typeof tokenServiceMetrics>;

export function tokenServiceMetrics({ registry }: Metrics) {
  const registers = [registry];
  return {
    tokensIssued: new Counter({
      name: 'gatehouse_tokens_issued_total',
      help: 'Tokens issued, by kind and client',
      labelNames: ['kind', 'client'],
      registers,
    }),
    exchanges: new Counter({
      name: 'gatehouse_token_exchanges_total',
      help: 'Token exchange requests, by client, outcome and reason',
      labelNames: ['client', 'outcome', 'reason'],
      registers,
    }),
    exchangeSeconds: new Histogram({
      name: 'gatehouse_token_exchange_duration_seconds',
      help: 'Time spent deciding and minting a token exchange',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers,
    }),
    logins: new Counter({
      name: 'gatehouse_logins_total',
      help: 'Login attempts by outcome',
      labelNames: ['outcome'],
      registers,
    }),
    lockouts: new Counter({
      name: 'gatehouse_login_lockouts_total',
      help: 'Logins refused because an account or source IP is locked out, by scope',
      labelNames: ['scope'],
      registers,
    }),
    clientAuthFailures: new Counter({
      name: 'gatehouse_client_auth_failures_total',
      help: 'Failed client authentications by endpoint',
      labelNames: ['endpoint'],
      registers,
    }),
    revocations: new Counter({
      name: 'gatehouse_token_revocations_total',
      help: 'Tokens revoked, by kind',
      labelNames: ['kind'],
      registers,
    }),
    apiKeys: new Counter({
      name: 'gatehouse_api_keys_total',
      help: 'API key events (created, revoked, exchanged, refused), by reason',
      labelNames: ['event', 'reason'],
      registers,
    }),
    rateLimited: new Counter({
      name: 'gatehouse_rate_limited_total',
      help: 'Requests refused by a rate limit, by limit',
      labelNames: ['limit'],
      registers,
    }),
  };
}
