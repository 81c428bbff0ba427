/**
 * The UI in a real browser (Chromium), against a real token service and a real gateway, with small
 * fake sales / shipping / invoicing services behind the gateway's development route table. Alice
 * signs in through the token service's real login form, places an order and signs out; the fake
 * sales service sees her access token and a message token, the browser never sees either.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryAuditSink } from '@gatehouse/observability';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { DEMO_PASSWORD, freePort, startTokenService } from '../../token-service/test/support/token-service.ts';
import { buildGateway } from '../src/app.ts';
import { DEV_ROUTES_FILE, loadGatewayConfig } from '../src/config.ts';
import { parseRoutes } from '../src/routes.ts';
import { BROWSER_TIMEOUT_MS, chromiumOrSkip } from './support/chromium.ts';

const MESSAGE_TOKEN_HEADER = 'x-gatehouse-message-token';
const JWT = /eyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]+/;
/** The calls services/ui/public/api.js makes: each must be a session route of the dev table. */
const UI_API_PATHS = ['/api/orders', '/api/shipments', '/api/invoices', '/api/admin/replay'];

// ---------------------------------------------------------------- fake services behind the gateway

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
type Answer = { status: number; body: unknown };
type Handler = (request: Received) => Answer;

async function fakeService(t: Test, handler: Handler): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      received.push(request);
      const answer = handler(request);
      const problem = answer.status >= 400;
      res.writeHead(answer.status, { 'content-type': problem ? 'application/problem+json' : 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, received };
}

const PRICES: Record<string, number> = { 'GH-MUG-001': 9.5, 'GH-KEY-002': 24, 'GH-STK-010': 3.25 };
const notFound: Answer = { status: 404, body: { title: 'Not Found', status: 404, detail: 'No such path.' } };

interface Order {
  id: string;
  items: Array<{ sku: string; quantity: number }>;
  total: string;
  currency: string;
  status: string;
  created_at: string;
}

/** Orders kept in memory; shipments and invoices derived from them. Shapes vary on purpose. */
async function fakeBackends(t: Test) {
  const orders: Order[] = [];
  const sales = await fakeService(t, ({ method, url, body }) => {
    if (method === 'GET' && url === '/orders') return { status: 200, body: { orders } };
    if (method === 'POST' && url === '/admin/replay') return { status: 200, body: { replayed: orders.length } };
    if (method !== 'POST' || url !== '/orders') return notFound;
    const items = (JSON.parse(body) as { items: Order['items'] }).items;
    if (items.some((i) => i.sku === 'GH-KEY-002' && i.quantity > 10)) {
      return {
        status: 422,
        body: { title: 'Unprocessable Content', status: 422, detail: 'Only 10 Gadgets are in stock.', code: 'ERR_OUT_OF_STOCK' },
      };
    }
    const total = items.reduce((sum, i) => sum + (PRICES[i.sku] ?? 0) * i.quantity, 0);
    const order = {
      id: `ord-${orders.length + 1}`,
      items,
      total: total.toFixed(2),
      currency: 'EUR',
      status: 'accepted',
      created_at: new Date().toISOString(),
    };
    orders.push(order);
    return { status: 201, body: order };
  });
  const shipping = await fakeService(t, ({ url }) =>
    url === '/shipments'
      ? { status: 200, body: orders.map((o) => ({ order_id: o.id, method: 'express', status: 'preparing' })) }
      : notFound,
  );
  const invoicing = await fakeService(t, ({ url }) =>
    url === '/invoices'
      ? {
          status: 200,
          body: {
            items: orders.map((o, i) => ({ order_id: o.id, number: `INV-${String(i + 1).padStart(4, '0')}`, amount: o.total, currency: o.currency })),
          },
        }
      : notFound,
  );
  return { sales, shipping, invoicing };
}

// ---------------------------------------------------------------- the stack

/** gateway/routes.dev.json with its upstreams (sales :4100, shipping :4200, invoicing :4300) replaced. */
async function devRoutes(upstreams: Record<string, string>): Promise<Array<Record<string, unknown>>> {
  const table = JSON.parse(await readFile(DEV_ROUTES_FILE, 'utf8')) as { routes: Array<Record<string, unknown>> };
  return table.routes.map((route) => {
    const port = new URL(String(route.upstream)).port;
    const upstream = upstreams[port];
    if (upstream === undefined) throw new Error(`routes.dev.json: no fake service for port ${port}`);
    return { ...route, upstream };
  });
}

