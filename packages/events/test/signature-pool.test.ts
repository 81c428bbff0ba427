// The signature pool answers exactly as the event loop's checkProof does, for every algorithm and
// every kind of bad proof, batched or not; and a pool that cannot answer fails its checks as
// transient (ERR_SIGNATURE_POOL), never as a verdict.
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import t from 'tap';
import { type ConfirmationKey, confirmationKey } from '../src/cnf.ts';
import { digest } from '../src/digest.ts';
import { IN_THREAD } from '../src/proof-check.ts';
import { createSignaturePool, SignaturePoolError } from '../src/signature-pool.ts';

const ALL = new Set(['ES256', 'ES384', 'ES512', 'EdDSA', 'RS256', 'PS256']);
const CURVES: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };
const VALUE = Buffer.from('{"order_id":"o-1","org_id":"acme"}');

interface Signer {
  alg: string;
  cnf: ConfirmationKey;
  sign(input: string): string;
  /** A compact proof over `claims` (default: ones whose dig is VALUE's digest). */
  proof(claims?: Record<string, unknown>, header?: Record<string, unknown>): string;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function claimsFor(evt: string, value: Uint8Array = VALUE): Record<string, unknown> {
  return { evt, evt_type: 'orders.created', src: 'urn:test', time: '2026-01-01T00:00:00Z', dig: digest(value), ath: 'ath', iat: 1 };
}

async function signer(alg: string): Promise<Signer> {
  const pair =
    alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : alg.startsWith('ES')
        ? generateKeyPairSync('ec', { namedCurve: CURVES[alg]! })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...pair.publicKey.export({ format: 'jwk' }), alg, kid: `${alg}-1` };
  const cnf = await confirmationKey({ jwk }, ALL);
  const hash = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`;
  const options = (key: KeyObject) =>
    alg.startsWith('ES')
      ? { key, dsaEncoding: 'ieee-p1363' as const }
      : alg.startsWith('PS')
        ? { key, padding: 6, saltLength: 32 }
        : key;
  const signInput = (input: string) => sign(hash, Buffer.from(input), options(pair.privateKey)).toString('base64url');
  return {
    alg,
    cnf,
    sign: signInput,
    proof(claims = claimsFor('e-1'), header = { alg, kid: `${alg}-1`, typ: 'event-proof+jwt' }) {
      const input = `${b64(header)}.${b64(claims)}`;
      return `${input}.${signInput(input)}`;
    },
  };
}

const signers = await Promise.all([...ALL].map(signer));
const es256 = signers[0]!;

/** What a checker made of a proof: its claims and digest comparison, or its refusal (code: message). */
async function outcome(check: () => unknown): Promise<unknown> {
  try {
    return await check();
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    return `${code}: ${message}`;
  }
}

const refused = (message: string) => `ERR_EVENT_PROOF_INVALID: ${message}`;
const BAD_SIGNATURE = refused('proof signature does not verify under the cnf key');

t.test('the pool accepts and refuses exactly what the event loop does', async (t) => {
  const pool = createSignaturePool({ threads: 2 });
  t.teardown(() => pool.close());
  const other = signers[1]!;
  for (const s of signers) {
    const good = s.proof();
    const [header, , signature] = good.split('.');
    const signingInput = good.slice(0, good.lastIndexOf('.'));
    const foreign = `${signingInput}.${(s === other ? es256 : other).sign(signingInput)}`;
    const cases: Array<[string, ConfirmationKey, string, Uint8Array, unknown]> = [
      ['valid', s.cnf, good, VALUE, { claims: claimsFor('e-1'), digestMatches: true }],
      ['value changed', s.cnf, good, Buffer.from('{"order_id":"o-2"}'), { claims: claimsFor('e-1'), digestMatches: false }],
      ['payload changed', s.cnf, `${header}.${b64(claimsFor('e-2'))}.${signature}`, VALUE, BAD_SIGNATURE],
      ['signature of another key', s.cnf, foreign, VALUE, BAD_SIGNATURE],
      ['signature cut short', s.cnf, good.slice(0, -20), VALUE, BAD_SIGNATURE],
      ['not a compact JWS', s.cnf, 'not.a-jws', VALUE, refused('proof is not a compact JWS')],
      ['key of another algorithm', { ...s.cnf, alg: s.alg === 'ES256' ? 'ES384' : 'ES256' }, good, VALUE, refused('proof alg is not the cnf key algorithm')],
      ['kid of another key', { ...s.cnf, kid: 'other' }, good, VALUE, refused('proof kid does not name the cnf key')],
      ['typ JWT', s.cnf, s.proof(undefined, { alg: s.alg, typ: 'JWT' }), VALUE, refused('proof typ is not event-proof+jwt')],
      ['claim missing', s.cnf, s.proof({ ...claimsFor('e-1'), ath: undefined }), VALUE, refused('proof claim "ath" is missing')],
    ];
    for (const [label, key, proof, value, expected] of cases) {
      t.same(await outcome(() => IN_THREAD.check(proof, key, value)), expected, `${s.alg} ${label}: event loop`);
      t.same(await outcome(() => pool.check(proof, key, value)), expected, `${s.alg} ${label}: pool`);
    }
    // The thread imports the key from its material: material that is no key verifies nothing.
    t.same(await outcome(() => pool.check(good, { ...s.cnf, material: '{"kty":"EC"}' }, VALUE)), BAD_SIGNATURE, `${s.alg} bad material: pool`);
  }
});

t.test('the value travels as its own bytes, not as the buffer it is a view of', async (t) => {
  const pool = createSignaturePool({ threads: 1 });
  t.teardown(() => pool.close());
  // A record's value as kafkajs gives it: a slice of the whole fetched response.
  const fetched = Buffer.concat([Buffer.from('x'.repeat(100)), VALUE, Buffer.from('y'.repeat(100))]);
  const value = fetched.subarray(100, 100 + VALUE.length);
  t.same(await pool.check(es256.proof(), es256.cnf, value), { claims: claimsFor('e-1'), digestMatches: true });
});

t.test('checks asked for together are answered each for itself, across batches', async (t) => {
  const pool = createSignaturePool({ threads: 1, maxBatch: 8 });
  t.teardown(() => pool.close());
  const proofs = Array.from({ length: 50 }, (_, i) => {
    const proof = es256.proof(claimsFor(`e-${i}`));
    return i % 3 === 0 ? proof.replace(/\.[^.]+$/, `.${es256.sign('tampered')}`) : proof;
  });
  const answers = await Promise.all(proofs.map((proof) => outcome(() => pool.check(proof, es256.cnf, VALUE))));
  t.same(
    answers,
    proofs.map((_, i) => (i % 3 === 0 ? BAD_SIGNATURE : { claims: claimsFor(`e-${i}`), digestMatches: true })),
    'every third proof is refused, the others pass with their own claims, in order',
  );
});

t.test('a closed pool fails its checks as transient', async (t) => {
  const pool = createSignaturePool({ threads: 1 });
  const pending = pool.check(es256.proof(), es256.cnf, VALUE);
  await pool.close();
  await t.rejects(pending, { name: 'SignaturePoolError', code: 'ERR_SIGNATURE_POOL' }, 'asked before close');
  await t.rejects(pool.check(es256.proof(), es256.cnf, VALUE), SignaturePoolError, 'asked after close');
});

t.test('a thread that dies fails its checks as transient; the next check gets a new thread', async (t) => {
  const workerUrl = new URL('./support/crashing-signature-worker.ts', import.meta.url);
  const pool = createSignaturePool({ threads: 1, workerUrl });
  t.teardown(() => pool.close());
  const checked = { claims: claimsFor('e-1'), digestMatches: true };
  t.same(await pool.check(es256.proof(), es256.cnf, VALUE), checked, 'the thread works');
  await t.rejects(pool.check(es256.proof(claimsFor('crash')), es256.cnf, VALUE), { code: 'ERR_SIGNATURE_POOL' });
  t.same(await pool.check(es256.proof(), es256.cnf, VALUE), checked, 'a new thread answers');
});

t.test('an answer without a verdict fails the check as transient, never as a refusal', async (t) => {
  const workerUrl = new URL('./support/unanswering-signature-worker.ts', import.meta.url);
  const pool = createSignaturePool({ threads: 1, workerUrl });
  t.teardown(() => pool.close());
  const [failed, unanswered] = await Promise.allSettled([
    pool.check(es256.proof(), es256.cnf, VALUE),
    pool.check(es256.proof(), es256.cnf, VALUE),
  ]);
  t.match(failed, { status: 'rejected', reason: { code: 'ERR_SIGNATURE_POOL', message: /boom/ } }, 'a check that threw on its thread');
  t.match(unanswered, { status: 'rejected', reason: { code: 'ERR_SIGNATURE_POOL', message: /no answer/ } }, 'a check left out of the answer');
});

t.test('bad options', async (t) => {
  for (const threads of [0, 17, 1.5, Number.NaN]) {
    t.throws(() => createSignaturePool({ threads }), TypeError, `threads ${threads}`);
  }
  for (const maxBatch of [0, -1, 2.5]) {
    t.throws(() => createSignaturePool({ threads: 1, maxBatch }), TypeError, `maxBatch ${maxBatch}`);
  }
});
