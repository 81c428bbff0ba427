// The pure parts of API keys: format, hashing, request validation, the service's rules (with a
// clock), and the exchange policy's api_key subject type.
import type { ConfigError } from '@gatehouse/config';
import t from 'tap';
import { PRODUCTION_SETTINGS } from './support/token-service.ts';
import {
  environmentFor,
  generateApiKey,
  hashApiKey,
  hashesEqual,
  parseApiKey,
  randomBase62,
} from '../src/api-keys/format.ts';
import { parseCreateKey } from '../src/api-keys/input.ts';
import { memoryApiKeyStore } from '../src/api-keys/memory-store.ts';
import { ApiKeyService, TooManyKeysError } from '../src/api-keys/service.ts';
import { createApiKeyService } from '../src/api-keys/setup.ts';
import { DEV_DEFAULTS, loadTokenServiceConfig } from '../src/config.ts';
import { defaultExchangePolicy } from '../src/policy/default-policy.ts';
import {
  checkSubjectTokenType,
  evaluateExchange,
  parseExchangePolicy,
  TOKEN_TYPE_ACCESS,
  TOKEN_TYPE_API_KEY,
} from '../src/policy/exchange-policy.ts';

const API = 'urn:gatehouse:api';
const SECRET = 'test-secret-0123456789abcdefghijklmnop';

t.test('key format', async (t) => {
  const test = generateApiKey('test');
  const live = generateApiKey('live');
  t.match(test, /^gth_test_[0-9A-Za-z]{32}$/);
  t.match(live, /^gth_live_[0-9A-Za-z]{32}$/);
  t.equal(environmentFor('production'), 'live');
  t.equal(environmentFor('development'), 'test');
  t.equal(environmentFor('test'), 'test');
  t.same(parseApiKey(test), { environment: 'test', displayPrefix: test.slice(0, 15) });
  t.same(parseApiKey(live), { environment: 'live', displayPrefix: live.slice(0, 15) });
  for (const bad of ['', 'gth_test_', `gth_test_${'a'.repeat(31)}`, `gth_test_${'a'.repeat(33)}`, `gth_prod_${'a'.repeat(32)}`, `gth_test_${'a'.repeat(31)}-`, ` ${test}`]) {
    t.equal(parseApiKey(bad), undefined, `refuses ${JSON.stringify(bad)}`);
  }
  const many = new Set(Array.from({ length: 200 }, () => generateApiKey('test')));
  t.equal(many.size, 200, 'no repeats');
});

t.test('base62 is rejection-sampled: bytes 248..255 are skipped', async (t) => {
  const bytes = [255, 248, 0, 61, 62, 247, 250, 1];
  let offset = 0;
  const fake = (size: number) => {
    const out = Buffer.alloc(size);
    for (let i = 0; i < size; i += 1) out[i] = bytes[offset++ % bytes.length]!;
    return out;
  };
  // 0 -> '0', 61 -> 'z', 62 -> '0', 247 -> 247 % 62 = 61 -> 'z', 1 -> '1'
  t.equal(randomBase62(5, fake), '0z0z1');
  const counts = new Map<string, number>();
  for (const c of randomBase62(62_000)) counts.set(c, (counts.get(c) ?? 0) + 1);
  t.equal(counts.size, 62, 'every character occurs');
  t.ok(Math.max(...counts.values()) < 1300 && Math.min(...counts.values()) > 700, 'roughly uniform');
});

t.test('the stored form is a keyed hash', async (t) => {
  const key = generateApiKey('test');
  const hash = hashApiKey(SECRET, key);
  t.equal(hash, hashApiKey(SECRET, key), 'deterministic');
  t.not(hash, hashApiKey(`${SECRET}x`, key), 'depends on the server secret');
  t.notOk(hash.includes(key.slice(9)));
  t.ok(hashesEqual(hash, hash));
  t.notOk(hashesEqual(hash, hash.slice(1)));
  t.notOk(hashesEqual(hash, hashApiKey(SECRET, generateApiKey('test'))));
});

