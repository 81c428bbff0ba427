import { HEADER } from '@gatehouse/events';
import { postgresOrSkip } from '@gatehouse/sql/testing';
import t, { type Test } from 'tap';
import { startService } from '../../consumer/test/support/service.ts';
import { makeWorld, until, USERS } from '../../consumer/test/support/world.ts';
import { buildShippingService } from '../src/app.ts';
import { loadShippingConfig } from '../src/config.ts';
import type { Shipment } from '../src/repository.ts';

const world = await makeWorld();
const { alice, bob, carol, admin } = USERS;

async function shippingSuite(t: Test, env: Record<string, string>) {
  const s = await startService(t, loadShippingConfig, buildShippingService, { env, keys: world.keys });
  const shipmentOf = (orderId: string) =>
    until(async () => {
      const { rows } = await s.service.db.query<Shipment>('SELECT * FROM shipments WHERE order_id = $1', [orderId]);
      return rows[0];
    }, `shipment of ${orderId}`);

  const aliceOrder = await world.order(alice);
  // bob's data claims premium: the rule reads the message token's claims, not the data.
  const bobOrder = await world.order(bob, { data: { subscription_level: 'premium' } });
  const carolOrder = await world.order(carol);
  await s.publish(aliceOrder, bobOrder, carolOrder);
  const aliceShipment = await shipmentOf(aliceOrder.headers.ce_subject!);
  const bobShipment = await shipmentOf(bobOrder.headers.ce_subject!);
  const carolShipment = await shipmentOf(carolOrder.headers.ce_subject!);

  t.test('premium gets express; everyone else standard', async (t) => {
    t.match(aliceShipment, {
      org_id: 'acme',
      customer: alice.sub,
      method: 'express',
      items_count: 3,
      event_id: aliceOrder.headers.ce_id,
    });
    t.match(bobShipment, { customer: bob.sub, method: 'standard' });
    t.match(carolShipment, { org_id: 'globex', method: 'express' });
  });

  t.test('one shipment per order, however often its event arrives', async (t) => {
    const again = await world.order(alice, { orderId: aliceOrder.headers.ce_subject! });
    await s.publish(aliceOrder, again);
    const marker = await world.order(alice, { orderId: aliceOrder.headers.ce_subject! });
    await s.publish(marker);
    await until(async () => {
      const { rows } = await s.service.db.query('SELECT 1 FROM processed_events WHERE event_id = $1', [marker.headers.ce_id]);
      return rows[0];
    }, 'the marker processed');
    const { rows } = await s.service.db.query('SELECT id FROM shipments WHERE order_id = $1', [aliceOrder.headers.ce_subject]);
    t.equal(rows.length, 1);
  });

  t.test('a refused record goes to orders.shipping.dlq', async (t) => {
    const forged = await world.order(alice, { signer: await world.forger() });
    await s.publish(forged);
    const letter = await until(
      () => s.bus.messages('orders.shipping.dlq').find((m) => m.headers.ce_id === forged.headers.ce_id),
      'the dead letter',
    );
    t.equal(letter.headers[HEADER.dlqReason], 'ERR_EVENT_PROOF_INVALID');
    const { rows } = await s.service.db.query('SELECT 1 FROM shipments WHERE order_id = $1', [forged.headers.ce_subject]);
    t.equal(rows.length, 0, 'no shipment');
  });

  t.test('read API: own shipments, the org for admins, nothing of another org', async (t) => {
    const token = (user: (typeof USERS)[keyof typeof USERS], scope = 'shipments:read') => world.accessToken(user, scope);
    const ids = (body: Record<string, unknown>) => (body.shipments as Shipment[]).map((s) => s.id).sort();

    const own = await s.get('/shipments', await token(alice));
    t.equal(own.status, 200);
    t.same(ids(own.body), [aliceShipment.id], 'alice sees only hers');
    t.match((own.body.shipments as Shipment[])[0], {
      order_id: aliceOrder.headers.ce_subject,
      method: 'express',
      created_at: String,
    });

    const org = await s.get('/shipments', await token(admin));
    t.same(ids(org.body), [aliceShipment.id, bobShipment.id].sort(), 'admin sees acme, not globex');

    const byOrder = await s.get(`/shipments?order_id=${bobOrder.headers.ce_subject}`, await token(admin));
    t.same(ids(byOrder.body), [bobShipment.id]);
    const othersOrder = await s.get(`/shipments?order_id=${bobOrder.headers.ce_subject}`, await token(alice));
    t.same(othersOrder.body, { shipments: [] }, "another user's order id finds nothing");

    t.equal((await s.get(`/shipments/${aliceShipment.id}`, await token(alice))).status, 200);
    t.equal((await s.get(`/shipments/${aliceShipment.id}`, await token(admin))).status, 200);
    for (const [who, user, id] of [
      ['carol, another org', carol, aliceShipment.id],
      ['alice, another user', alice, bobShipment.id],
      ['admin, another org', admin, carolShipment.id],
    ] as const) {
      const response = await s.get(`/shipments/${id}`, await token(user));
      t.equal(response.status, 404, who);
      t.match(response.body, { code: 'ERR_NOT_FOUND', status: 404, type: 'urn:gatehouse:problem:not-found' });
      t.match(response.headers['content-type'], /^application\/problem\+json/);
    }
    t.equal((await s.get('/shipments/not-a-uuid', await token(alice))).status, 404);
  });

  t.test('read API refusals: 401 without a valid access token, 403 without the scope', async (t) => {
    const missing = await s.get('/shipments');
    t.equal(missing.status, 401);
    t.equal(missing.headers['www-authenticate'], 'Bearer realm="gatehouse"');
    t.match(missing.body, { code: 'ERR_TOKEN_MISSING', type: 'urn:gatehouse:problem:invalid-token' });
    t.match(missing.headers['content-type'], /^application\/problem\+json/);

    const expired = await s.get('/shipments', await world.accessToken(alice, 'shipments:read', { iat: 1_759_998_000, exp: 1_759_999_000 }));
    t.equal(expired.status, 401);
    t.match(expired.headers['www-authenticate'], /^Bearer realm="gatehouse", error="invalid_token", error_description="/);
    t.match(expired.body, { code: 'ERR_TOKEN_EXPIRED' });

    // A message token is not an access token, whatever it carries.
    const message = await s.get('/shipments', await world.messageToken(alice, { aud: 'urn:gatehouse:api', scope: 'shipments:read' }));
    t.equal(message.status, 401);
    t.match(message.body, { code: 'ERR_TOKEN_TYP' });

    const scope = await s.get('/shipments', await world.accessToken(alice, 'orders:read'));
    t.equal(scope.status, 403);
    t.equal(
      scope.headers['www-authenticate'],
      'Bearer realm="gatehouse", error="insufficient_scope", scope="shipments:read", error_description="a required scope is missing"',
    );
    t.match(scope.body, { code: 'ERR_INSUFFICIENT_SCOPE', missingScopes: ['shipments:read'] });

    const service = await s.get('/shipments', await world.accessToken(alice, 'shipments:read', { org_id: undefined }));
    t.equal(service.status, 403, 'a token bound to no organisation reads nothing');
    t.match(service.body, { code: 'ERR_ORG_REQUIRED' });

    const inQuery = await s.get(`/shipments?access_token=${await world.accessToken(alice, 'shipments:read')}`);
    t.equal(inQuery.status, 400);
    t.match(inQuery.body, { code: 'ERR_TOKEN_IN_QUERY' });

    const failures = s.audit.filter((r) => r.event === 'auth.failure').map((r) => r.reason);
    t.ok(failures.includes('ERR_TOKEN_MISSING') && failures.includes('ERR_TOKEN_EXPIRED'), 'audited');
  });

  t.test('ops: healthz, readyz (database and JWKS), metrics', async (t) => {
    t.equal((await s.get('/healthz')).status, 200);
    const ready = await s.get('/readyz');
    t.same(ready.body, { status: 'ready' });
    const metrics = await s.service.app.inject({ url: '/metrics' });
    t.match(metrics.body, /gatehouse_events_processed_total\{consumer="shipping",basis="fresh"/);
    t.match(metrics.body, /gatehouse_events_dead_lettered_total\{consumer="shipping"/);
    t.match(metrics.body, /gatehouse_event_bus_up\{[^}]*\} 1/, 'the bus is reported as a metric');
  });
}

t.test('embedded database', async (t) => shippingSuite(t, {}));

t.test('real PostgreSQL', async (t) => {
  const pg = await postgresOrSkip(t);
  if (!pg) return;
  await shippingSuite(t, { DATABASE_URL: await pg.createDatabase('shipping_test') });
});
