// API keys end to end against a real token service: the admin API (create, list, revoke), the
// token-exchange branch the gateway calls, refusals, audit records, and that the key itself never
// reaches a log or the audit stream.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryAuditSink } from '@gatehouse/observability';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import t from 'tap';
import { hashPassword } from '../src/accounts.ts';
import { buildTokenService } from '../src/app.ts';
import { loadTokenServiceConfig } from '../src/config.ts';
import { client, exchange, loginWithCode, oauthClient, exchangeRefusal } from './support/oauth.ts';
import { DEMO_PASSWORD, freePort } from './support/token-service.ts';

const API_KEY_TYPE = 'urn:gatehouse:params:oauth:token-type:api-key';
const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const API = 'urn:gatehouse:api';
const SHIPPING = 'urn:gatehouse:consumer:shipping';
const INVOICING = 'urn:gatehouse:consumer:invoicing';
const KEY_FORMAT = /^gth_test_[0-9A-Za-z]{32}$/;

// Accounts: the demo admin (acme) and alice (acme, no role), plus an admin of another org.
const dir = await mkdtemp(join(tmpdir(), 'gatehouse-apikeys-'));
const passwordHash = await hashPassword(DEMO_PASSWORD);
const accountsFile = join(dir, 'accounts.json');
await writeFile(
  accountsFile,
  JSON.stringify([
    { id: 'admin', username: 'admin', passwordHash, org_id: 'acme', roles: ['admin'], subscription_level: 'premium' },
    { id: 'alice', username: 'alice', passwordHash, org_id: 'acme', roles: [], subscription_level: 'premium' },
    { id: 'gadmin', username: 'gadmin', passwordHash, org_id: 'globex', roles: ['admin'] },
  ]),
);

// Started here rather than with support/token-service.ts so the application log is captured too.
const port = await freePort();
const config = loadTokenServiceConfig({
  NODE_ENV: 'test',
  LOG_LEVEL: 'debug',
  TOKEN_SERVICE_PORT: String(port),
  KEYSTORE_PATH: join(dir, 'keys', 'keystore.json'),
  CLIENT_KEYS_DIR: join(dir, 'clients'),
  AUDIT_LOG: join(dir, 'audit.jsonl'),
  ACCOUNTS_FILE: accountsFile,
});
const auditSink = memoryAuditSink();
const logSink = memoryAuditSink();
const service = await buildTokenService(config, {
  auditDestination: auditSink.stream,
  logDestination: logSink.stream,
});
await service.app.listen({ host: '127.0.0.1', port });
t.teardown(async () => {
  await service.close();
  await rm(dir, { recursive: true, force: true });
});
const issuer = config.ISSUER;
const audit = auditSink.records;
const issuedKeys: string[] = [];

const gateway = await oauthClient(issuer, 'gateway');
const sales = await oauthClient(issuer, 'sales');
const admin = (await loginWithCode(issuer, 'admin')).tokens.access_token;
const alice = (await loginWithCode(issuer, 'alice')).tokens.access_token;
const gadmin = (await loginWithCode(issuer, 'gadmin')).tokens.access_token;

