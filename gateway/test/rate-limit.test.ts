// The rate-limit plugin in a small Fastify app: a fake auth preHandler sets request.principal (or
// request.apiKeyId) from test headers, so no token service is needed. The same behaviour suite runs
// on in-memory counters and on a real redis-server, exact and synced (RATE_LIMIT_SYNC_MS); then
// Redis is killed mid-test (fail-open and fail-closed routes, both modes) and restarted.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAuditLog, createMetrics, memoryAuditSink } from '@gatehouse/observability';
import Fastify, { type FastifyInstance, type FastifyRequest, type LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';
import type { Test } from 'tap';
import t from 'tap';
import { rateLimits } from '../src/rate-limit/plugin.ts';
import type { RateLimitPolicyOverrides } from '../src/rate-limit/policy.ts';
import { createGatewayRedis, waitReady } from '../src/rate-limit/redis.ts';
import { redisServerOrSkip } from '../../token-service/test/support/redis-server.ts';

// Small limits so the tests stay short. The user burst window is 2 s so the burst test does not
// depend on four local requests fitting into one second.
const POLICIES: RateLimitPolicyOverrides = {
  user: [
    { max: 5, window: 60_000 },
    { max: 3, window: 2000 },
  ],
  'api-key': [{ max: 4, window: 60_000 }],
  public: [{ max: 2, window: 60_000 }],
};

interface Harness {
  app: FastifyInstance;
  records: Array<Record<string, unknown>>;
  metrics: () => Promise<string>;
}

async function buildApp(redis?: Redis, syncIntervalMs = 0): Promise<Harness> {
  const sink = memoryAuditSink();
  const audit = createAuditLog('gateway', sink.stream);
  const metrics = createMetrics('gateway', { defaults: false });
  const app = Fastify();
  await app.register(rateLimits, {
    redis,
    audit,
    registry: metrics.registry,
    policies: POLICIES,
    keyPrefix: `test:${randomUUID()}:`,
    storeErrorAuditIntervalMs: 60_000,
    syncIntervalMs,
  });
  const fakeAuth = async (request: FastifyRequest) => {
    // Only the fields the rate limiter reads (the real principal has more).
    const r = request as unknown as { principal?: { sub: string }; apiKeyId?: string };
    const sub = request.headers['x-test-sub'];
    if (typeof sub === 'string') r.principal = { sub };
    const keyId = request.headers['x-test-api-key-id'];
    if (typeof keyId === 'string') r.apiKeyId = keyId;
  };
  app.get('/user', { preHandler: [fakeAuth, app.gatehouseRateLimit('user')] }, async () => ({ ok: true }));
  app.get('/closed', { preHandler: [fakeAuth, app.gatehouseRateLimit('user', { failMode: 'closed' })] }, async () => ({ ok: true }));
  app.get('/key', { preHandler: [fakeAuth, app.gatehouseRateLimit('api-key')] }, async () => ({ ok: true }));
  app.get('/public', { preHandler: app.gatehouseRateLimit('public') }, async () => ({ ok: true }));
  await app.ready();
  return {
    app,
    records: sink.records,
    metrics: async () => {
      await audit.flush();
      return metrics.render();
    },
  };
}

const asUser = (app: FastifyInstance, sub: string, url = '/user') => app.inject({ method: 'GET', url, headers: { 'x-test-sub': sub } });

function assertHeaders(t: Test, res: LightMyRequestResponse, limit: number, remaining: number): void {
  t.equal(res.headers['ratelimit-limit'], String(limit), 'RateLimit-Limit');
  t.equal(res.headers['ratelimit-remaining'], String(remaining), 'RateLimit-Remaining');
  t.match(res.headers['ratelimit-reset'], /^\d+$/, 'RateLimit-Reset');
}

function assertTooMany(t: Test, res: LightMyRequestResponse): number {
  t.equal(res.statusCode, 429);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  const body = res.json();
  t.match(body, {
    type: 'urn:gatehouse:problem:rate-limited',
    title: 'Too Many Requests',
    status: 429,
    detail: /retry in \d+ second/,
    code: 'ERR_RATE_LIMITED',
    requestId: String,
  });
  const retryAfter = Number(res.headers['retry-after']);
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After is whole seconds (${res.headers['retry-after']})`);
  t.equal(res.headers['ratelimit-remaining'], '0', 'RateLimit-Remaining 0 on a refusal');
  return retryAfter;
}

function behaviour(t: Test, make: () => Promise<Harness>): void {
  t.test('per-user limit: burst then sustained window, other users unaffected', async (t) => {
    const { app, records, metrics } = await make();
    t.teardown(() => app.close());
    const alice = `alice-${randomUUID()}`;

    // The burst window (3 per 2 s) is the tightest: headers describe it.
    for (let i = 0; i < 3; i++) {
      const res = await asUser(app, alice);
      t.equal(res.statusCode, 200, `request ${i + 1} allowed`);
      assertHeaders(t, res, 3, 2 - i);
    }
    const burst = await asUser(app, alice);
    const burstRetry = assertTooMany(t, burst);
    t.equal(burst.headers['ratelimit-limit'], '3', 'refused by the burst window');
    t.ok(burstRetry <= 2, `burst Retry-After within the 2 s window (${burstRetry})`);

    const bob = await asUser(app, `bob-${randomUUID()}`);
    t.equal(bob.statusCode, 200, 'another user is unaffected');
    assertHeaders(t, bob, 3, 2);

    // Wait out the burst window (Retry-After is its TTL rounded up; no polling: a refused
    // request counts too). The minute window has counted 4, so one more fits, then it refuses.
    await sleep(burstRetry * 1000 + 100);
    const again = await asUser(app, alice);
    t.equal(again.statusCode, 200, 'allowed again once the burst window reset');
    const sustained = await asUser(app, alice);
    const retry = assertTooMany(t, sustained);
    t.equal(sustained.headers['ratelimit-limit'], '5', 'refused by the sustained window');
    t.ok(retry > 2 && retry <= 60, `sustained Retry-After is the minute window's (${retry})`);

    const text = await metrics();
    t.match(text, /gatehouse_gateway_rate_limited_total\{policy="user",component="gateway"\} [2-9]/);
    const exceeded = records.filter((r) => r.event === 'rate_limit.exceeded');
    t.ok(exceeded.length >= 2, 'burst and sustained exceedances audited');
    t.match(exceeded[0], { outcome: 'denied', policy: 'user', key: /^rlk_[A-Za-z0-9_-]{16}$/, sub: /^sub_/, route: '/user' });
    t.notMatch(JSON.stringify(records), alice, 'the audit stream never names the user');
    t.equal(
      exceeded.filter((r) => r.window_ms === 2000).length,
      1,
      'one exceeded record per counter per window, however many refusals',
    );
  });

  t.test('per-IP limit on a public route', async (t) => {
    const { app } = await make();
    t.teardown(() => app.close());
    const from = (remoteAddress: string) => app.inject({ method: 'GET', url: '/public', remoteAddress });
    for (let i = 0; i < 2; i++) {
      const res = await from('192.0.2.10');
      t.equal(res.statusCode, 200);
      assertHeaders(t, res, 2, 1 - i);
    }
    assertTooMany(t, await from('192.0.2.10'));
    t.equal((await from('192.0.2.11')).statusCode, 200, 'another address is unaffected');
    t.equal((await asUser(app, `carol-${randomUUID()}`, '/public')).statusCode, 200, 'public routes are keyed by address only');
  });

  t.test('per-API-key limit', async (t) => {
    const { app } = await make();
    t.teardown(() => app.close());
    const withKey = (id: string, remoteAddress: string) =>
      app.inject({ method: 'GET', url: '/key', remoteAddress, headers: { 'x-test-api-key-id': id } });
    const key = `key_${randomUUID()}`;
    for (let i = 0; i < 4; i++) t.equal((await withKey(key, `192.0.2.${i + 1}`)).statusCode, 200, 'one budget across addresses');
    assertTooMany(t, await withKey(key, '192.0.2.99'));
    t.equal((await withKey(`key_${randomUUID()}`, '192.0.2.99')).statusCode, 200, 'another key is unaffected');
  });
}

