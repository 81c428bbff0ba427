// End to end on embedded defaults (what `npm start` runs): a user's order through the gateway, the
// sales outbox, the bus, both consumers; and what a writer on the topic cannot do.
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { HEADER } from '@gatehouse/events';
import t from 'tap';
import { runEventsCli } from '../../scripts/events/cli.ts';
import { type E2eStack, eventually, startE2eStack } from './support/stack.ts';

const ITEMS = [
  { sku: 'GH-BOOK-001', quantity: 2 },
  { sku: 'GH-MUG-001', quantity: 1 },
];

const stack = (await startE2eStack(t)) as E2eStack;
const [alice, bob, carol, admin] = (await Promise.all(['alice', 'bob', 'carol', 'admin'].map((u) => stack.login(u)))) as [
  string,
  string,
  string,
  string,
];

async function placeOrder(token: string, items = ITEMS) {
  const created = await stack.api(token, 'POST', '/api/orders', { items });
  if (created.status !== 201) throw new Error(`order refused: ${created.status} ${JSON.stringify(created.body)}`);
  // The service says /orders/<id>; through the gateway that is /api/orders/<id>.
  if (created.headers.get('location') !== `/api/orders/${created.body.id}`) {
    throw new Error(`unexpected Location ${created.headers.get('location')}`);
  }
  return created.body as { id: string; total: number; currency: string; items: Array<{ unit_price: number }> };
}

async function shipmentOf(token: string, orderId: string) {
  return eventually(async () => {
    const { body } = await stack.api(token, 'GET', `/api/shipments?order_id=${orderId}`);
    return (body.shipments as Array<Record<string, unknown>> | undefined)?.[0];
  }, `the shipment of ${orderId}`);
}

async function invoiceOf(token: string, orderId: string) {
  return eventually(async () => {
    const { body } = await stack.api(token, 'GET', `/api/invoices?order_id=${orderId}`);
    return (body.invoices as Array<Record<string, unknown>> | undefined)?.[0];
  }, `the invoice of ${orderId}`);
}

/** The original record of an order on the topic. */
async function recordOf(orderId: string) {
  const all = await stack.records('orders', Number.POSITIVE_INFINITY, 1500);
  const record = all.find((r) => r.key === orderId && r.headers[HEADER.replayGrant] === undefined);
  if (!record) throw new Error(`no record for ${orderId}`);
  return record;
}

/** The dead letters of a consumer for one event id, once both are there. */
async function deadLetters(consumer: 'shipping' | 'invoicing', eventId: string) {
  return eventually(async () => {
    const all = await stack.records(`orders.${consumer}.dlq`, Number.POSITIVE_INFINITY, 500);
    const found = all.filter((r) => r.headers.ce_id === eventId);
    return found.length > 0 ? found : undefined;
  }, `${consumer}'s dead letter for ${eventId}`);
}

