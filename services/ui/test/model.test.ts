/**
 * The UI's field access (public/model.js) in Node: it is plain browser JavaScript without DOM use,
 * so its tolerance of the services' JSON shapes is tested here without a browser.
 */
import t from 'tap';

type Fn = (...args: unknown[]) => unknown;
// A browser module, loaded by URL: TypeScript does not type-check the UI's JavaScript.
const model = (await import(new URL('../public/model.js', import.meta.url).href)) as Record<string, Fn>;
const call = (name: string, ...args: unknown[]) => model[name]!(...args);

t.test('lists: a bare array, or the array under a usual member name', async (t) => {
  t.same(call('listOf', [1, 2]), [1, 2]);
  t.same(call('listOf', { orders: [1] }, 'orders'), [1]);
  t.same(call('listOf', { items: [2] }), [2]);
  t.same(call('listOf', { data: [3] }), [3]);
  for (const odd of [undefined, null, 'x', 7, { orders: 'no' }]) t.same(call('listOf', odd, 'orders'), [], `${JSON.stringify(odd)} → []`);
});

t.test('the session: claims with defaults, admin from roles', async (t) => {
  t.same(call('toSession', { sub: 'u1', preferred_username: 'alice', org_id: 'acme', subscription_level: 'premium', roles: [] }), {
    username: 'alice',
    org: 'acme',
    level: 'premium',
    roles: [],
    isAdmin: false,
  });
  t.match(call('toSession', { sub: 'u2', roles: ['admin', 7] }), { username: 'u2', roles: ['admin'], isAdmin: true });
  t.same(call('toSession', undefined), { username: '', org: '', level: '', roles: [], isAdmin: false }, 'nothing → empty, no throw');
});

t.test('orders: id, items, total with currency; other field names accepted', async (t) => {
  t.match(call('toOrder', { id: 'o1', items: [{ sku: 'A', quantity: 2 }, { sku: 'B', quantity: 1 }], total: '12.50', currency: 'EUR', status: 'accepted', created_at: '2026-01-01T00:00:00Z' }), {
    id: 'o1',
    itemsText: '2 × A, 1 × B',
    total: '12.50 EUR',
    status: 'accepted',
    placed: '2026-01-01T00:00:00Z',
  });
  t.match(call('toOrder', { order_id: 7, items: [{ sku: 'A', qty: 3 }], total: 9.5 }), { id: '7', itemsText: '3 × A', total: '9.50' });
  t.match(call('toOrder', { id: 'o2', total: { amount: '3.00', currency: 'USD' } }), { total: '3.00 USD', itemsText: '' });
  t.match(call('toOrder', { id: { nested: true }, items: 'none', total: null }), { id: '', itemsText: '', total: '' }, 'odd types → empty');
  t.same((call('toOrders', { orders: [{ id: 'a' }, { id: 'b' }] }) as Array<{ id: string }>).map((o) => o.id), ['a', 'b']);
});

t.test('shipments and invoices', async (t) => {
  t.same(call('toShipment', { order_id: 'o1', method: 'express', status: 'preparing', extra: 1 }), { orderId: 'o1', method: 'express', status: 'preparing' });
  t.same(call('toShipment', { orderId: 'o2' }), { orderId: 'o2', method: '', status: '' });
  t.same(call('toInvoice', { number: 'INV-1', order_id: 'o1', amount: '12.50', currency: 'EUR' }), { number: 'INV-1', orderId: 'o1', amount: '12.50 EUR', status: '' });
  t.match(call('toInvoice', { id: 'i9', total: 4 }), { number: 'i9', amount: '4.00' });
  t.equal((call('toShipments', [{}, {}]) as unknown[]).length, 2);
  t.equal((call('toInvoices', { invoices: [{}] }) as unknown[]).length, 1);
});

t.test('replay count and the end-session URL', async (t) => {
  t.equal(call('replayedCount', { replayed: 3 }), '3');
  t.equal(call('replayedCount', {}), '');
  const home = 'http://localhost:8080/';
  t.equal(call('endSessionUrl', { end_session_url: 'http://localhost:4000/session/end?x=1' }, home), 'http://localhost:4000/session/end?x=1');
  t.equal(call('endSessionUrl', { end_session_url: 'javascript:alert(1)' }, home), home, 'only http(s) is followed');
  t.equal(call('endSessionUrl', { end_session_url: 'http://[bad' }, home), home);
  t.equal(call('endSessionUrl', undefined, home), home);
});

t.test('problems: detail first, then title, then a sentence of our own', async (t) => {
  t.same(call('toProblem', { title: 'Forbidden', status: 403, detail: 'Not for you.', code: 'ERR_X' }, 403), { status: 403, code: 'ERR_X', message: 'Not for you.' });
  t.same(call('toProblem', { title: 'Bad Gateway' }, 502), { status: 502, code: '', message: 'Bad Gateway' });
  t.same(call('toProblem', undefined, 500), { status: 500, code: '', message: 'The request failed (HTTP 500).' });
  t.same(call('toProblem', undefined, 0), { status: 0, code: '', message: 'The gateway could not be reached.' });
});
