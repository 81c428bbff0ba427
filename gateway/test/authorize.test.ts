import t from 'tap';
import { authorize, bearerChallenge } from '../src/authorize.ts';

const route = { scopes: { GET: ['orders:read'], POST: ['orders:write', 'orders:read'] }, roles: [] };
const admin = { scopes: [], roles: ['admin', 'ops'] };

t.test('every required scope of the method must be held', async (t) => {
  t.same(authorize({ scopes: ['orders:read'], roles: [] }, route, 'GET'), { ok: true });
  t.same(authorize({ scopes: ['orders:read'], roles: [] }, route, 'HEAD'), { ok: true });
  t.match(authorize({ scopes: ['orders:read'], roles: [] }, route, 'POST'), {
    ok: false,
    missingScopes: ['orders:write'],
    missingRole: false,
  });
  t.match(authorize({ scopes: [], roles: [] }, route, 'POST'), { missingScopes: ['orders:write', 'orders:read'] });
  t.same(authorize({ scopes: ['orders:write', 'orders:read', 'extra'], roles: [] }, route, 'POST'), { ok: true });
});

t.test('any one of the roles suffices', async (t) => {
  t.same(authorize({ scopes: [], roles: ['ops'] }, admin, 'GET'), { ok: true });
  t.match(authorize({ scopes: [], roles: ['user'] }, admin, 'GET'), { ok: false, missingRole: true, missingScopes: [] });
  t.same(authorize({ scopes: [], roles: [] }, { scopes: [], roles: [] }, 'DELETE'), { ok: true }, 'nothing required');
});

t.test('scopes and roles together', async (t) => {
  const both = { scopes: ['a'], roles: ['admin'] };
  t.match(authorize({ scopes: [], roles: [] }, both, 'GET'), { missingScopes: ['a'], missingRole: true });
  t.same(authorize({ scopes: ['a'], roles: ['admin'] }, both, 'GET'), { ok: true });
});

t.test('the Bearer challenge', async (t) => {
  t.equal(bearerChallenge(), 'Bearer realm="gatehouse"');
  t.equal(
    bearerChallenge({ error: 'insufficient_scope', scope: 'a b' }),
    'Bearer realm="gatehouse", error="insufficient_scope", scope="a b"',
  );
});
