/**
 * cachedDenyList: a short local memory of a deny list's answers, so that a process verifying the
 * same token many times a second does not ask the shared store (Redis) on every request.
 *
 * The price is a revocation propagation delay: a token revoked elsewhere keeps passing here for at
 * most `ttlMs` after this process last asked about it. Callers choose it (0 = no cache) and document
 * it next to their other windows (JWKS max age, API-key cache).
 *
 * - Both answers are kept for ttlMs. Keeping "revoked" longer would be safe (a jti never leaves the
 *   deny list before its exp), but one rule is easier to reason about and costs one lookup per ttl.
 * - A failed lookup is never remembered: the next call asks again, and the validator fails closed.
 * - Concurrent calls for one jti share one lookup (a burst after expiry costs one round trip).
 * - Bounded: at most maxEntries jtis, the oldest forgotten first.
 */
import type { DenyList } from './validator.ts';

export interface DenyListCacheOptions {
  /** How long an answer is reused, in milliseconds; 0 returns the deny list unchanged. */
  ttlMs: number;
  /** Default 10_000. */
  maxEntries?: number;
  /** Millisecond clock, for tests. */
  now?: () => number;
}

interface Answer {
  revoked: boolean;
  expiresAtMs: number;
}

export function cachedDenyList(denyList: DenyList, options: DenyListCacheOptions): DenyList {
  const { ttlMs } = options;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  if (typeof denyList?.has !== 'function') throw new TypeError('denyList must have a has(jti) method');
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 0) throw new TypeError('ttlMs must be a non-negative integer');
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new TypeError('maxEntries must be a positive integer');
  if (ttlMs === 0) return denyList;

  const answers = new Map<string, Answer>();
  const inflight = new Map<string, Promise<boolean>>();

  function remember(jti: string, revoked: boolean): void {
    answers.delete(jti);
    if (answers.size >= maxEntries) {
      const oldest = answers.keys().next();
      if (!oldest.done) answers.delete(oldest.value);
    }
    answers.set(jti, { revoked, expiresAtMs: now() + ttlMs });
  }

  function lookup(jti: string): Promise<boolean> {
    const pending = denyList.has(jti).then(
      (revoked) => {
        inflight.delete(jti);
        remember(jti, revoked !== false);
        return revoked;
      },
      (error: unknown) => {
        inflight.delete(jti);
        throw error;
      },
    );
    inflight.set(jti, pending);
    return pending;
  }

  return {
    has(jti: string): Promise<boolean> {
      const answer = answers.get(jti);
      if (answer !== undefined) {
        if (answer.expiresAtMs > now()) return Promise.resolve(answer.revoked);
        answers.delete(jti);
      }
      return inflight.get(jti) ?? lookup(jti);
    },
  };
}
