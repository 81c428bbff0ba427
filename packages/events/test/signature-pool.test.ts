// The signature pool answers exactly as the event loop's check does, for every algorithm and
// every kind of bad signature, batched or not; and a pool that cannot answer fails its checks as
// transient (ERR_SIGNATURE_POOL), never as a verdict.
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import t from 'tap';
import { type ConfirmationKey, confirmationKey } from '../src/cnf.ts';
import { createSignaturePool, SignaturePoolError } from '../src/signature-pool.ts';
import { IN_THREAD } from '../src/signature.ts';

const ALL = new Set(['ES256', 'ES384', 'ES512', 'EdDSA', 'RS256', 'PS256']);
const CURVES: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

interface Signer {
  alg: string;
  cnf: ConfirmationKey;
  sign(input: string): string;
}

async function signer(alg: string): Promise<Signer> {
  const pair =
    alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : alg.startsWith('ES')
        ? generateKeyPairSync('ec', { namedCurve: CURVES[alg]! })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...pair.publicKey.export({ format: 'jwk' }), alg };
  const cnf = await confirmationKey({ jwk }, ALL);
  const hash = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`;
  const options = (key: KeyObject) =>
    alg.startsWith('ES')
      ? { key, dsaEncoding: 'ieee-p1363' as const }
      : alg.startsWith('PS')
        ? { key, padding: 6, saltLength: 32 }
        : key;
  return { alg, cnf, sign: (input) => sign(hash, Buffer.from(input), options(pair.privateKey)).toString('base64url') };
}

const signers = await Promise.all([...ALL].map(signer));
const es256 = signers[0]!;

t.test('the pool accepts exactly what the event loop accepts', async (t) => {
  const pool = createSignaturePool({ threads: 2 });
  t.teardown(() => pool.close());
  const input = 'eyJhbGciOiJFUzI1NiJ9.eyJldnQiOiIxIn0';
  const other = signers[1]!;
  for (const s of signers) {
    const good = s.sign(input);
    const cases: Array<[string, ConfirmationKey, string, string, boolean]> = [
      ['valid', s.cnf, input, good, true],
      ['input changed', s.cnf, `${input}x`, good, false],
      ['signature of another key', s.cnf, input, (s === other ? es256 : other).sign(input), false],
      ['signature cut short', s.cnf, input, good.slice(0, 20), false],
      ['not base64url', s.cnf, input, '!!!!', false],
      ['key of another algorithm', { ...s.cnf, alg: s.alg === 'ES256' ? 'ES384' : 'ES256' }, input, good, false],
    ];
    for (const [label, key, signingInput, signature, expected] of cases) {
      t.equal(IN_THREAD.check(key, signingInput, signature), expected, `${s.alg} ${label}: event loop`);
      t.equal(await pool.check(key, signingInput, signature), expected, `${s.alg} ${label}: pool`);
    }
    // The thread imports the key from its material: material that is no key verifies nothing.
    t.equal(await pool.check({ ...s.cnf, material: '{"kty":"EC"}' }, input, good), false, `${s.alg} bad material: pool`);
  }
});

t.test('checks asked for together are answered each for itself, across batches', async (t) => {
  const pool = createSignaturePool({ threads: 1, maxBatch: 8 });
  t.teardown(() => pool.close());
  const inputs = Array.from({ length: 50 }, (_, i) => `input-${i}`);
  const signatures = inputs.map((input, i) => (i % 3 === 0 ? es256.sign(`${input}-tampered`) : es256.sign(input)));
  const answers = await Promise.all(inputs.map((input, i) => pool.check(es256.cnf, input, signatures[i]!)));
  t.same(
    answers,
    inputs.map((_, i) => i % 3 !== 0),
    'every third check fails, the others pass, in order',
  );
});

t.test('a closed pool fails its checks as transient', async (t) => {
  const pool = createSignaturePool({ threads: 1 });
  const pending = pool.check(es256.cnf, 'a', es256.sign('a'));
  await pool.close();
  await t.rejects(pending, { name: 'SignaturePoolError', code: 'ERR_SIGNATURE_POOL' }, 'asked before close');
  await t.rejects(pool.check(es256.cnf, 'a', es256.sign('a')), SignaturePoolError, 'asked after close');
});

t.test('a thread that dies fails its checks as transient; the next check gets a new thread', async (t) => {
  const workerUrl = new URL('./support/crashing-signature-worker.ts', import.meta.url);
  const pool = createSignaturePool({ threads: 1, workerUrl });
  t.teardown(() => pool.close());
  t.equal(await pool.check(es256.cnf, 'a', es256.sign('a')), true, 'the thread works');
  await t.rejects(pool.check(es256.cnf, 'crash', es256.sign('crash')), { code: 'ERR_SIGNATURE_POOL' });
  t.equal(await pool.check(es256.cnf, 'b', es256.sign('b')), true, 'a new thread answers');
});

t.test('bad options', async (t) => {
  for (const threads of [0, 17, 1.5, Number.NaN]) {
    t.throws(() => createSignaturePool({ threads }), TypeError, `threads ${threads}`);
  }
  for (const maxBatch of [0, -1, 2.5]) {
    t.throws(() => createSignaturePool({ threads: 1, maxBatch }), TypeError, `maxBatch ${maxBatch}`);
  }
});
