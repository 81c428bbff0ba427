/**
 * The browser UI through the gateway: sign in with the BFF, then call an auth 'session' route
 * with the cookie. The upstream sees a validated bearer token, never the cookie; unsafe calls
 * need the CSRF header and an allowed Origin.
 */
import { memoryAuditSink } from '@gatehouse/observability';
import t from 'tap';
import { Browser, submitLogin } from '../../token-service/test/support/browser.ts';
import { decodeJwt } from '../../token-service/test/support/oauth.ts';
import { DEMO_PASSWORD, freePort, startTokenService } from '../../token-service/test/support/token-service.ts';
import { buildGateway } from '../src/app.ts';
import { loadGatewayConfig } from '../src/config.ts';
import { parseRoutes } from '../src/routes.ts';
import { route } from './support/gateway.ts';
import { startUpstream } from './support/upstream.ts';

const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const ts = await startTokenService(t, {
  GATEWAY_REDIRECT_URIS: `${url}/auth/callback`,
  GATEWAY_POST_LOGOUT_REDIRECT_URIS: `${url}/`,
});
const upstream = await startUpstream(t);
const sink = memoryAuditSink();
const gateway = await buildGateway(
  loadGatewayConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    TOKEN_SERVICE_URL: ts.issuer,
    BFF_REDIRECT_URI: `${url}/auth/callback`,
    BFF_POST_LOGOUT_REDIRECT_URI: `${url}/`,
    CORS_ORIGINS: url,
  }),
  {
    auditDestination: sink.stream,
    routes: parseRoutes({
      routes: [
        route(upstream.url, { name: 'ui-orders', auth: 'session' }),
        route(upstream.url, { name: 'shared', prefix: '/api/shared', auth: ['bearer', 'session'] }),
      ],
    }),
  },
);
await gateway.app.listen({ host: '127.0.0.1', port });
t.teardown(() => gateway.close());

const browser = new Browser();
const page = await browser.follow(`${url}/auth/login?returnTo=%2F`, `${url}/auth/callback`);
const posted = await submitLogin(browser, page.url, await page.response!.text(), 'alice', DEMO_PASSWORD);
const atCallback = await browser.follow(new URL(posted.headers.get('location')!, page.url).href, `${url}/auth/callback`);
const callback = await browser.request(atCallback.url);

t.test('a signed-in browser reaches a session route; the upstream gets a bearer token', async (t) => {
  t.equal(callback.status, 302, 'signed in');
  const before = upstream.received.length;
  const response = await browser.request(`${url}/api/orders`);
  t.equal(response.status, 200);
  const seen = upstream.received[before]!;
  t.match(seen.headers.authorization, /^Bearer /);
  t.equal(decodeJwt(String(seen.headers.authorization).slice(7)).payload.sub, 'alice');
  t.equal(seen.headers.cookie, undefined, 'the session cookie never leaves the gateway');
});

t.test('unsafe calls with the cookie need the CSRF header and an allowed Origin', async (t) => {
  const before = upstream.received.length;
  const bare = await browser.request(`${url}/api/orders`, { method: 'POST', body: '{}' });
  t.equal(bare.status, 403);
  t.equal(((await bare.json()) as { code: string }).code, 'ERR_CSRF');
  const foreign = await browser.request(`${url}/api/orders`, {
    method: 'POST',
    headers: { 'x-requested-with': 'gatehouse', origin: 'https://evil.example' },
    body: '{}',
  });
  t.equal(foreign.status, 403);
  t.equal(upstream.received.length, before, 'nothing reached the upstream');
  const allowed = await browser.request(`${url}/api/orders`, {
    method: 'POST',
    headers: { 'x-requested-with': 'gatehouse', origin: url, 'content-type': 'application/json' },
    body: '{}',
  });
  t.equal(allowed.status, 200);
});

t.test('without a session the route refuses with 401 problem+json', async (t) => {
  const response = await fetch(`${url}/api/orders`);
  t.equal(response.status, 401);
  t.match(response.headers.get('content-type'), /application\/problem\+json/);
  t.equal(((await response.json()) as { code: string }).code, 'ERR_SESSION_MISSING');
});

t.test('a route with several modes: the credential carried picks the mode', async (t) => {
  const viaCookie = await browser.request(`${url}/api/shared`);
  t.equal(viaCookie.status, 200, 'the session cookie');
  const { client, oauthClient } = await import('../../token-service/test/support/oauth.ts');
  const service = await client.clientCredentialsGrant(await oauthClient(ts.issuer, 'shipping'), { scope: 'orders:read' });
  const before = upstream.received.length;
  const viaBearer = await fetch(`${url}/api/shared`, { headers: { authorization: `Bearer ${service.access_token}` } });
  t.equal(viaBearer.status, 200, 'a bearer token');
  t.equal(decodeJwt(String(upstream.received[before]!.headers.authorization).slice(7)).payload.sub, 'shipping');
  const forged = await browser.request(`${url}/api/shared`, { headers: { authorization: 'Bearer not-a-token' } });
  t.equal(forged.status, 401, 'a bad bearer token is refused even with a valid cookie');
  const neither = await fetch(`${url}/api/shared`);
  t.equal(neither.status, 401);
  t.match(neither.headers.get('www-authenticate'), /^Bearer/, 'no credential: the first mode answers');
});
