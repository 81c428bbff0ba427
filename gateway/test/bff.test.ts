import { createAuditLog, memoryAuditSink } from '@gatehouse/observability';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import * as client from 'openid-client';
import t, { type Test } from 'tap';
import { Browser, submitLogin } from '../../token-service/test/support/browser.ts';
import { decodeJwt, oauthError } from '../../token-service/test/support/oauth.ts';
import {
  DEMO_PASSWORD,
  freePort,
  type RunningTokenService,
  SECRETS,
  startTokenService,
} from '../../token-service/test/support/token-service.ts';
import { bff, csrfGuard, sessionAuthenticator } from '../src/bff/index.ts';
import { deriveCookieKey, unseal } from '../src/bff/cookie-crypto.ts';
import type { Session } from '../src/bff/session.ts';
import { installProblemHandlers, sendProblem } from '../src/problem.ts';
import { createGatewayRedis, waitReady } from '../src/rate-limit/redis.ts';
import { redisServerOrSkip } from '../../token-service/test/support/redis-server.ts';

const COOKIE_SECRET = 'test-cookie-secret-0123456789-abcdefghijkl';
const COOKIE = 'gatehouse-session';

interface Harness {
  url: string;
  app: FastifyInstance;
  ts: RunningTokenService;
  audit: Array<Record<string, unknown>>;
}

interface StartOptions {
  /** Refresh claims on this Redis (the gateway passes its own). */
  redis?: Redis;
}

/** A token service and a small Fastify app with the BFF plus two session-authenticated routes. */
async function start(t: Test, tsEnv: Record<string, string> = {}, refreshSkewSeconds = 30, options: StartOptions = {}): Promise<Harness> {
  // The token service must know our callback URL (and so our port) before we listen: another
  // process may take the port in between, so retry on EADDRINUSE.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnce(t, tsEnv, refreshSkewSeconds, options);
    } catch (error) {
      if ((error as { code?: string }).code !== 'EADDRINUSE' || attempt >= 5) throw error;
    }
  }
}

async function startOnce(t: Test, tsEnv: Record<string, string>, refreshSkewSeconds: number, options: StartOptions): Promise<Harness> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const ts = await startTokenService(t, {
    GATEWAY_REDIRECT_URIS: `${url}/auth/callback`,
    GATEWAY_POST_LOGOUT_REDIRECT_URIS: `${url}/`,
    ...tsEnv,
  });
  const sink = memoryAuditSink();
  let app: FastifyInstance;
  try {
    app = await listenReplica(ts, url, port, sink, refreshSkewSeconds, options);
  } catch (error) {
    await ts.stop();
    throw error;
  }
  t.teardown(() => app.close());
  return { url, app, ts, audit: sink.records };
}

/**
 * One gateway replica's BFF on `port`: the callback URL is `url`'s (the first replica's, the one
 * registered at the token service), as replicas behind one public address share it.
 */
async function listenReplica(
  ts: RunningTokenService,
  url: string,
  port: number,
  sink: ReturnType<typeof memoryAuditSink>,
  refreshSkewSeconds: number,
  options: StartOptions,
): Promise<FastifyInstance> {
  const app = Fastify();
  installProblemHandlers(app);
  await app.register(bff, {
    issuer: ts.issuer,
    clientId: 'gateway',
    clientSecret: SECRETS.gateway,
    redirectUri: `${url}/auth/callback`,
    postLogoutRedirectUri: `${url}/`,
    cookieSecret: COOKIE_SECRET,
    secureCookies: false,
    allowedOrigins: [url],
    audit: createAuditLog('gateway', sink.stream),
    refreshSkewSeconds,
    ...(options.redis ? { redis: options.redis } : {}),
  });
  // What the gateway's 'session' auth mode does (minus validating the token, done by the gateway).
  const whoami = async (request: Parameters<typeof sessionAuthenticator>[0], reply: Parameters<typeof sessionAuthenticator>[1]) => {
    const result = await sessionAuthenticator(request, reply);
    if ('refusal' in result) return sendProblem(reply, result.refusal.status, { slug: 'session', code: result.refusal.code });
    return { jti: decodeJwt(result.accessToken).payload.jti };
  };
  app.get('/api/whoami', whoami);
  app.post('/api/thing', { onRequest: csrfGuard }, whoami);
  try {
    await app.listen({ host: '127.0.0.1', port });
  } catch (error) {
    await app.close();
    throw error;
  }
  return app;
}

