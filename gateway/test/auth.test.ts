/**
 * Authentication and authorisation at the gateway, against a real token service and a real
 * upstream: every refusal with its status, WWW-Authenticate challenge and problem+json body.
 */
import t, { type Test } from 'tap';
import { exchange, loginWithCode, oauthClient } from '../../token-service/test/support/oauth.ts';
import { startTokenService } from '../../token-service/test/support/token-service.ts';
import { callGateway, route, startGateway } from './support/gateway.ts';
import { signWithServiceKey } from './support/tokens.ts';
import { startUpstream } from './support/upstream.ts';

const ts = await startTokenService(t);
const upstream = await startUpstream(t);
const { url, audit } = await startGateway(t, {
  issuer: ts.issuer,
  routes: [
    route(upstream.url),
    route(upstream.url, { name: 'admin', prefix: '/api/admin', methods: ['GET'], scopes: [], roles: ['admin'] }),
    route(upstream.url, { name: 'status', prefix: '/api/status', methods: ['GET'], auth: 'none', scopes: [] }),
    route(upstream.url, { name: 'keys', prefix: '/api/keyed', methods: ['GET'], auth: 'api-key', scopes: [] }),
  ],
});

const alice = (await loginWithCode(ts.issuer, 'alice')).tokens.access_token;
const aliceReadOnly = (await loginWithCode(ts.issuer, 'alice', undefined, 'openid orders:read')).tokens.access_token;
const admin = (await loginWithCode(ts.issuer, 'admin')).tokens.access_token;

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const call = (path: string, init: RequestInit = {}) => callGateway(url, path, init);

/** A 401/400 refusal: status, problem+json with the code, and the exact challenge shape. */
async function refused(
  t: Test,
  path: string,
  init: RequestInit,
  expected: { status: number; code: string; error?: string },
) {
  const r = await call(path, init);
  t.equal(r.status, expected.status, `status ${expected.status}`);
  t.equal(r.headers.get('content-type'), 'application/problem+json');
  t.match(r.body, { status: expected.status, code: expected.code, type: String, title: String, detail: String });
  const challenge = r.headers.get('www-authenticate') ?? '';
  t.match(challenge, /^Bearer realm="gatehouse"/);
  if (expected.error) t.match(challenge, new RegExp(`error="${expected.error}"`));
  else t.notMatch(challenge, /error=/, 'no error attribute');
  t.notMatch(r.text, /eyJ/, 'no token echoed');
  return r;
}

t.test('a valid access token is proxied with the principal audited', async (t) => {
  const r = await call('/api/orders/123?x=1', { headers: bearer(alice) });
  t.equal(r.status, 200);
  t.equal(r.body.method, 'GET');
  t.equal(r.body.url, '/orders/123?x=1', 'prefix /api/orders rewritten to /orders');
  const success = audit.find((a) => a.event === 'auth.success');
  t.ok(success, 'auth.success audited');
  t.match(success, { route: 'orders', outcome: 'success', jti: String, sub: /^sub_/ });
  t.notMatch(JSON.stringify(audit), new RegExp(alice.slice(0, 40)), 'the audit never holds the token');
});

t.test('a missing token: 401 without error attributes (RFC 6750 3.1)', async (t) => {
  await refused(t, '/api/orders', {}, { status: 401, code: 'ERR_TOKEN_MISSING' });
  t.ok(audit.some((a) => a.event === 'auth.failure' && a.reason === 'ERR_TOKEN_MISSING'));
});

t.test('another scheme is not a bearer credential: 401 without error attributes', async (t) => {
  await refused(t, '/api/orders', { headers: { authorization: 'Basic YWxpY2U6cHc=' } }, { status: 401, code: 'ERR_AUTH_SCHEME' });
});

t.test('the scheme is case-insensitive', async (t) => {
  const r = await call('/api/orders', { headers: { authorization: `bEaReR ${alice}` } });
  t.equal(r.status, 200);
});

t.test('a malformed token: 401 invalid_token', async (t) => {
  await refused(t, '/api/orders', { headers: bearer('not-a-jwt') }, { status: 401, code: 'ERR_TOKEN_MALFORMED', error: 'invalid_token' });
  await refused(t, '/api/orders', { headers: { authorization: 'Bearer a b' } }, { status: 401, code: 'ERR_TOKEN_MALFORMED', error: 'invalid_token' });
  await refused(t, '/api/orders', { headers: { authorization: 'Bearer' } }, { status: 401, code: 'ERR_TOKEN_MALFORMED', error: 'invalid_token' });
});

t.test('an expired token: 401 invalid_token ERR_TOKEN_EXPIRED', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const expired = await signWithServiceKey(ts, { iat: now - 3600, exp: now - 600 });
  const r = await refused(t, '/api/orders', { headers: bearer(expired) }, { status: 401, code: 'ERR_TOKEN_EXPIRED', error: 'invalid_token' });
  t.match(r.headers.get('www-authenticate'), /error_description="[^"]+"/);
  t.ok(audit.some((a) => a.event === 'auth.failure' && a.reason === 'ERR_TOKEN_EXPIRED'));
});

t.test('a token for another audience: 401 ERR_TOKEN_AUDIENCE', async (t) => {
  const other = await signWithServiceKey(ts, { aud: 'urn:gatehouse:other' });
  await refused(t, '/api/orders', { headers: bearer(other) }, { status: 401, code: 'ERR_TOKEN_AUDIENCE', error: 'invalid_token' });
});

