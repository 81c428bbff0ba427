import { createEmbeddedBus } from '@gatehouse/event-bus';
import { HEADER } from '@gatehouse/events';
import { postgresOrSkip } from '@gatehouse/sql/testing';
import t, { type Test } from 'tap';
import { startService } from '../../consumer/test/support/service.ts';
import { makeWorld, until, USERS } from '../../consumer/test/support/world.ts';
import { buildShippingService, loadShippingConfig } from '../../shipping/src/index.ts';
import { buildInvoicingService } from '../src/app.ts';
import { loadInvoicingConfig } from '../src/config.ts';
import type { Invoice } from '../src/repository.ts';

const world = await makeWorld();
const { alice, bob, carol, admin } = USERS;

async function invoicingSuite(t: Test, env: Record<string, string>) {
  const s = await startService(t, loadInvoicingConfig, buildInvoicingService, { env, keys: world.keys });
  const invoiceOf = (orderId: string) =>
    until(async () => {
      const { rows } = await s.service.db.query<Invoice>('SELECT * FROM invoices WHERE order_id = $1', [orderId]);
      return rows[0];
    }, `invoice of ${orderId}`);

  // One at a time, so the numbers follow publication order.
  const aliceOrder = await world.order(alice, { items: [{ sku: 'TEA-100', quantity: 3, unit_price: 450 }] });
  await s.publish(aliceOrder);
  const aliceInvoice = await invoiceOf(aliceOrder.headers.ce_subject!);
  const bobOrder = await world.order(bob);
  await s.publish(bobOrder);
  const bobInvoice = await invoiceOf(bobOrder.headers.ce_subject!);
  const carolOrder = await world.order(carol);
  await s.publish(carolOrder);
  const carolInvoice = await invoiceOf(carolOrder.headers.ce_subject!);

  t.test('one invoice per order for its total, numbered per organisation', async (t) => {
    t.match(aliceInvoice, {
      invoice_number: 'INV-000001',
      org_id: 'acme',
      customer: alice.sub,
      amount: 1350,
      currency: 'EUR',
      event_id: aliceOrder.headers.ce_id,
    });
    t.match(bobInvoice, { invoice_number: 'INV-000002', org_id: 'acme', customer: bob.sub, amount: 2100 });
    t.match(carolInvoice, { invoice_number: 'INV-000001', org_id: 'globex' }, "globex's own sequence");
  });

  t.test('a redelivered or re-sent order is invoiced once and takes no number', async (t) => {
    const resent = await world.order(alice, { orderId: aliceOrder.headers.ce_subject! });
    await s.publish(aliceOrder, resent);
    const next = await world.order(admin);
    await s.publish(next);
    const nextInvoice = await invoiceOf(next.headers.ce_subject!);
    t.equal(nextInvoice.invoice_number, 'INV-000003', 'no number lost to the duplicates');
    const { rows } = await s.service.db.query('SELECT id FROM invoices WHERE order_id = $1', [aliceOrder.headers.ce_subject]);
    t.equal(rows.length, 1);
  });

  t.test('an order whose total does not add up is dead-lettered, not billed', async (t) => {
    const wrong = await world.order(bob, { data: { total: 1 } });
    await s.publish(wrong);
    const letter = await until(
      () => s.bus.messages('orders.invoicing.dlq').find((m) => m.headers.ce_id === wrong.headers.ce_id),
      'the dead letter',
    );
    t.equal(letter.headers[HEADER.dlqReason], 'ERR_EVENT_DATA_INVALID');
    t.equal(letter.headers[HEADER.dlqConsumer], 'invoicing');
    const { rows } = await s.service.db.query('SELECT 1 FROM invoices WHERE order_id = $1', [wrong.headers.ce_subject]);
    t.equal(rows.length, 0);
  });

  t.test('read API: own invoices, the org for admins, 404 across orgs', async (t) => {
    const token = (user: (typeof USERS)[keyof typeof USERS], scope = 'invoices:read') => world.accessToken(user, scope);
    const numbers = (body: Record<string, unknown>) => (body.invoices as Invoice[]).map((i) => i.order_id).sort();
    t.same(numbers((await s.get('/invoices', await token(bob))).body), [bobOrder.headers.ce_subject]);
    t.equal(
      ((await s.get('/invoices', await token(admin))).body.invoices as Invoice[]).length,
      3,
      'admin: alice, bob and their own',
    );
    const byOrder = await s.get(`/invoices?order_id=${aliceOrder.headers.ce_subject}`, await token(alice));
    t.match(byOrder.body, { invoices: [{ id: aliceInvoice.id, amount: 1350 }] });
    t.equal((await s.get(`/invoices/${aliceInvoice.id}`, await token(alice))).status, 200);
    t.equal((await s.get(`/invoices/${aliceInvoice.id}`, await token(carol))).status, 404, 'another org');
    t.equal((await s.get(`/invoices/${carolInvoice.id}`, await token(admin))).status, 404, "another org's admin");
    t.equal((await s.get(`/invoices/${aliceInvoice.id}`, await token(bob))).status, 404, 'another user');
    t.equal((await s.get('/invoices')).status, 401);
    const scope = await s.get('/invoices', await token(alice, 'shipments:read'));
    t.equal(scope.status, 403);
    t.match(scope.body, { code: 'ERR_INSUFFICIENT_SCOPE', missingScopes: ['invoices:read'] });
  });
}

t.test('embedded database', async (t) => invoicingSuite(t, {}));

t.test('real PostgreSQL', async (t) => {
  const pg = await postgresOrSkip(t);
  if (!pg) return;
  await invoicingSuite(t, { DATABASE_URL: await pg.createDatabase('invoicing_test') });

  await t.test('shipping and invoicing sharing one database each process every event', async (t) => {
    const url = await pg.createDatabase('shared_test');
    const bus = createEmbeddedBus({ retry: { initialMs: 5, maxMs: 40 } });
    t.teardown(() => bus.close());
    const env = { DATABASE_URL: url };
    const shipping = await startService(t, loadShippingConfig, buildShippingService, { env, keys: world.keys, bus });
    const invoicing = await startService(t, loadInvoicingConfig, buildInvoicingService, { env, keys: world.keys, bus });
    const order = await world.order(alice);
    await shipping.publish(order);
    const orderId = order.headers.ce_subject;
    await until(async () => (await shipping.service.db.query('SELECT 1 FROM shipments WHERE order_id = $1', [orderId])).rows[0], 'shipment');
    await until(async () => (await invoicing.service.db.query('SELECT 1 FROM invoices WHERE order_id = $1', [orderId])).rows[0], 'invoice');
    const { rows } = await invoicing.service.db.query('SELECT consumer FROM processed_events WHERE event_id = $1 ORDER BY consumer', [
      order.headers.ce_id,
    ]);
    t.same(rows, [{ consumer: 'invoicing' }, { consumer: 'shipping' }]);
  });
});