function setCookies(response: Response): string[] {
  return response.headers.getSetCookie();
}

function cookieValue(lines: string[], name = COOKIE): string | undefined {
  const line = lines.find((l) => l.startsWith(`${name}=`));
  return line?.slice(name.length + 1).split(';')[0];
}

function openSession(value: string): Session {
  return unseal(deriveCookieKey(COOKIE_SECRET), 'session', value) as Session;
}

/** Logs in through the real login form; returns the callback response and the session cookie. */
async function login(h: Harness, returnTo = '/orders?x=1', username = 'alice') {
  const browser = new Browser();
  const page = await browser.follow(`${h.url}/auth/login?returnTo=${encodeURIComponent(returnTo)}`, `${h.url}/auth/callback`);
  if (!page.response) throw new Error('expected the login page');
  const posted = await submitLogin(browser, page.url, await page.response.text(), username, DEMO_PASSWORD);
  const location = posted.headers.get('location');
  if (!location) throw new Error(`login failed: ${posted.status}`);
  const atCallback = await browser.follow(new URL(location, page.url).href, `${h.url}/auth/callback`);
  const callback = await browser.request(atCallback.url);
  const cookie = cookieValue(setCookies(callback));
  return { browser, callback, cookie: cookie!, callbackUrl: atCallback.url };
}

