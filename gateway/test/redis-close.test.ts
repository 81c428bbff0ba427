// The gateway's Redis client closes for good even while Redis is down (src/rate-limit/redis.ts).
// Without an offline queue, quit() is refused while disconnected, and the client kept
// reconnecting: a gateway stopped during a Redis outage never exited (and deny-list.test.ts,
// which stops a gateway right after a Redis restart, sometimes hung until tap's timeout).
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { redisServerOrSkip } from '../../token-service/test/support/redis-server.ts';
import { closeGatewayRedis, createGatewayRedis, waitReady } from '../src/rate-limit/redis.ts';

const server = await redisServerOrSkip();
if (!server) {
  t.test('closing during an outage', { skip: 'redis-server is not installed (CI installs it)' }, () => {});
} else {
  t.teardown(() => server.stop());

  t.test('connected: quit, and the client ends', async (t) => {
    const redis = createGatewayRedis(server.url);
    await waitReady(redis);
    const ended = new Promise((resolve) => redis.once('end', resolve));
    await closeGatewayRedis(redis);
    await ended;
    t.equal(redis.status, 'end');
  });

  t.test('Redis down: the client stays closed instead of reconnecting', async (t) => {
    const redis = createGatewayRedis(server.url);
    t.teardown(() => redis.disconnect());
    await waitReady(redis);
    await server.kill();
    // Bounded wait for the client to notice (no timing assertion).
    for (let i = 0; i < 100 && redis.status === 'ready'; i++) await sleep(20);
    t.not(redis.status, 'ready', `the client saw the outage (${redis.status})`);
    await closeGatewayRedis(redis);
    // Redis comes back. A client still reconnecting (backing off 50 ms more per attempt) would be
    // ready again well within a second; a closed one never is.
    await server.restart();
    await sleep(1200);
    t.not(redis.status, 'ready', 'not reconnected: nothing is left to keep the process alive');
  });
}
