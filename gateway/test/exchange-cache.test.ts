/** The pure parts of exchanges: the token cache and its expiry rules, the request body, key format. */
import t from 'tap';
import { apiKeyCacheKey, apiKeyPrefix, readApiKey } from '../src/api-keys/key.ts';
import { apiKeyCacheUntil, createTokenCache, messageTokenCacheUntil } from '../src/exchange/cache.ts';
import { createTokenServiceClient, exchangeBody, type TokenServiceError } from '../src/exchange/client.ts';
import { messageCacheKey, needsMessageToken } from '../src/exchange/mint.ts';

t.test('entries expire at their own time, never served after', async (t) => {
  let now = 1_000;
  const cache = createTokenCache<string>({ maxEntries: 10, now: () => now });
  cache.set('a', 'A', 2_000);
  cache.set('past', 'P', 1_000);
  t.equal(cache.get('a'), 'A');
  t.equal(cache.get('past'), undefined, 'an expiry not in the future stores nothing');
  now = 1_999;
  t.equal(cache.get('a'), 'A');
  now = 2_000;
  t.equal(cache.get('a'), undefined, 'expired at exactly its time');
  t.equal(cache.size, 0, 'and dropped when seen');
});

t.test('bounded: the least recently used goes first', async (t) => {
  const cache = createTokenCache<string>({ maxEntries: 2, now: () => 0 });
  cache.set('a', 'A', 10);
  cache.set('b', 'B', 10);
  cache.get('a');
  cache.set('c', 'C', 10);
  t.equal(cache.get('b'), undefined, 'b evicted');
  t.equal(cache.get('a'), 'A');
  t.equal(cache.get('c'), 'C');
  cache.delete('a');
  t.equal(cache.get('a'), undefined);
  t.throws(() => createTokenCache({ maxEntries: 0 }), TypeError);
});

t.test('message tokens: until exp - max(30 s, 10 %), never past the subject token', async (t) => {
  const nowMs = 1_000_000;
  t.equal(messageTokenCacheUntil({ nowMs, expiresInSeconds: 86_400, subjectExpMs: nowMs + 1e9 }), nowMs + 86_400_000 * 0.9);
  t.equal(messageTokenCacheUntil({ nowMs, expiresInSeconds: 120, subjectExpMs: nowMs + 1e9 }), nowMs + 90_000, '30 s floor');
  t.equal(messageTokenCacheUntil({ nowMs, expiresInSeconds: 86_400, subjectExpMs: nowMs + 600_000 }), nowMs + 600_000);
  t.ok(messageTokenCacheUntil({ nowMs, expiresInSeconds: 20, subjectExpMs: nowMs + 1e9 }) <= nowMs, 'too short: not cached');
});

t.test('API-key JWTs: at most the cache window, and before the JWT expires', async (t) => {
  const nowMs = 5_000;
  t.equal(apiKeyCacheUntil({ nowMs, expiresInSeconds: 300, cacheSeconds: 60 }), nowMs + 60_000);
  t.equal(apiKeyCacheUntil({ nowMs, expiresInSeconds: 60, cacheSeconds: 60 }), nowMs + 30_000);
  t.equal(apiKeyCacheUntil({ nowMs, expiresInSeconds: 300, cacheSeconds: 0 }), nowMs, '0 = no cache');
});

t.test('only unsafe methods on exchange routes mint', async (t) => {
  const route = { exchange: { audience: ['a'], producer: 'sales' } };
  for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) t.ok(needsMessageToken(route, m), m);
  for (const m of ['GET', 'HEAD', 'OPTIONS']) t.notOk(needsMessageToken(route, m), m);
  t.notOk(needsMessageToken({}, 'POST'), 'no exchange block');
  t.not(messageCacheKey('j', 'r1'), messageCacheKey('j', 'r2'));
});

t.test('the exchange body repeats audience and carries the extensions', async (t) => {
  const body = exchangeBody({
    subjectToken: 'tok',
    subjectTokenType: 'urn:ietf:params:oauth:token-type:access_token',
    audience: ['x', 'y'],
    scope: 'orders.created',
    requestedLifetime: 60,
    producer: 'sales',
  });
  t.same(body.getAll('audience'), ['x', 'y']);
  t.equal(body.get('grant_type'), 'urn:ietf:params:oauth:grant-type:token-exchange');
  t.equal(body.get('requested_lifetime'), '60');
  t.equal(body.get('producer'), 'sales');
  t.equal(exchangeBody({ subjectToken: 's', subjectTokenType: 't', audience: ['a'] }).has('scope'), false);
});

