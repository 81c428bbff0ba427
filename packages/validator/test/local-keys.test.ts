// localKeys follows key rotation by object identity: a new JWKS object is picked up at once.
import { exportJWK } from 'jose';
import t from 'tap';
import { createValidator, localKeys, TokenValidationError } from '../src/index.ts';
import { refuses } from './support/assert.ts';
import { ACCESS, ISSUER, makeKey, NOW, sign } from './support/tokens.ts';

const k1 = await makeKey('k1');
const k2 = await makeKey('k2');

t.test('a rotated JWKS (new object) is used at once', async (t) => {
  let jwks: { keys: object[] } = { keys: [k1.jwk] };
  let calls = 0;
  const validator = createValidator({
    issuer: ISSUER,
    keys: localKeys(() => {
      calls++;
      return jwks;
    }),
    now: () => NOW,
    cache: false,
  });
  t.equal((await validator.verify(await sign(k1), ACCESS)).sub, 'user-1');
  await refuses(t, validator.verify(await sign(k2), ACCESS), 'ERR_TOKEN_KEY_UNKNOWN', 'k2 not yet published');
  jwks = { keys: [k1.jwk, k2.jwk] };
  t.equal((await validator.verify(await sign(k2), ACCESS)).sub, 'user-1', 'k2 after rotation');
  jwks = { keys: [k2.jwk] };
  await refuses(t, validator.verify(await sign(k1), ACCESS), 'ERR_TOKEN_KEY_UNKNOWN', 'k1 retired');
  t.equal(calls, 4, 'getJwks is asked on every lookup');
});

t.test('an invalid JWKS or a private key is no key', async (t) => {
  const broken = localKeys(() => ({ keys: 'nope' }) as unknown as { keys: object[] });
  await t.rejects(broken({ alg: 'ES256', kid: 'k1' }), { code: 'ERR_TOKEN_KEY_UNKNOWN' }, 'not a JWKS');
  const privateJwk = { ...(await exportJWK(k1.privateKey)), kid: 'k1', alg: 'ES256' };
  const withPrivate = localKeys(() => ({ keys: [privateJwk] }));
  const error = await withPrivate({ alg: 'ES256', kid: 'k1' }).catch((e: unknown) => e);
  t.ok(error instanceof TokenValidationError, 'private key material is never used');
  t.equal((error as TokenValidationError).code, 'ERR_TOKEN_KEY_UNKNOWN');
});
