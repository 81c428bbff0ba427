// In-process stores for a single token-service instance (development, tests). Bounded: entries carry an
// expiry and are dropped lazily when read, and each map holds at most MAX_ENTRIES, evicting the oldest
// write first, so a flood of distinct keys (e.g. usernames in failed logins) cannot exhaust memory.
// Time comes from an injectable millisecond clock so tests can move time without sleeping.
import type { AttemptCounter, GrantTokenIndex, JtiDenyList, Stores } from './types.ts';

const MAX_ENTRIES = 100_000;

class ExpiringMap<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();
  readonly #now: () => number;
  readonly #max: number;

  constructor(now: () => number, max: number) {
    this.#now = now;
    this.#max = max;
  }

  get(key: string): { value: V; expiresAt: number } | undefined {
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, value: V, expiresAt: number): void {
    // Delete first so the key moves to the end of the insertion order ("newest").
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}

export function memoryStores(now: () => number = Date.now, maxEntries = MAX_ENTRIES): Stores {
  const windows = new ExpiringMap<number>(now, maxEntries);
  const revoked = new ExpiringMap<true>(now, maxEntries);
  const grants = new ExpiringMap<Map<string, number>>(now, maxEntries);

  const attempts: AttemptCounter = {
    async hit(key, windowSeconds) {
      const entry = windows.get(key);
      if (!entry) {
        windows.set(key, 1, now() + windowSeconds * 1000);
        return 1;
      }
      // Fixed window: later hits keep the window's original end.
      windows.set(key, entry.value + 1, entry.expiresAt);
      return entry.value + 1;
    },
    async count(key) {
      return windows.get(key)?.value ?? 0;
    },
    async secondsLeft(key) {
      const entry = windows.get(key);
      return entry ? Math.ceil((entry.expiresAt - now()) / 1000) : 0;
    },
    async clear(key) {
      windows.delete(key);
    },
  };

  const denyList: JtiDenyList = {
    async add(jti, expiresAtEpochSeconds) {
      const current = now();
      const expiresAt = expiresAtEpochSeconds * 1000;
      if (expiresAt <= current) return;
      revoked.set(jti, true, Math.max(expiresAt, current + 1000));
    },
    async has(jti) {
      return revoked.get(jti) !== undefined;
    },
  };

  const grantTokens: GrantTokenIndex = {
    async record(grantId, jti, expiresAtEpochSeconds) {
      const entry = grants.get(grantId);
      const tokens = entry?.value ?? new Map<string, number>();
      tokens.set(jti, expiresAtEpochSeconds);
      // The grant's entry lives as long as its longest-lived token.
      grants.set(grantId, tokens, Math.max(entry?.expiresAt ?? 0, expiresAtEpochSeconds * 1000));
    },
    async take(grantId) {
      const entry = grants.get(grantId);
      grants.delete(grantId);
      if (!entry) return [];
      const current = now();
      return [...entry.value]
        .filter(([, exp]) => exp * 1000 > current)
        .map(([jti, expiresAt]) => ({ jti, expiresAt }));
    },
  };

  return {
    kind: 'memory',
    attempts,
    denyList,
    grantTokens,
    async ping() {
      return true;
    },
    async close() {},
  };
}
