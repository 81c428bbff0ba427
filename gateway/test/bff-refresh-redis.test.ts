// The refresh single-flight across replicas (src/bff/refresh-redis.ts) on a real redis-server: each
// "replica" is its own coordinator with its own connection, as gateway pods are.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { redisServerOrSkip } from '../../token-service/test/support/redis-server.ts';
import { deriveCookieKey } from '../src/bff/cookie-crypto.ts';
import type { RefreshOutcome } from '../src/bff/refresh.ts';
import { redisRefreshCoordinator } from '../src/bff/refresh-redis.ts';
import { createGatewayRedis, waitReady } from '../src/rate-limit/redis.ts';

const server = await redisServerOrSkip();
if (!server) {
  t.test('refresh across replicas', { skip: 'redis-server is not installed (CI installs it)' }, () => {});
} else {
  t.teardown(() => server.stop());
  const key = deriveCookieKey('a-cookie-secret-of-at-least-32-characters');
  const connect = async () => {
    const redis = createGatewayRedis(server.url);
    await waitReady(redis);
    t.teardown(() => redis.quit());
    return redis;
  };
  const [a, b, c] = [await connect(), await connect(), await connect()];
  const replica = (redis: typeof a, options: { waitMs?: number } = {}) =>
    redisRefreshCoordinator({ redis, key, pollMs: 10, ...options });

  type S = { at: string; rt: string };
  /** A refresh that counts its calls and answers after `ms`. */
  const refresher = (outcome: RefreshOutcome<S>, ms = 50) => {
    const calls = { n: 0 };
    const refresh = async () => {
      calls.n += 1;
      await sleep(ms);
      return outcome;
    };
    return { calls, refresh };
  };
  let serial = 0;
  const session = () => ({ sid: `sid-${++serial}`, rt: `refresh-token-${serial}-${'x'.repeat(40)}` });

  t.test('two replicas, one refresh token: one rotation, both get it, a late request too', async (t) => {
    const { sid, rt } = session();
    const rotated = { session: { at: 'new-access-token', rt: 'new-refresh-token' } };
    const { calls, refresh } = refresher(rotated);
    const outcomes = await Promise.all([
      replica(a).run(sid, rt, refresh),
      replica(b).run(sid, rt, refresh),
      replica(a).run(sid, rt, refresh),
    ]);
    t.equal(calls.n, 1, 'the token service saw one refresh');
    t.same(outcomes, [rotated, rotated, rotated]);
    t.same(await replica(c).run(sid, rt, refresh), rotated, 'a third replica, later, is handed the rotation');
    t.equal(calls.n, 1);
  });

  t.test('a refused refresh is shared; an unavailable one is not remembered', async (t) => {
    const refused = session();
    const no = refresher({ refused: true });
    t.same(await Promise.all([replica(a).run(refused.sid, refused.rt, no.refresh), replica(b).run(refused.sid, refused.rt, no.refresh)]), [
      { refused: true },
      { refused: true },
    ]);
    t.equal(no.calls.n, 1);

    const down = session();
    const later = refresher({ unavailable: true });
    t.same(await replica(a).run(down.sid, down.rt, later.refresh), { unavailable: true });
    t.same(await replica(b).run(down.sid, down.rt, later.refresh), { unavailable: true });
    t.equal(later.calls.n, 2, 'the next request tries again');
  });

  t.test('Redis holds no token in clear, and an outcome moved to another session does not open', async (t) => {
    const victim = session();
    const attacker = session();
    await replica(a).run(attacker.sid, attacker.rt, refresher({ session: { at: 'attacker-at', rt: 'attacker-rt' } }).refresh);
    const keys = await a.keys(`gatehouse:gateway:bff:refresh:${attacker.sid}:*`);
    t.equal(keys.length, 1, 'the outcome only (the claim is released)');
    const doneKey = keys[0]!;
    t.notMatch(doneKey, attacker.rt, 'the refresh token only as its hash');
    const stored = (await a.get(doneKey))!;
    t.notMatch(stored, /attacker-at|attacker-rt/, 'the session is sealed');
    // Someone with Redis write access copies it under the victim's key: it must not be handed out.
    const victimHash = createHash('sha256').update(victim.rt).digest('base64url');
    await a.set(`gatehouse:gateway:bff:refresh:${victim.sid}:${victimHash}:done`, stored, 'PX', 30_000);
    const victims = refresher({ session: { at: 'victim-at', rt: 'victim-rt' } });
    t.same(await replica(b).run(victim.sid, victim.rt, victims.refresh), { unavailable: true }, 'refused, not opened');
    t.equal(victims.calls.n, 0, 'and no refresh with a token another replica may be rotating');
  });

  t.test('a replica that waits too long for another one answers unavailable', async (t) => {
    const { sid, rt } = session();
    const slow = refresher({ session: { at: 'at', rt: 'rt' } }, 400);
    const winner = replica(a).run(sid, rt, slow.refresh);
    await sleep(50);
    t.same(await replica(b, { waitMs: 100 }).run(sid, rt, slow.refresh), { unavailable: true });
    t.same(await winner, { session: { at: 'at', rt: 'rt' } });
    t.equal(slow.calls.n, 1);
  });

  t.test('Redis unreachable: the refresh goes ahead in this process', async (t) => {
    const gone = createGatewayRedis('redis://127.0.0.1:1');
    t.teardown(() => gone.disconnect());
    const { sid, rt } = session();
    const ok = refresher({ session: { at: 'at', rt: 'rt' } });
    const coordinator = replica(gone);
    const outcomes = await Promise.all([coordinator.run(sid, rt, ok.refresh), coordinator.run(sid, rt, ok.refresh)]);
    t.same(outcomes, [{ session: { at: 'at', rt: 'rt' } }, { session: { at: 'at', rt: 'rt' } }]);
    t.equal(ok.calls.n, 1, 'still once per process');
  });
}
