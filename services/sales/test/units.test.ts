// The pure rules: message-token binding, backoff, bearer extraction, schema error pointers.
import type { Principal } from '@gatehouse/validator';
import t from 'tap';
import { extractBearer } from '@gatehouse/service-http';
import { missing } from '../src/http/authenticate.ts';
import { fieldErrors } from '@gatehouse/service-http';
import { bindingRefusal } from '../src/orders/message-token.ts';
import { backoffDelay } from '../src/outbox/backoff.ts';

const key = { kty: 'EC', crv: 'P-256', x: 'xx', y: 'yy', kid: 'k1', alg: 'ES256' };

function principal(overrides: Partial<Principal>): Principal {
  return {
    kind: 'access',
    sub: 'alice-sub',
    scopes: [],
    roles: [],
    orgId: 'acme',
    jti: 'j',
    iat: 0,
    exp: 1,
    claims: {},
    tokenHash: 'h',
    ...overrides,
  };
}

t.test('message token binding', async (t) => {
  const access = principal({ scopes: ['orders:write'] });
  const good = principal({ kind: 'message', scopes: ['orders.created'], cnf: { jwk: { ...key } } });
  t.equal(bindingRefusal(access, good, key), undefined, 'same user, org, scope and our key');
  t.match(bindingRefusal(access, { ...good, sub: 'bob-sub' }, key), { status: 403, code: 'ERR_MESSAGE_TOKEN_SUBJECT' });
  t.match(bindingRefusal(access, { ...good, orgId: 'globex' }, key), { code: 'ERR_MESSAGE_TOKEN_ORG' });
  const noOrg = { ...good };
  delete noOrg.orgId;
  t.match(bindingRefusal(access, noOrg, key), { code: 'ERR_MESSAGE_TOKEN_ORG' });
  t.match(bindingRefusal(access, { ...good, scopes: ['orders.updated'] }, key), { code: 'ERR_MESSAGE_TOKEN_SCOPE' });
  t.match(bindingRefusal(access, { ...good, cnf: { jwk: { ...key, kid: 'other' } } }, key), { code: 'ERR_MESSAGE_TOKEN_CNF' });
  t.match(bindingRefusal(access, { ...good, cnf: { jwk: { ...key, x: 'zz' } } }, key), { code: 'ERR_MESSAGE_TOKEN_CNF' }, 'same kid, other key');
  t.match(bindingRefusal(access, { ...good, cnf: {} }, key), { code: 'ERR_MESSAGE_TOKEN_CNF' });
});

t.test('backoff doubles, is capped, and jitters within the upper half', async (t) => {
  const b = { baseMs: 100, maxMs: 1000 };
  t.same([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, b, () => 0.999999)), [100, 200, 400, 800, 1000, 1000]);
  t.same([1, 2, 3, 4, 5].map((n) => backoffDelay(n, b, () => 0)), [50, 100, 200, 400, 500]);
  t.equal(backoffDelay(1000, b, () => 0.5), 750, 'no overflow for long outages');
});

t.test('bearer extraction', async (t) => {
  const ok = extractBearer({ url: '/orders', authorization: 'Bearer abc.def.ghi', rawHeaders: ['Authorization', 'x'] });
  t.same(ok, { token: 'abc.def.ghi' });
  t.match(extractBearer({ url: '/orders', authorization: undefined, rawHeaders: [] }), { status: 401, code: 'ERR_TOKEN_MISSING' });
  t.match(extractBearer({ url: '/orders', authorization: 'Basic eA==', rawHeaders: [] }), { code: 'ERR_AUTH_SCHEME' });
  t.match(extractBearer({ url: '/orders', authorization: 'Bearer a b', rawHeaders: [] }), { code: 'ERR_TOKEN_MALFORMED', error: 'invalid_token' });
  t.match(extractBearer({ url: '/orders?access_token=x', authorization: undefined, rawHeaders: [] }), { status: 400, code: 'ERR_TOKEN_IN_QUERY' });
  t.match(
    extractBearer({ url: '/orders', authorization: 'Bearer a', rawHeaders: ['authorization', 'Bearer a', 'Authorization', 'Bearer b'] }),
    { status: 400, code: 'ERR_AUTH_HEADER_REPEATED' },
  );
});

t.test('requirements: every scope, any role', async (t) => {
  t.same(missing({ scopes: ['a'], roles: [] }, { scopes: ['a', 'b'] }), { scopes: ['b'], role: false });
  t.same(missing({ scopes: [], roles: ['x'] }, { roles: ['admin', 'x'] }), { scopes: [], role: false });
  t.same(missing({ scopes: [], roles: [] }, { roles: ['admin'] }), { scopes: [], role: true });
});

t.test('schema errors point at the member', async (t) => {
  t.same(
    fieldErrors([
      { instancePath: '/items/0', keyword: 'additionalProperties', params: { additionalProperty: 'price' } },
      { instancePath: '', keyword: 'required', params: { missingProperty: 'items' } },
      { instancePath: '/items/0/quantity', keyword: 'minimum', params: {}, message: 'must be >= 1' },
    ]),
    [
      { pointer: '/items/0/price', detail: 'is not allowed' },
      { pointer: '/items', detail: 'is required' },
      { pointer: '/items/0/quantity', detail: 'must be >= 1' },
    ],
  );
});