t.test('create requests are validated', async (t) => {
  const rules = { allowedScopes: ['orders:write', 'events:replay'], maxLifetimeSeconds: 3600 };
  t.same(parseCreateKey({ name: ' a ', scopes: ['orders:write', 'events:replay', 'orders:write'] }, rules), {
    ok: true,
    input: { name: 'a', scopes: ['events:replay', 'orders:write'], expiresIn: 3600 },
  });
  t.match(parseCreateKey({ name: 'a', scopes: ['orders:write'], expires_in: 60 }, rules), {
    ok: true,
    input: { expiresIn: 60 },
  });
  for (const body of [
    undefined,
    null,
    'x',
    { name: 'a', scopes: ['orders:read'] },
    { name: 'a', scopes: [] },
    { name: '', scopes: ['orders:write'] },
    { name: 'a\u0007', scopes: ['orders:write'] },
    { name: 'a', scopes: ['orders:write'], expires_in: 3601 },
    { name: 'a', scopes: ['orders:write'], expires_in: 1 },
    { name: 'a', scopes: ['orders:write'], extra: 1 },
  ]) {
    t.match(parseCreateKey(body, rules), { ok: false, problems: [String] }, JSON.stringify(body) ?? 'undefined');
  }
});

t.test('the service: authenticate, expiry, revocation, environment, cap', async (t) => {
  let now = 1_700_000_000_000;
  const store = memoryApiKeyStore();
  const service = new ApiKeyService({ store, secret: SECRET, environment: 'test', maxActivePerOrg: 2, now: () => now });
  const input = { name: 'k', scopes: ['orders:write'], expiresIn: 120 };
  const { record, key } = await service.create('acme', 'sub_admin', input);
  t.match(record, { org_id: 'acme', prefix: key.slice(0, 15), created_at: now, expires_at: now + 120_000 });
  t.not(record.hash, key);
  t.notOk(JSON.stringify(await store.list('acme')).includes(key.slice(15)), 'the store never holds the key');

  t.match(await service.authenticate(key), { ok: true, record: { id: record.id } });
  t.same(await service.authenticate('nope'), { ok: false, reason: 'malformed' });
  t.match(await service.authenticate(generateApiKey('test')), { ok: false, reason: 'unknown' });
  t.match(await service.authenticate(generateApiKey('live')), { ok: false, reason: 'wrong_environment' });
  const other = new ApiKeyService({ store, secret: `${SECRET}-other`, environment: 'test', now: () => now });
  t.match(await other.authenticate(key), { ok: false, reason: 'unknown' }, 'another secret finds nothing');

  // last use: written, then not again within a minute
  await service.recordUse(record);
  const used = (await store.list('acme'))[0]!;
  t.equal(used.last_used_at, now);
  now += 30_000;
  await service.recordUse(used);
  t.equal((await store.list('acme'))[0]!.last_used_at, now - 30_000, 'at most once a minute');

  now += 90_001;
  t.match(await service.authenticate(key), { ok: false, reason: 'expired', keyId: record.id });

  const second = await service.create('acme', 'sub_admin', input);
  const third = await service.create('acme', 'sub_admin', input);
  await t.rejects(service.create('acme', 'sub_admin', input), TooManyKeysError, 'two active keys at most');
  t.ok(await service.create('globex', 'sub_admin', input), 'the cap is per org');
  t.match(await service.revoke('acme', second.record.id), { newly: true });
  now += 1;
  t.match(await service.revoke('acme', second.record.id), { newly: false });
  t.equal(await service.revoke('globex', third.record.id), undefined);
  t.match(await service.authenticate(second.key), { ok: false, reason: 'revoked' });
  t.ok(await service.create('acme', 'sub_admin', input), 'a revoked key frees its place');
});

t.test('exchange policy: the api_key subject type', async (t) => {
  const policy = defaultExchangePolicy(86400, { audience: API, scopes: ['orders:write'], ttl: 300 });
  const request = (over: Record<string, unknown> = {}) => ({
    clientId: 'gateway',
    subjectTokenType: TOKEN_TYPE_API_KEY,
    subjectScopes: ['orders:write'],
    subjectClaims: { org_id: 'acme', roles: ['admin'] },
    audiences: [API],
    ...over,
  });
  t.same(evaluateExchange(policy, request()), {
    ok: true,
    decision: { audiences: [API], scopes: ['orders:write'], ttl: 300, claims: { org_id: 'acme' } },
  });
  t.match(evaluateExchange(policy, request({ clientId: 'sales' })), {
    ok: false,
    error: 'invalid_request',
    reason: 'subject_token_type_not_allowed',
  });
  t.match(evaluateExchange(policy, request({ clientId: 'shipping' })), { ok: false, error: 'unauthorized_client' });
  t.match(evaluateExchange(policy, request({ audiences: ['urn:gatehouse:consumer:shipping'] })), {
    ok: false,
    error: 'invalid_target',
  });
  t.match(evaluateExchange(policy, request({ subjectTokenType: TOKEN_TYPE_ACCESS })), {
    ok: false,
    error: 'invalid_target',
    reason: 'audience_not_allowed',
  }, 'a user access token never reaches the API key target');
  t.match(evaluateExchange(policy, request({ requestedTtl: 3600 })), { ok: true, decision: { ttl: 300 } });
  t.match(evaluateExchange(policy, request({ producer: 'sales' })), { ok: false, reason: 'binding_not_allowed' });
  t.match(evaluateExchange(policy, request({ subjectScopes: ['orders:read'] })), { ok: false, error: 'invalid_scope' });
  t.same(checkSubjectTokenType(policy, 'gateway', TOKEN_TYPE_API_KEY), { ok: true, subjectType: 'api_key' });
  t.match(checkSubjectTokenType(policy, 'sales', TOKEN_TYPE_API_KEY), { ok: false, error: 'invalid_request' });
  t.match(checkSubjectTokenType(defaultExchangePolicy(86400), 'gateway', TOKEN_TYPE_API_KEY), { ok: false }, 'off without the API key defaults');
});

