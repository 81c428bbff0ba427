/**
 * The token service's settings: the single schema it is started with. Every name is an
 * environment variable; TOKEN_SERVICE_CONFIG_FILE may name a JSON file holding the same names.
 * Production mode (NODE_ENV=production) refuses every development default that would be unsafe.
 */
import {
  flag,
  httpUrl,
  list,
  loadConfig,
  logLevel,
  mode,
  port,
  positiveInt,
  seconds,
} from '@gatehouse/config';
import { z } from 'zod';

/** Documented development defaults. Production refuses to start with any of them. */
export const DEV_DEFAULTS = {
  DEMO_USER_PASSWORD: 'gatehouse-demo-password',
  GATEWAY_CLIENT_SECRET: 'dev-gateway-secret-change-me',
  SALES_CLIENT_SECRET: 'dev-sales-secret-change-me',
  SHIPPING_CLIENT_SECRET: 'dev-shipping-secret-change-me',
  INVOICING_CLIENT_SECRET: 'dev-invoicing-secret-change-me',
  COOKIE_KEYS: 'dev-cookie-key-change-me-0123456789abcdef',
  API_KEY_HASH_SECRET: 'dev-api-key-hash-secret-change-me-0123456789',
} as const;

const secret = (fallback: string) => z.string().min(16, 'must be at least 16 characters').default(fallback);

