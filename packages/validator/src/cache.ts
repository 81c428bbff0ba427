/**
 * Verified-token cache: skips header decoding, key lookup and the signature check for a token seen
 * before. Bounded (LRU by Map insertion order: a hit moves the entry to the back, inserts evict from
 * the front), and every entry dies with its token's exp, so an expired token is never served.
 * It caches successes only; the deny list is still consulted on every hit (validator.ts).
 */

interface Entry<V> {
  value: V;
  expiresAtMs: number;
}

export class VerifiedTokenCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly maxEntries: number;

  constructor(maxEntries: number) {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string, nowMs: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAtMs <= nowMs) return undefined;
    this.entries.set(key, entry); // most recently used goes to the back
    return entry.value;
  }

  set(key: string, value: V, expiresAtMs: number, nowMs: number): void {
    if (this.maxEntries <= 0 || expiresAtMs <= nowMs) return;
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAtMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
