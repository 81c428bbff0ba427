/**
 * The gateway's settings: the single schema it is started with. Every name is an environment
 * variable; GATEWAY_CONFIG_FILE may name a JSON file holding the same names (the environment wins).
 * Production mode (NODE_ENV=production) refuses every development default that would be unsafe.
 */
import { fileURLToPath } from 'node:url';
import { httpUrl, list, loadConfig, logLevel, mode, port, positiveInt, seconds } from '@gatehouse/config';
import { z } from 'zod';
import { parseBlockList } from './hardening.ts';

/** routes.dev.json next to this package, whatever the working directory. */
export const DEV_ROUTES_FILE = fileURLToPath(new URL('../routes.dev.json', import.meta.url));
/** The browser UI's files (services/ui/public) in this repository, whatever the working directory. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../services/ui/public', import.meta.url));
export const DEV_CORS_ORIGINS = ['http://localhost:8080'];
/** The token service's documented development secret for client "gateway"; production refuses it. */
export const DEV_GATEWAY_CLIENT_SECRET = 'dev-gateway-secret-change-me';
export const DEV_BFF_COOKIE_SECRET = 'dev-bff-cookie-secret-change-me-0123456789';

/**
 * Fastify trustProxy: 'true'/'false', a hop count, or a comma-separated list of trusted proxy
 * addresses/CIDRs. Trusting every hop ('true') lets any client choose its own IP, which would
 * defeat the IP block list and per-IP rate limits; production refuses it.
 */
const trustProxy = () =>
  z
    .string()
    .optional()
    .transform((v): boolean | number | string[] => {
      if (v === undefined || v === 'false') return false;
      if (v === 'true') return true;
      if (/^\d+$/.test(v)) return Number(v);
      return v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    });

