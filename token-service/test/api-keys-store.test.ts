// One behavioural suite for the API key store, run against the memory store and a real Redis.
import { Redis } from 'ioredis';
import t from 'tap';
import { memoryApiKeyStore } from '../src/api-keys/memory-store.ts';
import { redisApiKeyStore } from '../src/api-keys/redis-store.ts';
import type { ApiKeyRecord, ApiKeyStore } from '../src/api-keys/types.ts';
import { redisServerOrSkip } from './support/redis-server.ts';
import { startTokenService } from './support/token-service.ts';
import { exchange, oauthClient, loginWithCode, oauthError } from './support/oauth.ts';

let serial = 0;
function record(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  serial += 1;
  return {
    id: `ak_${String(serial).padStart(16, '0')}`,
    org_id: 'acme',
    name: `key ${serial}`,
    scopes: ['orders:write'],
    prefix: 'gth_test_Abc123',
    hash: `hash-${serial}`,
    created_by: 'sub_x',
    created_at: 1_000_000 + serial,
    expires_at: 9_000_000,
    ...overrides,
  };
}

function suite(name: string, make: () => Promise<ApiKeyStore>) {
  t.test(name, async (t) => {
    t.test('create and find by hash', async (t) => {
      const store = await make();
      const r = record();
      await store.create(r);
      t.same(await store.findByHash(r.hash), r, 'the same record back');
      t.equal(await store.findByHash('no-such-hash'), undefined);
      await t.rejects(store.create({ ...record(), hash: r.hash }), 'a hash is never indexed twice');
    });

    t.test('returned records are copies', async (t) => {
      const store = await make();
      const r = record();
      await store.create(r);
      const found = (await store.findByHash(r.hash))!;
      found.scopes.push('admin');
      found.org_id = 'globex';
      t.same((await store.findByHash(r.hash))!.scopes, ['orders:write']);
      t.equal((await store.findByHash(r.hash))!.org_id, 'acme');
    });

    t.test('list is per org, newest first, revoked included', async (t) => {
      const store = await make();
      const a = record();
      const b = record();
      const other = record({ org_id: 'globex' });
      for (const r of [a, b, other]) await store.create(r);
      t.same(
        (await store.list('acme')).map((r) => r.id),
        [b.id, a.id],
      );
      t.same(
        (await store.list('globex')).map((r) => r.id),
        [other.id],
      );
      t.same(await store.list('initech'), []);
      await store.revoke('acme', a.id, 5);
      t.equal((await store.list('acme')).find((r) => r.id === a.id)?.revoked_at, 5);
    });

    t.test('revoke: own org only, first time kept', async (t) => {
      const store = await make();
      const r = record();
      await store.create(r);
      t.equal(await store.revoke('globex', r.id, 10), undefined, "another org's key is not found");
      t.equal((await store.findByHash(r.hash))!.revoked_at, undefined, 'and is untouched');
      t.equal(await store.revoke('acme', 'ak_missing', 10), undefined);
      t.equal((await store.revoke('acme', r.id, 10))?.revoked_at, 10);
      t.equal((await store.revoke('acme', r.id, 20))?.revoked_at, 10, 'revoking again keeps the first time');
      t.equal((await store.findByHash(r.hash))!.revoked_at, 10, 'still found by hash, as revoked');
    });

    t.test('touch records the latest use, and only of an existing key', async (t) => {
      const store = await make();
      const r = record();
      await store.create(r);
      await store.touch(r.id, 100);
      t.equal((await store.findByHash(r.hash))!.last_used_at, 100);
      await store.touch(r.id, 50);
      t.equal((await store.findByHash(r.hash))!.last_used_at, 100, 'never moves backwards');
      await store.touch('ak_missing', 100);
      t.same(await store.list('acme').then((l) => l.filter((x) => x.id === 'ak_missing')), []);
    });
  });
}

suite('memory API key store', async () => memoryApiKeyStore());

t.test('memory store is bounded', async (t) => {
  const store = memoryApiKeyStore(2);
  await store.create(record());
  await store.create(record());
  await t.rejects(store.create(record()), /full/);
});

const redisServer = await redisServerOrSkip();
if (!redisServer) {
  t.test('Redis API key store', { skip: 'redis-server is not installed (CI installs it)' }, () => {});
} else {
  t.teardown(() => redisServer.stop());
  const redis = new Redis(redisServer.url);
  t.teardown(() => redis.quit());
  let db = 0;
  // Each subtest gets its own prefix, so the suite's tests see empty stores.
  suite('Redis API key store', async () => redisApiKeyStore(redis, `test${(db += 1)}:`));

  t.test('Redis layout: no key, only its HMAC', async (t) => {
    const store = redisApiKeyStore(redis, 'layout:');
    const r = record();
    await store.create(r);
    t.equal(await redis.get(`layout:api-key-hash:${r.hash}`), r.id);
    t.same(await redis.smembers('layout:api-keys:acme'), [r.id]);
    t.equal(await redis.hget(`layout:api-key:${r.id}`, 'hash'), r.hash);
  });

  t.test('API keys live in Redis across token-service instances', async (t) => {
    const first = await startTokenService(t, { REDIS_URL: redisServer.url });
    const admin = (await loginWithCode(first.issuer, 'admin')).tokens.access_token;
    const created = await fetch(`${first.issuer}/admin/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'redis key', scopes: ['orders:write'] }),
    });
    t.equal(created.status, 201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    t.ok(await redis.exists(`gatehouse:api-key:${id}`), 'stored in Redis');
    const raw = JSON.stringify(await redis.hgetall(`gatehouse:api-key:${id}`));
    t.notOk(raw.includes(key.slice(15)), 'the record holds no key');

    // A second instance (another replica) sharing only Redis.
    const second = await startTokenService(t, { REDIS_URL: redisServer.url });
    const gateway = await oauthClient(second.issuer, 'gateway');
    const params = {
      subject_token: key,
      subject_token_type: 'urn:gatehouse:params:oauth:token-type:api-key',
      audience: 'urn:gatehouse:api',
    };
    const exchanged = await exchange(gateway, params);
    t.equal(exchanged.scope, 'orders:write', 'exchanged at the other instance');
    t.ok(await redis.hget(`gatehouse:api-key:${id}`, 'last_used_at'), 'last use recorded');

    const revoked = await fetch(`${first.issuer}/admin/api-keys/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin}` },
    });
    t.equal(revoked.status, 204);
    const again = oauthError(await exchange(gateway, params).then(() => ({}), (e) => e));
    t.equal(again.error, 'invalid_grant', 'revoked everywhere');
  });
}
