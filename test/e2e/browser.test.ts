// End to end in a real browser (Debian's Chromium through playwright-core), on the real stack that
// `npm start` runs: sign in through the token service's login form, place an order in the UI, and
// see the express shipment and the invoice the consumers made from its Kafka event. The browser
// never holds a token: the gateway is its backend-for-frontend.
import t from 'tap';
import { chromiumOrSkip } from '../../gateway/test/support/chromium.ts';
import { freePort } from '../../scripts/stack.ts';
import { DEMO_PASSWORD } from '../../token-service/test/support/token-service.ts';
import { startE2eStack } from './support/stack.ts';

t.test('in Chromium: alice orders from the UI and sees her express shipment and invoice', async (t) => {
  const context = await chromiumOrSkip(t);
  if (!context) return;
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const stack = await startE2eStack(t, {
    gatewayPort: port,
    env: {
      GATEWAY_REDIRECT_URIS: `${origin}/auth/callback`,
      GATEWAY_POST_LOGOUT_REDIRECT_URIS: `${origin}/`,
      BFF_REDIRECT_URI: `${origin}/auth/callback`,
      BFF_POST_LOGOUT_REDIRECT_URI: `${origin}/`,
      CORS_ORIGINS: origin,
    },
  });
  if (!stack) return;
  // Teardowns run last-registered first: the browser goes before the servers it holds open.
  t.teardown(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  const bodies: string[] = [];
  page.on('response', (response) => {
    if (response.url().startsWith(origin)) void response.text().then((text) => bodies.push(text), () => {});
  });

  await page.goto(`${origin}/`);
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.href.startsWith(stack.urls['token-service']));
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${origin}/`);
  await page.locator('#who-username', { hasText: 'alice' }).waitFor();
  t.equal(await page.locator('#who-level').textContent(), 'premium');

  await page.getByLabel('Gatehouse mug (GH-MUG-001)').fill('2');
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.locator('#status', { hasText: /Order .+ placed/ }).waitFor();
  const orderId = /Order (\S+) placed/.exec((await page.locator('#status').textContent()) ?? '')?.[1];
  t.ok(orderId, `order ${orderId} placed through the gateway and the sales service`);

  // The consumers work asynchronously: refresh until the lists show them.
  const deadline = Date.now() + 20_000;
  let shipments = '';
  let invoices = '';
  while (Date.now() < deadline) {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.locator('#refresh:not([disabled])').waitFor();
    shipments = (await page.locator('#shipments tbody').textContent()) ?? '';
    invoices = (await page.locator('#invoices tbody').textContent()) ?? '';
    if (shipments.includes(orderId!) && invoices.includes(orderId!)) break;
    await page.waitForTimeout(250);
  }
  t.match(shipments, orderId!, 'the shipment of the order is listed');
  t.match(shipments, /express/, 'express: alice is premium');
  t.match(invoices, orderId!, 'and its invoice');
  t.match(invoices, /25(\.00)?/, 'for the catalogue price (2 × 12.50 EUR)');

  const cookies = await context.cookies(origin);
  t.ok(cookies.some((c) => c.name === 'gatehouse-session' && c.httpOnly), 'an HttpOnly session cookie');
  t.equal(await page.evaluate('document.cookie'), '', 'no cookie visible to scripts');
  t.notOk(
    bodies.some((body) => /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/.test(body)),
    'no response to the page carried a JWT',
  );
});
