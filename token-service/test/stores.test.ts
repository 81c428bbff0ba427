// One behavioural suite for both Stores implementations: memory with a fake clock, Redis against a
// real redis-server where "advancing time" means actually waiting (windows of 1 s, waits of ~1.1 s).
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Test } from 'tap';
import t from 'tap';
import type { Stores } from '../src/stores/index.ts';
import { createRedis, memoryStores, redisStores } from '../src/stores/index.ts';
import { redisServerOrSkip } from './support/redis-server.ts';

interface Harness {
  stores: Stores;
  /** Epoch milliseconds as the stores see them. */
  now(): number;
  advance(ms: number): Promise<void>;
}

async function connected(url: string): Promise<Redis> {
  // Quiet client: the fault tests below provoke connection errors on purpose.
  const redis = createRedis(url, () => {});
  await once(redis, 'ready', { signal: AbortSignal.timeout(5000) });
  return redis;
}

function behaviour(t: Test, h: Harness): void {
  const { stores } = h;
  const nowSeconds = () => Math.floor(h.now() / 1000);

  t.test('ping answers', async (t) => {
    t.equal(await stores.ping(), true);
  });

  t.test('attempt counter counts within a window and clears', async (t) => {
    t.same([await stores.attempts.hit('a', 60), await stores.attempts.hit('a', 60)], [1, 2]);
    t.equal(await stores.attempts.count('a'), 2);
    const left = await stores.attempts.secondsLeft('a');
    t.ok(left > 58 && left <= 60, `about 60 s left (${left})`);
    t.equal(await stores.attempts.count('other'), 0, 'keys are independent');
    t.equal(await stores.attempts.secondsLeft('other'), 0, 'no window, no seconds');
    await stores.attempts.clear('a');
    t.equal(await stores.attempts.count('a'), 0);
    t.equal(await stores.attempts.secondsLeft('a'), 0);
  });

  t.test('deny list', async (t) => {
    await stores.denyList.add('revoked', nowSeconds() + 60);
    t.equal(await stores.denyList.has('revoked'), true);
    t.equal(await stores.denyList.has('never-added'), false);
    await stores.denyList.add('already-expired', nowSeconds() - 5);
    t.equal(await stores.denyList.has('already-expired'), false, 'an expired token is not stored');
  });

  t.test('grant index take returns and forgets', async (t) => {
    const exp = nowSeconds() + 60;
    await stores.grantTokens.record('g1', 'j1', exp);
    await stores.grantTokens.record('g1', 'j2', exp + 60);
    await stores.grantTokens.record('g1', 'stale', nowSeconds() - 5);
    await stores.grantTokens.record('g2', 'j3', exp);
    const taken = await stores.grantTokens.take('g1');
    t.same(
      taken.sort((a, b) => a.jti.localeCompare(b.jti)),
      [
        { jti: 'j1', expiresAt: exp },
        { jti: 'j2', expiresAt: exp + 60 },
      ],
    );
    t.same(await stores.grantTokens.take('g1'), [], 'forgotten after take');
    t.same(await stores.grantTokens.take('g2'), [{ jti: 'j3', expiresAt: exp }], 'other grants untouched');
  });

  t.test('windows and entries expire', async (t) => {
    const soon = nowSeconds() + 1;
    t.equal(await stores.attempts.hit('w', 1), 1);
    await stores.denyList.add('short', soon);
    await stores.grantTokens.record('g3', 'short', soon);
    await stores.grantTokens.record('g3', 'long', soon + 60);
    t.equal(await stores.denyList.has('short'), true, 'kept at least 1 s');

    await h.advance(500);
    t.equal(await stores.attempts.hit('w', 1), 2, 'second failure in the window');
    await h.advance(600);
    // A sliding window would have been extended by the second hit and still be open here.
    t.equal(await stores.attempts.count('w'), 0, 'fixed window ended 1 s after the first failure');
    t.equal(await stores.attempts.secondsLeft('w'), 0);
    t.equal(await stores.attempts.hit('w', 1), 1, 'a new window starts');
    t.equal(await stores.denyList.has('short'), false, 'deny entry gone after exp');
    t.same(
      await stores.grantTokens.take('g3'),
      [{ jti: 'long', expiresAt: soon + 60 }],
      'expired jti dropped',
    );
  });
}

t.test('memory stores', async (t) => {
  let clock = Date.now();
  const stores = memoryStores(() => clock);
  behaviour(t, {
    stores,
    now: () => clock,
    advance: async (ms) => {
      clock += ms;
    },
  });

  t.test('bounded: the oldest entries are evicted past the cap', async (t) => {
    const small = memoryStores(() => clock, 3);
    for (const jti of ['a', 'b', 'c', 'd']) await small.denyList.add(jti, Math.floor(clock / 1000) + 60);
    t.same(await Promise.all(['a', 'b', 'c', 'd'].map((jti) => small.denyList.has(jti))), [
      false,
      true,
      true,
      true,
    ]);
  });
});

const server = await redisServerOrSkip();
if (!server) {
  t.test('redis stores', { skip: 'redis-server is not installed (set CI=true to make this fail)' }, () => {});
} else {
  t.teardown(() => server.stop());

  t.test('redis stores', async (t) => {
    const stores = redisStores(await connected(server.url));
    t.teardown(() => stores.close());
    behaviour(t, { stores, now: Date.now, advance: (ms) => sleep(ms) });

    t.test('deny list key layout read by other processes', async (t) => {
      const raw = await connected(server.url);
      t.teardown(() => raw.quit());
      await stores.denyList.add('layout', Math.floor(Date.now() / 1000) + 30);
      t.equal(await raw.get('gatehouse:revoked-jti:layout'), '1');
      const ttl = await raw.ttl('gatehouse:revoked-jti:layout');
      t.ok(ttl > 0 && ttl <= 30, `EX is the time left until exp (${ttl})`);
    });
  });

  t.test('redis stores when the server dies', async (t) => {
    const stores = redisStores(await connected(server.url));
    t.teardown(() => stores.close());
    t.equal(await stores.ping(), true);

    await server.kill();
    // Settling at all (before tap's timeout) is the point: no offline queue, so nothing waits.
    t.equal(await stores.ping(), false, 'ping resolves false');
    await t.rejects(stores.attempts.hit('x', 60), 'hit rejects');
    await t.rejects(stores.denyList.has('x'), 'has rejects');
    await t.rejects(stores.denyList.add('x', Math.floor(Date.now() / 1000) + 60), 'add rejects');
    await t.rejects(stores.grantTokens.take('x'), 'take rejects');

    await server.restart();
    // The client reconnects on its own (backoff capped at 1 s); poll, bounded.
    let up = false;
    for (let i = 0; i < 50 && !up; i++) {
      up = await stores.ping();
      if (!up) await sleep(100);
    }
    t.equal(up, true, 'ping recovers after restart');
  });
}
