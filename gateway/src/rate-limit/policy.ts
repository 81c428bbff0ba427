/**
 * Rate-limit policies as data, and the counter keys they produce. Pure: no Fastify, no store.
 *
 * A policy is a list of fixed windows that all apply at once (e.g. a sustained per-minute budget
 * and a per-second burst cap). A request is allowed only if every window still has room.
 *
 * Counter keys (before the store prefix, see README.md):
 *   <policy>:<fact>:<value>:w<windowMs>
 * where <fact> is the request fact the policy is keyed by (sub, cid, kid) or `ip` when that fact
 * is missing, and <value> is the raw value when it is short printable ASCII, else `#` + a SHA-256
 * hash. An API key itself is never a key part: callers pass the key's id, and anything that looks
 * like a raw key (gth_live_ / gth_test_) is hashed anyway.
 */
import { createHash } from 'node:crypto';

export type RateLimitPolicyName = 'user' | 'client' | 'api-key' | 'ip' | 'public';

export const RATE_LIMIT_POLICY_NAMES: readonly RateLimitPolicyName[] = ['user', 'client', 'api-key', 'ip', 'public'];

export interface RateLimitWindow {
  /** Requests allowed per window (a request over this is refused). */
  max: number;
  /** Window length in milliseconds (fixed window, starting at the first request). */
  window: number;
}

export type RateLimitPolicies = Record<RateLimitPolicyName, readonly RateLimitWindow[]>;
export type RateLimitPolicyOverrides = Partial<Record<RateLimitPolicyName, readonly RateLimitWindow[]>>;

/**
 * Development defaults from the design notes: API keys 1000/min with a burst of 100/s, users
 * 500/min with 50/s, public routes 100/min. `client` (client-credentials callers) gets the API key
 * budget; `ip` (a per-address guard, e.g. before authentication) is generous because many users
 * can share one address behind NAT. Both of these are this module's choice, not the notes'.
 */
export const DEFAULT_POLICIES: Readonly<RateLimitPolicies> = Object.freeze({
  user: Object.freeze([
    { max: 500, window: 60_000 },
    { max: 50, window: 1000 },
  ]),
  client: Object.freeze([
    { max: 1000, window: 60_000 },
    { max: 100, window: 1000 },
  ]),
  'api-key': Object.freeze([
    { max: 1000, window: 60_000 },
    { max: 100, window: 1000 },
  ]),
  ip: Object.freeze([
    { max: 1000, window: 60_000 },
    { max: 100, window: 1000 },
  ]),
  public: Object.freeze([{ max: 100, window: 60_000 }]),
});

/** Facts about a request that a key can be built from. `ip` is always known. */
export interface RateLimitFacts {
  sub?: string | undefined;
  clientId?: string | undefined;
  apiKeyId?: string | undefined;
  ip: string;
}

export function isRateLimitPolicyName(value: unknown): value is RateLimitPolicyName {
  return typeof value === 'string' && (RATE_LIMIT_POLICY_NAMES as readonly string[]).includes(value);
}

/** Defaults merged with overrides (a policy's windows are replaced whole), validated. */
export function resolvePolicies(overrides: RateLimitPolicyOverrides = {}): RateLimitPolicies {
  const resolved = { ...DEFAULT_POLICIES } as Record<RateLimitPolicyName, readonly RateLimitWindow[]>;
  for (const [name, windows] of Object.entries(overrides)) {
    if (!isRateLimitPolicyName(name)) throw new Error(`unknown rate-limit policy "${name}"`);
    if (windows === undefined) continue;
    resolved[name] = validateWindows(name, windows);
  }
  return resolved;
}

function validateWindows(name: string, windows: readonly RateLimitWindow[]): readonly RateLimitWindow[] {
  if (!Array.isArray(windows) || windows.length === 0) {
    throw new Error(`rate-limit policy "${name}" needs at least one window`);
  }
  const seen = new Set<number>();
  for (const w of windows) {
    if (!Number.isSafeInteger(w.max) || w.max < 1) {
      throw new Error(`rate-limit policy "${name}": max must be a positive integer`);
    }
    if (!Number.isSafeInteger(w.window) || w.window < 1) {
      throw new Error(`rate-limit policy "${name}": window must be a positive integer (milliseconds)`);
    }
    // The window length is part of the counter key, so two windows of one length would share a counter.
    if (seen.has(w.window)) throw new Error(`rate-limit policy "${name}": two windows of ${w.window} ms`);
    seen.add(w.window);
  }
  return Object.freeze(windows.map((w) => Object.freeze({ max: w.max, window: w.window })));
}

const PLAIN = /^[\x21-\x22\x24-\x7e]{1,128}$/; // printable ASCII except '#' (the hash marker), no space
const RAW_API_KEY = /^gth_(live|test)_/;

function part(value: string): string {
  if (PLAIN.test(value) && !RAW_API_KEY.test(value)) return value;
  return `#${createHash('sha256').update(value).digest('base64url')}`;
}

/** The counter key of a request under a policy (without the window suffix and store prefix). */
export function rateLimitKey(policy: RateLimitPolicyName, facts: RateLimitFacts): string {
  switch (policy) {
    case 'user':
      return facts.sub ? `user:sub:${part(facts.sub)}` : `user:ip:${part(facts.ip)}`;
    case 'client':
      return facts.clientId ? `client:cid:${part(facts.clientId)}` : `client:ip:${part(facts.ip)}`;
    case 'api-key':
      return facts.apiKeyId ? `api-key:kid:${part(facts.apiKeyId)}` : `api-key:ip:${part(facts.ip)}`;
    case 'ip':
      return `ip:ip:${part(facts.ip)}`;
    case 'public':
      return `public:ip:${part(facts.ip)}`;
    default: {
      const unknown: never = policy;
      throw new Error(`unknown rate-limit policy "${String(unknown)}"`);
    }
  }
}

/** One counter per window: the window length is the key's last segment. */
export function windowKey(key: string, window: RateLimitWindow): string {
  return `${key}:w${window.window}`;
}

/** What a window's store answered for this request. */
export interface WindowState {
  window: RateLimitWindow;
  remaining: number;
  /** Seconds until this window resets (at least 0). */
  resetSeconds: number;
  exceeded: boolean;
}

export interface Decision {
  allowed: boolean;
  /** The window the RateLimit-* headers describe: the one with the least room left. */
  reported: WindowState;
  /** On refusal: seconds until every exceeded window has reset (at least 1). */
  retryAfterSeconds: number;
  /** The exceeded windows (empty when allowed). */
  exceeded: WindowState[];
}

/**
 * Combines the windows' answers. The headers describe the most constraining window (least
 * remaining; on a tie the one that resets last), so a client that honours them never trips any
 * window. Retry-After is the longest reset among the exceeded windows.
 */
export function decide(states: readonly WindowState[]): Decision {
  const first = states[0];
  if (!first) throw new Error('decide() needs at least one window state');
  let reported = first;
  for (const s of states) {
    if (s.remaining < reported.remaining || (s.remaining === reported.remaining && s.resetSeconds > reported.resetSeconds)) {
      reported = s;
    }
  }
  const exceeded = states.filter((s) => s.exceeded);
  if (exceeded.length > 0) {
    // The reported window must be an exceeded one, so Remaining says 0 on a refusal.
    let worst = exceeded[0] as WindowState;
    for (const s of exceeded) if (s.resetSeconds > worst.resetSeconds) worst = s;
    return { allowed: false, reported: worst, retryAfterSeconds: Math.max(1, worst.resetSeconds), exceeded };
  }
  return { allowed: true, reported, retryAfterSeconds: 0, exceeded };
}
