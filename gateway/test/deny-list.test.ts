/**
 * The jti deny list against a real redis-server shared with a real token service: an access token
 * revoked at the token service (RFC 7009) is refused by the gateway at once with
 * DENY_LIST_CACHE_SECONDS=0 (also from the validator's cache), and within the window otherwise;
 * a Redis that cannot answer fails closed with 503.
 */
import t from 'tap';
import { client, loginWithCode, oauthClient } from '../../token-service/test/support/oauth.ts';
import { redisServerOrSkip } from '../../token-service/test/support/redis-server.ts';
import { startTokenService } from '../../token-service/test/support/token-service.ts';
import { redisDenyList, REVOKED_JTI_PREFIX } from '../src/deny-list.ts';
import { route, startGateway } from './support/gateway.ts';
import { startUpstream } from './support/upstream.ts';

t.test('the adapter reads the token service key layout', async (t) => {
  const asked: string[] = [];
  const list = redisDenyList({ exists: async (key) => (asked.push(key), key.endsWith('gone') ? 1 : 0) });
  t.equal(await list.has('gone'), true);
  t.equal(await list.has('here'), false);
  t.same(asked, [`${REVOKED_JTI_PREFIX}gone`, `${REVOKED_JTI_PREFIX}here`]);
  t.equal(REVOKED_JTI_PREFIX, 'gatehouse:revoked-jti:');
});

const redis = await redisServerOrSkip();
if (!redis) {
  t.test('deny list end to end', { skip: 'redis-server is not installed (CI installs it)' }, () => {});
} else {
  t.teardown(() => redis.stop());

  t.test('a token revoked at the token service is refused with ERR_TOKEN_REVOKED', async (t) => {
    const ts = await startTokenService(t, { REDIS_URL: redis.url });
    const upstream = await startUpstream(t);
    const { url } = await startGateway(t, {
      issuer: ts.issuer,
      routes: [route(upstream.url)],
      env: { REDIS_URL: redis.url, DENY_LIST_CACHE_SECONDS: '0' },
    });
    const { tokens } = await loginWithCode(ts.issuer, 'alice');
    const get = () => fetch(`${url}/api/orders`, { headers: { authorization: `Bearer ${tokens.access_token}` } });

    t.equal((await get()).status, 200, 'accepted, and now in the validator cache');
    await client.tokenRevocation(await oauthClient(ts.issuer, 'gateway'), tokens.access_token);
    const refused = await get();
    t.equal(refused.status, 401);
    t.match(refused.headers.get('www-authenticate'), /error="invalid_token"/);
    t.match(await refused.json(), { code: 'ERR_TOKEN_REVOKED' });

    // Redis gone: the deny list cannot answer, so the gateway fails closed (not open, not 401).
    const other = (await loginWithCode(ts.issuer, 'bob')).tokens.access_token;
    await redis.kill();
    const down = await fetch(`${url}/api/orders`, { headers: { authorization: `Bearer ${other}` } });
    t.equal(down.status, 503);
    t.match(await down.json(), { code: 'ERR_VALIDATOR_UNAVAILABLE' });
    t.equal(down.headers.get('retry-after'), '5');
    // Back, so the token service's and the gateway's clients reconnect and close cleanly at teardown.
    await redis.restart();
  });

  t.test('with the deny-list cache: a revocation takes effect within DENY_LIST_CACHE_SECONDS', async (t) => {
    const ts = await startTokenService(t, { REDIS_URL: redis.url });
    const upstream = await startUpstream(t);
    const gateway = (seconds: string) =>
      startGateway(t, { issuer: ts.issuer, routes: [route(upstream.url)], env: { REDIS_URL: redis.url, DENY_LIST_CACHE_SECONDS: seconds } });
    const long = await gateway('60');
    const short = await gateway('1');
    const { tokens } = await loginWithCode(ts.issuer, 'alice');
    const get = (base: string) =>
      fetch(`${base}/api/orders`, { headers: { authorization: `Bearer ${tokens.access_token}` } });

    t.equal((await get(long.url)).status, 200, 'accepted: "not revoked" remembered for 60 s');
    t.equal((await get(short.url)).status, 200, 'accepted: "not revoked" remembered for 1 s');
    await client.tokenRevocation(await oauthClient(ts.issuer, 'gateway'), tokens.access_token);
    t.equal((await get(long.url)).status, 200, 'still accepted inside the window: the documented propagation delay');

    // The 1 s gateway asks Redis again once its answer expired (bounded wait, no timing assertion).
    let refused: Response | undefined;
    for (let attempt = 0; attempt < 50 && refused === undefined; attempt += 1) {
      const response = await get(short.url);
      if (response.status === 401) refused = response;
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
    t.ok(refused, 'refused once the cached answer expired');
    t.match(await refused?.json(), { code: 'ERR_TOKEN_REVOKED' });
  });
}
