/**
 * The order API suite, run on the embedded database (orders.test.ts) and on a real PostgreSQL
 * (orders-postgres.test.ts): a real token service, real user and message tokens, the embedded event
 * bus, and the consumers' own event verifier.
 */
import { createEmbeddedBus, type EmbeddedBus } from '@gatehouse/event-bus';
import { createEventVerifier, digest, HEADER, STRICT_POLICY } from '@gatehouse/events';
import type { Database } from '@gatehouse/sql';
import { createValidator, remoteKeys } from '@gatehouse/validator';
import type { Test } from 'tap';
import { eventOf } from '../../src/outbox/store.ts';
import { buildSales, CONSUMERS, type SalesUnderTest, type Stack, startStack } from './stack.ts';

export const HEADER_NAME = 'x-gatehouse-message-token';
export const basket = { items: [{ sku: 'GH-MUG-001', quantity: 2 }, { sku: 'GH-KEY-002', quantity: 1 }] };

export interface OrderFixture {
  stack: Stack;
  tokens: Stack['tokens'];
  message: { alice: string; bob: string; carol: string; admin: string };
}

/**
 * Message tokens live 15 minutes and replay grants an hour, so a verifier half an hour ahead sees
 * the message token expired and the grant still valid, however slowly the test machine runs.
 */
export const LATER_MS = 30 * 60 * 1000;

export async function orderFixture(t: Test): Promise<OrderFixture> {
  const stack = await startStack(t, { MESSAGE_TOKEN_TTL: '900', REPLAY_GRANT_TTL: '3600' });
  const { tokens } = stack;
  return {
    stack,
    tokens,
    message: {
      alice: await stack.messageToken(tokens.alice),
      bob: await stack.messageToken(tokens.bob),
      carol: await stack.messageToken(tokens.carol),
      admin: await stack.messageToken(tokens.admin),
    },
  };
}

export function decode(jws: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = jws.split('.');
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(p!, 'base64url').toString()),
  };
}

export function verifierFor(stack: Stack, audience = CONSUMERS[0]!, nowMs = () => Date.now(), replay = false) {
  const validator = createValidator({ issuer: stack.issuer, keys: remoteKeys(`${stack.issuer}/jwks`), now: nowMs });
  return createEventVerifier({
    validator,
    audience,
    now: nowMs,
    policy: replay
      ? { replay: { allowedClients: ['sales'], eventTypes: ['orders.created'], maxEventAgeSeconds: 3600 } }
      : STRICT_POLICY,
  });
}

export async function counts(db: Database): Promise<{ orders: number; outbox: number }> {
  const o = await db.query<{ n: number }>('SELECT count(*) AS n FROM orders');
  const e = await db.query<{ n: number }>('SELECT count(*) AS n FROM outbox');
  return { orders: o.rows[0]!.n, outbox: e.rows[0]!.n };
}