async function startStack(t: Test) {
  const backends = await fakeBackends(t);
  const routes = await devRoutes({ 4100: backends.sales.url, 4200: backends.shipping.url, 4300: backends.invoicing.url });
  // The token service must know the gateway's callback (so its port) before the gateway listens:
  // another process may take the port in between, so retry on EADDRINUSE.
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const ts = await startTokenService(t, {
      GATEWAY_REDIRECT_URIS: `${origin}/auth/callback`,
      GATEWAY_POST_LOGOUT_REDIRECT_URIS: `${origin}/`,
    });
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-ui-gw-'));
    const config = loadGatewayConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      TOKEN_SERVICE_URL: ts.issuer,
      AUDIT_LOG: join(dir, 'audit.jsonl'),
      CORS_ORIGINS: origin,
      BFF_REDIRECT_URI: `${origin}/auth/callback`,
      BFF_POST_LOGOUT_REDIRECT_URI: `${origin}/`,
    });
    const gateway = await buildGateway(config, { auditDestination: memoryAuditSink().stream, routes: parseRoutes({ routes }) });
    t.teardown(async () => {
      await gateway.close();
      await rm(dir, { recursive: true, force: true });
    });
    try {
      await gateway.app.listen({ host: '127.0.0.1', port });
      return { origin, ts, gateway, routes, ...backends };
    } catch (error) {
      await ts.stop();
      if ((error as { code?: string }).code !== 'EADDRINUSE' || attempt >= 5) throw error;
    }
  }
}

// ---------------------------------------------------------------- what the page sees

interface Seen {
  url: string;
  headers: string;
  body: string;
}

/** Every response the browser receives (headers and body), and every script error on our pages. */
function watch(page: Page, origin: string) {
  const pending: Array<Promise<Seen>> = [];
  const errors: string[] = [];
  page.on('response', (response) => {
    pending.push(
      (async () => ({
        url: response.url(),
        headers: JSON.stringify(await response.allHeaders()),
        body: await response.text().catch(() => ''), // redirects have no body
      }))(),
    );
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // A CSP or Trusted Types violation is reported on the console; a 401 "failed to load" is not ours to fail on.
    if (page.url().startsWith(origin) && /Content.Security.Policy|Trusted.?Type|Refused to/i.test(message.text())) {
      errors.push(`console: ${message.text()}`);
    }
  });
  return {
    errors,
    /** Everything seen so far; the list starts afresh after each call. */
    async drain(): Promise<Seen[]> {
      const all = Promise.all(pending.splice(0));
      // Bounded: a body the browser never finished loading fails the test instead of hanging it.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('a response body never completed')), BROWSER_TIMEOUT_MS);
      });
      return Promise.race([all, late]).finally(() => clearTimeout(timer));
    },
  };
}

const text = (page: Page, selector: string) => page.locator(selector).innerText();