t.test('client errors are typed', async (t) => {
  const answer = (status: number, body: unknown) => async () =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const make = (fetchImpl: typeof fetch) =>
    createTokenServiceClient({ url: 'http://ts', clientId: 'gateway', clientSecret: 's', timeoutMs: 50, fetch: fetchImpl });
  const req = { subjectToken: 's', subjectTokenType: 't', audience: ['a'] };
  const error = (fetchImpl: typeof fetch) => make(fetchImpl).exchange(req).catch((e: TokenServiceError) => e);
  t.match(await error(answer(400, { error: 'invalid_scope' })), { kind: 'refused', reason: 'invalid_scope' });
  t.match(await error(answer(401, { error: 'invalid_client' })), { kind: 'unavailable', reason: 'invalid_client' });
  t.match(await error(answer(503, {})), { kind: 'unavailable', reason: 'server_error' });
  t.match(await error(answer(200, { nope: 1 })), { kind: 'unavailable', reason: 'invalid_response' });
  t.match(await error(async () => Promise.reject(new TypeError('fetch failed'))), { kind: 'unavailable', reason: 'unreachable' });
  const hang: typeof fetch = (_url, init) =>
    new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
  // AbortSignal.timeout's timer does not keep the process alive; this one does, meanwhile.
  const keepAlive = setTimeout(() => {}, 1000);
  t.match(await error(hang), { kind: 'unavailable', reason: 'timeout' });
  clearTimeout(keepAlive);
  const ok = await make(answer(200, { access_token: 'jwt', expires_in: 60, issued_token_type: 'x', scope: 'a b' })).exchange(req);
  t.same(ok, { token: 'jwt', expiresIn: 60, issuedTokenType: 'x', scope: 'a b' });
  let auth = '';
  await make(async (_u, init) => {
    auth = new Headers(init?.headers).get('authorization') ?? '';
    return answer(200, { access_token: 'jwt', expires_in: 60 })();
  }).exchange(req);
  t.equal(auth, `Basic ${Buffer.from('gateway:s').toString('base64')}`, 'client_secret_basic');
});

t.test('API key format and cache key', async (t) => {
  const key = 'gth_test_0123456789abcdef0123456789ABCDEF';
  t.same(readApiKey(['X-API-Key', key], key), { key });
  t.same(readApiKey([], undefined), { refusal: 'missing' });
  t.same(readApiKey(['x-api-key', 'gth_prod_x'], 'gth_prod_x'), { refusal: 'malformed' });
  t.same(readApiKey(['x-api-key', `${key}0`], `${key}0`), { refusal: 'malformed' });
  t.same(readApiKey(['x-api-key', key, 'X-Api-Key', key], key), { refusal: 'repeated' });
  t.equal(apiKeyPrefix(key), 'gth_test_012345');
  const hmac = apiKeyCacheKey();
  t.equal(hmac(key), hmac(key));
  t.not(hmac(key), key);
  t.not(apiKeyCacheKey()(key), hmac(key), 'a secret per process');
});

t.test('GATEWAY_CLIENT_SECRET: dev default in development, refused in production', async (t) => {
  const { DEV_GATEWAY_CLIENT_SECRET, loadGatewayConfig } = await import('../src/config.ts');
  t.equal(loadGatewayConfig({ NODE_ENV: 'test' }).GATEWAY_CLIENT_SECRET, DEV_GATEWAY_CLIENT_SECRET);
  const production = {
    NODE_ENV: 'production',
    TOKEN_SERVICE_URL: 'https://id.example.com',
    ROUTES_FILE: '/etc/gatehouse/routes.json',
    REDIS_URL: 'rediss://redis.example.com:6380',
  };
  t.equal(loadGatewayConfig(production).GATEWAY_CLIENT_SECRET, undefined, 'no default in production');
  const refused = (env: Record<string, string>): string[] => {
    try {
      loadGatewayConfig(env);
      return [];
    } catch (error) {
      return (error as { settings: string[] }).settings;
    }
  };
  t.same(refused({ ...production, GATEWAY_CLIENT_SECRET: DEV_GATEWAY_CLIENT_SECRET }), ['GATEWAY_CLIENT_SECRET']);
  t.same(refused({ NODE_ENV: 'test', API_KEY_CACHE_SECONDS: '61' }), ['API_KEY_CACHE_SECONDS']);
  t.same(refused({ NODE_ENV: 'test', MESSAGE_TOKEN_HEADER: 'x-message-token' }), ['MESSAGE_TOKEN_HEADER']);
});
