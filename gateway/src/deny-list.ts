/**
 * The validator's jti deny list, read from the Redis the token service writes revocations to:
 * `gatehouse:revoked-jti:<jti>` (token-service/src/stores/redis.ts), a key that lives until the
 * token's exp. The validator asks on every verify and every cache hit, through app.ts's
 * cachedDenyList (answers reused for DENY_LIST_CACHE_SECONDS per jti: the revocation propagation
 * delay); when Redis cannot answer, has() rejects and the validator fails closed
 * (503 ERR_VALIDATOR_UNAVAILABLE), never open. A failed lookup is never cached.
 *
 * Without REDIS_URL there is no deny list: a revoked JWT then keeps working at the gateway until
 * its own (short) exp.
 */
import type { DenyList } from '@gatehouse/validator';

export const REVOKED_JTI_PREFIX = 'gatehouse:revoked-jti:';

/** The one Redis command the deny list needs (ioredis' exists), so tests and adapters stay small. */
export interface DenyListStore {
  exists(key: string): Promise<number>;
}

export function redisDenyList(store: DenyListStore, prefix = REVOKED_JTI_PREFIX): DenyList {
  return {
    has: async (jti) => (await store.exists(`${prefix}${jti}`)) === 1,
  };
}
