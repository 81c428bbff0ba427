import { Redis } from 'ioredis';
import t from 'tap';
import { client, decodeJwt, exchange, loginWithCode, oauthClient } from './support/oauth.ts';
import { redisServerOrSkip } from './support/redis-server.ts';
import { startTokenService } from './support/token-service.ts';

const redisServer = await redisServerOrSkip();
if (!redisServer) {
  t.test('token service on Redis', { skip: 'redis-server is not installed (CI installs it)' }, () => {});
} else {
  t.teardown(() => redisServer.stop());
  const raw = new Redis(redisServer.url);
  t.teardown(() => raw.quit());

  t.test('grants, refresh tokens and the deny list live in Redis', async (t) => {
    const { issuer, service } = await startTokenService(t, { REDIS_URL: redisServer.url });
    t.equal(service.stores.kind, 'redis');
    const gateway = await oauthClient(issuer, 'gateway');
    const { tokens } = await loginWithCode(issuer, 'alice');
    t.ok((await raw.keys('gatehouse:oidc:*')).length > 0, 'oidc-provider state is in Redis');

    const rotated = await client.refreshTokenGrant(gateway, tokens.refresh_token!);
    t.ok(rotated.access_token);

    const message = await exchange(gateway, {
      subject_token: rotated.access_token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      audience: 'urn:gatehouse:consumer:shipping',
      producer: 'sales',
    });
    await client.tokenRevocation(gateway, message.access_token);
    const jti = decodeJwt(message.access_token).payload.jti;
    t.equal(
      await raw.get(`gatehouse:revoked-jti:${jti}`),
      '1',
      'validators elsewhere can read the deny list',
    );
    const ttl = await raw.ttl(`gatehouse:revoked-jti:${jti}`);
    const { exp } = decodeJwt(message.access_token).payload as { exp: number };
    const untilExp = exp - Math.floor(Date.now() / 1000);
    const retention = 7 * 24 * 3600;
    t.ok(
      ttl > untilExp + retention - 60 && ttl <= untilExp + retention + 5,
      'a message token is kept past its exp for the replay window (never "merely expired")',
    );
    await client.tokenRevocation(gateway, rotated.access_token);
    const accessJti = decodeJwt(rotated.access_token).payload.jti;
    const accessTtl = await raw.ttl(`gatehouse:revoked-jti:${accessJti}`);
    t.ok(accessTtl > 0 && accessTtl <= 900, 'an access token until it would expire');
    const readyz = await fetch(`${issuer}/readyz`);
    t.equal(readyz.status, 200);
  });

  t.test('a refresh token survives a token service restart', async (t) => {
    const first = await startTokenService(t, { REDIS_URL: redisServer.url });
    const { tokens } = await loginWithCode(first.issuer, 'bob');
    await first.stop();
    // A new process on the same issuer, key store and Redis, as after a rolling restart.
    const second = await startTokenService(t, {
      REDIS_URL: redisServer.url,
      TOKEN_SERVICE_PORT: String(first.port),
      KEYSTORE_PATH: `${first.dir}/keys/keystore.json`,
      CLIENT_KEYS_DIR: `${first.dir}/clients`,
    });
    t.equal(second.issuer, first.issuer);
    const gateway = await oauthClient(second.issuer, 'gateway');
    const refreshed = await client.refreshTokenGrant(gateway, tokens.refresh_token!);
    t.equal(decodeJwt(refreshed.access_token).payload.sub, 'bob', 'the session went on');
  });

  t.test('readiness fails when Redis goes away and recovers with it', async (t) => {
    const { issuer } = await startTokenService(t, { REDIS_URL: redisServer.url });
    t.equal((await fetch(`${issuer}/readyz`)).status, 200);
    await redisServer.kill();
    const down = await fetch(`${issuer}/readyz`);
    t.equal(down.status, 503);
    t.same(((await down.json()) as { failing: string[] }).failing, ['store']);
    await redisServer.restart();
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await fetch(`${issuer}/readyz`)).status;
    }
    t.equal(status, 200, 'ready again');
  });
}