t.test('exchange policy documents with api_key targets are validated', async (t) => {
  const target = {
    subjectTokenType: 'api_key',
    audiences: [API],
    scopeMap: { 'orders:write': ['orders:write'] },
    defaultTtl: 300,
    maxTtl: 300,
    claims: ['org_id'],
    cnf: 'never',
  };
  const parsed = parseExchangePolicy({ clients: { gateway: { subjectTokenTypes: ['api_key'], targets: [target] } } });
  t.equal(parsed.clients.gateway!.targets[0]!.subjectTokenType, 'api_key');
  t.throws(
    () => parseExchangePolicy({ clients: { gateway: { subjectTokenTypes: ['access_token'], targets: [target] } } }),
    /api_key is not in subjectTokenTypes/,
  );
  t.throws(
    () =>
      parseExchangePolicy({
        clients: { gateway: { subjectTokenTypes: ['api_key'], targets: [{ ...target, cnf: 'optional' }] } },
      }),
    /cnf "never"/,
  );
  t.throws(
    () =>
      parseExchangePolicy({
        clients: { gateway: { subjectTokenTypes: ['api_key', 'access_token'], targets: [target] } },
      }),
    /no target for subject token type access_token/,
  );
  t.throws(() =>
    parseExchangePolicy({ clients: { gateway: { subjectTokenTypes: ['refresh_token'], targets: [target] } } }),
  );
  const legacy = parseExchangePolicy({
    clients: {
      c: {
        subjectTokenTypes: ['access_token'],
        targets: [{ audiences: ['a'], scopeMap: {}, defaultTtl: 1, maxTtl: 1, claims: [], cnf: 'never' }],
      },
    },
  });
  t.equal(legacy.clients.c!.targets[0]!.subjectTokenType, 'access_token', 'existing documents keep working');
});

t.test('settings: API_KEY_HASH_SECRET', async (t) => {
  const prod = PRODUCTION_SETTINGS;
  t.equal(loadTokenServiceConfig({}).API_KEY_HASH_SECRET, DEV_DEFAULTS.API_KEY_HASH_SECRET, 'development default');
  const unset = loadTokenServiceConfig(prod);
  t.equal(unset.API_KEY_HASH_SECRET, undefined, 'production has no default');
  t.equal(createApiKeyService(unset, undefined), undefined, 'so API keys are off');
  const refused = (() => {
    try {
      loadTokenServiceConfig({ ...prod, API_KEY_HASH_SECRET: DEV_DEFAULTS.API_KEY_HASH_SECRET });
    } catch (error) {
      return error as ConfigError;
    }
  })();
  t.same(refused?.settings, ['API_KEY_HASH_SECRET'], 'production refuses the development secret');
  const set = loadTokenServiceConfig({ ...prod, API_KEY_HASH_SECRET: 'p'.repeat(40) });
  t.ok(createApiKeyService(set, undefined), 'on with a real secret');
  t.throws(() => loadTokenServiceConfig({ API_KEY_HASH_SECRET: 'short' }), 'at least 32 characters');
  t.throws(
    () => createApiKeyService(loadTokenServiceConfig({ API_KEY_SCOPES: 'orders:write,rockets:launch' }), undefined),
    /API_KEY_SCOPES: unknown API scopes: rockets:launch/,
  );
  t.same(loadTokenServiceConfig({}).API_KEY_SCOPES, ['orders:write']);
  t.equal(loadTokenServiceConfig({}).API_KEY_TOKEN_TTL, 300);
});
