/**
 * Message tokens end to end: a real token service, a real gateway and a real upstream. An exchange
 * route's unsafe methods carry a message token upstream (checked claim by claim), cached per
 * (subject jti, route); safe methods never exchange; refusals are 403; a stopped token service is
 * 503 + Retry-After with nothing proxied.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import t from 'tap';
import { loginWithCode } from '../../token-service/test/support/oauth.ts';
import { startTokenService } from '../../token-service/test/support/token-service.ts';
import { route, startGateway } from './support/gateway.ts';
import { startUpstream } from './support/upstream.ts';

const SHIPPING = 'urn:gatehouse:consumer:shipping';
const HEADER = 'x-gatehouse-message-token';

const ts = await startTokenService(t);
const upstream = await startUpstream(t);
const exchangeBlock = { audience: [SHIPPING], producer: 'sales' };
const { url, audit, gateway } = await startGateway(t, {
  issuer: ts.issuer,
  routes: [
    route(upstream.url, { exchange: exchangeBlock }),
    // No scope of its own: what the token service refuses is what this route tests.
    route(upstream.url, {
      name: 'open-orders',
      prefix: '/api/open-orders',
      scopes: { GET: [], POST: [] },
      exchange: { ...exchangeBlock, scope: 'orders.created' },
    }),
  ],
  env: { EXCHANGE_TIMEOUT_MS: '500' },
});

const alice = (await loginWithCode(ts.issuer, 'alice')).tokens.access_token;
const aliceReadOnly = (await loginWithCode(ts.issuer, 'alice', undefined, 'openid orders:read')).tokens.access_token;
// A second login: a subject jti with nothing cached, for the token-service-down test.
const aliceLater = (await loginWithCode(ts.issuer, 'alice')).tokens.access_token;

const granted = () => ts.audit.filter((r) => r.event === 'exchange.granted').length;
const post = (path: string, token: string, headers: Record<string, string> = {}) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: '{"item":"book"}',
  });

t.test('a POST carries a message token upstream; a client-sent one is dropped', async (t) => {
  const before = granted();
  const response = await post('/api/orders', alice, { [HEADER]: 'forged', 'x-message-token': 'forged' });
  t.equal(response.status, 200);
  const echo = (await response.json()) as { headers: Record<string, string> };
  const token = echo.headers[HEADER]!;
  t.not(token, 'forged', "the client's header never reaches the upstream");
  t.notOk(echo.headers['x-message-token']);
  t.equal(decodeProtectedHeader(token).typ, 'message+jwt');
  const claims = decodeJwt(token);
  t.same([claims.aud].flat(), [SHIPPING], "aud = the route's audience");
  t.equal(claims.scope, 'orders.created');
  t.match(claims.cnf, { jwk: { kty: String } }, 'bound to the producer key');
  t.match(claims.act, { sub: 'gateway' });
  t.equal(echo.headers.authorization, `Bearer ${alice}`, 'the access token still goes upstream');
  t.equal(granted(), before + 1, 'one exchange');
  t.match(
    audit.filter((r) => String(r.event).startsWith('exchange.')).map((r) => r.event),
    ['exchange.requested', 'exchange.granted'],
  );
  t.notMatch(JSON.stringify(audit), new RegExp(token.slice(-20)), 'no token audited');
});

t.test('a second POST reuses the cached message token', async (t) => {
  const before = granted();
  const first = (await (await post('/api/orders/1', alice)).json()) as { headers: Record<string, string> };
  const second = (await (await post('/api/orders/2', alice)).json()) as { headers: Record<string, string> };
  t.equal(second.headers[HEADER], first.headers[HEADER]);
  t.equal(granted(), before, 'no further exchange');
  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.match(metrics, /gatehouse_gateway_exchanges_total\{route="orders",outcome="cached"[^}]*\} [1-9]/);
  t.match(metrics, /gatehouse_gateway_exchange_cache_hits_total\{kind="message_token"[^}]*\} [1-9]/);
  t.match(metrics, /gatehouse_gateway_exchange_duration_seconds_count\{[^}]*kind="message_token"[^}]*\} [1-9]/);
});

t.test('GET on an exchange route: no exchange, no message token', async (t) => {
  const before = granted();
  const response = await fetch(`${url}/api/orders`, { headers: { authorization: `Bearer ${aliceLater}` } });
  t.equal(response.status, 200);
  const echo = (await response.json()) as { headers: Record<string, string> };
  t.notOk(echo.headers[HEADER]);
  t.equal(granted(), before);
});

t.test('without orders:write: 403 at the gateway, before any exchange', async (t) => {
  const before = ts.audit.length;
  const seen = upstream.received.length;
  const response = await post('/api/orders', aliceReadOnly);
  t.equal(response.status, 403);
  t.match(await response.json(), { code: 'ERR_INSUFFICIENT_SCOPE' });
  t.notOk(ts.audit.slice(before).some((r) => String(r.event).startsWith('exchange.')), 'the token service was not asked');
  t.equal(upstream.received.length, seen);
});

t.test('an exchange the token service refuses is 403, nothing proxied', async (t) => {
  const seen = upstream.received.length;
  const response = await post('/api/open-orders', aliceReadOnly);
  t.equal(response.status, 403);
  t.equal(response.headers.get('content-type'), 'application/problem+json');
  t.match(await response.json(), { code: 'ERR_EXCHANGE_REFUSED', error: 'invalid_scope' });
  t.equal(upstream.received.length, seen);
  t.match(audit.findLast((r) => r.event === 'exchange.failed'), { kind: 'refused', reason: 'invalid_scope', route: 'open-orders' });
});

t.test('token service stopped: 503 problem with Retry-After, the upstream receives nothing', async (t) => {
  // The validator already holds the JWKS, so the access token still verifies; only minting fails.
  t.ok(gateway.keys.lastFetchedAt);
  await ts.stop();
  const seen = upstream.received.length;
  const response = await post('/api/orders', aliceLater);
  t.equal(response.status, 503);
  t.equal(response.headers.get('content-type'), 'application/problem+json');
  t.equal(response.headers.get('retry-after'), '5');
  const body = (await response.json()) as Record<string, unknown>;
  t.match(body, { code: 'ERR_EXCHANGE_UNAVAILABLE', status: 503 });
  t.notMatch(JSON.stringify(body), /127\.0\.0\.1|ECONNREFUSED/, 'nothing internal');
  t.equal(upstream.received.length, seen, 'nothing proxied');
  t.match(audit.findLast((r) => r.event === 'exchange.failed'), { kind: 'unavailable' });
  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.match(metrics, /gatehouse_gateway_exchanges_total\{route="orders",outcome="unavailable"[^}]*\} 1/);
});
