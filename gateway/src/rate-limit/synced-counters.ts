/**
 * Window counters counted in the process and summed on Redis every `intervalMs`
 * (RATE_LIMIT_SYNC_MS): no Redis round trip on a request's path. The exact mode (counters.ts)
 * costs one round trip per request; this is the other usual trade of API gateways (Kong's
 * rate-limiting `sync_rate`, Envoy's local limit in front of its global one).
 *
 * Per window key the process keeps the total Redis last answered (every replica's requests), the
 * requests sent to Redis and not answered yet, and those counted here since. A request's count is
 * their sum plus itself. Every interval, exact mode's script (counters.ts: INCRBY, the window's
 * expiry) adds each key's new requests, per batch of keys, and answers the totals and the time
 * left, which the replicas then share.
 *
 * What that gives:
 * - one process: the limits are exact (every request of the window is counted here);
 * - N processes: each sees the others' requests at its next sync that carries the key (a sync
 *   sends only the keys counted since the last one), so a window can admit, beyond its max, what
 *   the other N-1 admit within about one interval (and at a window's start, before its first
 *   sync, each process may admit up to max);
 * - a window's reset comes from the Redis key's expiry once synced, so the replicas agree on it;
 * - Redis not connected: counting fails at once and the route's fail mode applies, as in exact
 *   mode. Requests counted but not synced are kept and sent when it is back (those of windows that
 *   ended meanwhile are dropped); a sync whose reply is lost is sent again, which can only count a
 *   request twice, never not at all.
 *
 * Memory: one entry per (key, window) seen within the window, dropped at the first sync after the
 * window ends. Above `maxEntries` (many distinct keys, e.g. a flood from many addresses) the oldest
 * entries already synced are dropped: such a key counts from zero here until its next sync, i.e. it
 * may overshoot by one interval of this process's requests too.
 */
import type { Redis } from 'ioredis';
import { type CounterStore, type WindowCount, windowsCommand } from './counters.ts';
import { windowKey } from './policy.ts';

/** Keys per script call: bounds one call's size and time when many keys changed in an interval. */
const SYNC_BATCH = 500;

interface Entry {
  redisKey: string;
  windowMs: number;
  /** The window's total as Redis last answered it. */
  shared: number;
  /** Counted here, sent, not answered yet. */
  inFlight: number;
  /** Counted here, not sent yet. */
  pending: number;
  /** Epoch ms: the local estimate first, Redis' expiry after a sync. */
  resetAt: number;
}

export interface SyncedCountersOptions {
  /** How often counts are summed on Redis, ms. */
  intervalMs: number;
  /** A sync failed (Redis down, timeout); the counts are kept for the next one. */
  onSyncError?: ((error: unknown) => void) | undefined;
  /** Entries (key × window) kept before synced ones are dropped. Default 100 000. */
  maxEntries?: number | undefined;
}

export interface SyncedCounterStore extends CounterStore {
  /** Sends what was counted since the last sync (the interval timer calls it too). */
  sync(): Promise<void>;
  /** Stops the timer after a last sync. */
  close(): Promise<void>;
}

export function syncedCounters(redis: Redis, prefix: string, options: SyncedCountersOptions): SyncedCounterStore {
  const { intervalMs } = options;
  if (!Number.isInteger(intervalMs) || intervalMs < 1) throw new TypeError(`intervalMs must be a positive integer, not ${String(intervalMs)}`);
  const command = windowsCommand(redis);
  const maxEntries = options.maxEntries ?? 100_000;
  const entries = new Map<string, Entry>();
  let running: Promise<void> | undefined;

  /** Drops the oldest synced entries (a tenth of the cap), never counts not yet on Redis. */
  function evict(): void {
    let drop = Math.max(1, Math.ceil(maxEntries / 10));
    for (const [key, entry] of entries) {
      if (drop === 0) return;
      if (entry.pending === 0 && entry.inFlight === 0) {
        entries.delete(key);
        drop--;
      }
    }
  }

  async function send(batch: Entry[]): Promise<void> {
    const sent = batch.map((entry) => entry.pending);
    const args: Array<string | number> = batch.map((entry) => entry.redisKey);
    for (const [i, entry] of batch.entries()) {
      args.push(sent[i]!, entry.windowMs);
      entry.inFlight += sent[i]!;
      entry.pending = 0;
    }
    try {
      const flat = await command(batch.length, ...args);
      const answeredAt = Date.now();
      for (const [i, entry] of batch.entries()) {
        entry.inFlight -= sent[i]!;
        entry.shared = Number(flat[2 * i]);
        entry.resetAt = answeredAt + Number(flat[2 * i + 1]);
      }
    } catch (error) {
      for (const [i, entry] of batch.entries()) {
        entry.inFlight -= sent[i]!;
        entry.pending += sent[i]!;
      }
      throw error;
    }
  }

  async function syncOnce(): Promise<void> {
    const at = Date.now();
    const due: Entry[] = [];
    for (const [key, entry] of entries) {
      if (entry.resetAt <= at && entry.inFlight === 0) entries.delete(key); // its window is over
      else if (entry.pending > 0) due.push(entry);
    }
    if (due.length === 0 || redis.status !== 'ready') return;
    for (let i = 0; i < due.length; i += SYNC_BATCH) await send(due.slice(i, i + SYNC_BATCH));
  }

  const sync = (): Promise<void> => {
    // One sync at a time: a slow Redis must not stack them up.
    running ??= syncOnce().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timer = setInterval(() => {
    sync().catch((error: unknown) => options.onSyncError?.(error));
  }, intervalMs);
  timer.unref();

  return {
    forWindows(windows) {
      return (key) => {
        // As exact mode with the offline queue off: no Redis, no count (the route's fail mode decides).
        if (redis.status !== 'ready') return Promise.reject(new Error(`redis is ${redis.status}`));
        const at = Date.now();
        const counts: WindowCount[] = [];
        for (const window of windows) {
          const local = windowKey(key, window);
          let entry = entries.get(local);
          if (entry === undefined || entry.resetAt <= at) {
            if (entry === undefined && entries.size >= maxEntries) evict();
            entry = { redisKey: `${prefix}${local}`, windowMs: window.window, shared: 0, inFlight: 0, pending: 0, resetAt: at + window.window };
            entries.set(local, entry);
          }
          entry.pending += 1;
          counts.push({ current: entry.shared + entry.inFlight + entry.pending, ttlMs: entry.resetAt - at });
        }
        return Promise.resolve(counts);
      };
    },
    sync,
    async close() {
      clearInterval(timer);
      await sync().catch((error: unknown) => options.onSyncError?.(error));
    },
  };
}
