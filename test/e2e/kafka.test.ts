// End to end on real infrastructure: a Kafka wire-protocol broker (librdkafka's mock cluster) and a
// real PostgreSQL server, one database per service. Kafka stopped and restarted mid-test: orders
// keep being accepted (the outbox holds their events), and once the broker is back no event is
// lost: every order gets exactly one shipment and one invoice.
import t from 'tap';
import { eventually, startE2eStack } from './support/stack.ts';

t.test('Kafka + PostgreSQL: no event lost across a broker outage', async (t) => {
  const stack = await startE2eStack(t, { kafka: true, postgres: true });
  if (!stack) return;
  t.equal(stack.bus.kind, 'kafka');
  t.equal(stack.sales.db.kind, 'postgres');
  const [alice, bob, admin] = (await Promise.all([stack.login('alice'), stack.login('bob'), stack.login('admin')])) as [
    string,
    string,
    string,
  ];
  const orders: string[] = [];
  const order = async (token: string) => {
    const created = await stack.api(token, 'POST', '/api/orders', { items: [{ sku: 'GH-MUG-001', quantity: 2 }] });
    t.equal(created.status, 201, `order accepted (${orders.length + 1})`);
    orders.push(created.body.id);
  };
  let last = '';
  const counts = async () => {
    const shipments = await stack.api(admin, 'GET', '/api/shipments?limit=100');
    const invoices = await stack.api(admin, 'GET', '/api/invoices?limit=100');
    last = `shipments ${shipments.status}, invoices ${invoices.status}`;
    // A consumer's read API may answer 503 while it recovers: poll again.
    if (shipments.status !== 200 || invoices.status !== 200) return undefined;
    return { shipments: (shipments.body.shipments as unknown[]).length, invoices: (invoices.body.invoices as unknown[]).length };
  };
  const allProcessed = (n: number) =>
    eventually(
      async () => {
        const c = await counts();
        return c?.shipments === n && c.invoices === n ? c : undefined;
      },
      () => `${n} shipments and invoices (last answers: ${last || 'none'})`,
      60_000,
      // Two requests per poll through the gateway stay under the user limit (500 a minute).
      400,
    );

  for (let i = 0; i < 3; i++) await order(i % 2 ? bob : alice);
  await allProcessed(3);

  await stack.broker!.down();
  for (let i = 0; i < 4; i++) await order(i % 2 ? bob : alice);
  const pending = await stack.sales.db.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL');
  t.ok(Number(pending.rows[0]!.n) >= 1, `the outbox holds the events while Kafka is down (${pending.rows[0]!.n})`);

  await stack.broker!.up();
  for (let i = 0; i < 2; i++) await order(alice);
  const final = await allProcessed(orders.length);
  t.same(final, { shipments: orders.length, invoices: orders.length }, 'order count equals processed count');

  // Each order exactly once, express for alice and standard for bob.
  const shipments = (await stack.api(admin, 'GET', '/api/shipments?limit=100')).body.shipments as Array<{
    order_id: string;
    method: string;
    customer: string;
  }>;
  t.same([...new Set(shipments.map((s) => s.order_id))].sort(), [...orders].sort());
  t.ok(shipments.every((s) => s.method === (s.customer === 'alice' ? 'express' : 'standard')));
  const sent = await stack.sales.db.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL');
  t.equal(Number(sent.rows[0]!.n), 0, 'the outbox is drained');
});
