/**
 * Edge hardening pieces on their own: helmet's headers computed once per configuration
 * (security-headers.ts) and load shedding (@fastify/under-pressure) answering 503 problems.
 */
import { memoryAuditSink } from '@gatehouse/observability';
import Fastify from 'fastify';
import t from 'tap';
import { buildGateway } from '../src/app.ts';
import { loadGatewayConfig } from '../src/config.ts';
import { parseRoutes } from '../src/routes.ts';
import { helmetHeaders, securityHeaders } from '../src/security-headers.ts';

t.test("security headers: helmet's own headers, global and per route", async (t) => {
  const app = Fastify();
  await app.register(securityHeaders, { hsts: false });
  app.get('/plain', async () => 'ok');
  app.get('/framed', { config: { helmet: { xFrameOptions: { action: 'deny' } } } as never }, async () => 'ok');
  app.get('/skipped', { config: { helmet: { skipRoute: true } } as never }, async () => 'ok');
  app.get('/off', { helmet: false } as never, async () => 'ok');
  let calls = 0;
  const dynamic = {
    contentSecurityPolicy: {
      directives: { 'default-src': ["'self'"], 'script-src': [() => `'nonce-n${(calls += 1)}'`] },
    },
  };
  app.get('/dynamic', { config: { helmet: dynamic } as never }, async () => 'ok');
  await app.ready();

  const expected = helmetHeaders({ hsts: false });
  t.ok(Object.keys(expected).length >= 10, 'helmet sets its usual headers');
  t.equal(expected['strict-transport-security'], undefined, 'no HSTS when turned off');
  const plain = await app.inject('/plain');
  for (const [name, value] of Object.entries(expected)) t.equal(plain.headers[name], value, `/plain ${name}`);
  t.equal(plain.headers['x-frame-options'], 'SAMEORIGIN');

  const framed = await app.inject('/framed');
  t.equal(framed.headers['x-frame-options'], 'DENY', 'route options override the global ones');
  t.equal(framed.headers['content-security-policy'], expected['content-security-policy'], 'the rest stays global');

  for (const path of ['/skipped', '/off']) {
    const res = await app.inject(path);
    t.equal(res.headers['content-security-policy'], undefined, `${path}: no helmet headers`);
    t.equal(res.headers['x-frame-options'], undefined, path);
  }

  const first = await app.inject('/dynamic');
  const second = await app.inject('/dynamic');
  t.match(first.headers['content-security-policy'], /'nonce-n1'/, 'function directives are computed per request');
  t.match(second.headers['content-security-policy'], /'nonce-n2'/);

  const missing = await app.inject('/nowhere');
  t.equal(missing.statusCode, 404);
  t.equal(missing.headers['x-content-type-options'], 'nosniff', 'the 404 handler gets the headers too');
  await app.close();
});

t.test('security headers: CSP nonces are refused, not silently dropped', async (t) => {
  const app = Fastify();
  await t.rejects(async () => {
    await app.register(securityHeaders, { enableCSPNonces: true } as never);
  }, TypeError);
});

t.test('under pressure: a blocked event loop makes the gateway answer 503 problems', async (t) => {
  const sink = memoryAuditSink();
  const config = loadGatewayConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    // Nothing listens there: the JWKS warm-up fails quietly, and no request here needs keys.
    TOKEN_SERVICE_URL: 'http://127.0.0.1:9',
    UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '5',
  });
  const gateway = await buildGateway(config, {
    auditDestination: sink.stream,
    routes: parseRoutes({
      routes: [{ name: 'public', prefix: '/api/public', upstream: 'http://127.0.0.1:9', methods: ['GET'], auth: 'none', scopes: [], roles: [] }],
    }),
  });
  t.teardown(() => gateway.close());
  t.equal((await gateway.app.inject('/healthz')).statusCode, 200, 'healthy before');

  // under-pressure samples the event loop delay once a second: keep the loop blocked (busy
  // waits with short breaks) until a sample sees it. Bounded: at most about 10 s.
  let shed;
  for (let attempt = 0; attempt < 50 && shed === undefined; attempt += 1) {
    const until = Date.now() + 150;
    while (Date.now() < until) {
      // blocking on purpose
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const res = await gateway.app.inject('/api/public/orders');
    if (res.statusCode === 503) shed = res;
  }
  t.ok(shed, 'load was shed');
  t.equal(shed?.headers['content-type'], 'application/problem+json');
  t.equal(shed?.headers['retry-after'], '10');
  t.match(shed?.json(), { status: 503, code: 'ERR_OVERLOADED', type: 'urn:gatehouse:problem:overloaded' });
});