const metric = async (component: 'shipping' | 'invoicing', name: string) => {
  const text = await (await fetch(`${stack.urls[component]}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
};

let aliceOrder: Awaited<ReturnType<typeof placeOrder>>;

t.test('alice (premium) orders: express shipment and one invoice, priced by the catalog', async (t) => {
  aliceOrder = await placeOrder(alice);
  t.equal(aliceOrder.total, 2 * 3900 + 1250, 'prices from the catalog, never the client');
  const shipment = await shipmentOf(alice, aliceOrder.id);
  t.equal(shipment.method, 'express');
  t.equal(shipment.org_id, 'acme');
  const invoice = await invoiceOf(alice, aliceOrder.id);
  t.equal(invoice.amount, aliceOrder.total);
  t.equal(invoice.currency, 'EUR');
  const record = await recordOf(aliceOrder.id);
  t.equal(record.headers.ce_type, 'orders.created');
  t.ok(record.headers[HEADER.messageToken], 'the message token rides in its own header');
  t.ok(record.headers[HEADER.proof], 'so does the proof');
  t.notOk(record.headers.authorization ?? record.headers.ce_authcontext, 'no credential as a CloudEvents attribute');
});

t.test('bob (basic) gets a standard shipment', async (t) => {
  const order = await placeOrder(bob, [{ sku: 'GH-STK-010', quantity: 3 }]);
  t.equal((await shipmentOf(bob, order.id)).method, 'standard');
  t.equal((await invoiceOf(bob, order.id)).amount, 900);
});

t.test('carol (globex) cannot read acme orders, shipments or invoices', async (t) => {
  const order = await stack.api(carol, 'GET', `/api/orders/${aliceOrder.id}`);
  t.equal(order.status, 404);
  t.match(String(order.headers.get('content-type')), /application\/problem\+json/);
  const list = await stack.api(carol, 'GET', '/api/orders');
  t.notOk(JSON.stringify(list.body).includes(aliceOrder.id));
  const shipments = await stack.api(carol, 'GET', `/api/shipments?order_id=${aliceOrder.id}`);
  t.same(shipments.body.shipments, []);
  const invoices = await stack.api(carol, 'GET', `/api/invoices?order_id=${aliceOrder.id}`);
  t.same(invoices.body.invoices, []);
  // bob, same org but not an admin, sees only his own; the org's admin sees alice's.
  t.equal((await stack.api(bob, 'GET', `/api/orders/${aliceOrder.id}`)).status, 404);
  t.equal((await stack.api(admin, 'GET', `/api/orders/${aliceOrder.id}`)).status, 200);
});

t.test('a duplicate delivery is processed once', async (t) => {
  const record = await recordOf(aliceOrder.id);
  const before = await metric('shipping', 'gatehouse_events_deduplicated_total');
  await stack.produce('orders', { key: record.key, value: record.value, headers: record.headers });
  await eventually(
    async () => ((await metric('shipping', 'gatehouse_events_deduplicated_total')) > before ? true : undefined),
    'the duplicate to be seen',
  );
  const shipments = await stack.api(alice, 'GET', `/api/shipments?order_id=${aliceOrder.id}`);
  t.equal(shipments.body.shipments.length, 1, 'still one shipment');
  const invoices = await stack.api(alice, 'GET', `/api/invoices?order_id=${aliceOrder.id}`);
  t.equal(invoices.body.invoices.length, 1, 'still one invoice');
});

t.test('a record re-written with altered items is dead-lettered as a digest mismatch', async (t) => {
  const record = await recordOf(aliceOrder.id);
  const data = JSON.parse(record.value.toString('utf8'));
  data.items[0].quantity = 50;
  const eventId = randomUUID();
  const headers = { ...record.headers, ce_id: eventId };
  await stack.produce('orders', { key: record.key, value: Buffer.from(JSON.stringify(data)), headers });
  for (const consumer of ['shipping', 'invoicing'] as const) {
    const [letter] = await deadLetters(consumer, eventId);
    // A new id fails the proof first (it names the original id): both are refusals of a forgery.
    t.match(String(letter!.headers[HEADER.dlqReason]), /^ERR_EVENT_(PROOF_MISMATCH|DIGEST_MISMATCH)$/);
  }
  // The same id with the altered items: the proof still matches the attributes, the digest cannot.
  const sameId = { ...record.headers, ce_id: `${record.headers.ce_id}` };
  const forged = Buffer.from(JSON.stringify(data));
  const dup = await stack.records('orders.shipping.dlq', Number.POSITIVE_INFINITY, 300);
  await stack.produce('orders', { key: record.key, value: forged, headers: sameId });
  const letters = await eventually(async () => {
    const all = await stack.records('orders.shipping.dlq', Number.POSITIVE_INFINITY, 500);
    return all.length > dup.length ? all.slice(dup.length) : undefined;
  }, 'the digest-mismatch dead letter');
  t.equal(letters[0]!.headers[HEADER.dlqReason], 'ERR_EVENT_DIGEST_MISMATCH');
  t.equal(letters[0]!.headers[HEADER.messageToken], record.headers[HEADER.messageToken], 'original headers kept');
  t.equal(letters[0]!.headers[HEADER.dlqConsumer], 'shipping');
  t.match(String(letters[0]!.headers[HEADER.dlqOrigin]), /^orders\/\d+\/\d+$/);
  const shipments = await stack.api(alice, 'GET', `/api/shipments?order_id=${aliceOrder.id}`);
  t.equal(shipments.body.shipments.length, 1, 'nothing shipped for the forgery');
});

t.test("a token moved onto another event is refused", async (t) => {
  const aliceRecord = await recordOf(aliceOrder.id);
  const bobOrder = await placeOrder(bob, [{ sku: 'GH-TEE-003', quantity: 1 }]);
  await shipmentOf(bob, bobOrder.id);
  const bobRecord = await recordOf(bobOrder.id);
  // bob's event with alice's token: his proof names his token's hash, not hers.
  const eventId = randomUUID();
  await stack.produce('orders', {
    key: bobRecord.key,
    value: bobRecord.value,
    headers: { ...bobRecord.headers, ce_id: eventId, [HEADER.messageToken]: aliceRecord.headers[HEADER.messageToken]! },
  });
  const [letter] = await deadLetters('invoicing', eventId);
  t.match(String(letter!.headers[HEADER.dlqReason]), /^ERR_EVENT_(PROOF_MISMATCH|ORG_MISMATCH)$/);
  // bob's event with alice's token AND alice's proof: the proof names alice's event.
  const second = randomUUID();
  await stack.produce('orders', {
    key: bobRecord.key,
    value: bobRecord.value,
    headers: {
      ...bobRecord.headers,
      ce_id: second,
      [HEADER.messageToken]: aliceRecord.headers[HEADER.messageToken]!,
      [HEADER.proof]: aliceRecord.headers[HEADER.proof]!,
    },
  });
  const [other] = await deadLetters('shipping', second);
  t.equal(other!.headers[HEADER.dlqReason], 'ERR_EVENT_PROOF_MISMATCH');
});

t.test('a token signed by an unknown key is refused', async (t) => {
  const record = await recordOf(aliceOrder.id);
  const [header, payload] = record.headers[HEADER.messageToken]!.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const forgedHeader = { ...JSON.parse(Buffer.from(header!, 'base64url').toString('utf8')), kid: 'attacker-key' };
  const input = `${Buffer.from(JSON.stringify(forgedHeader)).toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, jti: randomUUID() })).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const eventId = randomUUID();
  await stack.produce('orders', {
    key: record.key,
    value: record.value,
    headers: { ...record.headers, ce_id: eventId, [HEADER.messageToken]: `${input}.${signature.toString('base64url')}` },
  });
  for (const consumer of ['shipping', 'invoicing'] as const) {
    const [letter] = await deadLetters(consumer, eventId);
    t.equal(letter!.headers[HEADER.dlqReason], 'ERR_TOKEN_KEY_UNKNOWN', consumer);
  }
  const refusals = stack.audit.shipping.filter((r) => r.event === 'event.refused' && r.reason === 'ERR_TOKEN_KEY_UNKNOWN');
  t.ok(refusals.length >= 1, 'the refusal is audited');
  t.ok((await metric('shipping', 'gatehouse_events_dead_lettered_total')) >= 3, 'and counted');
});

