/**
 * The settings every consumer deployable shares, as a zod shape each service spreads into its one
 * schema next to its own prefixed settings (SHIPPING_PORT...), and consumerConfig, the transform
 * that turns the parsed settings into what buildConsumerService needs, refusing in production what
 * is only fit for development.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, httpUrl, list, logLevel, mode, seconds } from '@gatehouse/config';
import { kafkaSettings, kafkaSettingsIssues } from '@gatehouse/event-bus';
import { DEFAULT_PROOF_ALGORITHMS, type ExpiryPolicy, parseExpiryPolicy } from '@gatehouse/events';
import { SUPPORTED_ALGORITHMS } from '@gatehouse/validator';
import { z } from 'zod';

/**
 * docs/events.md's policy: sales may replay orders.created events up to 7 days old. No longer than
 * the keys CLI's default replay window (7 d): an older event's token was signed by a key that may
 * be pruned by now, and would be refused as ERR_TOKEN_KEY_UNKNOWN anyway.
 */
export const DEFAULT_EXPIRY_POLICY: ExpiryPolicy = Object.freeze({
  replay: Object.freeze({
    allowedClients: ['sales'],
    eventTypes: ['orders.created'],
    maxEventAgeSeconds: 7 * 24 * 3600,
  }),
});

/** Kafka's legal topic names (and group ids kept to the same alphabet). */
export const topicName = (fallback: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'letters, digits, ".", "_" and "-" only')
    .default(fallback);

export const host = () => z.string().min(1).default('127.0.0.1');

/**
 * EVENT_PROOF_ALGORITHMS: the JWS algorithms a producer's proof key (the message token's cnf key)
 * may use, comma-separated; ES256 and EdDSA by default. An RSA producer key (RS256, PS256) is ~3x
 * cheaper to verify and ~20x dearer to sign, with ~256 bytes more per record (docs/events.md).
 * Asymmetric only: with HS* every consumer holding the secret could forge a producer's proof.
 */
export const proofAlgorithms = () =>
  list([...DEFAULT_PROOF_ALGORITHMS]).pipe(
    z
      .array(z.string())
      .min(1, 'at least one algorithm')
      .superRefine((algorithms, ctx) => {
        for (const alg of algorithms) {
          if (SUPPORTED_ALGORITHMS.has(alg)) continue;
          const known = [...SUPPORTED_ALGORITHMS].join(', ');
          ctx.addIssue({ code: 'custom', message: `${alg} is not an asymmetric JWS algorithm (${known})` });
        }
      }),
  );

/** Settings every consumer has, named as in the gateway and the token service where they overlap. */
export function consumerSettings(name: string) {
  return {
    NODE_ENV: mode().default('development'),
    LOG_LEVEL: logLevel(),
    /** The token service: its URL is the issuer of every token; JWKS at <url>/jwks. */
    TOKEN_SERVICE_URL: httpUrl().default('http://localhost:4000'),
    /** The aud of user access tokens on the read API. */
    API_AUDIENCE: z.string().min(1).default('urn:gatehouse:api'),
    /** PostgreSQL; without it an embedded database (development only). */
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, message: 'expected a postgres:// URL' }).optional(),
    /** The expiry/replay policy as JSON (docs/events.md); the documented default otherwise. */
    EXPIRY_POLICY_FILE: z.string().min(1).optional(),
    EVENTS_TOPIC: topicName('orders'),
    AUDIT_LOG: z.string().min(1).default(`.gatehouse/audit/${name}.jsonl`),
    /** The token service's jti deny list (revoked message and access tokens). */
    REDIS_URL: z.url({ protocol: /^rediss?$/, message: 'expected a redis:// or rediss:// URL' }).optional(),
    JWKS_MAX_AGE_SECONDS: seconds(300, 24 * 3600),
    JWKS_COOLDOWN_SECONDS: seconds(30, 3600),
    /**
     * Worker threads checking event proofs (signature, strict JSON, claims, digest: most of a
     * record's verification) while the event loop handles earlier records; 0 checks them on the
     * event loop.
     */
    EVENT_VERIFY_THREADS: z.coerce.number().int().min(0).max(16).default(1),
    EVENT_PROOF_ALGORITHMS: proofAlgorithms(),
    ...kafkaSettings,
  };
}

type SharedSettings = z.output<z.ZodObject<ReturnType<typeof consumerSettings>>>;

