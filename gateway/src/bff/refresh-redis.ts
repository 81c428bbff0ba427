/**
 * The refresh single-flight across gateway replicas (refresh.ts coordinates one process). Behind a
 * balancer that is not sticky, a browser's parallel requests reach several replicas with the same
 * cookie. Two rotations of one refresh token are a reuse to the token service, which revokes the
 * whole family: the user is logged out. So a rotation is claimed in Redis first:
 *
 *   <prefix><sid>:<sha256(rt)>:lock  SET NX PX: the replica that wins it refreshes
 *   <prefix><sid>:<sha256(rt)>:done  the outcome, sealed, for the grace period: the other replicas,
 *                                    and requests still carrying the old cookie, take it
 *
 * Neither holds a token in clear. The refresh token appears only as its hash. The outcome is sealed
 * (AES-256-GCM) with the session cookie's key, which every replica already shares, and bound to its
 * Redis key, so a value copied to another session's key does not open. A replica that loses the
 * claim polls for the outcome, at most `waitMs`, then answers unavailable (503, cookie kept).
 * Redis unreachable: the refresh goes ahead in this process. The per-process coordination still
 * holds, and a session stays usable through a Redis outage at the price of the rare cross-replica
 * race.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { type CookieKey, seal, unseal } from './cookie-crypto.ts';
import { createRefreshCoordinator, type RefreshCoordinator, type RefreshOutcome, ROTATION_GRACE_MS } from './refresh.ts';

export interface RedisRefreshOptions {
  redis: Pick<Redis, 'get' | 'set' | 'eval'>;
  /** The session cookie's key: seals the outcomes kept in Redis. */
  key: CookieKey;
  /** Default 'gatehouse:gateway:bff:refresh:'. */
  prefix?: string;
  /** How long a finished rotation is handed out. Default ROTATION_GRACE_MS (30 s). */
  graceMs?: number;
  /**
   * How long a claim holds. Default 30 s, openid-client's own request timeout: a refresh still
   * running when the claim lapses could meet a second one.
   */
  lockMs?: number;
  /** How long a replica that lost the claim waits for the outcome. Default lockMs. */
  waitMs?: number;
  /** Default 50 ms. */
  pollMs?: number;
}

/** Deletes the claim only if it is still ours (it may have lapsed and been taken). */
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

const UNAVAILABLE = { unavailable: true } as const;

export function redisRefreshCoordinator(options: RedisRefreshOptions): RefreshCoordinator {
  const { redis, key } = options;
  const prefix = options.prefix ?? 'gatehouse:gateway:bff:refresh:';
  const graceMs = options.graceMs ?? ROTATION_GRACE_MS;
  const lockMs = options.lockMs ?? 30_000;
  const waitMs = options.waitMs ?? lockMs;
  const pollMs = options.pollMs ?? 50;
  // Concurrent requests of one process share one claim.
  const local = createRefreshCoordinator(graceMs);

  /** The outcome stored under `name`, or undefined when it does not open (another key, or moved). */
  const open = <S>(name: string, sealed: string): RefreshOutcome<S> | undefined => {
    const value = unseal(key, `refresh:${name}`, sealed) as RefreshOutcome<S> | undefined;
    return value !== null && typeof value === 'object' && ('session' in value || 'refused' in value) ? value : undefined;
  };

  async function claimed<S>(sid: string, refreshToken: string, refresh: () => Promise<RefreshOutcome<S>>) {
    const base = `${prefix}${sid}:${createHash('sha256').update(refreshToken).digest('base64url')}`;
    const done = `${base}:done`;
    const lock = `${base}:lock`;
    const owner = randomUUID();
    const deadline = Date.now() + waitMs;
    try {
      for (;;) {
        const stored = await redis.get(done);
        if (stored !== null) return open<S>(done, stored) ?? UNAVAILABLE;
        if ((await redis.set(lock, owner, 'PX', lockMs, 'NX')) === 'OK') break;
        if (Date.now() >= deadline) return UNAVAILABLE;
        await sleep(pollMs);
      }
      // The winner writes its outcome before it releases the claim: one that finished between
      // our read and our claim is there now, and refreshing again would be the reuse.
      const stored = await redis.get(done);
      if (stored !== null) {
        await redis.eval(RELEASE, 1, lock, owner);
        return open<S>(done, stored) ?? UNAVAILABLE;
      }
    } catch {
      return refresh();
    }
    const outcome = await refresh();
    // An unavailable token service is not remembered: the next request may retry.
    if (!('unavailable' in outcome)) {
      await redis.set(done, seal(key, `refresh:${done}`, outcome), 'PX', graceMs).catch(() => undefined);
    }
    await redis.eval(RELEASE, 1, lock, owner).catch(() => undefined);
    return outcome;
  }

  return {
    get size() {
      return local.size;
    },
    run: (sid, refreshToken, refresh) => local.run(sid, refreshToken, () => claimed(sid, refreshToken, refresh)),
  };
}