t.test('events tail prints records decoded, with each consumer verdict', async (t) => {
  const lines: string[] = [];
  const code = await runEventsCli(['tail', 'orders', '--limit', '1', '--json'], {
    out: (text) => lines.push(text),
    err: (text) => lines.push(`ERR ${text}`),
    env: { TOKEN_SERVICE_URL: stack.urls['token-service'] },
    bus: stack.bus,
  });
  t.equal(code, 0);
  const printed = JSON.parse(lines[0]!);
  t.equal(printed.inspected.attributes.type, 'orders.created');
  t.equal(printed.inspected.messageToken.header.typ, 'message+jwt');
  t.same(
    printed.verdicts.map((v: { consumer: string; outcome: string; detail: string }) => `${v.consumer}:${v.outcome}:${v.detail}`),
    ['shipping:accepted:fresh', 'invoicing:accepted:fresh'],
  );
  // EVENT_PROOF_ALGORITHMS as the consumers read it: without the producer's ES256, its key is refused.
  const narrowed: string[] = [];
  const env = { TOKEN_SERVICE_URL: stack.urls['token-service'], EVENT_PROOF_ALGORITHMS: 'ES384' };
  t.equal(await runEventsCli(['tail', 'orders', '--limit', '1', '--json'], { out: (x) => narrowed.push(x), err: (x) => narrowed.push(x), env, bus: stack.bus }), 0);
  t.same(
    JSON.parse(narrowed[0]!).verdicts.map((v: { consumer: string; outcome: string; detail: string }) => `${v.consumer}:${v.outcome}:${v.detail}`),
    ['shipping:refused:ERR_EVENT_CNF_INVALID', 'invoicing:refused:ERR_EVENT_CNF_INVALID'],
  );
  const dlq: string[] = [];
  await runEventsCli(['tail', 'orders.shipping.dlq', '--limit', '1'], {
    out: (text) => dlq.push(text),
    err: (text) => dlq.push(text),
    env: { TOKEN_SERVICE_URL: stack.urls['token-service'] },
    bus: stack.bus,
  });
  t.match(String(dlq[0]), /dlq\s+reason=ERR_EVENT_/);
  t.match(String(dlq[0]), /verdict\s+shipping: REFUSED ERR_EVENT_/);

  const usage: string[] = [];
  t.equal(await runEventsCli(['follow'], { out: () => {}, err: (x) => usage.push(x), env: {} }), 2);
  t.match(String(usage[0]), /usage: npm run events -- tail/);
  t.equal(await runEventsCli(['tail', 'orders'], { out: () => {}, err: (x) => usage.push(x), env: {} }), 78);
  t.match(String(usage[1]), /KAFKA_BROKERS/);
  const symmetric = { TOKEN_SERVICE_URL: stack.urls['token-service'], EVENT_PROOF_ALGORITHMS: 'HS256' };
  t.equal(await runEventsCli(['tail', 'orders'], { out: () => {}, err: (x) => usage.push(x), env: symmetric, bus: stack.bus }), 78);
  t.match(String(usage[2]), /EVENT_PROOF_ALGORITHMS: HS256 is not an asymmetric JWS algorithm/);
});
