// An upstream's Location names its own path; the client is told the gateway's.
import t from 'tap';
import { publicLocation } from '../src/proxy.ts';

const orders = { prefix: '/api/orders', rewritePrefix: '/orders' };

t.test('paths under the rewrite prefix map back to the route prefix', async (t) => {
  t.equal(publicLocation('/orders/42', orders), '/api/orders/42');
  t.equal(publicLocation('/orders', orders), '/api/orders');
  t.equal(publicLocation('/orders?page=2', orders), '/api/orders?page=2');
  t.equal(publicLocation('/orders/', { prefix: '/api/orders/', rewritePrefix: '/orders/' }), '/api/orders/');
  t.equal(publicLocation('/42', { prefix: '/api/orders', rewritePrefix: '/' }), '/api/orders/42', 'root rewrite');
});

t.test('anything else passes unchanged', async (t) => {
  t.equal(publicLocation('/ordersx/1', orders), '/ordersx/1', 'a sibling path is not under the prefix');
  t.equal(publicLocation('/elsewhere', orders), '/elsewhere');
  t.equal(publicLocation('https://example.com/orders/1', orders), 'https://example.com/orders/1', 'absolute URL');
  t.equal(publicLocation('//evil.example/orders', orders), '//evil.example/orders', 'scheme-relative URL');
  t.equal(publicLocation('orders/1', orders), 'orders/1', 'relative reference');
});
