/**
 * Synced rate-limit counters (RATE_LIMIT_SYNC_MS > 0, src/rate-limit/synced-counters.ts): counted
 * in the process, summed on a real redis-server at each sync. Two stores on one Redis stand for two
 * gateway replicas. Checked: no Redis command per request; exact counts within one process; each
 * replica sees the other's requests after a sync (and only then: the documented overshoot); the
 * reset time taken from Redis; counts kept across a failed sync; Redis down fails the count (the
 * route's fail mode decides); the gateway itself refusing over the limit with one process; a bad
 * sync interval refused.
 */
import { randomUUID } from 'node:crypto';
import { createAuditLog, createMetrics, memoryAuditSink } from '@gatehouse/observability';
import Fastify from 'fastify';
import type { Redis } from 'ioredis';
import t from 'tap';
import { startTokenService } from '../../token-service/test/support/token-service.ts';
import { redisServerOrSkip } from '../../token-service/test/support/redis-server.ts';
import { rateLimits } from '../src/rate-limit/plugin.ts';
import { createGatewayRedis, waitReady } from '../src/rate-limit/redis.ts';
import { type SyncedCounterStore, syncedCounters } from '../src/rate-limit/synced-counters.ts';
import { callGateway, route, startGateway } from './support/gateway.ts';

const WINDOWS = [
  { max: 100, window: 60_000 },
  { max: 10, window: 1_000 },
];
const PREFIX = 'test:rl:';
// Long enough that only explicit sync() calls sync during a test.
const INTERVAL = 3_600_000;