const withCookie = (value: string, headers: Record<string, string> = {}) => ({ ...headers, cookie: `${COOKIE}=${value}` });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('login through the real form sets an encrypted HttpOnly SameSite=Strict session', async (t) => {
  const h = await start(t);
  const { browser, callback, cookie } = await login(h);
  t.equal(callback.status, 302);
  t.equal(callback.headers.get('location'), '/orders?x=1', 'back to the return path');
  const line = setCookies(callback).find((l) => l.startsWith(`${COOKIE}=`))!;
  t.match(line, /; HttpOnly/);
  t.match(line, /; SameSite=Strict/);
  t.match(line, /; Path=\//);
  t.notMatch(line, /; Secure/, 'not Secure over plain http');
  const txCleared = setCookies(callback).find((l) => l.startsWith('gatehouse-login='))!;
  t.match(txCleared, /Max-Age=0/, 'the login transaction cookie is cleared');

  const session = openSession(cookie);
  // Not "eyJ" (base64 of '{"'): ciphertext contains it by chance about once in a hundred cookies.
  const segments = [session.at, session.rt, session.idt].flatMap((token) => token?.split('.') ?? []);
  t.notOk(
    segments.some((segment) => segment.length >= 16 && cookie.includes(segment.slice(0, 16))),
    'no part of a token readable in the cookie',
  );
  t.notOk(cookie.includes(session.at), 'the access token is not in the cookie value');
  t.ok(session.rt, 'a refresh token is held');
  t.ok(session.idt, 'the ID token fits and is kept for id_token_hint');
  t.ok(line.length < 4096, `the Set-Cookie line fits in 4 KB (${line.length} bytes)`);
  t.comment(`session cookie: ${line.length} bytes; access token ${session.at.length}, id token ${session.idt?.length}`);

  const me = await browser.request(`${h.url}/auth/session`);
  t.equal(me.status, 200);
  t.equal(me.headers.get('cache-control'), 'no-store');
  const text = await me.text();
  const body = JSON.parse(text) as Record<string, unknown>;
  t.same(Object.keys(body).sort(), ['expires_at', 'org_id', 'preferred_username', 'roles', 'sub', 'subscription_level']);
  t.match(body, { sub: 'alice', preferred_username: 'alice', org_id: 'acme', roles: [], subscription_level: 'premium' });
  t.notOk(text.includes(session.at) || text.includes(session.rt!) || text.includes('eyJ'), 'no token in the body');
  t.match(h.audit.find((r) => r.event === 'bff.login'), { outcome: 'success', sub: /^sub_/ });
  t.notOk(JSON.stringify(h.audit).includes(session.rt!), 'no token in the audit');

  const who = await browser.request(`${h.url}/api/whoami`);
  t.equal(who.status, 200, 'the session authenticates API calls');
  t.equal(((await who.json()) as { jti: string }).jti, decodeJwt(session.at).payload.jti);
});

t.test('no session, tampered or foreign cookies → 401', async (t) => {
  const h = await start(t);
  const none = await fetch(`${h.url}/auth/session`);
  t.equal(none.status, 401);
  t.equal(none.headers.get('content-type'), 'application/problem+json');
  t.match(await none.json(), { code: 'ERR_SESSION_MISSING' });

  const { cookie } = await login(h);
  const flipped = `${cookie.slice(0, 40)}${cookie[40] === 'A' ? 'B' : 'A'}${cookie.slice(41)}`;
  for (const bad of [flipped, `${cookie}x`, 'garbage', cookie.slice(0, 30)]) {
    const res = await fetch(`${h.url}/auth/session`, { headers: withCookie(bad) });
    t.equal(res.status, 401, 'tampered session refused');
    t.match(res.headers.getSetCookie()[0], /^gatehouse-session=; .*Max-Age=0/, 'and cleared');
    const api = await fetch(`${h.url}/api/whoami`, { headers: withCookie(bad) });
    t.equal(api.status, 401);
    t.match(await api.json(), { code: 'ERR_SESSION_INVALID' });
  }
  // A value sealed for the login transaction is not a session (purpose bound as AAD).
  const login2 = await fetch(`${h.url}/auth/login`, { redirect: 'manual' });
  const tx = cookieValue(login2.headers.getSetCookie(), 'gatehouse-login')!;
  t.equal((await fetch(`${h.url}/auth/session`, { headers: withCookie(tx) })).status, 401);
});

t.test('login: PKCE, state and nonce; state mismatch and open redirects refused', async (t) => {
  const h = await start(t);
  const res = await fetch(`${h.url}/auth/login`, { redirect: 'manual' });
  t.equal(res.status, 302);
  const authorize = new URL(res.headers.get('location')!);
  t.equal(authorize.origin, new URL(h.ts.issuer).origin);
  t.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  t.ok(authorize.searchParams.get('state') && authorize.searchParams.get('nonce') && authorize.searchParams.get('code_challenge'));
  t.equal(authorize.searchParams.get('client_id'), 'gateway');
  const tx = res.headers.getSetCookie().find((l) => l.startsWith('gatehouse-login='))!;
  t.match(tx, /; HttpOnly/);
  t.match(tx, /; SameSite=Lax/, 'the transaction cookie survives the cross-site callback redirect');

  for (const evil of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)', '/%0d%0a', '/\r\nSet-Cookie:x', 'evil']) {
    const refused = await fetch(`${h.url}/auth/login?returnTo=${encodeURIComponent(evil)}`, { redirect: 'manual' });
    t.equal(refused.status, evil === '/%0d%0a' ? 302 : 400, `returnTo ${evil}`);
    if (refused.status === 400) t.match(await refused.json(), { code: 'ERR_INVALID_RETURN_TO' });
  }
  const cookieHeader = `gatehouse-login=${cookieValue(res.headers.getSetCookie(), 'gatehouse-login')}`;
  const mismatch = await fetch(`${h.url}/auth/callback?code=abc&state=not-the-state`, { headers: { cookie: cookieHeader } });
  t.equal(mismatch.status, 400);
  t.equal(mismatch.headers.get('content-type'), 'application/problem+json');
  t.match(await mismatch.json(), { code: 'ERR_STATE_MISMATCH' });
  const noTx = await fetch(`${h.url}/auth/callback?code=abc&state=x`);
  t.equal(noTx.status, 400);
  t.match(await noTx.json(), { code: 'ERR_LOGIN_TRANSACTION' });
  t.ok(h.audit.some((r) => r.event === 'bff.login' && r.reason === 'state_mismatch'));
});

