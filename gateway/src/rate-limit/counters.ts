/**
 * Fixed-window counters for a policy's windows, counted together: one store operation per request
 * whatever the number of windows.
 *
 * Redis: one Lua script over every window's key (INCRBY 1, PEXPIRE when the window starts, else PTTL),
 * i.e. one command and one round trip per request. @fastify/rate-limit's RedisStore runs one script
 * per window, which is the same round trip (auto-pipelining) but one command, one reply and one
 * promise chain per window. The per-window semantics are that script's (continueExceeding and
 * exponential backoff off), plus one repair: a counter found without an expiry gets one again,
 * where it would otherwise never reset.
 * Memory: @fastify/rate-limit's LocalStore (an LRU of `cacheSize` keys) per window, as before.
 *
 * Keys are the caller's (`windowKey(policyKey, window)`), under the store prefix on Redis.
 */
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { type RateLimitWindow, windowKey } from './policy.ts';

/** A window's count after this request, and the milliseconds until it resets. */
export interface WindowCount {
  current: number;
  ttlMs: number;
}

/** Counts one request under a policy key against every window of that policy, in window order. */
export type CountWindows = (key: string) => Promise<WindowCount[]>;

export interface CounterStore {
  /** The counter for one policy's windows (called once per policy, at start-up). */
  forWindows(windows: readonly RateLimitWindow[]): CountWindows;
  /** Stores with work of their own (synced-counters.ts) finish it here. */
  close?(): Promise<void>;
}

/**
 * Adds ARGV[2i-1] to window key KEYS[i] (ARGV[2i]: its length, ms); answers each window's total and
 * ms left. Exact mode adds 1 per request; synced mode (synced-counters.ts) adds what a process
 * counted since its last sync.
 */
const WINDOWS_LUA = `
local result = {}
for i, key in ipairs(KEYS) do
  local add = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local current = redis.call('INCRBY', key, add)
  local ttl = window
  if current == add then
    redis.call('PEXPIRE', key, window)
  else
    ttl = redis.call('PTTL', key)
    if ttl < 0 then
      redis.call('PEXPIRE', key, window)
      ttl = window
    end
  end
  result[2 * i - 1] = current
  result[2 * i] = ttl
end
return result
`;

/** (keys, then for each key: the increment and the window's length) → [total, ms left] per key. */
export type WindowsCommand = (numberOfKeys: number, ...keysThenArgs: Array<string | number>) => Promise<number[]>;

const COMMAND = 'gatehouseRateLimitWindows';

/** The script as an ioredis command on this client (EVALSHA, falling back to EVAL once per connection). */
export function windowsCommand(redis: Redis): WindowsCommand {
  const commands = redis as unknown as Record<string, WindowsCommand | undefined>;
  if (commands[COMMAND] === undefined) redis.defineCommand(COMMAND, { lua: WINDOWS_LUA });
  return (numberOfKeys, ...args) => commands[COMMAND]!.call(redis, numberOfKeys, ...args);
}

export function redisCounters(redis: Redis, prefix: string): CounterStore {
  const command = windowsCommand(redis);
  return {
    forWindows(windows) {
      const increments = windows.flatMap((w) => [1, w.window]);
      return async (key) => {
        const args: Array<string | number> = windows.map((w) => `${prefix}${windowKey(key, w)}`);
        args.push(...increments);
        const flat = await command(windows.length, ...args);
        return windows.map((_w, i) => ({ current: Number(flat[2 * i]), ttlMs: Number(flat[2 * i + 1]) }));
      };
    },
  };
}

// @fastify/rate-limit's in-memory store is not exported from its main module; typed by the part used.
interface LocalStore {
  incr(key: string, cb: (err: Error | null, res: { current: number; ttl: number }) => void, timeWindow: number, max: number): void;
}
type LocalStoreCtor = new (continueExceeding: boolean, exponentialBackoff: boolean, cache: number) => LocalStore;
const require = createRequire(import.meta.url);
const LocalStoreClass = require('@fastify/rate-limit/store/LocalStore.js') as LocalStoreCtor;

export function memoryCounters(cacheSize: number): CounterStore {
  return {
    forWindows(windows) {
      const stores = windows.map(() => new LocalStoreClass(false, false, cacheSize));
      return async (key) =>
        windows.map((w, i) => {
          let count: WindowCount = { current: 0, ttlMs: 0 };
          // LocalStore answers synchronously.
          stores[i]!.incr(windowKey(key, w), (_err, res) => {
            count = { current: res.current, ttlMs: res.ttl };
          }, w.window, w.max);
          return count;
        });
    },
  };
}
