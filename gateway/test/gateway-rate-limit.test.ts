/**
 * The route table's rateLimit block reaches the proxied routes: limits run after authentication
 * and key on the user. (The limits themselves are tested in rate-limit.test.ts.)
 */
import t, { type Test } from 'tap';
import { loginWithCode } from '../../token-service/test/support/oauth.ts';
import { redisServerOrSkip } from '../../token-service/test/support/redis-server.ts';
import { startTokenService } from '../../token-service/test/support/token-service.ts';
import { route, startGateway } from './support/gateway.ts';
import { startUpstream } from './support/upstream.ts';

const ts = await startTokenService(t);
const upstream = await startUpstream(t);
const alice = (await loginWithCode(ts.issuer, 'alice')).tokens.access_token;

async function check(t: Test, env: Record<string, string> = {}) {
  const { url } = await startGateway(t, {
    issuer: ts.issuer,
    routes: [
      route(upstream.url, { rateLimit: { policy: 'user' } }),
      route(upstream.url, { name: 'open', prefix: '/api/open', auth: 'none', scopes: [], methods: ['GET'] }),
    ],
    env,
  });
  const limited = await fetch(`${url}/api/orders`, { headers: { authorization: `Bearer ${alice}` } });
  t.equal(limited.status, 200);
  t.ok(limited.headers.get('ratelimit-limit'), 'rate-limit headers on a limited route');
  t.ok(Number(limited.headers.get('ratelimit-remaining')) >= 0);
  const unauthenticated = await fetch(`${url}/api/orders`);
  t.equal(unauthenticated.status, 401, 'authentication comes first');
  const unlimited = await fetch(`${url}/api/open`);
  t.equal(unlimited.status, 200);
  t.equal(unlimited.headers.get('ratelimit-limit'), null, 'a route without a rateLimit block has none');
}

t.test('in memory', async (t) => check(t));

const redis = await redisServerOrSkip();
if (!redis) {
  t.test('on Redis', { skip: 'redis-server is not installed (CI installs it)' }, () => {});
} else {
  t.teardown(() => redis.stop());
  t.test('on Redis', async (t) => check(t, { REDIS_URL: redis.url }));
}
