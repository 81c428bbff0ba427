/**
 * @gatehouse/deny-list: the validators' jti deny list, read from the Redis the token service writes
 * revocations to (`gatehouse:revoked-jti:<jti>`, living until the token's exp). The services and
 * consumers use it; the gateway reads the same keys over its rate-limit connection.
 * When Redis cannot answer, has() rejects and the validator throws ValidatorUnavailableError: a
 * request gets 503, a record is retried; nothing is accepted unchecked.
 */
import type { DenyList } from '@gatehouse/validator';
import { Redis } from 'ioredis';

export const REVOKED_JTI_PREFIX = 'gatehouse:revoked-jti:';

export interface RedisDenyList extends DenyList {
  close(): Promise<void>;
}

export function redisDenyList(url: string, onError: (error: Error) => void): RedisDenyList {
  const redis = new Redis(url, {
    // A lookup waits briefly for a (re)connection, then fails: a request answers 503, a record
    // is retried, and nothing hangs on a Redis that is gone.
    maxRetriesPerRequest: 1,
    commandTimeout: 2000,
  });
  redis.on('error', onError);
  return {
    has: async (jti) => (await redis.exists(`${REVOKED_JTI_PREFIX}${jti}`)) === 1,
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
