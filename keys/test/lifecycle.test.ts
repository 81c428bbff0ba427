// The pure state machine: every transition, every refusal, and that inputs are never mutated.
import { calculateJwkThumbprint } from 'jose';
import t from 'tap';
import { KeyLifecycleError } from '../src/errors.ts';
import {
  activateKey,
  DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  DEFAULT_REPLAY_WINDOW_SECONDS,
  emergencyRevoke,
  generateKey,
  pruneKeys,
  retireKey,
} from '../src/lifecycle.ts';
import { checkKeyStore } from '../src/schema.ts';
import type { KeyStoreFile } from '../src/types.ts';
import { at, EMPTY, everyState, keyOf, oneActive, T0 } from './fixtures.ts';

/** Schema problems of a store produced by a transition; [] means it would be accepted on read. */
async function problemsOf(store: KeyStoreFile): Promise<string[]> {
  const result = await checkKeyStore(store);
  return result.ok ? [] : result.problems;
}

function frozenCopy(store: KeyStoreFile): KeyStoreFile {
  return structuredClone(store);
}

t.test('generateKey', async (t) => {
  for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
    t.test(alg, async (t) => {
      const { store, key, changes } = await generateKey(EMPTY, { alg, now: T0 });
      t.equal(key.state, 'next');
      t.equal(key.alg, alg);
      t.equal(key.use, 'sig');
      t.equal(key.publishedAt, T0.toISOString(), 'published from the moment it exists');
      t.equal(
        key.kid,
        await calculateJwkThumbprint(key.privateJwk!, 'sha256'),
        'kid is the RFC 7638 thumbprint',
      );
      t.ok(key.privateJwk?.d, 'private material kept in the store');
      t.same(changes, [{ kid: key.kid, alg, from: null, to: 'next' }]);
      t.same(EMPTY.keys, [], 'input store untouched');
      t.equal(store.keys.length, 1);
      t.same(await problemsOf(store), [], 'resulting store passes the strict schema');
    });
  }

  t.test('defaults to ES256', async (t) => {
    const { key } = await generateKey(EMPTY, { now: T0 });
    t.equal(key.alg, 'ES256');
  });

  t.test('refuses an unsupported alg', async (t) => {
    for (const alg of ['HS256', 'none', 'es256', 'PS256', '']) {
      await t.rejects(
        generateKey(EMPTY, { alg, now: T0 }),
        { name: 'KeyLifecycleError', code: 'BAD_ALG' },
        alg,
      );
    }
  });
});

