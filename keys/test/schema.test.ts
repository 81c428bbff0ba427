// The strict schema: each rule refuses what it should, with a message that names the problem.
import t from 'tap';
import { checkKeyStore } from '../src/schema.ts';
import type { KeyStoreFile, StoredKey } from '../src/types.ts';
import { everyState, keyOf, oneActive } from './fixtures.ts';

async function problems(store: unknown): Promise<string> {
  const result = await checkKeyStore(store);
  return result.ok ? '' : result.problems.join('\n');
}

function editKey(
  store: KeyStoreFile,
  kid: string,
  edit: (key: Record<string, unknown>) => void,
): KeyStoreFile {
  const copy = structuredClone(store);
  edit(keyOf(copy, kid) as unknown as Record<string, unknown>);
  return copy;
}

t.test('accepts stores produced by the lifecycle', async (t) => {
  const { store } = await everyState();
  t.equal(await problems(store), '');
  t.equal(
    await problems({ version: 1, keys: [] }),
    '',
    'an empty store is valid (nothing to sign with, though)',
  );
});

t.test('refuses malformed stores, naming the problem', async (t) => {
  const { store, active, retiring, revoked, next } = await everyState();
  const cases: [string, unknown, RegExp][] = [
    ['not an object', 'hello', /must be a JSON object/],
    ['unknown version', { version: 7, keys: [] }, /unsupported store version 7/],
    ['missing keys', { version: 1 }, /^keys: .*expected array/],
    ['unknown top-level field', { ...store, extra: true }, /Unrecognized key: "extra"/],
    [
      'unknown key field',
      editKey(store, active, (k) => {
        k.comment = 'hi';
      }),
      /Unrecognized key: "comment"/,
    ],
    [
      'bad state',
      editKey(store, active, (k) => {
        k.state = 'primary';
      }),
      /state: must be next, active/,
    ],
    [
      'bad alg',
      editKey(store, active, (k) => {
        k.alg = 'HS256';
      }),
      /alg: must be ES256, EdDSA or RS256/,
    ],
    [
      'bad use',
      editKey(store, active, (k) => {
        k.use = 'enc';
      }),
      /keys\.\d\.use: .*"sig"/,
    ],
    [
      'bad timestamp',
      editKey(store, active, (k) => {
        k.createdAt = 'yesterday';
      }),
      /createdAt: must be an ISO 8601/,
    ],
    [
      'active without activatedAt',
      editKey(store, active, (k) => {
        delete k.activatedAt;
      }),
      /state active requires activatedAt/,
    ],
    [
      'next with activatedAt',
      editKey(store, next, (k) => {
        k.activatedAt = k.createdAt;
      }),
      /state next must not have activatedAt/,
    ],
    [
      'retiring without retireAfter',
      editKey(store, retiring, (k) => {
        delete k.retireAfter;
      }),
      /state retiring requires retireAfter/,
    ],
    [
      'retiring without private key',
      editKey(store, retiring, (k) => {
        delete k.privateJwk;
      }),
      /state retiring requires privateJwk/,
    ],
    [
      'revoked keeping its private key',
      editKey(store, revoked, (k) => {
        k.privateJwk = keyOf(store, next).privateJwk;
      }),
      /state retired must not have privateJwk/,
    ],
    [
      'alg does not match key type',
      editKey(store, active, (k) => {
        k.alg = 'ES256';
      }),
      /alg ES256 needs a EC key, found RSA/,
    ],
    [
      'kid is not the thumbprint',
      editKey(store, next, (k) => {
        k.kid = 'AAAA';
      }),
      /kid is not the RFC 7638 thumbprint/,
    ],
    [
      'short EC coordinate',
      editKey(store, next, (k) => {
        (k.privateJwk as { x: string }).x = 'AAAA';
      }),
      /x: must encode 32 bytes/,
    ],
    [
      'private member missing',
      editKey(store, next, (k) => {
        delete (k.privateJwk as { d?: string }).d;
      }),
      /privateJwk\.d: .*expected string/,
    ],
    [
      'wrong curve',
      editKey(store, next, (k) => {
        (k.privateJwk as { crv: string }).crv = 'P-384';
      }),
      /privateJwk\.crv: .*"P-256"/,
    ],
  ];
  for (const [name, input, expected] of cases) t.match(await problems(input), expected, name);
});

t.test('refuses duplicate kids and a second active key', async (t) => {
  const { store, kid } = await oneActive();
  const twice = structuredClone(store);
  twice.keys.push(structuredClone(twice.keys[0]!));
  const text = await problems(twice);
  t.match(text, new RegExp(`kid ${kid} appears more than once`));
  t.match(text, /2 keys are active/);
});

t.test('refuses short RSA moduli', async (t) => {
  const { store, active } = await everyState();
  const weak = editKey(store, active, (k) => {
    const jwk = k.privateJwk as StoredKey['privateJwk'] & { n: string };
    jwk.n = jwk.n.slice(0, 171); // ~1024 bits
  });
  t.match(await problems(weak), /RSA modulus must be at least 2048 bits/);
});

t.test('messages never contain key material', async (t) => {
  const { store, next } = await everyState();
  const d = (keyOf(store, next).privateJwk as { d: string }).d;
  const bad = editKey(store, next, (k) => {
    (k.privateJwk as { d: unknown }).d = 12345;
    (k.privateJwk as { x: string }).x = `${d}!`;
  });
  const text = await problems(bad);
  t.not(text, '');
  t.notMatch(text, d);
});