/** An origin is scheme://host[:port] and nothing else: a trailing slash or path never matches. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

const schema = z
  .object({
    NODE_ENV: mode().default('development'),
    LOG_LEVEL: logLevel(),
    GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
    GATEWAY_PORT: port(8080),
    /** The token service: its URL is the issuer (iss) of access tokens; JWKS at <url>/jwks. */
    TOKEN_SERVICE_URL: httpUrl().default('http://localhost:4000'),
    /** The aud of user access tokens (the token service's API_RESOURCE). */
    API_AUDIENCE: z.string().min(1).default('urn:gatehouse:api'),
    ROUTES_FILE: z.string().min(1).default(DEV_ROUTES_FILE),
    AUDIT_LOG: z.string().min(1).default('.gatehouse/audit/gateway.jsonl'),
    JWKS_MAX_AGE_SECONDS: seconds(300, 24 * 3600),
    JWKS_COOLDOWN_SECONDS: seconds(30, 3600),
    BODY_LIMIT_BYTES: positiveInt(1024 * 1024).pipe(z.number().max(64 * 1024 * 1024, 'at most 64 MiB')),
    UPSTREAM_TIMEOUT_MS: positiveInt(10_000).pipe(z.number().max(300_000, 'at most 300000 ms')),
    /** Browser origins allowed by CORS. Development defaults to the gateway's own UI origin. */
    CORS_ORIGINS: z
      .string()
      .optional()
      .transform((v) => (v === undefined ? undefined : list([]).parse(v)))
      .pipe(
        z
          .array(z.string().refine(isOrigin, 'each entry must be an origin like https://app.example.com'))
          .optional(),
      ),
    /** IPs and CIDRs refused with 403 before anything else runs. */
    IP_BLOCK_LIST: list([]).pipe(
      z.array(z.string()).superRefine((entries, ctx) => {
        for (const entry of entries) {
          if (!isAddressOrCidr(entry)) ctx.addIssue({ code: 'custom', message: `not an IP or CIDR: ${entry}` });
        }
      }),
    ),
    TRUST_PROXY: trustProxy(),
    /** Shared state for rate limits and the jti deny list (deny-list.ts). */
    REDIS_URL: z.url({ protocol: /^rediss?$/, message: 'expected a redis:// or rediss:// URL' }).optional(),
    /**
     * How long a deny-list answer (revoked or not, per jti) is reused before Redis is asked again
     * (0 = ask on every request). This is the revocation propagation delay at the gateway.
     */
    DENY_LIST_CACHE_SECONDS: z.coerce.number().int().min(0).max(60, 'at most 60 s').default(5),
    /**
     * 0 (default): rate-limit counters on Redis, one round trip per request, exact across replicas.
     * N: counted in each process and summed on Redis every N ms (rate-limit/synced-counters.ts):
     * no round trip per request; across replicas a window may admit what the others admit within
     * N ms beyond its max. Only with REDIS_URL (in-memory counters are per process anyway).
     */
    RATE_LIMIT_SYNC_MS: z.coerce.number().int().min(0).max(10_000, 'at most 10000 ms').default(0),
    UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: positiveInt(1000),
    /** The gateway's OAuth client at the token service (client_secret_basic), for token exchange. */
    GATEWAY_CLIENT_ID: z.string().min(1).default('gateway'),
    /**
     * Development defaults to the token service's documented dev secret. Production has no default
     * (routes needing the token service then refuse to start, see app.ts) and refuses the dev value.
     */
    GATEWAY_CLIENT_SECRET: z.string().min(1).optional(),
    /** Per token-exchange call, connect to body; a slow token service becomes a 503, not a hung request. */
    EXCHANGE_TIMEOUT_MS: positiveInt(2000).pipe(z.number().max(30_000, 'at most 30000 ms')),
    /** The upstream header carrying the message token; must be x-gatehouse-* (clients' are stripped). */
    MESSAGE_TOKEN_HEADER: z
      .string()
      .regex(/^x-gatehouse-[a-z0-9-]+$/, 'a lower-case header name starting with x-gatehouse-')
      .default('x-gatehouse-message-token'),
    /**
     * How long an API key's exchanged JWT is reused (0 = exchange on every request). This is the
     * window in which a revoked key keeps working when no shared deny list is configured.
     */
    API_KEY_CACHE_SECONDS: z.coerce.number().int().min(0).max(60, 'at most 60 s').default(30),
    /** The browser UI's session (BFF): where the token service sends the user back, and after logout. */
    BFF_REDIRECT_URI: httpUrl().default('http://localhost:8080/auth/callback'),
    BFF_POST_LOGOUT_REDIRECT_URI: z.url({ message: 'expected a URL' }).default('http://localhost:8080/'),
    /**
     * Encrypts the session cookie (AES-256-GCM key derived from it). Development has a documented
     * default; production has none (no BFF without it) and refuses the development value.
     */
    BFF_COOKIE_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** The browser UI's directory, served at / (ui.ts); 'off' serves no UI (empty means unset). */
    UI_DIR: z
      .string()
      .default(DEFAULT_UI_DIR)
      .transform((v) => (v === 'off' ? undefined : v)),
  })
  .transform((c) => ({
    ...c,
    CORS_ORIGINS: c.CORS_ORIGINS ?? (c.NODE_ENV === 'production' ? [] : DEV_CORS_ORIGINS),
    GATEWAY_CLIENT_SECRET:
      c.GATEWAY_CLIENT_SECRET ?? (c.NODE_ENV === 'production' ? undefined : DEV_GATEWAY_CLIENT_SECRET),
    BFF_COOKIE_SECRET: c.BFF_COOKIE_SECRET ?? (c.NODE_ENV === 'production' ? undefined : DEV_BFF_COOKIE_SECRET),
  }))
  .superRefine((c, ctx) => {
    if (c.NODE_ENV !== 'production') return;
    const refuse = (setting: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [setting], message });
    if (!c.TOKEN_SERVICE_URL.startsWith('https://')) {
      refuse('TOKEN_SERVICE_URL', 'production requires an https token service URL (the issuer)');
    }
    if (c.CORS_ORIGINS.some((o) => !o.startsWith('https://'))) {
      refuse('CORS_ORIGINS', 'production allows https origins only');
    }
    if (c.TRUST_PROXY === true) {
      refuse('TRUST_PROXY', 'production refuses trusting every hop: name the proxies or a hop count');
    }
    if (c.ROUTES_FILE === DEV_ROUTES_FILE) {
      refuse('ROUTES_FILE', 'production refuses the development route table');
    }
    if (c.BFF_COOKIE_SECRET === DEV_BFF_COOKIE_SECRET) {
      refuse('BFF_COOKIE_SECRET', 'production refuses the development cookie secret');
    }
    if (c.BFF_COOKIE_SECRET !== undefined && !c.BFF_REDIRECT_URI.startsWith('https://')) {
      refuse('BFF_REDIRECT_URI', 'production requires an https redirect URI');
    }
    if (c.GATEWAY_CLIENT_SECRET === DEV_GATEWAY_CLIENT_SECRET) {
      refuse('GATEWAY_CLIENT_SECRET', 'production refuses the development default secret');
    }
    // Several replicas must share rate-limit counters and the deny list.
    if (!c.REDIS_URL) refuse('REDIS_URL', 'production requires Redis (state in memory is not shared)');
  });

export type GatewayConfig = z.output<typeof schema>;

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return loadConfig(schema, { env, fileVariable: 'GATEWAY_CONFIG_FILE' });
}

function isAddressOrCidr(entry: string): boolean {
  try {
    parseBlockList([entry]);
    return true;
  } catch {
    return false;
  }
}
