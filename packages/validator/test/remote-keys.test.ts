// remoteKeys against a real HTTP server on 127.0.0.1 that counts fetches. Time is an injected clock:
// "advancing" it is instant, so no assertion depends on real timing.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK } from 'jose';
import type { Test } from 'tap';
import t from 'tap';
import type { RemoteKeySource, RemoteKeysOptions } from '../src/index.ts';
import { createValidator, jwksReadiness, MAX_JWKS_BYTES, remoteKeys, type TokenValidationError } from '../src/index.ts';
import { refuses } from './support/assert.ts';
import { ACCESS, ISSUER, makeKey, NOW, sign } from './support/tokens.ts';

const k1 = await makeKey('k1');
const k2 = await makeKey('k2');
const MAX_AGE = 300_000;
const COOLDOWN = 30_000;

interface JwksServer {
  url: string;
  fetches: number;
  /** What the next requests get: a JWKS body, or a custom handler. */
  body: string;
  handler?: (req: IncomingMessage, res: ServerResponse) => void;
}

async function jwksServer(t: Test, keys: object[] = [k1.jwk]): Promise<JwksServer> {
  const state: JwksServer = { url: '', fetches: 0, body: JSON.stringify({ keys }) };
  const server = createServer((req, res) => {
    state.fetches++;
    if (state.handler) return state.handler(req, res);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(state.body),
    });
    res.end(state.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  return state;
}

function clock() {
  let now = NOW;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function source(server: JwksServer, c: ReturnType<typeof clock>, options: RemoteKeysOptions = {}) {
  const outcomes: string[] = [];
  const keys = remoteKeys(server.url, {
    maxAgeMs: MAX_AGE,
    cooldownMs: COOLDOWN,
    now: c.now,
    onRefresh: (outcome) => outcomes.push(outcome),
    ...options,
  });
  return { keys, outcomes };
}

const lookup = (keys: ReturnType<typeof remoteKeys>, kid: string) => keys({ alg: 'ES256', kid });

t.test('caches within maxAge and refetches after it', async (t) => {
  const server = await jwksServer(t);
  const c = clock();
  const { keys, outcomes } = source(server, c);
  t.equal(keys.lastFetchedAt, undefined, 'nothing fetched yet');
  t.equal(keys.usable, false, 'no usable set before the first fetch');
  t.ok(await lookup(keys, 'k1'));
  t.equal(keys.usable, true);
  t.ok(await lookup(keys, 'k1'));
  t.equal(server.fetches, 1, 'one fetch for two lookups');
  t.equal(keys.lastFetchedAt, NOW);
  c.advance(MAX_AGE - 1);
  t.ok(await lookup(keys, 'k1'));
  t.equal(server.fetches, 1, 'still cached just before maxAge');
  c.advance(1);
  t.ok(await lookup(keys, 'k1'));
  t.equal(server.fetches, 2, 'refetched at maxAge');
  t.equal(keys.lastFetchedAt, NOW + MAX_AGE);
  t.same(outcomes, ['ok', 'ok']);
});

t.test('unknown kids: at most one fetch per cooldown (50 random kids, 1 fetch)', async (t) => {
  const server = await jwksServer(t);
  const c = clock();
  const { keys } = source(server, c);
  await lookup(keys, 'k1');
  t.equal(server.fetches, 1);
  for (let i = 0; i < 50; i++)
    await refuses(t, lookup(keys, randomUUID()), 'ERR_TOKEN_KEY_UNKNOWN', `kid ${i}`);
  t.equal(server.fetches, 1, 'within the cooldown of the first fetch: no refetch at all');
  c.advance(COOLDOWN);
  for (let i = 0; i < 50; i++)
    await refuses(t, lookup(keys, randomUUID()), 'ERR_TOKEN_KEY_UNKNOWN', `kid ${i}`);
  t.equal(server.fetches, 2, 'cooldown passed: 50 random kids, exactly one fetch');
  c.advance(COOLDOWN - 1);
  await refuses(t, lookup(keys, randomUUID()), 'ERR_TOKEN_KEY_UNKNOWN');
  t.equal(server.fetches, 2, 'just inside the next cooldown: none');
  c.advance(1);
  await refuses(t, lookup(keys, randomUUID()), 'ERR_TOKEN_KEY_UNKNOWN');
  t.equal(server.fetches, 3, 'the next cooldown: one more');
  t.ok(await lookup(keys, 'k1'), 'known kids unaffected');
});

t.test('concurrent lookups share one in-flight fetch', async (t) => {
  const server = await jwksServer(t);
  const c = clock();
  const { keys } = source(server, c);
  const cold = await Promise.allSettled(Array.from({ length: 20 }, () => lookup(keys, 'k1')));
  t.ok(
    cold.every((r) => r.status === 'fulfilled'),
    'cold start: all 20 resolved',
  );
  t.equal(server.fetches, 1, 'cold start: one fetch for 20 concurrent lookups');
  c.advance(COOLDOWN);
  const results = await Promise.allSettled(Array.from({ length: 20 }, () => lookup(keys, randomUUID())));
  t.ok(
    results.every(
      (r) => r.status === 'rejected' && (r.reason as TokenValidationError).code === 'ERR_TOKEN_KEY_UNKNOWN',
    ),
  );
  t.equal(server.fetches, 2, '20 concurrent unknown kids: one fetch');
});

t.test('a rotated key is found after a refetch', async (t) => {
  const server = await jwksServer(t);
  const c = clock();
  const { keys } = source(server, c);
  const validator = createValidator({ issuer: ISSUER, keys, now: c.now });
  t.equal((await validator.verify(await sign(k1), ACCESS)).sub, 'user-1');
  server.body = JSON.stringify({ keys: [k1.jwk, k2.jwk] }); // the issuer publishes k2
  c.advance(COOLDOWN);
  t.equal(
    (await validator.verify(await sign(k2), ACCESS)).sub,
    'user-1',
    'k2 found by the unknown-kid refetch',
  );
  t.equal(server.fetches, 2);
  t.equal((await validator.verify(await sign(k1), ACCESS)).sub, 'user-1', 'k1 still there');
  t.equal(server.fetches, 2);
});

t.test('a key published within the cooldown waits for the cooldown', async (t) => {
  const server = await jwksServer(t);
  const c = clock();
  const { keys } = source(server, c);
  await lookup(keys, 'k1');
  server.body = JSON.stringify({ keys: [k1.jwk, k2.jwk] });
  await refuses(t, lookup(keys, 'k2'), 'ERR_TOKEN_KEY_UNKNOWN', 'inside the cooldown');
  t.equal(server.fetches, 1);
  c.advance(COOLDOWN);
  t.ok(await lookup(keys, 'k2'), 'found once the cooldown has passed');
  t.equal(server.fetches, 2);
});

t.test('oversized JWKS refused (declared and streamed)', async (t) => {
  const big = JSON.stringify({ keys: [k1.jwk], padding: 'x'.repeat(MAX_JWKS_BYTES) });
  const declared = await jwksServer(t);
  declared.body = big;
  const c = clock();
  const { keys, outcomes } = source(declared, c);
  await refuses(t, lookup(keys, 'k1'), 'ERR_TOKEN_KEY_UNKNOWN', 'with Content-Length');
  t.same(outcomes, ['error']);
  const streamed = await jwksServer(t);
  streamed.handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no Content-Length
    for (let i = 0; i < big.length; i += 8192) res.write(big.slice(i, i + 8192));
    res.end();
  };
  const second = source(streamed, clock());
  await refuses(t, lookup(second.keys, 'k1'), 'ERR_TOKEN_KEY_UNKNOWN', 'chunked');
  t.same(second.outcomes, ['error']);
  const fits = await jwksServer(t);
  fits.body = JSON.stringify({ keys: [k1.jwk], padding: 'x'.repeat(MAX_JWKS_BYTES - 1000) });
  t.ok(await lookup(source(fits, clock()).keys, 'k1'), 'just under the cap is fine');
});

t.test('a failed refresh keeps the last good set until 2 x maxAge', async (t) => {
  const server = await jwksServer(t);
  const c = clock();
  const { keys, outcomes } = source(server, c);
  await lookup(keys, 'k1');
  server.handler = (_req, res) => {
    res.writeHead(500);
    res.end('down');
  };
  c.advance(MAX_AGE);
  t.ok(await lookup(keys, 'k1'), 'stale set served after a failed refresh');
  t.equal(server.fetches, 2, 'the refresh was attempted');
  t.ok(await lookup(keys, 'k1'));
  t.equal(server.fetches, 2, 'a failed attempt starts the cooldown too: no retry storm');
  c.advance(MAX_AGE - 1);
  t.ok(await lookup(keys, 'k1'), 'still served just before 2 x maxAge');
  t.equal(server.fetches, 3);
  c.advance(1);
  await refuses(t, lookup(keys, 'k1'), 'ERR_TOKEN_KEY_UNKNOWN', 'at 2 x maxAge the set is no longer trusted');
  t.equal(keys.usable, false, 'and says so: callers answer 503 / retry, not 401 / dead-letter');
  t.equal(keys.lastFetchedAt, NOW, 'lastFetchedAt is the last success');
  server.handler = undefined;
  c.advance(COOLDOWN);
  t.ok(await lookup(keys, 'k1'), 'recovers with the server');
  t.same(outcomes, ['ok', 'error', 'error', 'ok']);
});

t.test('a cold start that fails does not fetch on every request', async (t) => {
  const server = await jwksServer(t);
  server.handler = (_req, res) => {
    res.writeHead(503);
    res.end();
  };
  const c = clock();
  const { keys } = source(server, c);
  for (let i = 0; i < 10; i++) await refuses(t, lookup(keys, 'k1'), 'ERR_TOKEN_KEY_UNKNOWN');
  t.equal(server.fetches, 1);
});

t.test(
  'bounded: at most 100 keys kept; private and non-signing keys dropped; duplicates refused',
  async (t) => {
    const many = Array.from({ length: 150 }, (_, i) => ({ ...k1.jwk, kid: `k${i}` }));
    const server = await jwksServer(t, many);
    const { keys } = source(server, clock());
    t.ok(await lookup(keys, 'k99'), 'the 100th key is kept');
    await refuses(t, lookup(keys, 'k100'), 'ERR_TOKEN_KEY_UNKNOWN', 'the 101st is not');

    const privateJwk = { ...(await exportJWK(k2.privateKey)), kid: 'private', alg: 'ES256' };
    const encryption = { ...k2.jwk, kid: 'enc', use: 'enc' };
    const mixed = await jwksServer(t, [
      privateJwk,
      encryption,
      { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' },
      k1.jwk,
    ]);
    const { keys: mixedKeys } = source(mixed, clock());
    t.ok(await lookup(mixedKeys, 'k1'));
    await refuses(t, lookup(mixedKeys, 'private'), 'ERR_TOKEN_KEY_UNKNOWN', 'a key with private members');
    await refuses(t, lookup(mixedKeys, 'enc'), 'ERR_TOKEN_KEY_UNKNOWN', 'use enc');
    await refuses(t, mixedKeys({ alg: 'HS256', kid: 'hmac' }), 'ERR_TOKEN_KEY_UNKNOWN', 'oct');

    const duplicated = await jwksServer(t);
    duplicated.body = `{"keys":[],"keys":[${JSON.stringify(k1.jwk)}]}`;
    const dup = source(duplicated, clock());
    await refuses(t, lookup(dup.keys, 'k1'), 'ERR_TOKEN_KEY_UNKNOWN', 'duplicate members in the JWKS');
    t.same(dup.outcomes, ['error']);
  },
);

t.test('refresh(): shared when concurrent, forced otherwise, rejects on failure', async (t) => {
  const server = await jwksServer(t);
  const { keys } = source(server, clock());
  await Promise.all([keys.refresh(), keys.refresh(), keys.refresh()]);
  t.equal(server.fetches, 1);
  await keys.refresh();
  t.equal(server.fetches, 2, 'an explicit refresh ignores the cooldown');
  server.handler = (_req, res) => {
    res.writeHead(500);
    res.end();
  };
  await t.rejects(keys.refresh());
  t.ok(await lookup(keys, 'k1'), 'the last good set still serves');
});

t.test('no redirects, no hangs, no addresses in errors', async (t) => {
  const server = await jwksServer(t);
  server.handler = (_req, res) => {
    res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' });
    res.end();
  };
  const { keys } = source(server, clock());
  const error = await refuses(t, lookup(keys, 'k1'), 'ERR_TOKEN_KEY_UNKNOWN', 'redirect refused');
  t.notMatch(error?.message ?? '', /127\.0\.0\.1|169\.254/, 'the message names no address');

  const silent = await jwksServer(t);
  silent.handler = () => {}; // never answers
  const { keys: slow, outcomes } = source(silent, clock(), { timeoutMs: 50 });
  await refuses(t, lookup(slow, 'k1'), 'ERR_TOKEN_KEY_UNKNOWN', 'timed out');
  t.same(outcomes, ['error']);
});

t.test('an injected fetch is used', async (t) => {
  let calls = 0;
  const fetchImpl: typeof fetch = async () => {
    calls++;
    return new Response(JSON.stringify({ keys: [k1.jwk] }), {
      headers: { 'content-type': 'application/json' },
    });
  };
  const keys = remoteKeys('https://auth.gatehouse.test/jwks', { fetch: fetchImpl, now: clock().now });
  t.ok(await lookup(keys, 'k1'));
  t.equal(calls, 1);
  t.throws(() => remoteKeys('file:///etc/passwd'), TypeError);
  t.throws(() => remoteKeys('https://x.test/jwks', { cooldownMs: -1 }), TypeError);
});

t.test('jwksReadiness: ready once fetched; while not, at most one fetch per cooldown', async (t) => {
  let fetches = 0;
  let fail = true;
  let fetchedAt: number | undefined;
  const keys = {
    get lastFetchedAt() {
      return fetchedAt;
    },
    async refresh() {
      fetches += 1;
      if (fail) throw new Error('issuer down');
      fetchedAt = Date.now();
    },
  } as unknown as RemoteKeySource;
  const ready = jwksReadiness(keys, 60_000);
  t.equal(await ready(), false, 'the fetch failed: not ready');
  t.equal(await ready(), false, 'within the cooldown: not ready');
  t.equal(fetches, 1, 'and no second fetch: probes cannot hammer the issuer');
  const soon = jwksReadiness(keys, 0);
  fail = false;
  t.equal(await soon(), true, 'a fetch that succeeds: ready');
  t.equal(await soon(), true, 'fetched once: ready without fetching');
  t.equal(fetches, 2);
});