t.test('activateKey', async (t) => {
  t.test('refuses before the JWKS max cache age has passed, allows it at the boundary', async (t) => {
    const { store, key } = await generateKey(EMPTY, { now: T0 });
    const before = frozenCopy(store);
    t.throws(() => activateKey(store, key.kid, { now: at(599), jwksMaxAgeSeconds: 600 }), {
      name: 'KeyLifecycleError',
      code: 'NOT_PUBLISHED_LONG_ENOUGH',
      kid: key.kid,
    });
    t.same(store, before, 'refusal leaves the store as it was');
    const result = activateKey(store, key.kid, { now: at(600), jwksMaxAgeSeconds: 600 });
    t.equal(keyOf(result.store, key.kid).state, 'active');
    t.equal(keyOf(result.store, key.kid).activatedAt, at(600).toISOString());
    t.same(result.warnings, []);
    t.same(await problemsOf(result.store), [], 'resulting store passes the strict schema');
  });

  t.test('uses the 10 minute default JWKS max age', async (t) => {
    const { store, key } = await generateKey(EMPTY, { now: T0 });
    t.throws(() => activateKey(store, key.kid, { now: at(599) }), { code: 'NOT_PUBLISHED_LONG_ENOUGH' });
    t.doesNotThrow(() => activateKey(store, key.kid, { now: at(600) }));
  });

  t.test('--force activates early, with a warning', async (t) => {
    const { store, key } = await generateKey(EMPTY, { now: T0 });
    const result = activateKey(store, key.kid, { now: at(5), jwksMaxAgeSeconds: 600, force: true });
    t.equal(keyOf(result.store, key.kid).state, 'active');
    t.equal(result.warnings.length, 1);
    t.match(result.warnings[0], /published for 5s, less than .* 600s/);
  });

  t.test('the previous active key becomes retiring with its retention', async (t) => {
    const { store: one, kid: old } = await oneActive();
    const { store, key } = await generateKey(one, { now: at(1000) });
    const now = at(2000);
    const result = activateKey(store, key.kid, { now });
    const retiring = keyOf(result.store, old);
    t.equal(retiring.state, 'retiring');
    t.equal(retiring.retiringAt, now.toISOString());
    const retention = DEFAULT_MAX_TOKEN_LIFETIME_SECONDS + DEFAULT_REPLAY_WINDOW_SECONDS;
    t.equal(retention, 8 * 24 * 3600, 'defaults: 24 h token lifetime + 7 d replay window');
    t.equal(retiring.retireAfter, at(2000 + retention).toISOString());
    t.same(
      result.changes.map((c) => [c.kid, c.from, c.to]),
      [
        [key.kid, 'next', 'active'],
        [old, 'active', 'retiring'],
      ],
    );
    t.equal(result.store.keys.filter((k) => k.state === 'active').length, 1, 'exactly one active key');
    t.same(await problemsOf(result.store), [], 'resulting store passes the strict schema');
  });

  t.test('retention is configurable', async (t) => {
    const { store: one, kid: old } = await oneActive();
    const { store, key } = await generateKey(one, { now: at(1000) });
    const options = { now: at(2000), maxTokenLifetimeSeconds: 3600, replayWindowSeconds: 60 };
    const result = activateKey(store, key.kid, options);
    t.equal(keyOf(result.store, old).retireAfter, at(2000 + 3660).toISOString());
  });

  t.test('refuses unknown kids and illegal transitions', async (t) => {
    const { store, revoked, retiring, active } = await everyState();
    const now = at(100000);
    t.throws(() => activateKey(store, 'no-such-kid', { now }), { code: 'UNKNOWN_KID' });
    t.throws(() => activateKey(store, active, { now }), {
      code: 'ILLEGAL_TRANSITION',
      message: /it is active/,
    });
    t.throws(() => activateKey(store, retiring, { now }), {
      code: 'ILLEGAL_TRANSITION',
      message: /it is retiring/,
    });
    t.throws(() => activateKey(store, revoked, { now }), {
      code: 'ILLEGAL_TRANSITION',
      message: /it is retired/,
    });
  });

  t.test('refuses nonsense durations', async (t) => {
    const { store, key } = await generateKey(EMPTY, { now: T0 });
    t.throws(() => activateKey(store, key.kid, { now: at(9999), jwksMaxAgeSeconds: -1 }), {
      code: 'BAD_OPTION',
    });
    t.throws(() => activateKey(store, key.kid, { now: at(9999), jwksMaxAgeSeconds: Number.NaN }), {
      code: 'BAD_OPTION',
    });
  });
});

t.test('retireKey', async (t) => {
  t.test('next -> retiring, prunable at once because it never signed', async (t) => {
    const { store: one } = await oneActive();
    const { store, key } = await generateKey(one, { now: at(1000) });
    const result = retireKey(store, key.kid, { now: at(1100) });
    const retired = keyOf(result.store, key.kid);
    t.equal(retired.state, 'retiring');
    t.equal(retired.retireAfter, at(1100).toISOString());
    t.same(result.changes, [
      { kid: key.kid, alg: 'ES256', from: 'next', to: 'retiring', retireAfter: at(1100).toISOString() },
    ]);
    t.same(await problemsOf(result.store), [], 'resulting store passes the strict schema');
  });

  t.test('refuses the active key, unknown kids and keys already past next', async (t) => {
    const { store, revoked, retiring, active } = await everyState();
    const before = frozenCopy(store);
    const now = at(100000);
    t.throws(() => retireKey(store, active, { now }), { code: 'WOULD_LEAVE_NO_ACTIVE_KEY' });
    t.throws(() => retireKey(store, 'nope', { now }), { code: 'UNKNOWN_KID' });
    t.throws(() => retireKey(store, retiring, { now }), { code: 'ILLEGAL_TRANSITION' });
    t.throws(() => retireKey(store, revoked, { now }), { code: 'ILLEGAL_TRANSITION' });
    t.same(store, before);
  });
});

