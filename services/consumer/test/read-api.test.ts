// The consumers' HTTP side on its own: bearer extraction refusals, unavailable keys, problem+json
// for Fastify's own errors, and the visibility rule, over an in-memory collection.
import { createAuditLog, createLogger, createMetrics, memoryAuditSink } from '@gatehouse/observability';
import { createValidator, remoteKeys } from '@gatehouse/validator';
import t, { type Test } from 'tap';
import { buildReadApi, registerReadRoutes, type Visibility, visibilityOf } from '../src/index.ts';
import { ISSUER, makeWorld, now, USERS } from './support/world.ts';

const world = await makeWorld();

interface Parcel {
  id: string;
  org_id: string;
  customer: string;
}
const PARCELS: Parcel[] = [
  { id: '00000000-0000-4000-8000-000000000001', org_id: 'acme', customer: USERS.alice.sub },
  { id: '00000000-0000-4000-8000-000000000002', org_id: 'acme', customer: USERS.bob.sub },
];
const visible = (v: Visibility) => (p: Parcel) => p.org_id === v.orgId && (v.customer === null || p.customer === v.customer);

async function api(t: Test, keys = world.keys, keysAvailable = () => true) {
  const sink = memoryAuditSink();
  const built = await buildReadApi({
    logger: createLogger('read-api-test', 'silent'),
    metrics: createMetrics('read-api-test', { defaults: false }),
    audit: createAuditLog('read-api-test', sink.stream),
    validator: createValidator({ issuer: ISSUER, keys, now }),
    apiAudience: 'urn:gatehouse:api',
    keysAvailable,
    readiness: { database: async () => true, bus: async () => false },
  });
  registerReadRoutes<Parcel>(built, {
    collection: 'parcels',
    resource: 'parcel',
    scope: 'parcels:read',
    list: async (v, { limit }) => PARCELS.filter(visible(v)).slice(0, limit),
    find: async (v, id) => PARCELS.filter(visible(v)).find((p) => p.id === id),
  });
  t.teardown(() => built.app.close());
  return { app: built.app, audit: sink.records };
}

t.test('visibility: own records, the org for admins, nothing without an org', async (t) => {
  t.same(visibilityOf({ sub: 'u', orgId: 'acme', roles: [] }), { orgId: 'acme', customer: 'u' });
  t.same(visibilityOf({ sub: 'u', orgId: 'acme', roles: ['admin'] }), { orgId: 'acme', customer: null });
  t.equal(visibilityOf({ sub: 'sales', roles: ['admin'] }), undefined);
  t.equal(visibilityOf({ sub: 'u', orgId: '', roles: [] }), undefined);
});

t.test('credential refusals mirror the gateway', async (t) => {
  const { app, audit } = await api(t);
  const token = await world.accessToken(USERS.alice, 'parcels:read');
  const cases: Array<[string, Record<string, string | string[]>, number, string, string]> = [
    ['another scheme', { authorization: 'Basic dXNlcjpwdw==' }, 401, 'ERR_AUTH_SCHEME', 'Bearer realm="gatehouse"'],
    [
      'a malformed credential',
      { authorization: 'Bearer a b c' },
      401,
      'ERR_TOKEN_MALFORMED',
      'Bearer realm="gatehouse", error="invalid_token", error_description="the bearer credential is malformed"',
    ],
    [
      'a bad signature',
      { authorization: `Bearer ${token.slice(0, -4)}AAAA` },
      401,
      'ERR_TOKEN_SIGNATURE',
      'Bearer realm="gatehouse", error="invalid_token", error_description="token signature is invalid"',
    ],
  ];
  for (const [what, headers, status, code, challenge] of cases) {
    const response = await app.inject({ url: '/parcels', headers });
    t.equal(response.statusCode, status, what);
    t.equal(response.headers['www-authenticate'], challenge, what);
    t.match(response.json(), { code, status, requestId: String }, what);
  }
  const repeated = await app.inject({
    url: '/parcels',
    // Two Authorization headers on the wire.
    headers: { authorization: [`Bearer ${token}`, `Bearer ${token}`] } as never,
  });
  t.equal(repeated.statusCode, 400);
  t.match(repeated.json(), { code: 'ERR_AUTH_HEADER_REPEATED' });
  t.equal(audit.filter((r) => r.event === 'auth.failure').length, 4);
  t.notOk(JSON.stringify(audit).includes(token.slice(0, 40)), 'no token in the audit stream');
});

t.test('keys that were never fetched answer 503 with Retry-After, not 401', async (t) => {
  const unreachable = remoteKeys('http://127.0.0.1:9/jwks', { timeoutMs: 200 });
  const { app } = await api(t, unreachable, () => unreachable.lastFetchedAt !== undefined);
  const response = await app.inject({
    url: '/parcels',
    headers: { authorization: `Bearer ${await world.accessToken(USERS.alice, 'parcels:read')}` },
  });
  t.equal(response.statusCode, 503);
  t.equal(response.headers['retry-after'], '5');
  t.match(response.json(), { code: 'ERR_KEYS_UNAVAILABLE', type: 'urn:gatehouse:problem:validation-unavailable' });
});

t.test("Fastify's own errors are problems too", async (t) => {
  const { app } = await api(t);
  const token = await world.accessToken(USERS.admin, 'parcels:read');
  const badLimit = await app.inject({ url: '/parcels?limit=1000', headers: { authorization: `Bearer ${token}` } });
  t.equal(badLimit.statusCode, 400);
  t.match(badLimit.headers['content-type'], /^application\/problem\+json/);
  t.match(badLimit.json(), { code: 'ERR_VALIDATION', type: 'urn:gatehouse:problem:validation', errors: [{ pointer: '/limit', in: 'querystring' }] });
  const limited = await app.inject({ url: '/parcels?limit=1', headers: { authorization: `Bearer ${token}` } });
  t.equal(limited.json().parcels.length, 1);
  const unknown = await app.inject({ url: '/nowhere' });
  t.equal(unknown.statusCode, 404);
  t.match(unknown.json(), { code: 'ERR_NOT_FOUND' });
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.same(ready.json(), { status: 'unavailable', failing: ['bus'] });
  t.equal((await app.inject({ url: '/parcels', headers: { 'x-request-id': 'req-123' } })).headers['x-request-id'], 'req-123');
});
