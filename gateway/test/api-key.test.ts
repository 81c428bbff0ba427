/**
 * API keys at the gateway, end to end: a key created through the token service's admin API (as the
 * demo admin) is exchanged for a JWT that the upstream receives as Authorization: Bearer, never the
 * key; malformed keys are refused without asking the token service; a revoked key stops working
 * once the (here 1 s) cache window has passed; a stopped token service is 503.
 */
import { decodeJwt } from 'jose';
import t from 'tap';
import { loginWithCode } from '../../token-service/test/support/oauth.ts';
import { startTokenService } from '../../token-service/test/support/token-service.ts';
import { route, startGateway } from './support/gateway.ts';
import { startUpstream } from './support/upstream.ts';

const ts = await startTokenService(t);
const upstream = await startUpstream(t);
const { url, audit } = await startGateway(t, {
  issuer: ts.issuer,
  routes: [
    route(upstream.url, {
      name: 'feed',
      prefix: '/api/feed',
      auth: 'api-key',
      scopes: { GET: [], POST: ['orders:write'] },
      rateLimit: { policy: 'api-key' },
    }),
  ],
  env: { API_KEY_CACHE_SECONDS: '1', EXCHANGE_TIMEOUT_MS: '500' },
});

const admin = (await loginWithCode(ts.issuer, 'admin')).tokens.access_token;

async function adminCall(method: string, path: string, body?: unknown) {
  const response = await fetch(`${ts.issuer}${path}`, {
    method,
    headers: { authorization: `Bearer ${admin}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function createKey(): Promise<{ id: string; key: string; prefix: string }> {
  const created = await adminCall('POST', '/admin/api-keys', { name: 'warehouse feed', scopes: ['orders:write'] });
  if (created.status !== 201) throw new Error(`create failed: ${created.status}`);
  return created.body;
}

const keyCalls = () => ts.audit.filter((r) => r.event === 'api_key.exchanged' || r.event === 'api_key.refused').length;
const call = async (key: string | undefined, method = 'POST') => {
  const response = await fetch(`${url}/api/feed`, {
    method,
    headers: { ...(key === undefined ? {} : { 'x-api-key': key }), 'content-type': 'application/json' },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as Record<string, unknown>, text };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('a key becomes a JWT upstream; the key itself is never forwarded', async (t) => {
  const { id, key, prefix } = await createKey();
  const r = await call(key);
  t.equal(r.status, 200);
  const headers = r.body.headers as Record<string, string>;
  t.notOk(headers['x-api-key'], 'no X-API-Key upstream');
  const jwt = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1] ?? '';
  const claims = decodeJwt(jwt);
  t.equal(claims.sub, `apikey:${id}`);
  t.equal(claims.api_key_id, id);
  t.match(claims.scope, /orders:write/);
  t.ok(r.headers.get('ratelimit-limit'), 'rate limited on the api-key policy');
  t.match(audit.findLast((a) => a.event === 'auth.success'), { api_key_id: id, key_prefix: prefix, route: 'feed' });
  t.notMatch(JSON.stringify(audit), new RegExp(key), 'the key is never audited');

  const before = keyCalls();
  t.equal((await call(key, 'GET')).status, 200);
  t.equal(keyCalls(), before, 'served from the cache within the window');
});

t.test('missing and malformed keys: 401 without calling the token service', async (t) => {
  const before = keyCalls();
  for (const [key, code] of [
    [undefined, 'ERR_API_KEY_MISSING'],
    ['gth_test_short', 'ERR_API_KEY_MALFORMED'],
    ['gth_prod_0123456789abcdef0123456789abcdef', 'ERR_API_KEY_MALFORMED'],
    ['Bearer gth_test_0123456789abcdef0123456789abcdef', 'ERR_API_KEY_MALFORMED'],
  ] as const) {
    const r = await call(key);
    t.equal(r.status, 401, code);
    t.equal(r.headers.get('content-type'), 'application/problem+json');
    t.equal(r.headers.get('www-authenticate'), 'ApiKey realm="gatehouse", header="X-API-Key"');
    t.match(r.body, { code });
  }
  t.equal(keyCalls(), before, 'the token service was not asked');
  // fetch joins repeated headers into one value, which is then simply malformed.
  const repeated = await fetch(`${url}/api/feed`, {
    headers: [
      ['x-api-key', 'gth_test_0123456789abcdef0123456789abcdef'],
      ['x-api-key', 'gth_test_0123456789abcdef0123456789abcdeg'],
    ],
  });
  t.equal(repeated.status, 401);
  t.equal(keyCalls(), before, 'still not asked');
});

t.test('an unknown key: 401 ERR_API_KEY_INVALID', async (t) => {
  const r = await call('gth_test_0123456789abcdef0123456789abcdef');
  t.equal(r.status, 401);
  t.match(r.body, { code: 'ERR_API_KEY_INVALID' });
  t.equal(r.headers.get('www-authenticate'), 'ApiKey realm="gatehouse", header="X-API-Key"');
});

t.test('a revoked key stops working after the cache window', async (t) => {
  const { id, key } = await createKey();
  t.equal((await call(key)).status, 200);
  t.equal((await adminCall('DELETE', `/admin/api-keys/${id}`)).status, 204);
  await sleep(1100);
  const r = await call(key);
  t.equal(r.status, 401);
  t.match(r.body, { code: 'ERR_API_KEY_INVALID' });
});

t.test('token service down: 503 with Retry-After, nothing proxied', async (t) => {
  const { key } = await createKey();
  await ts.stop();
  const seen = upstream.received.length;
  const r = await call(key);
  t.equal(r.status, 503);
  t.equal(r.headers.get('retry-after'), '5');
  t.match(r.body, { code: 'ERR_EXCHANGE_UNAVAILABLE' });
  t.notMatch(r.text, new RegExp(key));
  t.equal(upstream.received.length, seen);
});