t.test('in-memory counters', async (t) => {
  behaviour(t, () => buildApp());
});

const server = await redisServerOrSkip();
if (!server) {
  t.test('redis', { skip: 'redis-server is not installed (set CI=true to make this fail)' }, () => {});
} else {
  t.teardown(() => server.stop());
  const clients: Redis[] = [];
  t.teardown(() => {
    for (const c of clients) c.disconnect();
  });
  const connected = async () => {
    const redis = createGatewayRedis(server.url, () => {});
    clients.push(redis);
    await waitReady(redis);
    return redis;
  };

  t.test('redis counters', async (t) => {
    const redis = await connected();
    behaviour(t, () => buildApp(redis));
  });

  // RATE_LIMIT_SYNC_MS: within one gateway the same answers, headers and refusals as exact mode.
  t.test('redis counters synced every 50 ms', async (t) => {
    const redis = await connected();
    behaviour(t, () => buildApp(redis, 50));
  });

  t.test('two gateway instances share the Redis counters', async (t) => {
    const redis = await connected();
    const prefixed = async () => {
      // Same prefix for both apps: build them by hand.
      const metrics = createMetrics('gateway', { defaults: false });
      const app = Fastify();
      await app.register(rateLimits, {
        redis,
        audit: createAuditLog('gateway', memoryAuditSink().stream),
        registry: metrics.registry,
        policies: POLICIES,
        keyPrefix: 'test:shared:',
      });
      app.get('/public', { preHandler: app.gatehouseRateLimit('public') }, async () => 'ok');
      t.teardown(() => app.close());
      return app;
    };
    const [a, b] = [await prefixed(), await prefixed()];
    const ip = '198.51.100.7';
    t.equal((await a.inject({ url: '/public', remoteAddress: ip })).statusCode, 200);
    t.equal((await b.inject({ url: '/public', remoteAddress: ip })).statusCode, 200);
    t.equal((await a.inject({ url: '/public', remoteAddress: ip })).statusCode, 429, 'the third request, on either instance, is refused');
  });

  for (const syncIntervalMs of [0, 50]) {
    const mode = syncIntervalMs === 0 ? 'exact counters' : `counters synced every ${syncIntervalMs} ms`;
    t.test(`redis killed mid-test (${mode}): fail-open and fail-closed routes, then recovery`, async (t) => {
      t.setTimeout(15_000);
      const redis = await connected();
      const { app, records, metrics } = await buildApp(redis, syncIntervalMs);
      t.teardown(() => app.close());
      const dave = `dave-${randomUUID()}`;
      t.equal((await asUser(app, dave)).statusCode, 200, 'open route before the kill');
      t.equal((await asUser(app, `erin-${randomUUID()}`, '/closed')).statusCode, 200, 'closed route before the kill');

      await server.kill();
      // Synced mode counts without a command: it learns that Redis is gone when the client does.
      if (syncIntervalMs > 0 && redis.status === 'ready') await new Promise((resolve) => redis.once('close', resolve));

      let started = performance.now();
      const open = await asUser(app, dave);
      const openMs = performance.now() - started;
      t.equal(open.statusCode, 200, 'fail-open route still answers');
      t.equal(open.headers['ratelimit-limit'], undefined, 'no RateLimit-* headers when nothing was counted');

      started = performance.now();
      const closed = await asUser(app, `erin-${randomUUID()}`, '/closed');
      const closedMs = performance.now() - started;
      t.equal(closed.statusCode, 503, 'fail-closed route refuses');
      t.match(closed.headers['content-type'], /^application\/problem\+json/);
      t.match(closed.json(), {
        type: 'urn:gatehouse:problem:rate-limit-unavailable',
        title: 'Service Unavailable',
        status: 503,
        detail: String,
        code: 'ERR_RATE_LIMIT_UNAVAILABLE',
      });
      t.equal(closed.headers['retry-after'], '5');
      t.comment(`with Redis dead: fail-open answered in ${openMs.toFixed(1)} ms, fail-closed in ${closedMs.toFixed(1)} ms`);

      // More failures: counted every time, audited once per interval.
      for (let i = 0; i < 3; i++) t.equal((await asUser(app, dave)).statusCode, 200);
      const text = await metrics();
      t.match(text, /gatehouse_gateway_rate_limit_store_errors_total\{policy="user",mode="open",component="gateway"\} [4-9]/);
      t.match(text, /gatehouse_gateway_rate_limit_store_errors_total\{policy="user",mode="closed",component="gateway"\} 1/);
      const unavailable = records.filter((r) => r.event === 'rate_limit.store_unavailable');
      t.equal(unavailable.length, 1, 'one store_unavailable audit record, not one per request');
      t.match(unavailable[0], { outcome: 'failure', reason: 'store_error', policy: 'user', mode: 'open' });

      await server.restart();
      await waitReady(redis, 5000);
      const back = await asUser(app, `frank-${randomUUID()}`);
      t.equal(back.statusCode, 200);
      assertHeaders(t, back, 3, 2);
      t.equal((await asUser(app, `erin-${randomUUID()}`, '/closed')).statusCode, 200, 'fail-closed route answers again');
      t.ok(records.some((r) => r.event === 'rate_limit.store_recovered'), 'recovery audited');

      const grace = `grace-${randomUUID()}`;
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) codes.push((await asUser(app, grace)).statusCode);
      t.same(codes, [200, 200, 200, 429], 'limits enforced again after the restart');
    });
  }
}
