// When a failed verification is an outage (503) and when it is the token's fault (401); the
// challenge's quoting; the shared access-token profile.
import { TokenValidationError, ValidatorUnavailableError } from '@gatehouse/validator';
import t from 'tap';
import { accessTokenProfile, bearerChallenge, unavailableCode } from '../src/index.ts';

t.test('unavailableCode: outages are 503 codes, token problems are not', async (t) => {
  const keysUp = () => true;
  const keysDown = () => false;
  t.equal(unavailableCode(new ValidatorUnavailableError('redis down'), keysUp), 'ERR_VALIDATOR_UNAVAILABLE');
  const unknownKey = new TokenValidationError('ERR_TOKEN_KEY_UNKNOWN', 'no key');
  t.equal(unavailableCode(unknownKey, keysDown), 'ERR_KEYS_UNAVAILABLE', 'no usable keys: an outage');
  t.equal(unavailableCode(unknownKey, keysUp), undefined, 'keys in hand: the token names no key of ours');
  t.equal(unavailableCode(new TokenValidationError('ERR_TOKEN_EXPIRED', 'expired'), keysDown), undefined);
  t.equal(unavailableCode(new Error('bug'), keysDown), undefined, 'a programmer error is nobody’s outage');
});

t.test('bearerChallenge quotes values that could break out of their quoted-string', async (t) => {
  t.equal(bearerChallenge(), 'Bearer realm="gatehouse"');
  t.equal(
    bearerChallenge({ error: 'invalid_token', error_description: 'bad "x"\\\r\nSet-Cookie: a=b' }),
    `Bearer realm="gatehouse", error="invalid_token", error_description="bad 'x''''Set-Cookie: a=b"`,
  );
});

t.test('accessTokenProfile is RFC 9068 at+jwt for the given audience', async (t) => {
  t.same(accessTokenProfile('urn:gatehouse:api'), { kind: 'access', typ: 'at+jwt', audience: 'urn:gatehouse:api' });
});