t.test('refresh: rotation after expiry, cookie re-issued, concurrent requests rotate once', async (t) => {
  const h = await start(t, { ACCESS_TOKEN_TTL: '2' }, 0);
  const { cookie } = await login(h);
  const first = openSession(cookie);
  await sleep(2100);

  const res = await fetch(`${h.url}/api/whoami`, { headers: withCookie(cookie) });
  t.equal(res.status, 200, 'an expired access token is refreshed transparently');
  const reissued = cookieValue(res.headers.getSetCookie());
  t.ok(reissued, 'the cookie is re-issued');
  t.match(res.headers.getSetCookie()[0], /SameSite=Strict/);
  const second = openSession(reissued!);
  t.not(second.at, first.at, 'a fresh access token');
  t.not(second.rt, first.rt, 'a rotated refresh token');
  t.equal(second.sid, first.sid, 'same session');
  t.equal(((await res.json()) as { jti: string }).jti, decodeJwt(second.at).payload.jti);
  t.equal(h.audit.filter((r) => r.event === 'bff.refresh').length, 1);

  // The browser fires several requests before it has stored the new cookie: all still carry
  // the expired one, and all must get the one rotation (a replay would revoke the family).
  await sleep(2100);
  const burst = await Promise.all(
    Array.from({ length: 4 }, () => fetch(`${h.url}/api/whoami`, { headers: withCookie(reissued!) })),
  );
  t.same(burst.map((r) => r.status), [200, 200, 200, 200]);
  const jtis = new Set(await Promise.all(burst.map(async (r) => ((await r.json()) as { jti: string }).jti)));
  t.equal(jtis.size, 1, 'one rotation served every concurrent request');
  t.equal(h.audit.filter((r) => r.event === 'bff.refresh').length, 2, 'exactly one more refresh');
  // A late request with the pre-rotation cookie, after the burst finished, gets the same result.
  const late = await fetch(`${h.url}/api/whoami`, { headers: withCookie(reissued!) });
  t.equal(late.status, 200);
  t.equal(h.ts.audit.filter((r) => r.event === 'refresh.refused' || r.event === 'grant.revoked').length, 0, 'no reuse detected');

  // The family is intact: the newest refresh token still works on the next expiry.
  const third = cookieValue(burst[0]!.headers.getSetCookie())!;
  await sleep(2100);
  const again = await fetch(`${h.url}/api/whoami`, { headers: withCookie(third) });
  t.equal(again.status, 200, 'the rotated refresh token still works');
});

