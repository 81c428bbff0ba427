// RedisAdapter against a real redis-server: the adapter contract node-oidc-provider relies on, then a
// short end-to-end check through a real Provider (client_credentials token, then introspection).
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import t from 'tap';
import { RedisAdapter, redisAdapterFactory } from '../src/adapters/redis-adapter.ts';
import { redisServerOrSkip } from './support/redis-server.ts';

const server = await redisServerOrSkip();
if (!server) {
  t.test(
    'redis adapter',
    { skip: 'redis-server is not installed (set CI=true to make this fail)' },
    () => {},
  );
} else {
  const redis = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  t.teardown(async () => {
    await redis.quit();
    await server.stop();
  });

  const Adapter = redisAdapterFactory(redis);
  const model = (name: string) => new Adapter(name);
  const now = () => Math.floor(Date.now() / 1000);

  t.test('upsert, find, consume, destroy', async (t) => {
    const tokens = model('AccessToken');
    const payload = { jti: 'at1', kind: 'AccessToken', grantId: 'g0', clientId: 'c', exp: now() + 60 };
    t.equal(await tokens.find('at1'), undefined, 'missing before upsert');
    await tokens.upsert('at1', payload, 60);
    t.same(await tokens.find('at1'), payload);
    t.equal(await model('RefreshToken').find('at1'), undefined, 'models are separate namespaces');
    const ttl = await redis.ttl('gatehouse:oidc:AccessToken:at1');
    t.ok(ttl > 0 && ttl <= 60, `stored with EX (${ttl})`);

    await tokens.consume('at1');
    const consumed = (await tokens.find('at1'))?.consumed;
    t.ok(typeof consumed === 'number' && Math.abs(consumed - now()) <= 1, 'consumed = now, epoch seconds');

    await tokens.upsert('at1', payload, 60);
    t.equal((await tokens.find('at1'))?.consumed, undefined, 'upsert replaces the whole record');

    await tokens.consume('nope');
    t.equal(await redis.exists('gatehouse:oidc:AccessToken:nope'), 0, 'consume does not create records');

    await tokens.destroy('at1');
    t.equal(await tokens.find('at1'), undefined, 'destroyed');
    t.equal(await redis.sismember('gatehouse:oidc:grant:g0', 'gatehouse:oidc:AccessToken:at1'), 0);
  });

  t.test('findByUid and findByUserCode', async (t) => {
    const sessions = model('Session');
    await sessions.upsert('s1', { jti: 's1', uid: 'u1', accountId: 'alice' }, 60);
    t.equal((await sessions.findByUid('u1'))?.accountId, 'alice');
    t.equal(await sessions.findByUid('u2'), undefined);
    await sessions.destroy('s1');
    t.equal(await sessions.findByUid('u1'), undefined, 'gone with its session');
    t.equal(await redis.exists('gatehouse:oidc:uid:u1'), 0, 'index removed');

    const codes = model('DeviceCode');
    await codes.upsert('d1', { jti: 'd1', userCode: 'ABCD-EFGH', grantId: 'g1' }, 60);
    t.equal((await codes.findByUserCode('ABCD-EFGH'))?.jti, 'd1');
    t.equal(await codes.findByUserCode('ZZZZ-ZZZZ'), undefined);
    // A re-upsert with a new user code leaves the old index behind; it must not resolve any more.
    await codes.upsert('d1', { jti: 'd1', userCode: 'IJKL-MNOP', grantId: 'g1' }, 60);
    t.equal(await codes.findByUserCode('ABCD-EFGH'), undefined, 'stale index ignored');
    t.equal((await codes.findByUserCode('IJKL-MNOP'))?.jti, 'd1');
  });

  t.test('records and indexes expire with their TTL', async (t) => {
    await model('AuthorizationCode').upsert('ac1', { jti: 'ac1', grantId: 'g2' }, 1);
    await model('DeviceCode').upsert('d2', { jti: 'd2', userCode: 'SHORT-LIVE' }, 1);
    t.ok(await model('AuthorizationCode').find('ac1'), 'present before the TTL');
    await sleep(1100);
    t.equal(await model('AuthorizationCode').find('ac1'), undefined, 'record expired');
    t.equal(await model('DeviceCode').findByUserCode('SHORT-LIVE'), undefined, 'index expired');
    t.equal(await redis.exists('gatehouse:oidc:grant:g2'), 0, 'grant set expired with its only member');
  });

  t.test('revokeByGrantId removes every token of the grant and nothing else', async (t) => {
    const g = { grantId: 'g3' };
    await model('AccessToken').upsert('a1', { jti: 'a1', ...g }, 60);
    await model('RefreshToken').upsert('r1', { jti: 'r1', ...g }, 3600);
    await model('AuthorizationCode').upsert('c1', { jti: 'c1', ...g }, 60);
    await model('AccessToken').upsert('a2', { jti: 'a2', grantId: 'g4' }, 60);
    await model('Interaction').upsert('i1', { jti: 'i1', ...g }, 60);
    const ttl = await redis.ttl('gatehouse:oidc:grant:g3');
    t.ok(ttl > 60 && ttl <= 3600, `grant set lives as long as its longest token (${ttl})`);

    // The provider calls this on each model's adapter; any of them revokes the whole grant.
    await model('RefreshToken').revokeByGrantId('g3');
    t.equal(await model('AccessToken').find('a1'), undefined);
    t.equal(await model('RefreshToken').find('r1'), undefined);
    t.equal(await model('AuthorizationCode').find('c1'), undefined);
    t.ok(await model('AccessToken').find('a2'), 'another grant is untouched');
    t.ok(await model('Interaction').find('i1'), 'non-token models are not part of the grant');
    t.equal(await redis.exists('gatehouse:oidc:grant:g3'), 0, 'grant set removed');
    await model('AccessToken').revokeByGrantId('g3'); // idempotent: the provider revokes per model
  });

  t.test('prefix option', async (t) => {
    await new RedisAdapter('AccessToken', redis, 'other:').upsert('p1', { jti: 'p1' }, 60);
    t.equal(await redis.exists('other:AccessToken:p1'), 1);
    t.equal(await model('AccessToken').find('p1'), undefined, 'default prefix does not see it');
  });

  t.test('works as a real Provider adapter', async (t) => {
    // Variable specifier: oidc-provider ships no type declarations, so keep its module typed as any.
    const specifier: string = 'oidc-provider';
    const { default: Provider } = await import(specifier);
    const provider = new Provider('http://127.0.0.1', {
      adapter: redisAdapterFactory(redis, 'e2e:'),
      clients: [
        {
          client_id: 'svc',
          client_secret: 'a-long-enough-test-secret',
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
        },
      ],
      features: { clientCredentials: { enabled: true }, introspection: { enabled: true } },
    });
    const http = createServer(provider.callback()).listen(0, '127.0.0.1');
    await once(http, 'listening');
    t.teardown(() => new Promise((resolve) => http.close(resolve)));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const auth = `Basic ${Buffer.from('svc:a-long-enough-test-secret').toString('base64')}`;
    const post = (path: string, body: Record<string, string>) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body),
        signal: AbortSignal.timeout(5000),
      }).then(async (res) => ({ status: res.status, json: (await res.json()) as Record<string, unknown> }));

    const issued = await post('/token', { grant_type: 'client_credentials' });
    t.equal(issued.status, 200, JSON.stringify(issued.json));
    const token = String(issued.json.access_token);
    t.equal(await redis.exists(`e2e:ClientCredentials:${token}`), 1, 'stored through the adapter');

    const introspected = await post('/token/introspection', { token });
    t.match(introspected.json, { active: true, client_id: 'svc' });

    await redis.del(`e2e:ClientCredentials:${token}`);
    t.match((await post('/token/introspection', { token })).json, { active: false }, 'read back from Redis');
  });
}