export function post(sales: SalesUnderTest, access: string | undefined, body: unknown, messageToken?: string, extra: Record<string, string> = {}) {
  return sales.app.inject({
    method: 'POST',
    url: '/orders',
    headers: {
      ...(access ? { authorization: `Bearer ${access}` } : {}),
      ...(messageToken ? { [HEADER_NAME]: messageToken } : {}),
      'content-type': 'application/json',
      ...extra,
    },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export function get(sales: SalesUnderTest, access: string, url: string) {
  return sales.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${access}` } });
}

export function replay(sales: SalesUnderTest, access: string, body: unknown = {}) {
  return sales.app.inject({
    method: 'POST',
    url: '/admin/replay',
    headers: { authorization: `Bearer ${access}`, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
}

export function isProblem(t: Test, response: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, code: string) {
  t.equal(response.statusCode, status, `status ${status}`);
  t.equal(response.headers['content-type'], 'application/problem+json');
  t.match(response.json(), { status, code, type: /^urn:gatehouse:problem:/ }, code);
}


export function orderSuite(t: Test, fx: OrderFixture, open: () => Promise<Database>) {
  const { stack, tokens, message } = fx;
  const verifier = (audience?: string, nowMs?: () => number, replay?: boolean) => verifierFor(stack, audience, nowMs, replay);
  let db: Database;
  let bus: EmbeddedBus;
  let sales: SalesUnderTest;
  /** The records one replay published (the embedded bus lists partition by partition). */
  const replayedBy = (replayId: string) =>
    bus.messages('orders').filter((m) => {
      const grant = m.headers[HEADER.replayGrant];
      return grant !== undefined && (decode(grant).payload.replay as { id: string }).id === replayId;
    });
  t.before(async () => {
    db = await open();
    bus = createEmbeddedBus();
    sales = await buildSales(t, stack, { db, bus });
  });
  t.teardown(async () => {
    await bus.close();
    await db.close();
  });

  t.test('an order is stored with catalog prices, with its sealed event in the outbox', async (t) => {
    const before = await counts(db);
    const response = await post(sales, tokens.alice, basket, message.alice);
    t.equal(response.statusCode, 201);
    const order = response.json();
    t.equal(response.headers.location, `/orders/${order.id}`);
    t.match(order, {
      id: /^[0-9a-f-]{36}$/,
      org_id: 'acme',
      currency: 'EUR',
      total: 2 * 1250 + 4999,
      items: [
        { sku: 'GH-MUG-001', quantity: 2, unit_price: 1250, line_total: 2500 },
        { sku: 'GH-KEY-002', quantity: 1, unit_price: 4999, line_total: 4999 },
      ],
    });
    t.equal(order.customer, decode(tokens.alice).payload.sub, 'the customer is the token subject');
    t.same(await counts(db), { orders: before.orders + 1, outbox: before.outbox + 1 });

    const event = (await eventOf(db, order.id))!;
    t.equal(event.sentAt, null, 'waiting for the relay');
    t.equal(event.messageToken, message.alice);
    t.match(event.attributes, { type: 'orders.created', source: 'urn:gatehouse:sales', subject: order.id, time: order.created_at });
    const data = JSON.parse(event.value.toString());
    t.same(data, {
      order_id: order.id,
      org_id: 'acme',
      customer: order.customer,
      subscription_level: 'premium',
      items: order.items,
      total: order.total,
      currency: 'EUR',
      created_at: order.created_at,
    });
    const proof = decode(event.headers[HEADER.proof]!);
    t.match(proof.header, { typ: 'event-proof+jwt', alg: 'ES256' });
    t.equal(proof.payload.dig, digest(event.value), 'proof over the stored bytes');
    t.equal(proof.payload.ath, digest(message.alice));

    // The consumers' verifier accepts the stored record as it will be published.
    for (const audience of CONSUMERS) {
      const accepted = await verifier(audience).verify({ key: event.key, value: event.value, headers: event.headers });
      t.equal(accepted.basis, 'fresh', `accepted by ${audience}`);
      t.equal(accepted.attributes.id, event.eventId);
    }
    t.ok(sales.audit.some((r) => r.event === 'order.created' && r.order_id === order.id && r.outcome === 'success'));
    t.notOk(JSON.stringify(sales.audit).includes(message.alice), 'no token in the audit stream');
  });

  t.test('prices never come from the client', async (t) => {
    const response = await post(sales, tokens.alice, { items: [{ sku: 'GH-MUG-001', quantity: 1, unit_price: 1 }] }, message.alice);
    isProblem(t, response, 400, 'ERR_VALIDATION');
    t.match(response.json(), { detail: 'body/items/0/unit_price is not allowed', errors: [{ pointer: '/items/0/unit_price', in: 'body' }] });
  });

  t.test('each bad field is a 400 naming it, and nothing is stored', async (t) => {
    const before = await counts(db);
    const many = Array.from({ length: 51 }, () => ({ sku: 'GH-MUG-001', quantity: 1 }));
    const cases: Array<[unknown, string, string]> = [
      [{}, '/items', 'body/items is required'],
      [{ items: [] }, '/items', 'body/items must NOT have fewer than 1 items'],
      [{ items: many }, '/items', 'body/items must NOT have more than 50 items'],
      [{ items: [{ sku: 'GH-MUG-001', quantity: 0 }] }, '/items/0/quantity', 'body/items/0/quantity must be >= 1'],
      [{ items: [{ sku: 'GH-MUG-001', quantity: 101 }] }, '/items/0/quantity', 'body/items/0/quantity must be <= 100'],
      [{ items: [{ sku: 'GH-MUG-001', quantity: 1.5 }] }, '/items/0/quantity', 'body/items/0/quantity must be integer'],
      [{ items: [{ sku: 'GH-MUG-001', quantity: '2' }] }, '/items/0/quantity', 'body/items/0/quantity must be integer'],
      [{ items: [{ sku: 'GH-MUG-001' }] }, '/items/0/quantity', 'body/items/0/quantity is required'],
      [{ items: [{ sku: 'mug', quantity: 1 }] }, '/items/0/sku', 'body/items/0/sku must match pattern'],
      [{ items: [{ sku: 7, quantity: 1 }] }, '/items/0/sku', 'body/items/0/sku must be string'],
      [{ items: basket.items, note: 'x' }, '/note', 'body/note is not allowed'],
      [{ items: 'GH-MUG-001' }, '/items', 'body/items must be array'],
    ];
    for (const [body, pointer, detail] of cases) {
      const response = await post(sales, tokens.alice, body, message.alice);
      t.equal(response.statusCode, 400, detail);
      t.equal(response.headers['content-type'], 'application/problem+json');
      const problem = response.json();
      t.equal(problem.code, 'ERR_VALIDATION');
      t.match(problem.detail, detail.replace('must match pattern', 'must match pattern "'));
      t.equal(problem.errors[0].pointer, pointer, `pointer ${pointer}`);
    }
    isProblem(t, await post(sales, tokens.alice, '{"items": [', message.alice), 400, 'ERR_BAD_REQUEST');
    isProblem(t, await post(sales, tokens.alice, 'items=1', message.alice, { 'content-type': 'text/plain' }), 415, 'ERR_MEDIA_TYPE');
    t.same(await counts(db), before);
  });

  t.test('an unknown SKU is a 422 naming it, and nothing is stored', async (t) => {
    const before = await counts(db);
    const response = await post(sales, tokens.alice, { items: [{ sku: 'GH-NOPE-999', quantity: 1 }] }, message.alice);
    isProblem(t, response, 422, 'ERR_UNKNOWN_SKU');
    t.match(response.json(), { detail: /GH-NOPE-999/, errors: [{ pointer: '/items/0/sku' }] });
    t.same(await counts(db), before);
  });

  t.test('access token refusals: 401 with a Bearer challenge, 403 insufficient_scope', async (t) => {
    const before = await counts(db);
    let response = await post(sales, undefined, basket, message.alice);
    isProblem(t, response, 401, 'ERR_TOKEN_MISSING');
    t.equal(response.headers['www-authenticate'], 'Bearer realm="gatehouse"');

    response = await post(sales, 'not-a-jwt', basket, message.alice);
    isProblem(t, response, 401, 'ERR_TOKEN_MALFORMED');
    t.match(response.headers['www-authenticate'], /^Bearer realm="gatehouse", error="invalid_token"/);

    response = await post(sales, message.alice, basket, message.alice);
    isProblem(t, response, 401, 'ERR_TOKEN_TYP');
    t.ok(sales.audit.some((r) => r.event === 'auth.failure' && r.reason === 'ERR_TOKEN_TYP'), 'audited with its reason');

    response = await post(sales, tokens.aliceReadOnly, basket, message.alice);
    isProblem(t, response, 403, 'ERR_INSUFFICIENT_SCOPE');
    t.match(response.headers['www-authenticate'], /error="insufficient_scope", scope="orders:write"/);
    t.same(response.json().missingScopes, ['orders:write']);

    response = await post(sales, tokens.aliceReadOnly, { bogus: true }, message.alice);
    isProblem(t, response, 403, 'ERR_INSUFFICIENT_SCOPE');

    response = await get(sales, tokens.aliceWriteOnly, '/orders');
    isProblem(t, response, 403, 'ERR_INSUFFICIENT_SCOPE');

    response = await sales.app.inject({ method: 'GET', url: `/orders?access_token=${tokens.alice}` });
    isProblem(t, response, 400, 'ERR_TOKEN_IN_QUERY');
    t.same(await counts(db), before);
  });

  t.test('message token refusals: nothing stored', async (t) => {
    const before = await counts(db);
    let response = await post(sales, tokens.alice, basket);
    isProblem(t, response, 401, 'ERR_MESSAGE_TOKEN_MISSING');

    response = await post(sales, tokens.alice, basket, message.bob);
    isProblem(t, response, 403, 'ERR_MESSAGE_TOKEN_SUBJECT');

    response = await post(sales, tokens.alice, basket, message.carol);
    isProblem(t, response, 403, 'ERR_MESSAGE_TOKEN_SUBJECT');

    response = await post(sales, tokens.alice, basket, tokens.alice);
    isProblem(t, response, 401, 'ERR_MESSAGE_TOKEN_INVALID');
    t.equal(response.json().tokenError, 'ERR_TOKEN_TYP', 'an access token is not a message token');

    const [h, p, s] = message.alice.split('.');
    response = await post(sales, tokens.alice, basket, `${h}.${p}.${s!.slice(0, -4)}AAAA`);
    isProblem(t, response, 401, 'ERR_MESSAGE_TOKEN_INVALID');
    t.equal(response.json().tokenError, 'ERR_TOKEN_SIGNATURE');

    response = await sales.app.inject({
      method: 'POST',
      url: '/orders',
      headers: [
        ['authorization', `Bearer ${tokens.alice}`],
        ['content-type', 'application/json'],
        [HEADER_NAME, message.alice],
        [HEADER_NAME, message.alice],
      ].reduce<Record<string, string | string[]>>((h, [k, v]) => {
        const prior = h[k!];
        h[k!] = prior === undefined ? v! : [prior, v!].flat();
        return h;
      }, {}),
      payload: JSON.stringify(basket),
    });
    isProblem(t, response, 401, 'ERR_MESSAGE_TOKEN_REPEATED');

    t.same(await counts(db), before);
    t.ok(sales.audit.some((r) => r.event === 'auth.failure' && r.reason === 'ERR_MESSAGE_TOKEN_SUBJECT' && r.credential === 'message_token'));
  });

  t.test('orders are scoped: own orders, the organisation for admins, 404 otherwise', async (t) => {
    const mine = (await post(sales, tokens.alice, basket, message.alice)).json();
    const bobs = (await post(sales, tokens.bob, basket, message.bob)).json();
    const carols = (await post(sales, tokens.carol, basket, message.carol)).json();
    t.equal(carols.org_id, 'globex');

    let response = await get(sales, tokens.alice, `/orders/${mine.id}`);
    t.equal(response.statusCode, 200);
    t.same(response.json(), mine, 'read back as created');

    isProblem(t, await get(sales, tokens.carol, `/orders/${mine.id}`), 404, 'ERR_ORDER_NOT_FOUND');
    isProblem(t, await get(sales, tokens.bob, `/orders/${mine.id}`), 404, 'ERR_ORDER_NOT_FOUND');
    isProblem(t, await get(sales, tokens.alice, `/orders/${carols.id}`), 404, 'ERR_ORDER_NOT_FOUND');
    isProblem(t, await get(sales, tokens.alice, '/orders/not-a-uuid'), 404, 'ERR_ORDER_NOT_FOUND');
    t.equal((await get(sales, tokens.admin, `/orders/${mine.id}`)).statusCode, 200, 'admin of acme reads alice’s');
    isProblem(t, await get(sales, tokens.admin, `/orders/${carols.id}`), 404, 'ERR_ORDER_NOT_FOUND');

    const ids = async (token: string) => (await get(sales, token, '/orders')).json().orders.map((o: { id: string }) => o.id);
    const alices = await ids(tokens.alice);
    t.ok(alices.includes(mine.id));
    t.notOk(alices.includes(bobs.id), 'not bob’s');
    t.notOk(alices.includes(carols.id));
    const admins = await ids(tokens.admin);
    t.ok(admins.includes(mine.id) && admins.includes(bobs.id), 'admin sees acme’s');
    t.notOk(admins.includes(carols.id), 'but not globex’s');
    t.same(await ids(tokens.carol), [carols.id]);

    response = await get(sales, tokens.alice, '/orders?limit=1');
    t.equal(response.json().orders.length, 1);
    isProblem(t, await get(sales, tokens.alice, '/orders?limit=0'), 400, 'ERR_VALIDATION');
  });

  t.test('order and outbox row are written together or not at all', async (t) => {
    const before = await counts(db);
    await db.query('ALTER TABLE outbox ADD CONSTRAINT test_refuse_all CHECK (false) NOT VALID');
    t.teardown(() => db.query('ALTER TABLE outbox DROP CONSTRAINT IF EXISTS test_refuse_all'));
    const response = await post(sales, tokens.alice, basket, message.alice);
    isProblem(t, response, 500, 'ERR_INTERNAL');
    t.notMatch(response.body, /test_refuse_all|outbox|constraint/i, 'nothing internal in the problem');
    t.same(await counts(db), before, 'no order without its event');
  });

  t.test('the relay publishes what the outbox holds, and the consumers accept it', async (t) => {
    const order = (await post(sales, tokens.alice, basket, message.alice)).json();
    await sales.relay.flush();
    const published = bus.messages('orders');
    const record = published.find((m) => m.key === order.id)!;
    t.ok(record, 'published with key = order id');
    const stored = (await eventOf(db, order.id))!;
    t.ok(stored.sentAt instanceof Date, 'marked sent');
    t.ok(record.value.equals(stored.value));
    t.same(record.headers, stored.headers);
    const accepted = await verifier().verify(record);
    t.equal(accepted.data.order_id, order.id);
    t.equal((await db.query('SELECT 1 FROM outbox WHERE sent_at IS NULL')).rowCount, 0, 'nothing left pending');
    const metrics = await sales.metrics.render();
    t.match(metrics, /gatehouse_outbox_pending\{component="sales"\} 0/);
    t.match(metrics, /gatehouse_outbox_published_total\{component="sales"\} [1-9]/);
  });

  t.test('replay re-publishes stored events with a grant and fresh proofs', async (t) => {
    const order = (await post(sales, tokens.alice, basket, message.alice)).json();
    await sales.relay.flush();
    const original = bus.messages('orders').find((m) => m.key === order.id)!;
    const before = bus.messages('orders').length;

    const response = await replay(sales, tokens.admin, { order_ids: [order.id] });
    t.equal(response.statusCode, 200);
    const answer = response.json();
    t.equal(answer.replayed, 1);
    t.type(answer.replay_id, 'string');
    const after = bus.messages('orders');
    t.equal(after.length, before + 1);
    const replayed = replayedBy(answer.replay_id)[0]!;
    t.equal(replayed.key, order.id);
    t.ok(replayed.value.equals(original.value), 'the same data bytes');
    for (const h of ['ce_id', 'ce_type', 'ce_source', 'ce_time', 'ce_subject', HEADER.messageToken]) {
      t.equal(replayed.headers[h], original.headers[h], `same ${h}`);
    }
    const grant = replayed.headers[HEADER.replayGrant]!;
    t.match(decode(grant), { header: { typ: 'replay+jwt' }, payload: { client_id: 'sales', replay: { id: answer.replay_id } } });
    t.not(replayed.headers[HEADER.proof], original.headers[HEADER.proof], 'a fresh proof');
    t.equal(decode(replayed.headers[HEADER.proof]!).payload.rgh, digest(grant), 'naming the grant');

    // Half an hour on, the message token has expired: strict consumers refuse the original,
    // consumers with a replay policy accept the replayed record under its grant.
    const later = () => Date.now() + LATER_MS;
    await t.rejects(verifier(CONSUMERS[0], later).verify(original), { code: 'ERR_EVENT_EXPIRED' });
    await t.rejects(verifier(CONSUMERS[0], later, true).verify(original), { code: 'ERR_EVENT_EXPIRED' }, 'no grant, no replay');
    const accepted = await verifier(CONSUMERS[1], later, true).verify(replayed);
    t.equal(accepted.basis, 'replay');
    t.match(accepted.replay, { clientId: 'sales' });

    t.ok(sales.audit.some((r) => r.event === 'replay.started' && r.replay_id === answer.replay_id));
    t.ok(sales.audit.some((r) => r.event === 'replay.completed' && r.replayed === 1));
  });

  t.test('replay by time range covers only the organisation’s events in range', async (t) => {
    const from = new Date().toISOString();
    const a = (await post(sales, tokens.alice, basket, message.alice)).json();
    const b = (await post(sales, tokens.bob, basket, message.bob)).json();
    await post(sales, tokens.carol, basket, message.carol);
    const to = new Date().toISOString();
    const before = bus.messages('orders').length;
    const response = await replay(sales, tokens.admin, { from, to });
    t.equal(response.statusCode, 200);
    t.equal(response.json().replayed, 2, 'alice’s and bob’s, not globex’s');
    const records = replayedBy(response.json().replay_id);
    t.equal(bus.messages('orders').length, before + 2);
    t.same(records.map((m) => m.key).sort(), [a.id, b.id].sort());
    const grant = decode(records[0]!.headers[HEADER.replayGrant]!).payload;
    t.match(grant.replay, { from: new Date(from).toISOString(), to: new Date(to).toISOString() }, 'the grant names the range');
  });

  t.test('replay refusals', async (t) => {
    const before = bus.messages('orders').length;
    let response = await replay(sales, tokens.alice, {});
    isProblem(t, response, 403, 'ERR_MISSING_ROLE');
    response = await replay(sales, tokens.admin, { from: 'yesterday' });
    isProblem(t, response, 400, 'ERR_VALIDATION');
    t.match(response.json().errors, [{ pointer: '/from' }]);
    response = await replay(sales, tokens.admin, { order_ids: ['x'] });
    isProblem(t, response, 400, 'ERR_VALIDATION');
    response = await replay(sales, tokens.admin, { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' });
    isProblem(t, response, 400, 'ERR_VALIDATION');
    t.match(response.json().errors, [{ pointer: '/to' }]);
    response = await replay(sales, tokens.admin, { everything: true });
    isProblem(t, response, 400, 'ERR_VALIDATION');
    t.equal(bus.messages('orders').length, before, 'nothing published');
  });

  t.test('readiness covers database, bus and keys', async (t) => {
    const response = await sales.app.inject({ method: 'GET', url: '/readyz' });
    t.equal(response.statusCode, 200);
    t.equal((await sales.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });
}
