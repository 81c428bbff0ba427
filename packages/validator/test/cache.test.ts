// The verified-token cache: hits skip the key lookup and signature, but never the deny list; entries
// die with the token; profiles never share entries; memory stays bounded.
import t from 'tap';
import { VerifiedTokenCache } from '../src/cache.ts';
import type { TokenProfile, ValidatorOptions } from '../src/index.ts';
import { createValidator, localKeys } from '../src/index.ts';
import { refuses } from './support/assert.ts';
import { ACCESS, accessClaims, ISSUER, MESSAGE, makeKey, NOW, NOW_S, sign } from './support/tokens.ts';

const key = await makeKey('k1');

// A cache hit skips the signature check (it still re-resolves the key, so a withdrawn key ends
// its tokens): count signature checks to tell hits from full verifications.
let signatureChecks = 0;
const subtleVerify = crypto.subtle.verify.bind(crypto.subtle);
crypto.subtle.verify = ((...args: Parameters<typeof subtleVerify>) => {
  signatureChecks++;
  return subtleVerify(...args);
}) as typeof crypto.subtle.verify;

function setup(options: Partial<ValidatorOptions> = {}) {
  const start = signatureChecks;
  let now = NOW;
  const keys = localKeys(() => ({ keys: [key.jwk] }));
  const validator = createValidator({
    issuer: ISSUER,
    keys,
    now: () => now,
    ...options,
  });
  return {
    validator,
    lookups: () => signatureChecks - start,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

t.test('a hit skips the key lookup and returns an independent copy', async (t) => {
  const { validator, lookups } = setup();
  const token = await sign(key);
  const first = await validator.verify(token, ACCESS);
  first.scopes.push('admin');
  first.roles.push('admin');
  const second = await validator.verify(token, ACCESS);
  t.equal(lookups(), 1, 'one signature check for two verifications');
  t.same(second.scopes, ['orders:read', 'orders:write'], "a caller's edit does not leak into the cache");
  t.same(second.roles, ['buyer']);
  t.equal(second.tokenHash, first.tokenHash);
});

t.test('an entry dies with its token: never served expired', async (t) => {
  const { validator, lookups, advance } = setup();
  const token = await sign(key, accessClaims({ exp: NOW_S + 60 }));
  await validator.verify(token, ACCESS);
  advance(59_000);
  await validator.verify(token, ACCESS);
  t.equal(lookups(), 1, 'served from the cache while valid');
  advance(1_000);
  // Now exp == now: the cache no longer serves it; full verification accepts it within tolerance.
  await validator.verify(token, ACCESS);
  t.equal(lookups(), 2, 're-verified after exp');
  advance(5_000);
  const error = await refuses(t, validator.verify(token, ACCESS), 'ERR_TOKEN_EXPIRED');
  t.equal(error?.claims?.jti, 'jti-1');
  t.equal(lookups(), 3, 'tokens accepted within the tolerance window were not cached');
});

t.test('profiles never share an entry', async (t) => {
  const { validator, lookups } = setup();
  const token = await sign(key);
  await validator.verify(token, ACCESS);
  await refuses(t, validator.verify(token, MESSAGE), 'ERR_TOKEN_TYP', 'another kind');
  const sameKindOtherAudience: TokenProfile = { ...ACCESS, audience: 'https://billing.test' };
  await refuses(
    t,
    validator.verify(token, sameKindOtherAudience),
    'ERR_TOKEN_AUDIENCE',
    'same kind, other audience',
  );
  const sameKindOtherTyp: TokenProfile = { ...ACCESS, typ: 'message+jwt' };
  await refuses(t, validator.verify(token, sameKindOtherTyp), 'ERR_TOKEN_TYP', 'same kind, other typ');
  const stricter: TokenProfile = { ...ACCESS, requiredClaims: ['cnf'] };
  await refuses(
    t,
    validator.verify(token, stricter),
    'ERR_TOKEN_CLAIM_MISSING',
    'same kind, more required claims',
  );
  // typ refusals come before any key lookup; the audience and claim refusals needed one each.
  t.equal(lookups(), 3, 'each profile verified in full, none served from the entry');
  const equalProfile: TokenProfile = { ...ACCESS };
  await validator.verify(token, equalProfile);
  t.equal(lookups(), 3, 'an equal profile (another object) shares the entry');
});

t.test('bounded, least recently used evicted first', async (t) => {
  const { validator, lookups } = setup({ cache: { maxEntries: 2 } });
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((jti) => sign(key, accessClaims({ jti }))));
  await validator.verify(a as string, ACCESS);
  await validator.verify(b as string, ACCESS);
  await validator.verify(a as string, ACCESS); // a is now the most recently used
  t.equal(lookups(), 2);
  await validator.verify(c as string, ACCESS); // evicts b
  await validator.verify(a as string, ACCESS);
  t.equal(lookups(), 3, 'a survived');
  await validator.verify(b as string, ACCESS);
  t.equal(lookups(), 4, 'b was evicted');
});

t.test('cache: false and clearCache()', async (t) => {
  const token = await sign(key);
  const off = setup({ cache: false });
  await off.validator.verify(token, ACCESS);
  await off.validator.verify(token, ACCESS);
  t.equal(off.lookups(), 2, 'no cache');
  const zero = setup({ cache: { maxEntries: 0 } });
  await zero.validator.verify(token, ACCESS);
  await zero.validator.verify(token, ACCESS);
  t.equal(zero.lookups(), 2, 'maxEntries 0 is no cache');
  const on = setup();
  await on.validator.verify(token, ACCESS);
  on.validator.clearCache();
  await on.validator.verify(token, ACCESS);
  t.equal(on.lookups(), 2, 'cleared');
});

t.test('failures are not cached', async (t) => {
  const denied = new Set(['jti-1']);
  const { validator, lookups } = setup({ denyList: { has: async (jti) => denied.has(jti) } });
  const token = await sign(key);
  await refuses(t, validator.verify(token, ACCESS), 'ERR_TOKEN_REVOKED');
  denied.clear();
  t.equal(
    (await validator.verify(token, ACCESS)).jti,
    'jti-1',
    'un-revoked: accepted after a full verification',
  );
  t.equal(lookups(), 2);
});

t.test('VerifiedTokenCache unit', async (t) => {
  const cache = new VerifiedTokenCache<string>(3);
  cache.set('expired', 'x', 100, 100);
  t.equal(cache.size, 0, 'an already-expired entry is not stored');
  cache.set('a', 'A', 200, 100);
  t.equal(cache.get('a', 150), 'A');
  t.equal(cache.get('a', 200), undefined, 'expired at exp');
  t.equal(cache.size, 0, 'and dropped');
  for (const k of ['1', '2', '3', '4']) cache.set(k, k, 1000, 0);
  t.equal(cache.size, 3);
  t.equal(cache.get('1', 0), undefined, 'oldest evicted');
  cache.delete('2');
  t.equal(cache.get('2', 0), undefined);
});

t.test('a hit still needs its key: a withdrawn key ends its cached tokens at once', async (t) => {
  let published = [key.jwk];
  const validator = createValidator({
    issuer: ISSUER,
    keys: localKeys(() => ({ keys: published })),
    now: () => NOW,
  });
  const token = await sign(key);
  await validator.verify(token, ACCESS);
  await validator.verify(token, ACCESS);
  published = [];
  await refuses(t, validator.verify(token, ACCESS), 'ERR_TOKEN_KEY_UNKNOWN');
});
