/**
 * A real token service with the demo users logged in (authorization code + PKCE through the login
 * form), message tokens minted by the token exchange exactly as the gateway does it, and sales
 * services built against it on the database and bus a test chooses.
 */
import { join } from 'node:path';
import { type EventBus } from '@gatehouse/event-bus';
import { memoryAuditSink } from '@gatehouse/observability';
import type { Database } from '@gatehouse/sql';
import type { Test } from 'tap';
import { exchange, loginWithCode, oauthClient } from '../../../../token-service/test/support/oauth.ts';
import { startTokenService } from '../../../../token-service/test/support/token-service.ts';
import { buildSalesService, type SalesService } from '../../src/app.ts';
import { loadSalesConfig } from '../../src/config.ts';

export const CONSUMERS = ['urn:gatehouse:consumer:shipping', 'urn:gatehouse:consumer:invoicing'];
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface Stack {
  issuer: string;
  /** The token service's client keys directory (sales.private.jwk.json, sales.jwks.json). */
  clientsDir: string;
  tokens: {
    alice: string;
    bob: string;
    carol: string;
    admin: string;
    /** alice with orders:read only */
    aliceReadOnly: string;
    /** alice with orders:write only */
    aliceWriteOnly: string;
  };
  /** The gateway's exchange: access token → message token for the order consumers, bound to sales. */
  messageToken(accessToken: string): Promise<string>;
}

export async function startStack(t: Test, env: Record<string, string> = {}): Promise<Stack> {
  const { issuer, dir } = await startTokenService(t, env);
  const gateway = await oauthClient(issuer, 'gateway');
  const login = async (user: string, scope?: string) =>
    (await loginWithCode(issuer, user, undefined, scope)).tokens.access_token;
  const tokens = {
    alice: await login('alice'),
    bob: await login('bob'),
    carol: await login('carol'),
    admin: await login('admin'),
    aliceReadOnly: await login('alice', 'openid orders:read'),
    aliceWriteOnly: await login('alice', 'openid orders:write'),
  };
  return {
    issuer,
    clientsDir: join(dir, 'clients'),
    tokens,
    async messageToken(accessToken) {
      const answer = await exchange(gateway, {
        subject_token: accessToken,
        subject_token_type: ACCESS_TOKEN_TYPE,
        audience: CONSUMERS,
        producer: 'sales',
      });
      return answer.access_token;
    },
  };
}

export interface SalesUnderTest extends SalesService {
  audit: Array<Record<string, unknown>>;
}

export async function buildSales(
  t: Test,
  stack: Stack,
  options: { db?: Database; bus?: EventBus; fetch?: typeof fetch; env?: Record<string, string> } = {},
): Promise<SalesUnderTest> {
  const config = loadSalesConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    TOKEN_SERVICE_URL: stack.issuer,
    SALES_SIGNING_KEY_FILE: join(stack.clientsDir, 'sales.private.jwk.json'),
    ...options.env,
  });
  const sink = memoryAuditSink();
  const service = await buildSalesService(config, {
    auditDestination: sink.stream,
    startRelay: false,
    ...(options.db ? { db: options.db } : {}),
    ...(options.bus ? { bus: options.bus } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  t.teardown(() => service.close());
  // The first request must not race the JWKS warm-up in these tests.
  if (!options.fetch) await service.keys.refresh();
  return Object.assign(service, { audit: sink.records });
}
