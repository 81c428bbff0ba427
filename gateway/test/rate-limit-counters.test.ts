/**
 * The counters under the rate-limit plugin: every window of a policy counted by one store
 * operation (on Redis one EVALSHA per request, whatever the number of windows), fixed windows
 * with their reset time, the documented key layout, and a counter found without an expiry repaired.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Test } from 'tap';
import t from 'tap';
import { redisServerOrSkip } from '../../token-service/test/support/redis-server.ts';
import { type CounterStore, memoryCounters, redisCounters } from '../src/rate-limit/counters.ts';
import { createGatewayRedis, waitReady } from '../src/rate-limit/redis.ts';

const WINDOWS = [
  { max: 5, window: 60_000 },
  { max: 2, window: 2_000 },
];

async function counts(t: Test, store: CounterStore): Promise<void> {
  const count = store.forWindows(WINDOWS);
  const key = `user:sub:${randomUUID()}`;
  const first = await count(key);
  t.same(
    first.map((c) => c.current),
    [1, 1],
    'one request counted in every window',
  );
  t.ok(first[0]!.ttlMs > 2_000 && first[0]!.ttlMs <= 60_000, 'the sustained window resets within 60 s');
  t.ok(first[1]!.ttlMs > 0 && first[1]!.ttlMs <= 2_000, 'the burst window resets within 2 s');
  await count(key);
  const third = await count(key);
  t.same(
    third.map((c) => c.current),
    [3, 3],
    'counts grow per window',
  );
  const other = await count(`user:sub:${randomUUID()}`);
  t.same(
    other.map((c) => c.current),
    [1, 1],
    'another key has its own counters',
  );
}

t.test('in memory', async (t) => counts(t, memoryCounters(100)));

const server = await redisServerOrSkip();
if (!server) {
  t.test('on Redis', { skip: 'redis-server is not installed (set CI=true to make this fail)' }, () => {});
} else {
  t.teardown(() => server.stop());
  const redis: Redis = createGatewayRedis(server.url, () => {});
  t.teardown(() => redis.disconnect());
  await waitReady(redis);

  const commandCalls = async (): Promise<Record<string, number>> => {
    const info = (await redis.info('commandstats')) as string;
    return Object.fromEntries([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  };

  t.test('on Redis: the same counting, one script call per request', async (t) => {
    const prefix = `test:${randomUUID()}:`;
    const before = await commandCalls();
    await counts(t, redisCounters(redis, prefix));
    const after = await commandCalls();
    const sent = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
    // ioredis sends EVALSHA, and EVAL once when the server does not know the script yet.
    t.equal(sent('evalsha') + sent('eval'), 4, 'four requests, four script calls (not one per window)');
    t.equal(sent('incrby'), 8, 'inside them, one INCRBY per window');
    const keys = (await redis.keys(`${prefix}*`)).sort();
    t.equal(keys.length, 4, 'two keys per policy key');
    t.match(keys[0], new RegExp(`^${prefix}user:sub:[0-9a-f-]+:w(2000|60000)$`), 'prefix + policy key + :w<windowMs>');
  });

  t.test('on Redis: a counter without an expiry gets one again', async (t) => {
    const prefix = `test:${randomUUID()}:`;
    const count = redisCounters(redis, prefix).forWindows([{ max: 5, window: 60_000 }]);
    await redis.set(`${prefix}ip:ip:192.0.2.1:w60000`, '3'); // e.g. a PEXPIRE that never ran
    const [state] = await count('ip:ip:192.0.2.1');
    t.equal(state!.current, 4);
    t.equal(state!.ttlMs, 60_000, 'reported as a fresh window');
    const ttl = await redis.pttl(`${prefix}ip:ip:192.0.2.1:w60000`);
    t.ok(ttl > 0 && ttl <= 60_000, 'and it will reset');
  });

  t.test('on Redis: a store that cannot answer rejects (the plugin applies the fail mode)', async (t) => {
    const dead = createGatewayRedis('redis://127.0.0.1:1', () => {});
    t.teardown(() => dead.disconnect());
    const count = redisCounters(dead, 'test:').forWindows(WINDOWS);
    await t.rejects(count('ip:ip:192.0.2.9'));
  });
}