t.test('pruneKeys', async (t) => {
  t.test(
    'removes retiring keys only once their retention has passed, and says why it keeps the rest',
    async (t) => {
      const { store, revoked, retiring, active, next } = await everyState();
      const retireAfter = new Date(keyOf(store, retiring).retireAfter!);

      const early = pruneKeys(store, { now: new Date(retireAfter.getTime() - 1) });
      t.same(early.removed, []);
      t.same(early.changes, []);
      t.equal(early.store.keys.length, store.keys.length);
      const reasons = Object.fromEntries(early.kept.map((k) => [k.kid, k.reason]));
      t.match(reasons[retiring], /retiring: .* until /);
      t.match(reasons[active], /^active/);
      t.match(reasons[next], /^next/);
      t.match(reasons[revoked], /^revoked at /);

      const due = pruneKeys(store, { now: retireAfter });
      t.same(
        due.removed.map((k) => k.kid),
        [retiring],
      );
      t.same(due.changes, [{ kid: retiring, alg: 'EdDSA', from: 'retiring', to: 'retired' }]);
      t.notOk(
        due.store.keys.some((k) => k.kid === retiring),
        'pruned key is gone from the file',
      );
      t.same(due.kept.map((k) => k.kid).sort(), [revoked, active, next].sort());
      t.equal(store.keys.length, 4, 'input untouched');
      t.same(await problemsOf(due.store), [], 'resulting store passes the strict schema');
    },
  );
});

t.test('emergencyRevoke', async (t) => {
  t.test('a retiring key: unpublished, private material destroyed, consequences spelled out', async (t) => {
    const { store, retiring } = await everyState();
    const result = emergencyRevoke(store, retiring, { now: at(9000), jwksMaxAgeSeconds: 300 });
    const key = keyOf(result.store, retiring);
    t.equal(key.state, 'retired');
    t.equal(key.revokedAt, at(9000).toISOString());
    t.equal(key.privateJwk, undefined, 'no private key kept');
    t.equal(key.retireAfter, undefined, 'no retention for a compromised key');
    t.ok(keyOf(store, retiring).privateJwk, 'input untouched');
    const text = result.consequences.join('\n');
    t.match(text, /removed from the published JWKS/);
    t.match(text, /stops verifying/);
    t.match(text, /message tokens/);
    t.match(text, /events/i);
    t.match(text, /300s/);
    t.same(result.changes, [{ kid: retiring, alg: 'EdDSA', from: 'retiring', to: 'retired' }]);
    t.same(await problemsOf(result.store), [], 'resulting store passes the strict schema');
  });

  t.test('a next key never signed: nothing stops verifying', async (t) => {
    const { store, next } = await everyState();
    const result = emergencyRevoke(store, next, { now: at(9000) });
    t.equal(keyOf(result.store, next).state, 'retired');
    t.match(result.consequences.join('\n'), /never signed/);
    t.notMatch(result.consequences.join('\n'), /stops verifying:/);
  });

  t.test('refuses the active key, revoked keys and unknown kids', async (t) => {
    const { store, revoked, active } = await everyState();
    const before = frozenCopy(store);
    t.throws(() => emergencyRevoke(store, active, { now: at(9000) }), {
      code: 'WOULD_LEAVE_NO_ACTIVE_KEY',
      message: /activate it/,
    });
    t.throws(() => emergencyRevoke(store, revoked, { now: at(9000) }), { code: 'ILLEGAL_TRANSITION' });
    t.throws(() => emergencyRevoke(store, 'nope', { now: at(9000) }), { code: 'UNKNOWN_KID' });
    t.same(store, before);
  });
});

t.test('refusals are KeyLifecycleError instances', async (t) => {
  const { store } = await oneActive();
  try {
    activateKey(store, 'nope', { now: T0 });
    t.fail('should have thrown');
  } catch (error) {
    t.ok(error instanceof KeyLifecycleError);
    t.equal((error as KeyLifecycleError).kid, 'nope');
  }
});
