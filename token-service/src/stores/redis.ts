// Redis-backed stores, shared by every token-service instance.
//
// Key layout (validators in other processes read the deny list directly, keep this stable):
//   <prefix>revoked-jti:<jti>      string "1", EX = seconds until the token's exp (at least 1)
//   <prefix>attempts:<key>         integer failure counter; EXPIRE NX = window length set by the first
//                                  failure (fixed window: later failures do not extend it)
//   <prefix>grant-jti:<grantId>    sorted set, member = jti, score = exp (epoch seconds); the key
//                                  expires at the largest exp recorded
// Default prefix: 'gatehouse:'.

import type { ChainableCommander } from 'ioredis';
import { Redis } from 'ioredis';
import type { AttemptCounter, GrantTokenIndex, JtiDenyList, Stores } from './types.ts';

const PING_TIMEOUT_MS = 1000;

/**
 * A client for which a dead Redis costs milliseconds, not seconds: commands fail at once while
 * disconnected (no offline queue) and time out after 500 ms while connected to a hung server.
 * Because there is no offline queue, wait for the 'ready' event before the first command.
 * Without onError, ioredis prints every connection error to stderr.
 */
export function createRedis(url: string, onError?: (err: Error) => void): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 500,
    commandTimeout: 500,
    // Reconnect forever, backing off to at most one attempt per second.
    retryStrategy: (times) => Math.min(times * 50, 1000),
  });
  if (onError) redis.on('error', onError);
  return redis;
}

/** Runs a MULTI and returns each command's reply, rejecting if any command failed. */
export async function execTransaction(multi: ChainableCommander): Promise<unknown[]> {
  const results = await multi.exec();
  if (!results) throw new Error('redis transaction aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/** close() closes the given client: the stores own it. */
export function redisStores(redis: Redis, prefix = 'gatehouse:'): Stores {
  const attemptKey = (key: string) => `${prefix}attempts:${key}`;
  const revokedKey = (jti: string) => `${prefix}revoked-jti:${jti}`;
  const grantKey = (grantId: string) => `${prefix}grant-jti:${grantId}`;

  const attempts: AttemptCounter = {
    async hit(key, windowSeconds) {
      const k = attemptKey(key);
      const [count] = await execTransaction(redis.multi().incr(k).expire(k, windowSeconds, 'NX'));
      return Number(count);
    },
    async count(key) {
      return Number((await redis.get(attemptKey(key))) ?? 0);
    },
    async secondsLeft(key) {
      const ms = await redis.pttl(attemptKey(key));
      return ms > 0 ? Math.ceil(ms / 1000) : 0;
    },
    async clear(key) {
      await redis.del(attemptKey(key));
    },
  };

  const denyList: JtiDenyList = {
    async add(jti, expiresAtEpochSeconds) {
      const ttl = Math.ceil(expiresAtEpochSeconds - Date.now() / 1000);
      if (ttl <= 0) return;
      await redis.set(revokedKey(jti), '1', 'EX', Math.max(1, ttl));
    },
    async has(jti) {
      return (await redis.exists(revokedKey(jti))) === 1;
    },
  };

  const grantTokens: GrantTokenIndex = {
    async record(grantId, jti, expiresAtEpochSeconds) {
      // EXPIREAT in the past would delete the whole set, and an expired token needs no tracking.
      if (expiresAtEpochSeconds <= Date.now() / 1000) return;
      const k = grantKey(grantId);
      // NX sets the expiry of a new set; GT extends an existing one to the longest-lived token.
      await execTransaction(
        redis
          .multi()
          .zadd(k, expiresAtEpochSeconds, jti)
          .expireat(k, expiresAtEpochSeconds, 'NX')
          .expireat(k, expiresAtEpochSeconds, 'GT'),
      );
    },
    async take(grantId) {
      const k = grantKey(grantId);
      const now = Date.now() / 1000;
      // Read and delete in one transaction so a concurrent take cannot return the same tokens.
      const [flat] = await execTransaction(
        redis.multi().zrangebyscore(k, `(${now}`, '+inf', 'WITHSCORES').del(k),
      );
      const pairs = flat as string[];
      const out: Array<{ jti: string; expiresAt: number }> = [];
      for (let i = 0; i + 1 < pairs.length; i += 2) {
        out.push({ jti: pairs[i]!, expiresAt: Number(pairs[i + 1]) });
      }
      return out;
    },
  };

  return {
    kind: 'redis',
    attempts,
    denyList,
    grantTokens,
    async ping() {
      // Bounded even for a client created without commandTimeout.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
      });
      try {
        return await Promise.race([redis.ping().then((reply) => reply === 'PONG'), timeout]);
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      // quit() rejects at once when disconnected (no offline queue); then just drop the socket.
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}
