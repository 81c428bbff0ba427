// Shared builders for the tests: stores in known states at known times, built with the real
// lifecycle functions so fixtures cannot drift from what the code produces.
import { activateKey, emergencyRevoke, generateKey } from '../src/lifecycle.ts';
import type { KeyAlg, KeyStoreFile, StoredKey } from '../src/types.ts';

export const T0 = new Date('2030-01-01T00:00:00.000Z');

/** T0 plus `seconds`. */
export function at(seconds: number): Date {
  return new Date(T0.getTime() + seconds * 1000);
}

export const EMPTY: KeyStoreFile = { version: 1, keys: [] };

export async function withNextKey(store: KeyStoreFile, now: Date, alg: KeyAlg = 'ES256') {
  return generateKey(store, { alg, now });
}

/** One active key (activated at T0 + 600 s, no waiting involved). */
export async function oneActive(alg: KeyAlg = 'ES256'): Promise<{ store: KeyStoreFile; kid: string }> {
  const { store, key } = await generateKey(EMPTY, { alg, now: T0 });
  return { store: activateKey(store, key.kid, { now: at(600) }).store, kid: key.kid };
}

/**
 * The full picture: `revoked` (retired by emergency revoke), `retiring` (replaced by `active`) and
 * `next`, in that file order, so ordering rules are visible. Time is T0 + 2 h afterwards.
 */
export async function everyState(): Promise<{
  store: KeyStoreFile;
  revoked: string;
  retiring: string;
  active: string;
  next: string;
}> {
  const first = await generateKey(EMPTY, { alg: 'ES256', now: T0 });
  const revoked = first.key.kid;
  let store = activateKey(first.store, revoked, { now: at(600) }).store;
  const retiringGen = await generateKey(store, { alg: 'EdDSA', now: at(700) });
  store = activateKey(retiringGen.store, retiringGen.key.kid, { now: at(1400) }).store;
  store = emergencyRevoke(store, revoked, { now: at(1500) }).store;
  const activeGen = await generateKey(store, { alg: 'RS256', now: at(1600) });
  store = activateKey(activeGen.store, activeGen.key.kid, { now: at(2300) }).store;
  const nextGen = await generateKey(store, { alg: 'ES256', now: at(7200) });
  return {
    store: nextGen.store,
    revoked,
    retiring: retiringGen.key.kid,
    active: activeGen.key.kid,
    next: nextGen.key.kid,
  };
}

export function keyOf(store: KeyStoreFile, kid: string): StoredKey {
  const key = store.keys.find((candidate) => candidate.kid === kid);
  if (key === undefined) throw new Error(`fixture: no key ${kid}`);
  return key;
}

/** Private JWK members that must never appear in public output. */
export const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
