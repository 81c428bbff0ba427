// The sales API on the embedded database, plus the failure paths that need a service of their own.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmbeddedBus } from '@gatehouse/event-bus';
import { type Database, migrate, openDatabase } from '@gatehouse/sql';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import t from 'tap';
import { MIGRATIONS } from '../src/migrations.ts';
import { loadSigningKey } from '../src/signing-key.ts';
import { freePort } from '../../../token-service/test/support/token-service.ts';
import { client, oauthClient } from '../../../token-service/test/support/oauth.ts';
import { startSalesService } from '../src/index.ts';
import { eventOf } from '../src/outbox/store.ts';
import { eventually } from './support/fixtures.ts';
import { basket, counts, get, isProblem, orderFixture, orderSuite, post, replay } from './support/order-suite.ts';
import { buildSales } from './support/stack.ts';

const fx = await orderFixture(t);
const { stack, tokens, message } = fx;

// One more embedded database for the services below (a PGlite start costs seconds): each of them
// checks that nothing was stored by comparing counts before and after.
let shared: Database;
t.before(async () => {
  shared = await openDatabase();
});
t.teardown(() => shared.close());

t.test('embedded database', (t) => {
  orderSuite(t, fx, async () => {
    const db = await openDatabase();
    await migrate(db, MIGRATIONS);
    return db;
  });
  t.end();
});

t.test('token service down', async (t) => {
  const down: typeof fetch = async () => {
    throw new TypeError('fetch failed');
  };
  t.test('no keys: 503 + Retry-After, nothing stored', async (t) => {
    const sales = await buildSales(t, stack, { db: shared, fetch: down });
    const before = await counts(shared);
    const response = await post(sales, tokens.alice, basket, message.alice);
    isProblem(t, response, 503, 'ERR_KEYS_UNAVAILABLE');
    t.equal(response.headers['retry-after'], '5');
    t.same(await counts(shared), before);
    const ready = await sales.app.inject({ method: 'GET', url: '/readyz' });
    t.equal(ready.statusCode, 503);
    t.match(ready.json(), { failing: ['jwks'] });
  });

  t.test('no replay grant: 503 + Retry-After, nothing published', async (t) => {
    const bus = createEmbeddedBus();
    t.teardown(() => bus.close());
    let tokenEndpointDown = false;
    const flaky: typeof fetch = async (input, init) => {
      if (tokenEndpointDown && String(input).endsWith('/token')) throw new TypeError('fetch failed');
      return fetch(input, init);
    };
    const sales = await buildSales(t, stack, { db: shared, bus, fetch: flaky });
    await sales.keys.refresh();
    t.equal((await post(sales, tokens.alice, basket, message.alice)).statusCode, 201, 'orders need no token service once keys are known');
    await sales.relay.flush();
    const before = bus.messages('orders').length;
    tokenEndpointDown = true;
    const response = await replay(sales, tokens.admin, {});
    isProblem(t, response, 503, 'ERR_REPLAY_GRANT_UNAVAILABLE');
    t.equal(response.headers['retry-after'], '5');
    t.equal(bus.messages('orders').length, before, 'nothing published');
    t.ok(sales.audit.some((r) => r.event === 'replay.refused' && r.reason === 'unreachable'));
  });
});

t.test('a service whose key is not the one message tokens name refuses them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sales-key-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = await calculateJwkThumbprint(await exportJWK(publicKey));
  const file = join(dir, 'other.private.jwk.json');
  await writeFile(file, JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: 'ES256' }));
  const sales = await buildSales(t, stack, { db: shared, env: { SALES_SIGNING_KEY_FILE: file } });
  const before = await counts(shared);
  const response = await post(sales, tokens.alice, basket, message.alice);
  isProblem(t, response, 403, 'ERR_MESSAGE_TOKEN_CNF');
  t.same(await counts(shared), before);
});

t.test('production refuses the token service’s development key', async (t) => {
  await t.rejects(loadSigningKey(join(stack.clientsDir, 'sales.private.jwk.json'), true), {
    code: 'CONFIG_INVALID',
    settings: ['SALES_SIGNING_KEY_FILE'],
    message: /development key/,
  });
  const dev = await loadSigningKey(join(stack.clientsDir, 'sales.private.jwk.json'), false);
  t.notOk('d' in dev.publicJwk, 'the public half only');
  await t.rejects(loadSigningKey(join(stack.clientsDir, 'missing.json'), false), { code: 'CONFIG_INVALID', settings: ['SALES_SIGNING_KEY_FILE'] });
  await t.rejects(loadSigningKey(join(stack.clientsDir, 'sales.jwks.json'), false), { code: 'CONFIG_INVALID', settings: ['SALES_SIGNING_KEY_FILE'] }, 'not a private JWK');
});

t.test('a caller without an organisation sees no orders', async (t) => {
  const shipping = await oauthClient(stack.issuer, 'shipping');
  const service = (await client.clientCredentialsGrant(shipping, { scope: 'orders:read' })).access_token;
  const sales = await buildSales(t, stack, { db: shared });
  isProblem(t, await get(sales, service, '/orders'), 403, 'ERR_ORG_REQUIRED');
  isProblem(t, await get(sales, service, `/orders/${crypto.randomUUID()}`), 403, 'ERR_ORG_REQUIRED');
});

