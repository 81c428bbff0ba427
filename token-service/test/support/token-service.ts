/**
 * Starts a real token service on a loopback port for a test, with its own key store, client keys
 * and an in-memory audit sink, and stops it at teardown.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryAuditSink } from '@gatehouse/observability';
import type { Test } from 'tap';
import { buildTokenService, type TokenService } from '../../src/app.ts';
import { DEV_DEFAULTS, loadTokenServiceConfig } from '../../src/config.ts';

export const DEMO_PASSWORD = DEV_DEFAULTS.DEMO_USER_PASSWORD;
export const SECRETS = {
  gateway: DEV_DEFAULTS.GATEWAY_CLIENT_SECRET,
  sales: DEV_DEFAULTS.SALES_CLIENT_SECRET,
  shipping: DEV_DEFAULTS.SHIPPING_CLIENT_SECRET,
  invoicing: DEV_DEFAULTS.INVOICING_CLIENT_SECRET,
} as const;
export const REDIRECT_URI = 'http://localhost:8080/auth/callback';

export interface RunningTokenService {
  service: TokenService;
  issuer: string;
  audit: Array<Record<string, unknown>>;
  dir: string;
  port: number;
  /** Stops it early (teardown then does nothing more). */
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startTokenService(
  t: Test,
  env: Record<string, string> = {},
): Promise<RunningTokenService> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-ts-'));
  const port = env.TOKEN_SERVICE_PORT ? Number(env.TOKEN_SERVICE_PORT) : await freePort();
  const config = loadTokenServiceConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    TOKEN_SERVICE_PORT: String(port),
    KEYSTORE_PATH: join(dir, 'keys', 'keystore.json'),
    CLIENT_KEYS_DIR: join(dir, 'clients'),
    AUDIT_LOG: join(dir, 'audit.jsonl'),
    ...env,
  });
  const sink = memoryAuditSink();
  const service = await buildTokenService(config, { auditDestination: sink.stream });
  await service.app.listen({ host: '127.0.0.1', port });
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= service.close();
    return stopped;
  };
  t.teardown(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  return { service, issuer: config.ISSUER, audit: sink.records, dir, port, stop };
}

/** A complete production configuration (no development defaults): tests change one setting at a time. */
export const PRODUCTION_SETTINGS: Readonly<Record<string, string>> = {
  NODE_ENV: 'production',
  ISSUER: 'https://id.example.com',
  DEMO_USERS: 'false',
  ACCOUNTS_FILE: '/etc/gatehouse/accounts.json',
  REDIS_URL: 'rediss://redis.example.com:6380',
  GATEWAY_CLIENT_SECRET: 'prod-gateway-secret-0123456789',
  SALES_CLIENT_SECRET: 'prod-sales-secret-0123456789',
  SHIPPING_CLIENT_SECRET: 'prod-shipping-secret-0123456789',
  INVOICING_CLIENT_SECRET: 'prod-invoicing-secret-0123456789',
  COOKIE_KEYS: 'prod-cookie-key-0123456789abcdefghijklmnop',
};