/** The service's own settings, by value (their names carry its prefix). */
export interface OwnSettings {
  /** 'shipping', 'invoicing'. */
  name: string;
  host: string;
  port: number;
  /** Embedded database files; in memory without. */
  dataDir: string | undefined;
  groupId: string;
  dlqTopic: string;
  /** The setting names, for messages: e.g. { dataDir: 'SHIPPING_DATA_DIR' }. */
  names: { dataDir: string };
}

export interface ConsumerServiceConfig extends OwnSettings {
  mode: 'development' | 'production' | 'test';
  logLevel: string;
  tokenServiceUrl: string;
  apiAudience: string;
  databaseUrl: string | undefined;
  expiryPolicy: ExpiryPolicy;
  eventsTopic: string;
  auditLog: string;
  redisUrl: string | undefined;
  jwksMaxAgeSeconds: number;
  jwksCooldownSeconds: number;
  /** EVENT_VERIFY_THREADS: signature-pool threads, 0 = on the event loop. */
  verifyThreads: number;
  /** EVENT_PROOF_ALGORITHMS: what a proof (its producer's cnf key) may be signed with. */
  proofAlgorithms: string[];
  /** Every parsed setting, for busFromSettings (the Kafka ones). */
  settings: SharedSettings;
}

type Issue = { message: string; path: string[] };

const isIssue = (value: ExpiryPolicy | Issue): value is Issue => 'message' in value;

function readPolicy(file: string | undefined): ExpiryPolicy | Issue {
  if (file === undefined) return DEFAULT_EXPIRY_POLICY;
  try {
    return parseExpiryPolicy(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    const why =
      error instanceof ConfigError
        ? error.message.replace(/\s+/g, ' ')
        : error instanceof SyntaxError
          ? 'not valid JSON'
          : `cannot read ${file}`;
    return { message: why, path: ['EXPIRY_POLICY_FILE'] };
  }
}

/** What production refuses: state only fit for one developer's machine. */
function productionIssues(c: SharedSettings, own: OwnSettings): Issue[] {
  if (c.NODE_ENV !== 'production') return [];
  const issues: Issue[] = [];
  if (!c.DATABASE_URL) {
    issues.push({ path: ['DATABASE_URL'], message: 'production requires PostgreSQL (the embedded database is for development)' });
  }
  if (own.dataDir !== undefined) {
    issues.push({ path: [own.names.dataDir], message: 'production refuses the embedded database' });
  }
  if (!c.TOKEN_SERVICE_URL.startsWith('https://')) {
    issues.push({ path: ['TOKEN_SERVICE_URL'], message: 'production requires an https token service URL (the issuer)' });
  }
  if (c.KAFKA_BROKERS.length === 0) {
    issues.push({ path: ['KAFKA_BROKERS'], message: 'production requires Kafka (the embedded bus is in-process)' });
  }
  // A revoked message token must stop being accepted before its (long) exp.
  if (!c.REDIS_URL) issues.push({ path: ['REDIS_URL'], message: 'production requires the shared jti deny list' });
  return issues;
}

/** For a schema's .transform(): the normalised configuration, or the issues naming the settings. */
export function consumerConfig(
  c: SharedSettings,
  own: OwnSettings,
  ctx: z.RefinementCtx,
): ConsumerServiceConfig {
  const policy = readPolicy(c.EXPIRY_POLICY_FILE);
  const issues = [
    ...productionIssues(c, own),
    ...kafkaSettingsIssues(c).map(({ setting, message }) => ({ path: [setting], message })),
    ...(isIssue(policy) ? [policy] : []),
  ];
  for (const issue of issues) ctx.addIssue({ code: 'custom', ...issue });
  return {
    ...own,
    mode: c.NODE_ENV,
    logLevel: c.LOG_LEVEL,
    tokenServiceUrl: c.TOKEN_SERVICE_URL,
    apiAudience: c.API_AUDIENCE,
    databaseUrl: c.DATABASE_URL,
    expiryPolicy: isIssue(policy) ? {} : policy,
    eventsTopic: c.EVENTS_TOPIC,
    auditLog: c.AUDIT_LOG,
    redisUrl: c.REDIS_URL,
    jwksMaxAgeSeconds: c.JWKS_MAX_AGE_SECONDS,
    jwksCooldownSeconds: c.JWKS_COOLDOWN_SECONDS,
    verifyThreads: c.EVENT_VERIFY_THREADS,
    proofAlgorithms: c.EVENT_PROOF_ALGORITHMS,
    settings: c,
  };
}

