/**
 * The gateway's ioredis client for rate limiting: a dead Redis must cost milliseconds, not seconds.
 * Same settings as token-service/src/stores/redis.ts createRedis (copied, not imported: deployables
 * do not import each other; this belongs in a shared package), with tighter timeouts because a
 * rate-limit check sits on every proxied request.
 *
 * - enableOfflineQueue: false — while disconnected, commands fail at once instead of queueing.
 *   Consequence: wait for 'ready' (waitReady) before the first command, or the first requests
 *   take the Redis-down path.
 * - maxRetriesPerRequest: 1 — a command interrupted by a dropped connection is not retried forever.
 * - connectTimeout / commandTimeout: 250 ms — bounds a hung (not dead) server.
 * - retryStrategy: reconnect forever, backing off to one attempt per second.
 * - No auto-pipelining: a rate-limit check is one command (one script for every window,
 *   counters.ts), so there is nothing of one request's to batch, and auto-pipelining costs a
 *   Pipeline, a setImmediate and a second promise per batch: measured with the counters alone
 *   against redis-server, the same client CPU per check at concurrency 16 and about 35 µs less at
 *   concurrency 1, where batches are of one command (bench/README.md, issue #4).
 */
import { Redis } from 'ioredis';

export const GATEWAY_REDIS_TIMEOUT_MS = 250;

export function createGatewayRedis(url: string, onError?: (err: Error) => void): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: GATEWAY_REDIS_TIMEOUT_MS,
    commandTimeout: GATEWAY_REDIS_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(times * 50, 1000),
    enableAutoPipelining: false,
  });
  // Without a listener ioredis prints every connection error to stderr.
  redis.on('error', onError ?? (() => {}));
  return redis;
}

/** Resolves once the client is ready, rejects after timeoutMs (the client keeps reconnecting). */
export async function waitReady(redis: Redis, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return;
  let timer: NodeJS.Timeout | undefined;
  let onReady: (() => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      onReady = resolve;
      redis.once('ready', onReady);
      timer = setTimeout(() => reject(new Error(`redis not ready after ${timeoutMs} ms`)), timeoutMs);
    });
  } finally {
    clearTimeout(timer);
    if (onReady) redis.off('ready', onReady);
  }
}

/**
 * Closes the client for good. quit() waits for pending replies, but without an offline queue it
 * rejects at once while the connection is down, and the client then goes on reconnecting: a
 * gateway stopped during a Redis outage never exited. So a failed quit drops the socket instead.
 */
export async function closeGatewayRedis(redis: Redis): Promise<void> {
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
