// KeyRing: what the token service signs with and publishes. Checked with real signatures: a token
// signed by any published key verifies against publicJwks(), and not once its key is revoked.
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT } from 'jose';
import t from 'tap';
import { KeyStoreError } from '../src/errors.ts';
import { KeyRing } from '../src/keyring.ts';
import { activateKey, emergencyRevoke, generateKey, pruneKeys } from '../src/lifecycle.ts';
import { ensureDevKeyStore } from '../src/store.ts';
import type { KeyStoreFile, ProviderJwk } from '../src/types.ts';
import { at, EMPTY, everyState, keyOf, PRIVATE_MEMBERS } from './fixtures.ts';

async function sign(jwk: ProviderJwk, claims: Record<string, unknown> = { sub: 'u1' }): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'JWT' })
    .setIssuedAt()
    .sign(await importJWK(jwk, jwk.alg));
}

async function verifies(ring: KeyRing, token: string): Promise<boolean> {
  try {
    await jwtVerify(token, createLocalJWKSet(ring.publicJwks()));
    return true;
  } catch {
    return false;
  }
}

t.test('fromStore refuses a store without an active key', async (t) => {
  t.throws(() => KeyRing.fromStore(EMPTY), { name: 'KeyStoreError', code: 'KEYSTORE_NO_ACTIVE_KEY' });
  const { store } = await generateKey(EMPTY, { now: at(0) });
  t.throws(
    () => KeyRing.fromStore(store),
    { code: 'KEYSTORE_NO_ACTIVE_KEY' },
    'a next key alone does not sign',
  );
});

t.test('fromStore refuses two active keys', async (t) => {
  const { store } = await everyState();
  const twoActive: KeyStoreFile = structuredClone(store);
  for (const key of twoActive.keys) if (key.state === 'next') key.state = 'active';
  t.throws(() => KeyRing.fromStore(twoActive), { code: 'KEYSTORE_CORRUPT' });
});

t.test('fromStore refuses an active key without private material', async (t) => {
  const { store, active } = await everyState();
  const broken = structuredClone(store);
  delete keyOf(broken, active).privateJwk;
  const error = (() => {
    try {
      return KeyRing.fromStore(broken);
    } catch (e) {
      return e;
    }
  })();
  t.ok(error instanceof KeyStoreError);
  t.equal((error as KeyStoreError).code, 'KEYSTORE_CORRUPT');
});

t.test('publishes active first, then next and retiring, never revoked', async (t) => {
  const { store, revoked, retiring, active, next } = await everyState();
  t.same(
    store.keys.map((key) => key.kid),
    [revoked, retiring, active, next],
    'fixture file order puts active in the middle',
  );
  const ring = KeyRing.fromStore(store);
  t.equal(ring.activeKid, active);
  t.equal(ring.activeAlg, 'RS256');
  const kids = ring.providerJwks().keys.map((jwk) => jwk.kid);
  t.equal(kids[0], active, 'oidc-provider signs with the first matching key: the active one');
  t.same(kids.slice(1).sort(), [next, retiring].sort());
  t.same(
    ring.publicJwks().keys.map((jwk) => jwk.kid),
    kids,
    'public set is the same keys in the same order',
  );
  t.ok(ring.has(active) && ring.has(next) && ring.has(retiring));
  t.notOk(ring.has(revoked), 'revoked kid is not published');
  t.notOk(ring.has('unknown'));
  t.same(
    ring.describe().map((k) => [k.kid, k.state]),
    [
      [active, 'active'],
      [next, 'next'],
      [retiring, 'retiring'],
    ],
  );
});

t.test('provider JWKs carry kid, alg and use; public JWKs carry no private members', async (t) => {
  const { store } = await everyState();
  const ring = KeyRing.fromStore(store);
  for (const jwk of ring.providerJwks().keys) {
    t.equal(jwk.use, 'sig');
    t.ok(jwk.kid && jwk.alg);
    t.ok(jwk.d, `${jwk.kid}: provider JWK is private`);
  }
  const publicKeys = ring.publicJwks().keys;
  t.same(publicKeys.map((jwk) => jwk.kty).sort(), ['EC', 'OKP', 'RSA']);
  for (const jwk of publicKeys) {
    for (const member of PRIVATE_MEMBERS) t.notOk(member in jwk, `${jwk.kty} public JWK has no ${member}`);
  }
  t.notMatch(JSON.stringify(ring.publicJwks()), /"d"/);
});

t.test('signingKey signs tokens that verify against publicJwks', async (t) => {
  const { store, active } = await everyState();
  const ring = KeyRing.fromStore(store);
  const signing = ring.signingKey();
  t.equal(signing.kid, active);
  t.equal(signing.alg, 'RS256');
  const token = await sign(signing.privateJwk);
  t.ok(await verifies(ring, token));
});

t.test('rotation: old tokens verify until prune; a revoked key stops verifying at once', async (t) => {
  const first = await generateKey(EMPTY, { alg: 'ES256', now: at(0) });
  let store = activateKey(first.store, first.key.kid, { now: at(600) }).store;
  const oldToken = await sign(KeyRing.fromStore(store).signingKey().privateJwk);

  const second = await generateKey(store, { alg: 'EdDSA', now: at(1000) });
  store = second.store;
  t.ok(await verifies(KeyRing.fromStore(store), oldToken), 'after generate');
  store = activateKey(store, second.key.kid, { now: at(1600) }).store;
  const ring = KeyRing.fromStore(store);
  t.equal(ring.activeKid, second.key.kid);
  t.ok(await verifies(ring, oldToken), 'after activate: the retiring key still verifies');
  t.ok(await verifies(ring, await sign(ring.signingKey().privateJwk)), 'new tokens verify');

  const tooEarly = pruneKeys(store, { now: at(1601) }).store;
  t.ok(await verifies(KeyRing.fromStore(tooEarly), oldToken), 'prune before retention keeps it');
  const retireAfter = new Date(keyOf(store, first.key.kid).retireAfter!);
  const pruned = pruneKeys(store, { now: retireAfter }).store;
  t.notOk(await verifies(KeyRing.fromStore(pruned), oldToken), 'after prune it no longer verifies');

  const revoked = emergencyRevoke(store, first.key.kid, { now: at(1700) }).store;
  t.notOk(await verifies(KeyRing.fromStore(revoked), oldToken), 'revoked: no longer verifies');
});

t.test('a ring is isolated from later changes to the store and to returned objects', async (t) => {
  const { store, active } = await everyState();
  const ring = KeyRing.fromStore(store);
  const jwks = ring.providerJwks();
  (jwks.keys[0] as { kid: string }).kid = 'tampered';
  keyOf(store, active).state = 'retiring';
  t.equal(ring.providerJwks().keys[0]?.kid, active);
  t.equal(ring.signingKey().kid, active);
});

t.test('containsDevKeys', async (t) => {
  const { store } = await everyState();
  t.equal(KeyRing.fromStore(store).containsDevKeys, false);
  const dev = await ensureDevKeyStore(`${t.testdir()}/keystore.json`);
  const ring = KeyRing.fromStore(dev);
  t.equal(ring.containsDevKeys, true);
  t.ok(await verifies(ring, await sign(ring.signingKey().privateJwk)), 'dev key signs and verifies');
});
