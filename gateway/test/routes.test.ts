import t from 'tap';
import { allowedMethods, parseRoutes, RouteTableError, requiredScopes } from '../src/routes.ts';

const orders = {
  name: 'orders',
  prefix: '/api/orders',
  upstream: 'http://127.0.0.1:4100',
  methods: ['GET', 'POST'],
  auth: 'bearer',
  scopes: { GET: ['orders:read'], POST: ['orders:write'] },
};

function problems(routes: unknown[]): string[] {
  try {
    parseRoutes({ routes });
  } catch (error) {
    if (error instanceof RouteTableError) return error.problems;
    throw error;
  }
  throw new Error('expected a RouteTableError');
}

t.test('a valid table gets its defaults', async (t) => {
  const [route] = parseRoutes({
    routes: [{ ...orders, rateLimit: { policy: 'user' }, exchange: { audience: ['urn:a'], producer: 'sales', ttl: 60 } }],
  });
  t.equal(route!.rewritePrefix, '/orders', '/api stripped by default');
  t.same(route!.roles, []);
  t.same(route!.rateLimit, { policy: 'user' }, 'kept for the rate-limit plugin');
  t.same(route!.exchange, { audience: ['urn:a'], producer: 'sales', ttl: 60 }, 'kept for minting');
  t.same(allowedMethods(route!), ['GET', 'HEAD', 'POST'], 'HEAD comes with GET');
  t.same(requiredScopes(route!, 'GET'), ['orders:read']);
  t.same(requiredScopes(route!, 'HEAD'), ['orders:read'], 'HEAD needs what GET needs');
  t.same(requiredScopes(route!, 'POST'), ['orders:write']);
  const [flat] = parseRoutes({ routes: [{ ...orders, scopes: ['a', 'b'], rewritePrefix: '/v2/orders' }] });
  t.same(requiredScopes(flat!, 'POST'), ['a', 'b']);
  t.equal(flat!.rewritePrefix, '/v2/orders');
});

t.test('an unknown key is refused, naming the route and the field', async (t) => {
  t.match(problems([{ ...orders, scope: ['x'] }]), [/route "orders" \(routes\[0\]\) scope: .*[Uu]nrecognized/]);
  t.match(problems([{ ...orders, rateLimit: { policy: 'user', max: 5 } }]), [/route "orders".* rateLimit\.max/]);
  t.match(problems([{ ...orders, exchange: { audience: ['a'], producer: 'sales', aud: 'x' } }]), [/route "orders".* exchange\.aud/]);
  t.match(problems([orders, { foo: 1 }]), [/routes\[1\]/]);
});

t.test('a duplicate prefix or name is refused, naming both routes', async (t) => {
  t.match(problems([orders, { ...orders, name: 'orders-2' }]), [/route "orders-2" \(routes\[1\]\) prefix: \/api\/orders is already used by route "orders"/]);
  t.match(problems([orders, { ...orders, prefix: '/api/other' }]), [/route "orders" \(routes\[1\]\) name: duplicate/]);
});

t.test('bad values are refused, naming the field', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ prefix: '/api/orders/' }, /prefix/],
    [{ prefix: '/api/:id' }, /prefix/],
    [{ upstream: 'http://127.0.0.1:4100/base' }, /upstream: an origin only/],
    [{ upstream: 'ftp://x' }, /upstream/],
    [{ methods: ['FETCH'] }, /methods\.0/],
    [{ methods: [] }, /methods/],
    [{ auth: 'magic' }, /auth/],
    [{ rateLimit: { policy: 'per-planet' } }, /rateLimit\.policy/],
    [{ rateLimit: { policy: 'ip', failMode: 'maybe' } }, /rateLimit\.failMode/],
    [{ exchange: { audience: [], producer: 'sales' } }, /exchange\.audience/],
    [{ exchange: { audience: ['a'] } }, /exchange\.producer/],
    [{ scopes: ['has space'] }, /scopes/],
  ];
  for (const [override, expected] of cases) {
    t.match(problems([{ ...orders, ...override }]).join('\n'), expected, JSON.stringify(override));
  }
});

t.test('a scope map must cover exactly the route methods', async (t) => {
  t.match(problems([{ ...orders, scopes: { GET: ['orders:read'] } }]), [/route "orders" scopes\.POST: the scope map has no entry/]);
  t.match(problems([{ ...orders, scopes: { GET: [], POST: [], DELETE: ['x'] } }]), [/scopes\.DELETE: not one of the route's methods/]);
});

t.test('a public route cannot require scopes, roles or an exchange', async (t) => {
  const open = { ...orders, auth: 'none', scopes: [] };
  t.same(parseRoutes({ routes: [open] }).length, 1);
  t.match(problems([{ ...open, scopes: ['x'] }]), [/scopes: a route with auth "none"/]);
  t.match(problems([{ ...open, roles: ['admin'] }]), [/roles: a route with auth "none"/]);
  t.match(problems([{ ...open, exchange: { audience: ['a'], producer: 'sales' } }]), [/exchange: a route with auth "none"/]);
});

t.test('the table itself is strict', async (t) => {
  t.throws(() => parseRoutes({ routes: [orders], extra: true }), RouteTableError);
  t.throws(() => parseRoutes({ routes: [] }), RouteTableError);
  t.throws(() => parseRoutes([orders]), RouteTableError);
});