const server = await redisServerOrSkip();
if (!server) {
  t.test('synced counters', { skip: 'redis-server is not installed (set CI=true to make this fail)' }, () => {});
} else {
  t.teardown(() => server.stop());
  const clients: Redis[] = [];
  const client = async (): Promise<Redis> => {
    const redis = createGatewayRedis(server.url, () => {});
    clients.push(redis);
    await waitReady(redis);
    return redis;
  };
  t.teardown(() => {
    for (const redis of clients) redis.disconnect();
  });
  const admin = await client();
  /** Scripts run (the commands a script calls are counted apart by Redis). */
  const calls = async (): Promise<number> => {
    const info = (await admin.info('commandstats')) as string;
    return [...info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[2]), 0);
  };
  const stores: SyncedCounterStore[] = [];
  t.teardown(async () => {
    for (const store of stores) await store.close();
  });
  const replica = async (options: { onSyncError?: (error: unknown) => void } = {}) => {
    const store = syncedCounters(await client(), PREFIX, { intervalMs: INTERVAL, ...options });
    stores.push(store);
    return store;
  };
  const current = async (count: (key: string) => Promise<Array<{ current: number }>>, key: string) =>
    (await count(key)).map((c) => c.current);

  t.test('a bad interval is refused where the store is made', async (t) => {
    const redis = await client();
    for (const intervalMs of [0, -1, 1.5, Number.NaN])
      t.throws(() => syncedCounters(redis, PREFIX, { intervalMs }), TypeError, `intervalMs ${intervalMs}`);
    const app = Fastify();
    void app.register(rateLimits, {
      redis,
      audit: createAuditLog('gateway', memoryAuditSink().stream),
      registry: createMetrics('gateway', { defaults: false }).registry,
      syncIntervalMs: -5,
    });
    await t.rejects(async () => {
      await app.ready();
    }, /invalid rate-limit sync interval "-5"/);
  });

  t.test('a request costs no Redis command; one process counts exactly', async (t) => {
    const count = (await replica()).forWindows(WINDOWS);
    const key = `user:sub:${randomUUID()}`;
    const before = await calls();
    for (let i = 1; i <= 12; i++) t.same(await current(count, key), [i, i], `request ${i}`);
    t.equal(await calls(), before, 'nothing sent to Redis yet');
  });

  t.test('a sync sums the replicas on Redis; a replica sees the others at its next sync', async (t) => {
    const a = await replica();
    const b = await replica();
    const countA = a.forWindows(WINDOWS);
    const countB = b.forWindows(WINDOWS);
    // The script's first use on a server is EVALSHA, refused, then EVAL: counted apart below.
    await countA(`warm-up:${randomUUID()}`);
    await a.sync();
    const key = `user:sub:${randomUUID()}`;
    for (let i = 0; i < 3; i++) await countA(key);
    const before = await calls();
    await a.sync();
    t.equal((await calls()) - before, 1, 'one script for every key and window that changed');
    for (let i = 1; i <= 3; i++) await countB(key);
    t.same(await current(countB, key), [4, 4], 'B has not synced: it counts its own requests only (the overshoot the docs describe)');
    await b.sync();
    t.equal(await admin.get(`${PREFIX}${key}:w60000`), '7', 'Redis holds both replicas\' requests');
    t.same(await current(countB, key), [8, 8], 'B now counts A\'s requests too');
    t.same(await current(countA, key), [4, 4], 'A has not synced since B did: still its own view');
    await a.sync();
    t.same(await current(countA, key), [9, 9], 'after its sync A counts B\'s (all but B\'s last, unsynced)');
    t.same(await current(countA, key), [10, 10], 'the burst window\'s max of 10');
    t.same(await current(countA, key), [11, 11], 'over it: the plugin refuses this one');
  });

  t.test('the window resets when the Redis key expires, as Redis says', async (t) => {
    const a = await replica();
    const b = await replica();
    const windows = [{ max: 5, window: 600 }];
    const countA = a.forWindows(windows);
    const countB = b.forWindows(windows);
    const key = `ip:ip:${randomUUID()}`;
    await countB(key);
    await b.sync(); // the Redis key, and so the window, starts now
    await new Promise((resolve) => setTimeout(resolve, 300));
    const [before] = await countA(key);
    t.ok(before!.ttlMs > 500, `before its sync A counts its own window from its first request (${before!.ttlMs} ms left)`);
    await a.sync();
    const [after] = await countA(key);
    t.ok(after!.ttlMs < 450, `after it, the window B started on Redis 300 ms earlier (${after!.ttlMs} ms left)`);
    t.equal(after!.current, 3, 'and B\'s request in it');
    await new Promise((resolve) => setTimeout(resolve, after!.ttlMs + 50));
    t.same(await current(countA, key), [1], 'a new window once the Redis key has expired');
  });

  t.test('Redis gone: counting fails (the fail mode decides) and unsynced counts are kept', async (t) => {
    const errors: unknown[] = [];
    const store = await replica({ onSyncError: (error) => errors.push(error) });
    const redis = clients.at(-1)!;
    const count = store.forWindows(WINDOWS);
    const key = `user:sub:${randomUUID()}`;
    for (let i = 0; i < 3; i++) await count(key);
    // A sync whose command fails (the script is refused here): nothing lost, sent again later.
    const original = (redis as unknown as Record<string, unknown>).gatehouseRateLimitWindows;
    (redis as unknown as Record<string, unknown>).gatehouseRateLimitWindows = () => Promise.reject(new Error('ERR injected'));
    await t.rejects(store.sync(), /injected/);
    (redis as unknown as Record<string, unknown>).gatehouseRateLimitWindows = original;
    t.same(await current(count, key), [4, 4], 'the failed sync\'s counts are still counted');
    await store.sync();
    t.equal(await admin.get(`${PREFIX}${key}:w60000`), '4', 'and reach Redis at the next sync');

    const ended = new Promise((resolve) => redis.once('end', resolve));
    redis.disconnect();
    await ended;
    await t.rejects(count(key), /redis is end/, 'no Redis: the count fails at once');
    await store.sync();
    t.equal(errors.length, 0, 'a sync without Redis waits instead of failing');
  });

  t.test('many distinct keys: the oldest synced entries are dropped, unsynced counts never', async (t) => {
    const store = syncedCounters(await client(), PREFIX, { intervalMs: INTERVAL, maxEntries: 4 });
    stores.push(store);
    const count = store.forWindows([{ max: 100, window: 60_000 }]);
    const keys = Array.from({ length: 6 }, () => `ip:ip:${randomUUID()}`);
    for (const key of keys.slice(0, 4)) await count(key);
    await count(keys[0]!);
    t.same(await current(count, keys[4]!), [1], 'over the cap with nothing synced: nothing dropped');
    t.same(await current(count, keys[0]!), [3], 'the first key still counts its own requests');
    await store.sync();
    await count(keys[5]!); // over the cap again: the oldest synced entry (keys[0]) goes
    t.same(await current(count, keys[1]!), [2], 'a kept entry keeps its count');
    t.same(await current(count, keys[0]!), [1], 'a dropped key counts from zero here until its next sync');
    await store.sync();
    t.same(await current(count, keys[0]!), [5], 'and has its whole count back after it');
  });

  t.test('the gateway with RATE_LIMIT_SYNC_MS: limits, headers and 429 from one process', async (t) => {
    const ts = await startTokenService(t);
    const { url } = await startGateway(t, {
      issuer: ts.issuer,
      routes: [route('http://127.0.0.1:9', { name: 'pub', prefix: '/api/pub', methods: ['GET'], auth: 'none', scopes: [], rateLimit: { policy: 'public' } })],
      env: { REDIS_URL: server.url, RATE_LIMIT_SYNC_MS: '50', TRUST_PROXY: '127.0.0.1' },
    });
    const headers = { 'x-forwarded-for': '198.51.100.77' };
    const before = await calls();
    const first = await callGateway(url, '/api/pub/x', { headers });
    t.equal(first.headers.get('ratelimit-limit'), '100');
    t.equal(first.headers.get('ratelimit-remaining'), '99');
    let status = 0;
    for (let i = 2; i <= 101; i++) status = (await callGateway(url, '/api/pub/x', { headers })).status;
    t.equal(status, 429, 'request 101 of the public policy\'s 100 per minute is refused');
    t.ok((await calls()) - before < 101 / 2, 'far fewer Redis scripts than requests (synced every 50 ms)');
    // The next syncs (every 50 ms) bring the rest; polled, not timed, so a loaded machine only waits longer.
    let total: string | null = null;
    for (let tries = 0; tries < 100 && total !== '101'; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      total = await admin.get('gatehouse:gateway:rl:public:ip:198.51.100.77:w60000');
    }
    t.equal(total, '101', 'every request reached Redis');
  });
}
