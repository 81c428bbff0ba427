/**
 * The validator's jti deny list, read from the Redis the token service writes revocations to
 * (`gatehouse:revoked-jti:<jti>`, living until the token's exp), as at the gateway. When Redis
 * cannot answer, has() rejects, the validator throws ValidatorUnavailableError and the record is
 * retried: a consumer never accepts an event it could not check for revocation.
 */
import type { DenyList } from '@gatehouse/validator';
import { Redis } from 'ioredis';

export const REVOKED_JTI_PREFIX = 'gatehouse:revoked-jti:';

export interface RedisDenyList extends DenyList {
  close(): Promise<void>;
}

export function redisDenyList(url: string, onError: (error: Error) => void): RedisDenyList {
  const redis = new Redis(url, {
    // A lookup waits briefly for a (re)connection, then fails: the record is retried anyway, and
    // a consumer must not hang on a Redis that is gone.
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
