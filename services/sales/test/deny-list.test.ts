// A token revoked at the token service is refused by the sales service itself (REDIS_URL: the
// shared jti deny list), not only by the gateway; a deny list that cannot answer is a 503.
import { redisServerOrSkip } from '../../../token-service/test/support/redis-server.ts';
import { client, oauthClient } from '../../../token-service/test/support/oauth.ts';
import t from 'tap';
import { basket, counts, isProblem, post } from './support/order-suite.ts';
import { buildSales, startStack } from './support/stack.ts';

t.test('revoked tokens are refused at the service', async (t) => {
  const redis = await redisServerOrSkip();
  if (!redis) {
    t.comment('skipped: redis-server not installed (a failure in CI)');
    return;
  }
  t.teardown(() => redis.stop());
  const stack = await startStack(t, { REDIS_URL: redis.url });
  const sales = await buildSales(t, stack, { env: { REDIS_URL: redis.url } });
  const messageToken = await stack.messageToken(stack.tokens.alice);

  const accepted = await post(sales, stack.tokens.bob, basket, await stack.messageToken(stack.tokens.bob));
  t.equal(accepted.statusCode, 201, 'an unrevoked token is accepted');

  // RFC 7009 by the client the token was issued to (the gateway): its jti goes on the deny list.
  const gateway = await oauthClient(stack.issuer, 'gateway');
  await client.tokenRevocation(gateway, stack.tokens.alice);
  const before = await counts(sales.db);
  const refused = await post(sales, stack.tokens.alice, basket, messageToken);
  isProblem(t, refused, 401, 'ERR_TOKEN_REVOKED');
  t.same(await counts(sales.db), before, 'nothing stored');

  await redis.stop();
  const unavailable = await post(sales, stack.tokens.bob, basket, messageToken);
  t.equal(unavailable.statusCode, 503, 'deny list unanswerable: 503, not 401');
  t.same(await counts(sales.db), before, 'nothing stored');
});