t.test('two replicas sharing Redis rotate a session once (a balancer that is not sticky)', async (t) => {
  const server = await redisServerOrSkip();
  if (!server) {
    t.skip('redis-server is not installed (CI installs it)', () => {});
    return;
  }
  t.teardown(() => server.stop());
  const connect = async () => {
    const redis = createGatewayRedis(server.url);
    await waitReady(redis);
    t.teardown(() => redis.quit());
    return redis;
  };
  const h = await start(t, { ACCESS_TOKEN_TTL: '2' }, 0, { redis: await connect() });
  const port = await freePort();
  const second = await listenReplica(h.ts, h.url, port, memoryAuditSink(), 0, { redis: await connect() });
  t.teardown(() => second.close());
  const replicas = [h.url, `http://127.0.0.1:${port}`];
  const { cookie } = await login(h);
  await sleep(2100);

  // The browser's parallel requests, all with the expired cookie, spread over both replicas.
  const burst = await Promise.all(
    Array.from({ length: 6 }, (_, i) => fetch(`${replicas[i % 2]}/api/whoami`, { headers: withCookie(cookie) })),
  );
  t.same(burst.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
  const jtis = new Set(await Promise.all(burst.map(async (r) => ((await r.json()) as { jti: string }).jti)));
  t.equal(jtis.size, 1, 'one rotation served the requests of both replicas');
  t.equal(h.ts.audit.filter((r) => r.event === 'refresh.refused' || r.event === 'grant.revoked').length, 0, 'no reuse detected');
  // The rotated refresh token works on the next expiry, on either replica.
  const rotated = cookieValue(burst[1]!.headers.getSetCookie())!;
  await sleep(2100);
  const again = await fetch(`${replicas[1]}/api/whoami`, { headers: withCookie(rotated) });
  t.equal(again.status, 200, 'the family is intact');
});

t.test('a refused refresh clears the session and refuses 401', async (t) => {
  const h = await start(t, { ACCESS_TOKEN_TTL: '1' }, 0);
  const { cookie } = await login(h);
  const session = openSession(cookie);
  const config = await client.discovery(new URL(h.ts.issuer), 'gateway', undefined, client.ClientSecretBasic(SECRETS.gateway), {
    execute: [client.allowInsecureRequests],
  });
  await client.tokenRevocation(config, session.rt!, { token_type_hint: 'refresh_token' });
  await sleep(1100);
  const res = await fetch(`${h.url}/api/whoami`, { headers: withCookie(cookie) });
  t.equal(res.status, 401);
  t.match(await res.json(), { code: 'ERR_SESSION_EXPIRED' });
  t.match(res.headers.getSetCookie()[0], /^gatehouse-session=; .*Max-Age=0/);
  t.match(h.audit.find((r) => r.event === 'bff.refresh_failed'), { reason: 'invalid_grant' });
});

t.test('token service down during a refresh: 503, the session is kept', async (t) => {
  const h = await start(t, { ACCESS_TOKEN_TTL: '1' }, 0);
  const { cookie } = await login(h);
  await h.ts.stop();
  await sleep(1100);
  const res = await fetch(`${h.url}/api/whoami`, { headers: withCookie(cookie) });
  t.equal(res.status, 503);
  t.match(await res.json(), { code: 'ERR_SESSION_REFRESH_UNAVAILABLE' });
  t.same(res.headers.getSetCookie(), [], 'the cookie is not cleared: the refresh token may still be good');
  t.match(h.audit.find((r) => r.event === 'bff.refresh_failed'), { reason: 'unavailable' });
});

t.test('CSRF: unsafe requests need the custom header and an allowed origin', async (t) => {
  const h = await start(t);
  const { cookie } = await login(h);
  const post = (headers: Record<string, string>) =>
    fetch(`${h.url}/api/thing`, { method: 'POST', headers: withCookie(cookie, headers) });

  const noHeader = await post({ origin: h.url });
  t.equal(noHeader.status, 403);
  t.equal(noHeader.headers.get('content-type'), 'application/problem+json');
  t.match(await noHeader.json(), { code: 'ERR_CSRF' });
  const foreign = await post({ origin: 'https://evil.example', 'x-requested-with': 'gatehouse' });
  t.equal(foreign.status, 403);
  t.match(await foreign.json(), { code: 'ERR_CSRF' });
  const noOrigin = await post({ 'x-requested-with': 'gatehouse' });
  t.equal(noOrigin.status, 403, 'neither Origin nor Referer');
  const nullOrigin = await post({ origin: 'null', 'x-csrf': '1' });
  t.equal(nullOrigin.status, 403, 'Origin: null');
  t.equal((await post({ origin: h.url, 'x-requested-with': 'gatehouse' })).status, 200, 'header + origin: allowed');
  t.equal((await post({ referer: `${h.url}/orders`, 'x-csrf': '1' })).status, 200, 'Referer when no Origin');
  t.equal((await fetch(`${h.url}/api/whoami`, { headers: withCookie(cookie) })).status, 200, 'safe methods pass');
  t.equal(h.audit.filter((r) => r.event === 'bff.csrf_refused').length, 4);
  const refusedBefore = h.audit.filter((r) => r.event === 'bff.csrf_refused').length;
  t.match(h.audit.find((r) => r.event === 'bff.csrf_refused'), { reason: 'custom_header_missing', sub: /^sub_/ });

  const logout = await fetch(`${h.url}/auth/logout`, { method: 'POST', headers: withCookie(cookie, { origin: 'https://evil.example', 'x-requested-with': 'gatehouse' }) });
  t.equal(logout.status, 403, 'logout is CSRF-checked');
  t.equal(logout.headers.getSetCookie().length, 0, 'and the session is left alone');
  t.equal(h.audit.filter((r) => r.event === 'bff.csrf_refused').length, refusedBefore + 1, 'audited');
});

t.test('logout clears the cookie, revokes the refresh token, returns the end-session URL', async (t) => {
  const h = await start(t);
  const { cookie } = await login(h);
  const session = openSession(cookie);
  const res = await fetch(`${h.url}/auth/logout`, {
    method: 'POST',
    headers: withCookie(cookie, { origin: h.url, 'x-requested-with': 'gatehouse' }),
  });
  t.equal(res.status, 200);
  t.match(res.headers.getSetCookie()[0], /^gatehouse-session=; .*Max-Age=0/);
  const { end_session_url: endSession } = (await res.json()) as { end_session_url: string };
  const url = new URL(endSession);
  t.equal(`${url.origin}${url.pathname}`, `${h.ts.issuer}/session/end`);
  t.equal(url.searchParams.get('post_logout_redirect_uri'), `${h.url}/`);
  t.equal(url.searchParams.get('id_token_hint'), session.idt);
  const page = await fetch(endSession);
  t.equal(page.status, 200, 'the token service accepts the RP-initiated logout');
  t.match(h.audit.find((r) => r.event === 'bff.logout'), { outcome: 'success', sub: /^sub_/ });

  const config = await client.discovery(new URL(h.ts.issuer), 'gateway', undefined, client.ClientSecretBasic(SECRETS.gateway), {
    execute: [client.allowInsecureRequests],
  });
  const error = await client.refreshTokenGrant(config, session.rt!).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.equal(oauthError(error).error, 'invalid_grant', 'the old refresh token no longer works');
  t.equal((await fetch(`${h.url}/auth/session`)).status, 401);

  // Without a session (or without an ID token) the end-session URL names the client instead.
  const anonymous = await fetch(`${h.url}/auth/logout`, { method: 'POST', headers: { origin: h.url, 'x-csrf': '1' } });
  t.equal(anonymous.status, 200);
  const plain = new URL(((await anonymous.json()) as { end_session_url: string }).end_session_url);
  t.equal(plain.searchParams.get('client_id'), 'gateway');
  t.notOk(plain.searchParams.has('id_token_hint'));
  t.equal((await fetch(plain)).status, 200, 'the token service accepts client_id logout');
});

t.test('secure cookies use the __Host- prefix and Secure', async (t) => {
  const app = Fastify();
  const sink = memoryAuditSink();
  await app.register(bff, {
    issuer: 'http://127.0.0.1:9',
    clientId: 'gateway',
    clientSecret: SECRETS.gateway,
    redirectUri: 'https://app.example/auth/callback',
    postLogoutRedirectUri: 'https://app.example/',
    cookieSecret: COOKIE_SECRET,
    secureCookies: true,
    allowedOrigins: ['https://app.example'],
    audit: createAuditLog('gateway', sink.stream),
  });
  t.teardown(() => app.close());
  const res = await app.inject({ url: '/auth/session', headers: { cookie: '__Host-gatehouse-session=bogus' } });
  t.equal(res.statusCode, 401);
  const line = String([res.headers['set-cookie']].flat()[0]);
  t.match(line, /^__Host-gatehouse-session=; Path=\/; HttpOnly; SameSite=Strict; Secure/);
  const down = await app.inject({ url: '/auth/login' });
  t.equal(down.statusCode, 503, 'token service unreachable: 503 problem');
  const weak = Fastify();
  t.teardown(() => weak.close());
  await t.rejects(
    async () => {
      await weak.register(bff, { cookieSecret: 'short' } as never).ready();
    },
    /at least 32 characters/, 'a short secret is refused');
});
