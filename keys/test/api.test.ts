// The contract the token service imports from '@gatehouse/keys': names and signatures are checked
// by the compiler (tsc covers keys/test), behaviour by the other test files.

import {
  activateKey,
  emergencyRevoke,
  ensureDevKeyStore,
  generateKey,
  KeyLifecycleError,
  KeyRing,
  KeyStoreError,
  type KeyStoreFile,
  pruneKeys,
  readKeyStore,
  retireKey,
  type StoredKey,
  writeKeyStore,
} from '@gatehouse/keys';
import t from 'tap';

readKeyStore satisfies (path: string) => Promise<KeyStoreFile>;
writeKeyStore satisfies (path: string, store: KeyStoreFile) => Promise<void>;
ensureDevKeyStore satisfies (path: string) => Promise<KeyStoreFile>;
generateKey satisfies (
  store: KeyStoreFile,
  options: { alg: 'ES256'; now: Date },
) => Promise<{ store: KeyStoreFile; key: StoredKey }>;
activateKey satisfies (
  store: KeyStoreFile,
  kid: string,
  options: { now: Date; jwksMaxAgeSeconds: number; force: boolean },
) => { store: KeyStoreFile; warnings: string[] };
retireKey satisfies (store: KeyStoreFile, kid: string, options: { now: Date }) => { store: KeyStoreFile };
pruneKeys satisfies (
  store: KeyStoreFile,
  options: { now: Date },
) => { store: KeyStoreFile; removed: StoredKey[]; kept: { kid: string; reason: string }[] };
emergencyRevoke satisfies (
  store: KeyStoreFile,
  kid: string,
  options: { now: Date },
) => { store: KeyStoreFile; consequences: string[] };
KeyRing.fromStore satisfies (store: KeyStoreFile) => KeyRing;

t.test('the package entry point exports the runtime API', async (t) => {
  for (const fn of [
    readKeyStore,
    writeKeyStore,
    ensureDevKeyStore,
    generateKey,
    activateKey,
    retireKey,
    pruneKeys,
    emergencyRevoke,
  ]) {
    t.type(fn, 'function', fn.name);
  }
  t.ok(new KeyStoreError('KEYSTORE_CORRUPT', 'x') instanceof Error);
  t.ok(new KeyLifecycleError('UNKNOWN_KID', 'x') instanceof Error);
  const ring = KeyRing.fromStore(await ensureDevKeyStore(`${t.testdir()}/keystore.json`));
  t.type(ring.activeKid, 'string');
  t.equal(ring.containsDevKeys, true);
  t.same(Object.keys(ring.signingKey()).sort(), ['alg', 'kid', 'privateJwk']);
});
