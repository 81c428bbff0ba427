/**
 * A small bounded cache of short-lived tokens, pure and clock-injected so its expiry rules are
 * unit-tested without waiting. Used for message tokens (per subject jti and route) and for the JWTs
 * API keys are exchanged for (per HMAC of the key).
 *
 * - Each entry has its own expiry; an expired entry is never served (and is dropped when seen).
 * - Bounded: the least recently used entry is evicted first (Map insertion order, refreshed on get).
 */

export interface TokenCacheOptions {
  maxEntries: number;
  now?: () => number;
}

export interface TokenCache<V> {
  get(key: string): V | undefined;
  /** Stores value until expiresAtMs; a time not in the future stores nothing. */
  set(key: string, value: V, expiresAtMs: number): void;
  delete(key: string): void;
  readonly size: number;
}

export function createTokenCache<V>(options: TokenCacheOptions): TokenCache<V> {
  if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
    throw new TypeError('maxEntries must be a positive integer');
  }
  const now = options.now ?? Date.now;
  const entries = new Map<string, { value: V; expiresAt: number }>();
  return {
    get(key) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      entries.delete(key);
      if (entry.expiresAt <= now()) return undefined;
      entries.set(key, entry); // most recently used goes last
      return entry.value;
    },
    set(key, value, expiresAtMs) {
      entries.delete(key);
      if (!(expiresAtMs > now())) return;
      entries.set(key, { value, expiresAt: expiresAtMs });
      while (entries.size > options.maxEntries) {
        const oldest = entries.keys().next().value as string;
        entries.delete(oldest);
      }
    },
    delete(key) {
      entries.delete(key);
    },
    get size() {
      return entries.size;
    },
  };
}

/** Margin before a message token's expiry: max(30 s, 10 % of its lifetime). */
export const MIN_MARGIN_MS = 30_000;

/**
 * Until when a freshly minted message token may be reused: shortly before it expires, so an
 * upstream never receives one about to lapse, and never beyond the subject token's own exp (a
 * message token must not outlive the user authorisation it was derived from, even in our cache).
 */
export function messageTokenCacheUntil(input: {
  nowMs: number;
  expiresInSeconds: number;
  subjectExpMs: number;
}): number {
  const lifetimeMs = input.expiresInSeconds * 1000;
  const margin = Math.max(MIN_MARGIN_MS, lifetimeMs / 10);
  return Math.min(input.nowMs + lifetimeMs - margin, input.subjectExpMs);
}

/**
 * Until when an API key's JWT may be reused: at most cacheSeconds (the documented revocation
 * window), and ending before the JWT does (the same margin rule, so it is never forwarded stale).
 */
export function apiKeyCacheUntil(input: { nowMs: number; expiresInSeconds: number; cacheSeconds: number }): number {
  const lifetimeMs = input.expiresInSeconds * 1000;
  const beforeExpiry = input.nowMs + lifetimeMs - Math.max(MIN_MARGIN_MS, lifetimeMs / 10);
  return Math.min(input.nowMs + input.cacheSeconds * 1000, beforeExpiry);
}