t.test('database unavailable: 503 + Retry-After, and the order is not half-stored', async (t) => {
  let down = false;
  const flaky: Database = {
    ...shared,
    kind: shared.kind,
    query: (text, params) => shared.query(text, params),
    exec: (script) => shared.exec(script),
    ping: () => shared.ping(),
    close: async () => {},
    transaction: (fn) => {
      if (down) return Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
      return shared.transaction(fn);
    },
  };
  const sales = await buildSales(t, stack, { db: flaky });
  const before = await counts(shared);
  down = true;
  const response = await post(sales, tokens.alice, basket, message.alice);
  isProblem(t, response, 503, 'ERR_DATABASE_UNAVAILABLE');
  t.equal(response.headers['retry-after'], '5');
  t.same(await counts(shared), before);
});

t.test('replay: grant refused, too large, bus down', async (t) => {
  const bus = createEmbeddedBus();
  t.teardown(() => bus.close());
  let tokenAnswer: Response | undefined;
  const fetcher: typeof fetch = async (input, init) =>
    tokenAnswer && String(input).endsWith('/token') ? tokenAnswer : fetch(input, init);
  const sales = await buildSales(t, stack, { db: shared, bus, fetch: fetcher, env: { REPLAY_MAX_EVENTS: '2' } });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await post(sales, tokens.alice, basket, message.alice)).json().id);
  const two = { order_ids: ids.slice(0, 2) };

  isProblem(t, await replay(sales, tokens.admin, { order_ids: ids }), 422, 'ERR_REPLAY_TOO_LARGE');

  tokenAnswer = Response.json({ error: 'invalid_scope' }, { status: 400 });
  const refused = await replay(sales, tokens.admin, two);
  isProblem(t, refused, 502, 'ERR_REPLAY_GRANT_REFUSED');
  t.equal(refused.headers['retry-after'], undefined, 'not a transient failure');
  tokenAnswer = Response.json({ access_token: 'not.a-grant.x', token_type: 'bearer', expires_in: 300 });
  isProblem(t, await replay(sales, tokens.admin, two), 503, 'ERR_REPLAY_GRANT_UNAVAILABLE');
  tokenAnswer = undefined;

  // A bus that refuses every record: the replay stops, says how far it got, and may be retried.
  const broken = await buildSales(t, stack, {
    db: shared,
    bus: {
      kind: 'embedded',
      producer: async () => ({
        send: async () => {
          throw new Error('broker down');
        },
        disconnect: async () => {},
      }),
      consume: () => Promise.reject(new Error('unused')),
      ensureTopics: async () => {},
      ping: async () => false,
      close: async () => {},
    },
  });
  const response = await replay(broken, tokens.admin, two);
  isProblem(t, response, 503, 'ERR_BUS_UNAVAILABLE');
  t.match(response.json(), { replayed: 0, replay_id: /./ });
  t.ok(broken.audit.some((r) => r.event === 'replay.failed'));
  // Still ready: orders are taken while the bus is down (the outbox holds their events).
  const ready = await broken.app.inject({ method: 'GET', url: '/readyz' });
  t.notMatch(JSON.stringify(ready.json()), /bus/, 'the bus is not a readiness condition');
  const metrics = await broken.app.inject({ method: 'GET', url: '/metrics' });
  t.match(metrics.body, /gatehouse_event_bus_up\{[^}]*\} 0/, 'it is reported as a metric');
});

t.test('startSalesService listens; an order over real HTTP', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sales-start-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const service = await startSalesService(
    {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      SALES_PORT: String(port),
      TOKEN_SERVICE_URL: stack.issuer,
      SALES_SIGNING_KEY_FILE: join(stack.clientsDir, 'sales.private.jwk.json'),
      SALES_DATA_DIR: join(dir, 'db'),
      AUDIT_LOG: join(dir, 'audit.jsonl'),
      OUTBOX_POLL_MS: '10',
    },
    { db: shared },
  );
  t.teardown(() => service.close());
  const response = await fetch(`http://127.0.0.1:${port}/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.bob}`, 'x-gatehouse-message-token': message.bob, 'content-type': 'application/json' },
    body: JSON.stringify(basket),
  });
  t.equal(response.status, 201);
  const order = (await response.json()) as { id: string };
  // The background relay (started by default) publishes it without a flush.
  await eventually(async () => (await eventOf(shared, order.id))?.sentAt instanceof Date, 'relay published it');
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  await t.rejects(startSalesService({ NODE_ENV: 'test', SALES_PORT: String(port), SALES_SIGNING_KEY_FILE: join(stack.clientsDir, 'sales.private.jwk.json'), LOG_LEVEL: 'silent', AUDIT_LOG: join(dir, 'a2.jsonl') }, { db: shared }), { code: 'EADDRINUSE' }, 'a taken port fails start-up, and what was opened is closed');
});