const schema = z
  .object({
    NODE_ENV: mode().default('development'),
    LOG_LEVEL: logLevel(),
    TOKEN_SERVICE_HOST: z.string().default('127.0.0.1'),
    TOKEN_SERVICE_PORT: port(4000),
    /** Defaults to http://localhost:<port>. Production requires https. */
    ISSUER: httpUrl().optional(),
    /** The resource indicator (RFC 8707) of the Gatehouse API: the aud of user and service access tokens. */
    API_RESOURCE: z.string().min(1).default('urn:gatehouse:api'),
    REDIS_URL: z.url({ protocol: /^rediss?$/, message: 'expected a redis:// or rediss:// URL' }).optional(),
    KEYSTORE_PATH: z.string().min(1).default('.gatehouse/keys/keystore.json'),
    /** Producer client keys (private_key_jwt and cnf binding); dev generates them here. */
    CLIENT_KEYS_DIR: z.string().min(1).default('.gatehouse/clients'),
    AUDIT_LOG: z.string().min(1).default('.gatehouse/audit/token-service.jsonl'),
    COOKIE_KEYS: list([DEV_DEFAULTS.COOKIE_KEYS]).pipe(
      z.array(z.string().min(32, 'each key must be at least 32 characters')).min(1),
    ),
    DEMO_USERS: flag(true),
    DEMO_USER_PASSWORD: z
      .string()
      .min(12, 'must be at least 12 characters')
      .default(DEV_DEFAULTS.DEMO_USER_PASSWORD),
    /** JSON file of accounts: [{ id, username, passwordHash, org_id, roles, subscription_level }]. */
    ACCOUNTS_FILE: z.string().optional(),
    /** JSON file holding the exchange policy; the built-in development policy otherwise. */
    EXCHANGE_POLICY_FILE: z.string().optional(),
    GATEWAY_CLIENT_SECRET: secret(DEV_DEFAULTS.GATEWAY_CLIENT_SECRET),
    SALES_CLIENT_SECRET: secret(DEV_DEFAULTS.SALES_CLIENT_SECRET),
    SHIPPING_CLIENT_SECRET: secret(DEV_DEFAULTS.SHIPPING_CLIENT_SECRET),
    INVOICING_CLIENT_SECRET: secret(DEV_DEFAULTS.INVOICING_CLIENT_SECRET),
    SALES_TOKEN_ENDPOINT_AUTH_METHOD: z
      .enum(['client_secret_basic', 'private_key_jwt'])
      .default('client_secret_basic'),
    /** Where the gateway (BFF) receives the authorization response and returns after logout. */
    GATEWAY_REDIRECT_URIS: list(['http://localhost:8080/auth/callback']),
    GATEWAY_POST_LOGOUT_REDIRECT_URIS: list(['http://localhost:8080/']),
    ACCESS_TOKEN_TTL: seconds(900, 3600),
    SERVICE_TOKEN_TTL: seconds(600, 3600),
    REFRESH_TOKEN_TTL: seconds(7 * 24 * 3600),
    MESSAGE_TOKEN_TTL: seconds(24 * 3600),
    /** Replay grants (client credentials, scope events:replay): their resource indicator and lifetime. */
    REPLAY_RESOURCE: z.string().min(1).default('urn:gatehouse:consumers'),
    REPLAY_GRANT_TTL: seconds(300, 3600),
    /**
     * A revoked message token stays on the deny list this long past its exp: at least the
     * consumers' replay window (their maxEventAgeSeconds, default 7 days), or a revoked token
     * would become "merely expired" and replayable.
     */
    REVOKED_MESSAGE_TOKEN_RETENTION: seconds(7 * 24 * 3600),
    LOCKOUT_MAX_ATTEMPTS: positiveInt(5),
    LOCKOUT_SECONDS: seconds(300),
    /** Token, introspection and revocation endpoints, per client and per source IP. */
    RATE_LIMIT_TOKEN_PER_CLIENT: positiveInt(6000),
    RATE_LIMIT_TOKEN_PER_IP: positiveInt(6000),
    RATE_LIMIT_LOGIN_PER_IP: positiveInt(30),
    RATE_LIMIT_WINDOW_SECONDS: seconds(60, 3600),
    /**
     * HMAC key for stored API key hashes. Development defaults to DEV_DEFAULTS; production has no
     * default: unset there, API keys are disabled (admin API 503, exchange refused).
     */
    API_KEY_HASH_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** Producer scopes an API key may carry. */
    API_KEY_SCOPES: list(['orders:write']),
    /** Lifetime of the access token an API key is exchanged for (default and cap). */
    API_KEY_TOKEN_TTL: seconds(300, 3600),
    /** Longest lifetime of an API key, and the lifetime of one created without expires_in. */
    API_KEY_MAX_LIFETIME: seconds(365 * 24 * 3600, 2 * 366 * 24 * 3600),
    /** Behind a load balancer, trust X-Forwarded-For from these hops (Fastify trustProxy). */
    TRUST_PROXY: z.string().optional(),
  })
  .transform((c) => ({
    ...c,
    ISSUER: c.ISSUER ?? `http://localhost:${c.TOKEN_SERVICE_PORT}`,
    API_KEY_HASH_SECRET:
      c.API_KEY_HASH_SECRET ?? (c.NODE_ENV === 'production' ? undefined : DEV_DEFAULTS.API_KEY_HASH_SECRET),
  }))
  .superRefine((c, ctx) => {
    if (c.NODE_ENV !== 'production') return;
    const refuse = (setting: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [setting], message });
    if (!c.ISSUER.startsWith('https://')) refuse('ISSUER', 'production requires an https issuer');
    if (c.DEMO_USERS) refuse('DEMO_USERS', 'production refuses demo users: set DEMO_USERS=false');
    if (!c.ACCOUNTS_FILE) refuse('ACCOUNTS_FILE', 'production requires an accounts file');
    // Replicas must share sessions, refresh tokens, lockouts and the deny list.
    if (!c.REDIS_URL) refuse('REDIS_URL', 'production requires Redis (state in memory is lost and not shared)');
    for (const name of [
      'GATEWAY_CLIENT_SECRET',
      'SALES_CLIENT_SECRET',
      'SHIPPING_CLIENT_SECRET',
      'INVOICING_CLIENT_SECRET',
    ] as const) {
      if (c[name] === DEV_DEFAULTS[name]) refuse(name, 'production refuses the development default secret');
    }
    if (c.COOKIE_KEYS.includes(DEV_DEFAULTS.COOKIE_KEYS)) {
      refuse('COOKIE_KEYS', 'production refuses the development cookie key');
    }
    if (c.API_KEY_HASH_SECRET === DEV_DEFAULTS.API_KEY_HASH_SECRET) {
      refuse('API_KEY_HASH_SECRET', 'production refuses the development default secret');
    }
  });

export type TokenServiceConfig = z.output<typeof schema>;

export function loadTokenServiceConfig(env: NodeJS.ProcessEnv = process.env): TokenServiceConfig {
  return loadConfig(schema, { env, fileVariable: 'TOKEN_SERVICE_CONFIG_FILE' });
}
