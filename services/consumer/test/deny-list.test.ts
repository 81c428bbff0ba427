// The consumer's jti deny list against a real redis-server: it reads the token service's key
// layout, and a Redis that cannot answer rejects (the validator then fails closed, the record is
// retried: see runtime.test.ts).
import { Redis } from 'ioredis';
import t from 'tap';
import { redisServerOrSkip } from '../../../token-service/test/support/redis-server.ts';
import { REVOKED_JTI_PREFIX, redisDenyList } from '../src/deny-list.ts';

const redis = await redisServerOrSkip();
if (!redis) {
  t.test('deny list against Redis', { skip: 'redis-server is not installed (CI installs it)' }, () => {});
} else {
  t.teardown(() => redis.stop());

  t.test('a jti the token service revoked is on the list; others are not', async (t) => {
    const writer = new Redis(redis.url);
    t.teardown(() => writer.quit());
    await writer.set(`${REVOKED_JTI_PREFIX}revoked-1`, '1', 'EX', 60);
    const errors: Error[] = [];
    const list = redisDenyList(redis.url, (error) => errors.push(error));
    t.teardown(() => list.close());
    t.equal(await list.has('revoked-1'), true);
    t.equal(await list.has('fine-1'), false);

    await t.test('Redis down: has() rejects, never answers "not revoked"', async (t) => {
      await redis.kill();
      await t.rejects(list.has('fine-1'));
      await redis.restart();
    });
  });
}