async function signIn(page: Page, origin: string, issuer: string, username: string): Promise<void> {
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.href.startsWith(issuer));
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${origin}/`);
  await page.locator('#who-username', { hasText: username }).waitFor();
}

/** Sequential steps of one browser session: after a step throws, the rest are skipped, not timed out. */
function steps(t: Test) {
  let broken: string | undefined;
  return (name: string, fn: (t: Test) => Promise<void>) =>
    t.test(name, { skip: broken === undefined ? false : `"${broken}" failed` }, async (t) => {
      try {
        await fn(t);
      } catch (error) {
        broken = name;
        throw error;
      }
    });
}

// ---------------------------------------------------------------- the tests

t.test('the UI calls only routes the development route table serves to a session', async (t) => {
  const routes = await devRoutes({ 4100: 'http://s', 4200: 'http://sh', 4300: 'http://i' });
  for (const path of UI_API_PATHS) {
    const route = routes.find((r) => path === r.prefix || path.startsWith(`${String(r.prefix)}/`));
    t.ok(route, `${path} is routed`);
    t.ok([route?.auth].flat().includes('session'), `${path} accepts the session cookie`);
  }
  const api = await readFile(new URL('../../services/ui/public/api.js', import.meta.url), 'utf8');
  const called = [...api.matchAll(/'(\/api\/[\w/-]+)'/g)].map((m) => m[1]);
  t.same([...new Set(called)].sort(), [...UI_API_PATHS].sort(), 'api.js calls exactly these paths');
});

t.test('in Chromium: sign in, order, see the lists, sign out; the browser never holds a token', async (t) => {
  const context = await chromiumOrSkip(t);
  if (!context) return;
  const stack = await startStack(t);
  const { origin, ts, sales } = stack;
  // Teardowns run last-registered first: the browser goes before the servers it keeps connections to.
  t.teardown(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  const seen = watch(page, origin);
  const step = steps(t);

  await step('signed out: the page offers "Sign in"', async (t) => {
    await page.goto(`${origin}/`);
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    t.ok(await page.locator('#signed-in').isHidden());
    t.equal(await text(page, '#status'), 'Signed out.');
  });

  await step('Sign in goes through the token service login form and back', async (t) => {
    await signIn(page, origin, ts.issuer, 'alice');
    t.equal(await text(page, '#who-username'), 'alice');
    t.equal(await text(page, '#who-org'), 'acme');
    t.equal(await text(page, '#who-level'), 'premium');
    t.equal(await text(page, '#who-roles'), 'none');
    t.ok(await page.locator('#admin').isHidden(), 'no admin actions for alice');
    await page.locator('#orders td.empty').waitFor();
    t.equal(await text(page, '#orders tbody'), 'No orders yet.');
  });

  await step('an order with nothing in it is refused in the page, before any call', async (t) => {
    const before = sales.received.length;
    await page.getByRole('button', { name: 'Place order' }).click();
    t.equal(await page.getByRole('alert').filter({ hasText: 'at least one item' }).count(), 1);
    t.equal(sales.received.length, before, 'nothing was sent');
  });

  await step("a service's problem+json refusal is shown by its detail", async (t) => {
    await page.getByLabel('Hardware security key (GH-KEY-002)').fill('11');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.locator('#error', { hasText: 'Only 10 Gadgets are in stock.' }).waitFor();
    t.pass('the detail of the 422 problem is shown');
    await page.getByLabel('Hardware security key (GH-KEY-002)').fill('0');
  });

  await step('placing an order: priced by the server, then listed with its shipment and invoice', async (t) => {
    await page.getByLabel('Gatehouse mug (GH-MUG-001)').fill('2');
    await page.getByLabel('Sticker pack (GH-STK-010)').fill('1');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.locator('#status', { hasText: 'Order ord-1 placed (total 22.25 EUR).' }).waitFor();
    t.ok(await page.locator('#error').isHidden(), 'the earlier error is cleared');
    await page.locator('#orders td', { hasText: 'ord-1' }).waitFor();
    const row = await text(page, '#orders tbody tr');
    t.match(row, '2 × GH-MUG-001, 1 × GH-STK-010');
    t.match(row, '22.25 EUR');
    t.match(await text(page, '#shipments tbody'), /ord-1\s+express\s+preparing/);
    t.match(await text(page, '#invoices tbody'), /INV-0001\s+ord-1\s+22\.25 EUR/);
    t.equal(await page.getByLabel('Gatehouse mug (GH-MUG-001)').inputValue(), '0', 'the form is reset');

    const post = sales.received.find((r) => r.method === 'POST' && r.url === '/orders' && r.body.includes('GH-MUG-001'));
    t.ok(post, 'the sales service received the order');
    t.same(JSON.parse(post!.body), { items: [{ sku: 'GH-MUG-001', quantity: 2 }, { sku: 'GH-STK-010', quantity: 1 }] });
    const bearer = /^Bearer (.+)$/.exec(String(post!.headers.authorization))?.[1];
    t.ok(bearer, 'with a bearer access token');
    t.equal(decodeProtectedHeader(bearer!).typ, 'at+jwt');
    t.equal(decodeJwt(bearer!).sub, 'alice');
    const messageToken = String(post!.headers[MESSAGE_TOKEN_HEADER]);
    t.equal(decodeProtectedHeader(messageToken).typ, 'message+jwt', 'and a message token');
    t.same([decodeJwt(messageToken).aud].flat().sort(), ['urn:gatehouse:consumer:invoicing', 'urn:gatehouse:consumer:shipping']);
    t.notOk(post!.headers.cookie, 'the session cookie stays at the gateway');
  });

  await step('Refresh fetches the lists again', async (t) => {
    const before = sales.received.filter((r) => r.method === 'GET').length;
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.locator('#refresh:not([disabled])').waitFor();
    t.ok(sales.received.filter((r) => r.method === 'GET').length > before);
  });

  await step('a non-admin calling the admin route is refused by the gateway', async (t) => {
    const answer = await page.evaluate(async () => {
      const response = await fetch('/api/admin/replay', { method: 'POST', headers: { 'X-Requested-With': 'gatehouse', 'Content-Type': 'application/json' }, body: '{}' });
      return { status: response.status, type: response.headers.get('content-type'), body: await response.json() };
    });
    t.equal(answer.status, 403);
    t.equal(answer.type, 'application/problem+json');
    t.equal(sales.received.filter((r) => r.url === '/admin/replay').length, 0, 'never reached the sales service');
  });

  await step('the browser never saw a token', async (t) => {
    // The tokens the services received, to look for verbatim as well as by shape.
    const tokens = sales.received
      .flatMap((r) => [String(r.headers.authorization).replace(/^Bearer /, ''), String(r.headers[MESSAGE_TOKEN_HEADER])])
      .filter((v) => JWT.test(v));
    t.ok(tokens.length >= 2, 'an access token and a message token went upstream');
    const responses = await seen.drain();
    t.ok(responses.length > 10, `${responses.length} responses seen by the page`);
    for (const response of responses) {
      const all = `${response.headers}\n${response.body}`;
      t.notMatch(all, JWT, `no JWT in ${response.url}`);
      t.notOk(tokens.some((token) => all.includes(token)), `no upstream token in ${response.url}`);
    }
    const state = await page.evaluate<{ cookie: string; storage: number }>(
      '({ cookie: document.cookie, storage: localStorage.length + sessionStorage.length })',
    );
    t.notMatch(state.cookie, /eyJ|gatehouse-session/, 'document.cookie holds no token and not the session');
    t.equal(state.storage, 0, 'nothing in web storage');
    const session = (await context.cookies(origin)).find((c) => c.name === 'gatehouse-session');
    t.match(session, { httpOnly: true, sameSite: 'Strict' }, 'the session cookie is HttpOnly, SameSite=Strict');
  });

  await step('Sign out ends both sessions and comes back signed out', async (t) => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.href.startsWith(ts.issuer));
    await page.getByRole('button', { name: 'Sign out' }).click(); // the token service's confirmation
    await page.waitForURL(`${origin}/`);
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    const status = await page.evaluate(async () => {
      const response = await fetch('/auth/session');
      await response.text(); // read, so the body is complete for the response watcher too
      return response.status;
    });
    t.equal(status, 401, 'the gateway session is gone');
    // RP-initiated logout hands the ID token (id_token_hint) to the browser by design; no access token.
    for (const response of await seen.drain()) {
      for (const jwt of response.body.match(new RegExp(JWT, 'g')) ?? []) {
        t.not(decodeProtectedHeader(jwt).typ, 'at+jwt', `only an ID token in ${response.url}`);
      }
    }
  });

  await step('an admin sees and uses "Replay all events"', async (t) => {
    await signIn(page, origin, ts.issuer, 'admin');
    t.equal(await text(page, '#who-roles'), 'admin');
    await page.getByRole('button', { name: 'Replay all events' }).click();
    await page.locator('#status', { hasText: 'Replayed 1 event.' }).waitFor();
    const replay = sales.received.find((r) => r.url === '/admin/replay');
    t.match(replay, { method: 'POST', headers: { authorization: /^Bearer / } });
  });

  t.same(seen.errors, [], 'no script error and no CSP violation on the UI');
});