async function call(method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${issuer}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

async function createKey(token = admin, body: Record<string, unknown> = { name: 'orders producer', scopes: ['orders:write'] }) {
  const created = await call('POST', '/admin/api-keys', token, body);
  if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
  issuedKeys.push(created.body.key);
  return created.body as { id: string; key: string; prefix: string };
}

const keyExchange = (key: string, extra: Record<string, string | string[]> = {}) => ({
  subject_token: key,
  subject_token_type: API_KEY_TYPE,
  audience: API,
  ...extra,
});

const refusal = (params: Record<string, string | string[]>, config = gateway) => exchangeRefusal(config, params);

t.test('lifecycle: create, exchange, list, revoke, exchange again', async (t) => {
  const before = Date.now();
  const created = await call('POST', '/admin/api-keys', admin, {
    name: '  warehouse sync ',
    scopes: ['orders:write'],
    expires_in: 3600,
  });
  t.equal(created.status, 201);
  t.equal(created.headers.get('cache-control'), 'no-store', 'the key must not be cached');
  t.match(created.headers.get('content-type'), /^application\/json/);
  const key = created.body.key as string;
  issuedKeys.push(key);
  t.match(key, KEY_FORMAT, 'gth_test_ + 32 base62 characters outside production');
  t.match(created.body, {
    id: /^ak_[0-9A-Za-z]{16}$/,
    prefix: key.slice(0, 15),
    name: 'warehouse sync',
    scopes: ['orders:write'],
    org_id: 'acme',
    last_used_at: null,
    revoked_at: null,
  });
  const id = created.body.id as string;
  t.ok(Date.parse(created.body.created_at) >= before - 1000);
  t.ok(Math.abs(Date.parse(created.body.expires_at) - (Date.parse(created.body.created_at) + 3600_000)) < 1000);
  t.notOk('hash' in created.body, 'never the stored hash');
  t.match(audit.find((r) => r.event === 'api_key.created' && r.key_id === id), {
    outcome: 'success',
    org_id: 'acme',
    key_prefix: key.slice(0, 15),
    scopes: ['orders:write'],
    sub: /^sub_/,
  });

  // The exchange the gateway makes.
  const response = await exchange(gateway, keyExchange(key));
  t.equal(response.issued_token_type, ACCESS);
  t.equal(response.token_type, 'bearer');
  t.equal(response.expires_in, 300, 'five minutes by default');
  t.equal(response.scope, 'orders:write');
  const jwks = createLocalJWKSet((await (await fetch(`${issuer}/jwks`)).json()) as JSONWebKeySet);
  const { payload, protectedHeader } = await jwtVerify(response.access_token, jwks, {
    issuer,
    audience: API,
    typ: 'at+jwt',
  });
  t.equal(protectedHeader.typ, 'at+jwt', 'an access token for the API, like a user’s');
  t.equal(protectedHeader.alg, 'ES256');
  t.equal(payload.iss, issuer);
  t.equal(payload.aud, API);
  t.equal(payload.sub, `apikey:${id}`, 'the subject names the key');
  t.equal(payload.client_id, 'gateway');
  t.equal(payload.scope, 'orders:write');
  t.equal(payload.org_id, 'acme', "the key's org");
  t.equal(payload.api_key_id, id);
  t.type(payload.jti, 'string');
  t.equal((payload.exp as number) - (payload.iat as number), 300);
  for (const absent of ['roles', 'subscription_level', 'act', 'cnf', 'email', 'name'])
    t.notOk(absent in payload, `no ${absent}`);

  const introspected = await client.tokenIntrospection(gateway, response.access_token);
  t.equal(introspected.active, true, 'our own introspection accepts it');

  // Upstream, the gateway can turn it into a message token like a user's token.
  const message = await exchange(gateway, {
    subject_token: response.access_token,
    subject_token_type: ACCESS,
    audience: [SHIPPING, INVOICING],
    producer: 'sales',
  });
  const messageClaims = (await jwtVerify(message.access_token, jwks, { issuer, audience: SHIPPING, typ: 'message+jwt' }))
    .payload;
  t.equal(messageClaims.sub, `apikey:${id}`);
  t.equal(messageClaims.org_id, 'acme');
  t.equal(messageClaims.scope, 'orders.created');

  t.match(audit.find((r) => r.event === 'api_key.exchanged' && r.key_id === id), {
    outcome: 'success',
    client_id: 'gateway',
    org_id: 'acme',
    jti: payload.jti,
    scope: 'orders:write',
  });

  const listed = await call('GET', '/admin/api-keys', admin);
  t.equal(listed.status, 200);
  const entry = listed.body.api_keys.find((k: { id: string }) => k.id === id);
  t.ok(entry, 'listed');
  t.notOk('key' in entry, 'never the key');
  t.notOk('hash' in entry, 'never the hash');
  t.equal(entry.prefix, key.slice(0, 15));
  t.type(entry.last_used_at, 'string', 'last use recorded');
  t.ok(Date.parse(entry.last_used_at) >= Date.parse(entry.created_at));
  t.equal(entry.revoked_at, null);

  const revoked = await call('DELETE', `/admin/api-keys/${id}`, admin);
  t.equal(revoked.status, 204);
  t.equal((await call('DELETE', `/admin/api-keys/${id}`, admin)).status, 204, 'revoking twice is fine');
  t.equal(audit.filter((r) => r.event === 'api_key.revoked' && r.key_id === id).length, 1, 'audited once');

  t.same(await refusal(keyExchange(key)), { error: 'invalid_grant', status: 400 }, 'a revoked key is refused');
  t.match(audit.findLast((r) => r.event === 'api_key.refused'), {
    reason: 'api_key_revoked',
    key_id: id,
    key_prefix: key.slice(0, 15),
    client_id: 'gateway',
  });
  t.equal(
    (await client.tokenIntrospection(gateway, response.access_token)).active,
    false,
    'the tokens the key was already exchanged for are deny-listed',
  );
  const after = (await call('GET', '/admin/api-keys', admin)).body.api_keys.find((k: { id: string }) => k.id === id);
  t.type(after.revoked_at, 'string', 'listed as revoked');
});

t.test('only admins, with a valid access token', async (t) => {
  const count = async () => (await call('GET', '/admin/api-keys', admin)).body.api_keys.length;
  const before = await count();

  const none = await call('POST', '/admin/api-keys', undefined, { name: 'x', scopes: ['orders:write'] });
  t.equal(none.status, 401);
  t.match(none.headers.get('content-type'), /^application\/problem\+json/);
  t.equal(none.headers.get('www-authenticate'), 'Bearer realm="gatehouse"');
  t.match(none.body, { type: 'urn:gatehouse:problem:unauthorized', status: 401, title: String, detail: String });
  t.equal((await call('GET', '/admin/api-keys')).status, 401);
  t.equal((await call('GET', '/admin/api-keys', undefined, undefined, { authorization: `Basic ${admin}` })).status, 401);

  const bad = await call('GET', '/admin/api-keys', `${admin.slice(0, -4)}AAAA`);
  t.equal(bad.status, 401, 'a token with a bad signature');
  t.match(bad.headers.get('www-authenticate'), /error="invalid_token"/);
  t.equal((await call('GET', '/admin/api-keys', 'not-a-jwt')).status, 401);

  const { key } = await createKey();
  const apiKeyToken = (await exchange(gateway, keyExchange(key))).access_token;
  t.equal((await call('GET', '/admin/api-keys', apiKeyToken)).status, 403, 'a token from an API key is no admin');
  t.equal((await call('GET', '/admin/api-keys', key)).status, 401, 'an API key is not a bearer token here');

  const forbidden = await call('POST', '/admin/api-keys', alice, { name: 'x', scopes: ['orders:write'] });
  t.equal(forbidden.status, 403, 'alice has no admin role');
  t.match(forbidden.headers.get('content-type'), /^application\/problem\+json/);
  t.match(forbidden.headers.get('www-authenticate'), /error="insufficient_scope"/);
  t.equal((await call('GET', '/admin/api-keys', alice)).status, 403);
  t.equal((await call('DELETE', '/admin/api-keys/ak_0000000000000000', alice)).status, 403);
  t.equal(await count(), before + 1, 'nothing created by the refused calls');
  t.match(audit.findLast((r) => r.event === 'api_key.admin_denied'), { reason: 'not_admin', outcome: 'denied' });
});

t.test("an admin manages only their own org's keys", async (t) => {
  const acme = await createKey();
  const globex = await createKey(gadmin, { name: 'globex feed', scopes: ['orders:write'] });
  const globexList = (await call('GET', '/admin/api-keys', gadmin)).body.api_keys;
  t.same(
    globexList.map((k: { id: string }) => k.id),
    [globex.id],
    "globex sees only its own key",
  );
  t.ok(globexList.every((k: { org_id: string }) => k.org_id === 'globex'));

  const other = await call('DELETE', `/admin/api-keys/${acme.id}`, gadmin);
  t.equal(other.status, 404, "another org's key looks like a missing one");
  t.match(other.headers.get('content-type'), /^application\/problem\+json/);
  t.equal((await call('DELETE', '/admin/api-keys/ak_0000000000000000', admin)).status, 404);
  t.equal((await call('DELETE', '/admin/api-keys/not-an-id', admin)).status, 404);
  const stillWorks = await exchange(gateway, keyExchange(acme.key));
  t.ok(stillWorks.access_token, 'the acme key still works');

  const globexToken = await exchange(gateway, keyExchange(globex.key));
  const { payload } = await jwtVerify(
    globexToken.access_token,
    createLocalJWKSet((await (await fetch(`${issuer}/jwks`)).json()) as JSONWebKeySet),
    { issuer, audience: API },
  );
  t.equal(payload.org_id, 'globex');
});

t.test('bad input is 400 and creates nothing', async (t) => {
  const count = async () => (await call('GET', '/admin/api-keys', admin)).body.api_keys.length;
  const before = await count();
  const cases: Array<[string, unknown]> = [
    ['unknown scope', { name: 'x', scopes: ['orders:read'] }],
    ['scope outside the API', { name: 'x', scopes: ['admin'] }],
    ['no scopes', { name: 'x', scopes: [] }],
    ['scopes missing', { name: 'x' }],
    ['empty name', { name: '', scopes: ['orders:write'] }],
    ['blank name', { name: '   ', scopes: ['orders:write'] }],
    ['name with a newline', { name: 'a\nb', scopes: ['orders:write'] }],
    ['long name', { name: 'x'.repeat(101), scopes: ['orders:write'] }],
    ['expires_in zero', { name: 'x', scopes: ['orders:write'], expires_in: 0 }],
    ['expires_in negative', { name: 'x', scopes: ['orders:write'], expires_in: -60 }],
    ['expires_in fractional', { name: 'x', scopes: ['orders:write'], expires_in: 90.5 }],
    ['expires_in as a string', { name: 'x', scopes: ['orders:write'], expires_in: '3600' }],
    ['expires_in too short', { name: 'x', scopes: ['orders:write'], expires_in: 59 }],
    ['expires_in too long', { name: 'x', scopes: ['orders:write'], expires_in: 3 * 366 * 24 * 3600 }],
    ['an unknown field', { name: 'x', scopes: ['orders:write'], org_id: 'globex' }],
    ['not an object', ['orders:write']],
    ['malformed JSON', '{"name": '],
  ];
  for (const [label, body] of cases) {
    const response = await call('POST', '/admin/api-keys', admin, body);
    t.equal(response.status, 400, label);
    t.match(response.headers.get('content-type'), /^application\/problem\+json/, `${label}: problem+json`);
    t.equal(response.body.status, 400);
  }
  const unknown = await call('POST', '/admin/api-keys', admin, { name: 'x', scopes: ['orders:read'] });
  t.match(unknown.body.detail, /unknown scope/);
  const text = await call('POST', '/admin/api-keys', admin, 'name=x', { 'content-type': 'text/plain' });
  t.equal(text.status, 415, 'JSON only');
  t.match(text.headers.get('content-type'), /^application\/problem\+json/);
  t.equal(await count(), before, 'nothing created');
});

t.test('exchange refusals', async (t) => {
  const { id, key } = await createKey();
  const lastUse = async () =>
    (await call('GET', '/admin/api-keys', admin)).body.api_keys.find((k: { id: string }) => k.id === id).last_used_at;

  t.same(await refusal(keyExchange(key), sales), { error: 'invalid_request', status: 400 }, 'only the gateway may exchange keys');
  t.match(audit.findLast((r) => r.event === 'api_key.refused'), {
    client_id: 'sales',
    reason: 'subject_token_type_not_allowed',
  });
  t.notOk(audit.findLast((r) => r.event === 'api_key.refused')!.key_id, 'the key was not even looked up');
  t.equal(await lastUse(), null, 'a refused client does not count as a use');

  const unknownKey = `gth_test_${'A'.repeat(32)}`;
  t.same(await refusal(keyExchange(unknownKey)), { error: 'invalid_grant', status: 400 }, 'unknown key');
  t.match(audit.findLast((r) => r.event === 'api_key.refused'), { reason: 'api_key_unknown', key_prefix: 'gth_test_AAAAAA' });
  t.same(await refusal(keyExchange('gth_test_short')), { error: 'invalid_grant', status: 400 }, 'malformed key');
  t.match(audit.findLast((r) => r.event === 'api_key.refused'), { reason: 'api_key_malformed' });
  t.same(
    await refusal(keyExchange(`gth_live_${'B'.repeat(32)}`)),
    { error: 'invalid_grant', status: 400 },
    'a live key at a test service',
  );
  t.match(audit.findLast((r) => r.event === 'api_key.refused'), { reason: 'api_key_wrong_environment' });

  t.same(await refusal(keyExchange(key, { audience: SHIPPING })), { error: 'invalid_target', status: 400 });
  t.same(await refusal({ subject_token: key, subject_token_type: API_KEY_TYPE }), {
    error: 'invalid_target',
    status: 400,
  });
  t.same(await refusal(keyExchange(key, { scope: 'orders:read' })), { error: 'invalid_scope', status: 400 });
  t.same(await refusal(keyExchange(key, { producer: 'sales' })), { error: 'invalid_request', status: 400 });
  t.same(await refusal(keyExchange(key, { requested_token_type: 'urn:ietf:params:oauth:token-type:jwt' })), {
    error: 'invalid_request',
    status: 400,
  });
  t.same(await refusal(keyExchange(key, { actor_token: 'x', actor_token_type: ACCESS })), {
    error: 'invalid_request',
    status: 400,
  });

  t.equal((await exchange(gateway, keyExchange(key, { requested_lifetime: '60' }))).expires_in, 60, 'shorter on request');
  t.equal((await exchange(gateway, keyExchange(key, { requested_lifetime: '86400' }))).expires_in, 300, 'capped');
  t.equal(
    (await exchange(gateway, keyExchange(key, { resource: API, audience: [], requested_token_type: ACCESS }))).scope,
    'orders:write',
    'resource works as well as audience',
  );
});

t.test('the key never reaches the log or the audit stream', async (t) => {
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.ok(issuedKeys.length >= 4);
  t.ok(logSink.records.length > 0, 'the log was captured');
  const auditText = JSON.stringify(audit);
  const logText = JSON.stringify(logSink.records);
  for (const key of issuedKeys) {
    const secretPart = key.slice(15);
    t.notOk(auditText.includes(secretPart), `audit: nothing past ${key.slice(0, 15)}`);
    t.notOk(logText.includes(secretPart), `log: nothing past ${key.slice(0, 15)}`);
  }
});

t.test('metrics count API key events', async (t) => {
  const metrics = await (await fetch(`${issuer}/metrics`)).text();
  t.match(metrics, /gatehouse_api_keys_total\{[^}]*event="created",reason="ok"[^}]*\} \d+/);
  t.match(metrics, /gatehouse_api_keys_total\{[^}]*event="exchanged",reason="ok"[^}]*\} \d+/);
  t.match(metrics, /gatehouse_api_keys_total\{[^}]*event="revoked",reason="ok"[^}]*\} 1\n/);
  t.match(metrics, /gatehouse_api_keys_total\{[^}]*event="refused",reason="api_key_revoked"[^}]*\} 1\n/);
});