t.test('a token from another issuer: 401 ERR_TOKEN_ISSUER', async (t) => {
  const other = await signWithServiceKey(ts, { iss: 'https://evil.example' });
  await refused(t, '/api/orders', { headers: bearer(other) }, { status: 401, code: 'ERR_TOKEN_ISSUER', error: 'invalid_token' });
});

t.test('a message token is not an access token: 401 ERR_TOKEN_TYP', async (t) => {
  const gateway = await oauthClient(ts.issuer, 'gateway');
  const minted = await exchange(gateway, {
    subject_token: alice,
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    audience: ['urn:gatehouse:consumer:shipping', 'urn:gatehouse:consumer:invoicing'],
    producer: 'sales',
  });
  await refused(t, '/api/orders', { headers: bearer(minted.access_token) }, { status: 401, code: 'ERR_TOKEN_TYP', error: 'invalid_token' });
  // Even with the API audience, the typ keeps the kinds apart.
  const typed = await signWithServiceKey(ts, {}, { typ: 'message+jwt' });
  await refused(t, '/api/orders', { headers: bearer(typed) }, { status: 401, code: 'ERR_TOKEN_TYP', error: 'invalid_token' });
});

t.test('a bad signature: 401 ERR_TOKEN_SIGNATURE', async (t) => {
  const [h, p, s] = alice.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, scope: 'orders:read orders:write admin' })).toString('base64url')}.${s}`;
  await refused(t, '/api/orders', { headers: bearer(tampered) }, { status: 401, code: 'ERR_TOKEN_SIGNATURE', error: 'invalid_token' });
});

t.test('a token in the query string: 400 invalid_request, never proxied', async (t) => {
  const before = upstream.received.length;
  await refused(t, `/api/orders?access_token=${alice}`, {}, { status: 400, code: 'ERR_TOKEN_IN_QUERY', error: 'invalid_request' });
  await refused(t, `/api/orders?access_token=${alice}`, { headers: bearer(alice) }, { status: 400, code: 'ERR_TOKEN_IN_QUERY', error: 'invalid_request' });
  await refused(t, `/api/status?access_token=x`, {}, { status: 400, code: 'ERR_TOKEN_IN_QUERY', error: 'invalid_request' });
  t.equal(upstream.received.length, before);
});

t.test('a missing scope: 403 insufficient_scope naming the scope', async (t) => {
  const before = upstream.received.length;
  const r = await call('/api/orders', { method: 'POST', headers: { ...bearer(aliceReadOnly), 'content-type': 'application/json' }, body: '{}' });
  t.equal(r.status, 403);
  t.equal(r.headers.get('content-type'), 'application/problem+json');
  t.match(r.body, { status: 403, code: 'ERR_INSUFFICIENT_SCOPE', missingScopes: ['orders:write'] });
  const challenge = r.headers.get('www-authenticate') ?? '';
  t.match(challenge, /^Bearer realm="gatehouse", error="insufficient_scope"/);
  t.match(challenge, /scope="orders:write"/);
  t.equal(upstream.received.length, before, 'not proxied');
  t.ok(audit.some((a) => a.event === 'authz.denied' && a.reason === 'insufficient_scope'));
  // The same token may read.
  t.equal((await call('/api/orders', { headers: bearer(aliceReadOnly) })).status, 200);
});

t.test('a missing role: 403', async (t) => {
  const r = await call('/api/admin/replay', { headers: bearer(alice) });
  t.equal(r.status, 403);
  t.equal(r.headers.get('content-type'), 'application/problem+json');
  t.match(r.body, { code: 'ERR_MISSING_ROLE' });
  t.match(r.headers.get('www-authenticate'), /error="insufficient_scope"/);
  t.ok(audit.some((a) => a.event === 'authz.denied' && a.reason === 'missing_role'));
  const allowed = await call('/api/admin/replay', { headers: bearer(admin) });
  t.equal(allowed.status, 200, 'the admin role passes');
  t.equal(allowed.body.url, '/admin/replay');
});

t.test('auth none: no token needed, and none forwarded', async (t) => {
  const r = await call('/api/status', { headers: { authorization: 'Bearer whatever' } });
  t.equal(r.status, 200);
  t.notOk((r.body.headers as Record<string, string>).authorization, 'an unvalidated credential is not forwarded');
});

t.test('an unknown API key fails closed (the api-key mode is wired: see api-key.test.ts)', async (t) => {
  const r = await call('/api/keyed', { headers: { 'x-api-key': 'gth_test_0123456789abcdef0123456789abcdef' } });
  t.equal(r.status, 401);
  t.match(r.body, { code: 'ERR_API_KEY_INVALID' });
});

t.test('auth failures are counted by reason', async (t) => {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.match(metrics, /gatehouse_gateway_auth_failures_total\{reason="ERR_TOKEN_MISSING"[^}]*\} [1-9]/);
  t.match(metrics, /gatehouse_gateway_requests_total\{route="orders",status="200"[^}]*\} [1-9]/);
  t.match(metrics, /gatehouse_gateway_jwks_refreshes_total\{outcome="ok"[^}]*\} [1-9]/);
});
