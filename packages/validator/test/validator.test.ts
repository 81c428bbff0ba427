// Every refusal code, each seen with a real token, plus the happy paths that prove the refusals are
// about the one thing being tested (the same token minus that one defect passes).
import type { JWK } from 'jose';
import { exportSPKI, SignJWT } from 'jose';
import t from 'tap';
import type { DenyList, TokenProfile, ValidatorOptions } from '../src/index.ts';
import {
  createValidator,
  isTokenValidationError,
  localKeys,
  sha256Base64url,
  TokenValidationError,
  ValidatorUnavailableError,
} from '../src/index.ts';
import { refuses } from './support/assert.ts';
import {
  ACCESS,
  API,
  accessClaims,
  encodeUnsigned,
  ISSUER,
  MESSAGE,
  makeKey,
  NOW,
  NOW_S,
  sign,
  signRaw,
} from './support/tokens.ts';

const key = await makeKey('k1');
const otherKey = await makeKey('k1'); // same kid, different key pair: a forger's
const rsaKey = await makeKey('r1', 'RS256');
const edKey = await makeKey('e1', 'EdDSA');

function setup(options: Partial<ValidatorOptions> = {}, jwks: JWK[] = [key.jwk, rsaKey.jwk, edKey.jwk]) {
  let lookups = 0;
  const keys = localKeys(() => ({ keys: jwks }));
  const validator = createValidator({
    issuer: ISSUER,
    keys: (header) => {
      lookups++;
      return keys(header);
    },
    now: () => NOW,
    ...options,
  });
  return { validator, lookups: () => lookups };
}

const messageClaims = (overrides: Record<string, unknown> = {}) =>
  accessClaims({
    aud: ['shipping'],
    exp: NOW_S + 3600,
    act: { sub: 'gateway' },
    cnf: { jkt: 'producer-thumbprint' },
    txn: 'txn-1',
    ...overrides,
  });

t.test('accepts a valid access token and returns a typed principal', async (t) => {
  const { validator } = setup();
  const token = await sign(key);
  const p = await validator.verify(token, ACCESS);
  t.equal(p.kind, 'access');
  t.equal(p.sub, 'user-1');
  t.equal(p.clientId, 'web');
  t.same(p.scopes, ['orders:read', 'orders:write']);
  t.same(p.roles, ['buyer']);
  t.equal(p.orgId, 'org-9');
  t.equal(p.subscriptionLevel, 'gold');
  t.equal(p.jti, 'jti-1');
  t.equal(p.iat, NOW_S);
  t.equal(p.exp, NOW_S + 900);
  t.equal(p.tokenHash, sha256Base64url(token));
  t.equal(p.claims.iss, ISSUER);
  t.ok(Object.isFrozen(p.claims), 'claims are frozen');
  t.notOk('act' in p, 'absent optional members are absent');
});

t.test('accepts a message token with act and cnf, and EdDSA and RS256 signatures', async (t) => {
  const { validator } = setup();
  const p = await validator.verify(await sign(key, messageClaims(), { typ: 'message+jwt' }), MESSAGE);
  t.same(p.act, { sub: 'gateway' });
  t.same(p.cnf, { jkt: 'producer-thumbprint' });
  t.equal(p.claims.txn, 'txn-1');
  t.equal((await validator.verify(await sign(edKey), ACCESS)).sub, 'user-1', 'EdDSA');
  t.equal((await validator.verify(await sign(rsaKey), ACCESS)).sub, 'user-1', 'RS256');
});

t.test('typ compares case-insensitively, with or without application/', async (t) => {
  const { validator } = setup({ cache: false });
  for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/At+JWT']) {
    t.equal((await validator.verify(await sign(key, accessClaims(), { typ }), ACCESS)).sub, 'user-1', typ);
  }
  const upper: TokenProfile = { ...ACCESS, typ: 'application/AT+JWT' };
  t.equal((await validator.verify(await sign(key), upper)).sub, 'user-1', 'profile typ is normalised too');
});

t.test('scope, roles and optional claims', async (t) => {
  const { validator } = setup({ cache: false });
  const p = await validator.verify(
    await sign(
      key,
      accessClaims({ scope: '  a  b a ', roles: undefined, org_id: undefined, client_id: undefined }),
    ),
    ACCESS,
  );
  t.same(p.scopes, ['a', 'b'], 'split on spaces, empties and duplicates dropped');
  t.same(p.roles, [], 'no roles claim: []');
  t.notOk('orgId' in p);
  t.notOk('clientId' in p);
  const none = await validator.verify(await sign(key, accessClaims({ scope: undefined })), ACCESS);
  t.same(none.scopes, []);
});

t.test('ERR_TOKEN_MISSING', async (t) => {
  const { validator } = setup();
  await refuses(t, validator.verify(undefined, ACCESS), 'ERR_TOKEN_MISSING', 'undefined');
  await refuses(t, validator.verify('', ACCESS), 'ERR_TOKEN_MISSING', 'empty string');
  await refuses(t, validator.verify(42 as unknown as string, ACCESS), 'ERR_TOKEN_MALFORMED', 'not a string');
});

t.test('ERR_TOKEN_TOO_LARGE, before any parsing or key lookup', async (t) => {
  const { validator, lookups } = setup({ maxTokenBytes: 1024 });
  const big = await sign(key, accessClaims({ padding: 'x'.repeat(2000) }));
  await refuses(t, validator.verify(big, ACCESS), 'ERR_TOKEN_TOO_LARGE', 'a valid but large token');
  await refuses(
    t,
    validator.verify('%'.repeat(5000), ACCESS),
    'ERR_TOKEN_TOO_LARGE',
    'garbage is not even parsed',
  );
  await refuses(t, validator.verify('é'.repeat(600), ACCESS), 'ERR_TOKEN_TOO_LARGE', 'counted in bytes');
  t.equal(lookups(), 0, 'no key lookup');
  const { validator: byDefault } = setup();
  await refuses(t, byDefault.verify('a'.repeat(8193), ACCESS), 'ERR_TOKEN_TOO_LARGE', 'default 8192');
});

t.test('ERR_TOKEN_MALFORMED', async (t) => {
  const { validator, lookups } = setup();
  const good = await sign(key);
  const [h, p, s] = good.split('.') as [string, string, string];
  const cases: Record<string, string> = {
    'one segment': h,
    'two segments': `${h}.${p}`,
    'four segments': `${good}.x`,
    'five segments (JWE)': `${h}.${p}.${p}.${p}.${s}`,
    'empty header': `.${p}.${s}`,
    'empty payload': `${h}..${s}`,
    padding: `${h}=.${p}.${s}`,
    'base64 alphabet (+/)': `${h}.${p}+/.${s}`,
    'impossible length 4n+1': `${h}.${p}.A`,
    'payload of length 4n+1': `${h}.${p.length % 4 === 0 ? `${p}A` : `${p.slice(0, p.length - (p.length % 4) + 1)}`}.${s}`,
    'header not JSON': `${Buffer.from('{"alg":').toString('base64url')}.${p}.${s}`,
    'header is an array': `${Buffer.from('["ES256"]').toString('base64url')}.${p}.${s}`,
    'payload is a string': `${h}.${Buffer.from('"sub"').toString('base64url')}.${s}`,
    'payload not UTF-8': `${h}.${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.${s}`,
    'trailing data': `${h}.${Buffer.from('{"a":1} x').toString('base64url')}.${s}`,
    'whitespace in token': `${h}.${p}.${s} `,
  };
  for (const [name, token] of Object.entries(cases)) {
    await refuses(t, validator.verify(token, ACCESS), 'ERR_TOKEN_MALFORMED', name);
  }
  await refuses(
    t,
    validator.verify(await sign(key, accessClaims(), { kid: 7 }), ACCESS),
    'ERR_TOKEN_MALFORMED',
    'non-string kid',
  );
  t.equal(lookups(), 0, 'no key lookup for a malformed token');
});

t.test('ERR_TOKEN_DUPLICATE_KEY in the header and in the payload (signature valid)', async (t) => {
  const { validator } = setup();
  const header = '{"alg":"ES256","kid":"k1","typ":"at+jwt"}';
  const payload = JSON.stringify(accessClaims());
  t.equal((await validator.verify(await signRaw(key, header, payload), ACCESS)).sub, 'user-1', 'control');
  const dupHeader = '{"alg":"ES256","kid":"k1","typ":"message+jwt","typ":"at+jwt"}';
  await refuses(
    t,
    validator.verify(await signRaw(key, dupHeader, payload), ACCESS),
    'ERR_TOKEN_DUPLICATE_KEY',
    'header',
  );
  const dupPayload = payload.replace('"sub":"user-1"', '"sub":"user-1","sub":"admin"');
  await refuses(
    t,
    validator.verify(await signRaw(key, header, dupPayload), ACCESS),
    'ERR_TOKEN_DUPLICATE_KEY',
    'payload',
  );
  const escaped = payload.replace('"sub":"user-1"', '"sub":"user-1","\\u0073ub":"admin"');
  await refuses(
    t,
    validator.verify(await signRaw(key, header, escaped), ACCESS),
    'ERR_TOKEN_DUPLICATE_KEY',
    'escaped',
  );
  const nested = payload.replace('"sub":"user-1"', '"sub":"user-1","act":{"sub":"gw","sub":"x"}');
  await refuses(
    t,
    validator.verify(await signRaw(key, header, nested), ACCESS),
    'ERR_TOKEN_DUPLICATE_KEY',
    'nested',
  );
});

t.test('ERR_TOKEN_ALG_NOT_ALLOWED', async (t) => {
  const { validator, lookups } = setup();
  const unsigned = encodeUnsigned({ alg: 'none', typ: 'at+jwt' }, accessClaims());
  await refuses(t, validator.verify(unsigned, ACCESS), 'ERR_TOKEN_ALG_NOT_ALLOWED', 'alg none');
  const noneUpper = encodeUnsigned({ alg: 'None', typ: 'at+jwt' }, accessClaims());
  await refuses(t, validator.verify(noneUpper, ACCESS), 'ERR_TOKEN_ALG_NOT_ALLOWED', 'alg None');
  // Alg confusion: HMAC keyed with the public key, which the attacker can download.
  for (const secretText of [await exportSPKI(key.publicKey), JSON.stringify(key.jwk)]) {
    const confused = await new SignJWT(accessClaims())
      .setProtectedHeader({ alg: 'HS256', kid: 'k1', typ: 'at+jwt' })
      .sign(new TextEncoder().encode(secretText));
    await refuses(
      t,
      validator.verify(confused, ACCESS),
      'ERR_TOKEN_ALG_NOT_ALLOWED',
      'HS256 keyed with the public key',
    );
  }
  const missing = await signRaw(key, '{"kid":"k1","typ":"at+jwt"}', JSON.stringify(accessClaims()));
  await refuses(t, validator.verify(missing, ACCESS), 'ERR_TOKEN_ALG_NOT_ALLOWED', 'no alg');
  t.equal(lookups(), 0, 'refused before any key lookup');
  const { validator: esOnly } = setup({ algorithms: ['ES256'] });
  await refuses(
    t,
    esOnly.verify(await sign(rsaKey), ACCESS),
    'ERR_TOKEN_ALG_NOT_ALLOWED',
    'RS256 not in the list',
  );
});

t.test('algorithm options: none and HS* cannot be configured', async (t) => {
  const base = { issuer: ISSUER, keys: localKeys(() => ({ keys: [key.jwk] })) };
  for (const algorithms of [['none'], ['HS256'], ['ES256', 'HS512'], [], ['A128KW']]) {
    t.throws(() => createValidator({ ...base, algorithms }), TypeError, JSON.stringify(algorithms));
  }
  t.doesNotThrow(() => createValidator({ ...base, algorithms: ['ES256', 'PS256'] }));
});

t.test('ERR_TOKEN_HEADER_NOT_ALLOWED: jku, x5u, jwk, x5c', async (t) => {
  const { validator, lookups } = setup();
  const headers: Record<string, unknown> = {
    jku: 'https://attacker.test/jwks.json',
    x5u: 'https://attacker.test/cert.pem',
    jwk: key.jwk,
    x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'],
  };
  for (const [name, value] of Object.entries(headers)) {
    await refuses(
      t,
      validator.verify(await sign(key, accessClaims(), { [name]: value }), ACCESS),
      'ERR_TOKEN_HEADER_NOT_ALLOWED',
      name,
    );
  }
  t.equal(lookups(), 0);
});

t.test('ERR_TOKEN_CRIT_UNSUPPORTED', async (t) => {
  const { validator } = setup();
  const payload = JSON.stringify(accessClaims());
  for (const header of [
    { alg: 'ES256', kid: 'k1', typ: 'at+jwt', crit: ['exp'], exp: 1 },
    { alg: 'ES256', kid: 'k1', typ: 'at+jwt', crit: ['b64'], b64: false },
    { alg: 'ES256', kid: 'k1', typ: 'at+jwt', crit: [] },
  ]) {
    const token = await signRaw(key, JSON.stringify(header), payload);
    await refuses(
      t,
      validator.verify(token, ACCESS),
      'ERR_TOKEN_CRIT_UNSUPPORTED',
      JSON.stringify(header.crit),
    );
  }
});

t.test('ERR_TOKEN_NESTED: cty JWT', async (t) => {
  const { validator } = setup();
  for (const cty of ['JWT', 'jwt', 'application/JWT']) {
    await refuses(
      t,
      validator.verify(await sign(key, accessClaims(), { cty }), ACCESS),
      'ERR_TOKEN_NESTED',
      cty,
    );
  }
});

t.test('ERR_TOKEN_TYP: one kind never passes as another', async (t) => {
  const { validator } = setup();
  const message = await sign(key, messageClaims({ aud: [API, 'shipping'] }), { typ: 'message+jwt' });
  const access = await sign(key, accessClaims({ aud: [API, 'shipping'] }));
  // Both tokens carry both audiences, so only typ tells them apart.
  t.equal((await validator.verify(message, MESSAGE)).kind, 'message', 'control: message as message');
  t.equal((await validator.verify(access, ACCESS)).kind, 'access', 'control: access as access');
  await refuses(t, validator.verify(message, ACCESS), 'ERR_TOKEN_TYP', 'message token as access token');
  await refuses(t, validator.verify(access, MESSAGE), 'ERR_TOKEN_TYP', 'access token as message token');
  await refuses(
    t,
    validator.verify(await sign(key, accessClaims(), { typ: 'JWT' }), ACCESS),
    'ERR_TOKEN_TYP',
    'JWT',
  );
  await refuses(
    t,
    validator.verify(await sign(key, accessClaims(), { typ: undefined }), ACCESS),
    'ERR_TOKEN_TYP',
    'none',
  );
  await refuses(
    t,
    validator.verify(await sign(key, accessClaims(), { typ: 'at+jwt2' }), ACCESS),
    'ERR_TOKEN_TYP',
    'near',
  );
});

t.test('ERR_TOKEN_KEY_UNKNOWN', async (t) => {
  const { validator } = setup();
  const error = await refuses(
    t,
    validator.verify(await sign(key, accessClaims(), { kid: 'secret-kid-name' }), ACCESS),
    'ERR_TOKEN_KEY_UNKNOWN',
    'unknown kid',
  );
  t.notMatch(error?.message ?? '', /secret-kid-name/, 'the message does not echo the kid');
  const failing = createValidator({
    issuer: ISSUER,
    keys: async () => {
      throw new Error('connect ECONNREFUSED 10.0.0.7:443');
    },
    now: () => NOW,
  });
  const failed = await refuses(
    t,
    failing.verify(await sign(key), ACCESS),
    'ERR_TOKEN_KEY_UNKNOWN',
    'source fails',
  );
  t.notMatch(failed?.message ?? '', /10\.0\.0\.7/, 'no internal address in the message');
  const wrongType = createValidator({ issuer: ISSUER, keys: async () => rsaKey.publicKey, now: () => NOW });
  await refuses(
    t,
    wrongType.verify(await sign(key), ACCESS),
    'ERR_TOKEN_KEY_UNKNOWN',
    'key unusable for alg',
  );
  const { validator: twoKeys } = setup({}, [key.jwk, { ...otherKey.jwk, kid: 'k2' }]);
  await refuses(
    t,
    twoKeys.verify(await sign(key, accessClaims(), { kid: undefined }), ACCESS),
    'ERR_TOKEN_KEY_UNKNOWN',
    'no kid and several candidate keys: ambiguous',
  );
  const { validator: oneKey } = setup({}, [key.jwk]);
  t.equal(
    (await oneKey.verify(await sign(key, accessClaims(), { kid: undefined }), ACCESS)).sub,
    'user-1',
    'no kid, one key',
  );
});

t.test('ERR_TOKEN_SIGNATURE', async (t) => {
  const { validator } = setup();
  await refuses(
    t,
    validator.verify(await sign(otherKey), ACCESS),
    'ERR_TOKEN_SIGNATURE',
    "forger's key, our kid",
  );
  const [h, , s] = (await sign(key)).split('.') as [string, string, string];
  const tampered = Buffer.from(JSON.stringify(accessClaims({ roles: ['admin'] }))).toString('base64url');
  await refuses(
    t,
    validator.verify(`${h}.${tampered}.${s}`, ACCESS),
    'ERR_TOKEN_SIGNATURE',
    'tampered payload',
  );
  await refuses(t, validator.verify(`${h}.${tampered}.`, ACCESS), 'ERR_TOKEN_SIGNATURE', 'empty signature');
});

t.test('ERR_TOKEN_ISSUER', async (t) => {
  const { validator } = setup();
  for (const iss of ['https://evil.test', `${ISSUER}/`, ISSUER.toUpperCase()]) {
    await refuses(
      t,
      validator.verify(await sign(key, accessClaims({ iss })), ACCESS),
      'ERR_TOKEN_ISSUER',
      iss,
    );
  }
});

t.test('ERR_TOKEN_AUDIENCE', async (t) => {
  const { validator } = setup();
  await refuses(
    t,
    validator.verify(await sign(key, accessClaims({ aud: 'https://other.test' })), ACCESS),
    'ERR_TOKEN_AUDIENCE',
  );
  await refuses(
    t,
    validator.verify(await sign(key, accessClaims({ aud: ['a', 'b'] })), ACCESS),
    'ERR_TOKEN_AUDIENCE',
    'array',
  );
  const message = await sign(key, messageClaims({ aud: ['shipping'] }), { typ: 'message+jwt' });
  const invoicingOnly: TokenProfile = { ...MESSAGE, audience: 'invoicing' };
  await refuses(t, validator.verify(message, invoicingOnly), 'ERR_TOKEN_AUDIENCE', 'another consumer');
  t.equal(
    (await validator.verify(await sign(key, accessClaims({ aud: ['x', API] })), ACCESS)).sub,
    'user-1',
    'one of',
  );
});

t.test('ERR_TOKEN_EXPIRED carries the verified claims; tolerance is honoured', async (t) => {
  let now = NOW;
  const { validator } = setup({ now: () => now });
  const claims = messageClaims({ exp: NOW_S + 60 });
  const token = await sign(key, claims, { typ: 'message+jwt' });
  now = NOW + 64_000;
  t.equal((await validator.verify(token, MESSAGE)).sub, 'user-1', 'within the 5 s tolerance');
  now = NOW + 65_000;
  const error = await refuses(t, validator.verify(token, MESSAGE), 'ERR_TOKEN_EXPIRED', 'expired');
  t.same(error?.claims, claims, 'the verified claims are attached');
  t.ok(Object.isFrozen(error?.claims), 'and frozen');
  const { validator: strict } = setup({ now: () => NOW + 61_000, clockToleranceSeconds: 0 });
  await refuses(t, strict.verify(token, MESSAGE), 'ERR_TOKEN_EXPIRED', 'no tolerance');
});

t.test('an expired token with another defect is refused for that defect, without claims', async (t) => {
  const { validator } = setup({ now: () => NOW + 3_600_000 });
  const expired = (overrides: Record<string, unknown>) => accessClaims({ exp: NOW_S + 60, ...overrides });
  await refuses(t, validator.verify(await sign(otherKey, expired({})), ACCESS), 'ERR_TOKEN_SIGNATURE');
  await refuses(t, validator.verify(await sign(key, expired({ iss: 'x' })), ACCESS), 'ERR_TOKEN_ISSUER');
  await refuses(t, validator.verify(await sign(key, expired({ aud: 'x' })), ACCESS), 'ERR_TOKEN_AUDIENCE');
  await refuses(
    t,
    validator.verify(await sign(key, expired({}), { typ: 'message+jwt' }), ACCESS),
    'ERR_TOKEN_TYP',
  );
  await refuses(
    t,
    validator.verify(await sign(key, expired({ exp: NOW_S + 901 })), ACCESS),
    'ERR_TOKEN_LIFETIME',
  );
  const denyList: DenyList = { has: async (jti) => jti === 'jti-1' };
  const { validator: denying } = setup({ now: () => NOW + 3_600_000, denyList });
  await refuses(
    t,
    denying.verify(await sign(key, expired({})), ACCESS),
    'ERR_TOKEN_REVOKED',
    'revoked beats expired',
  );
});

t.test('ERR_TOKEN_NOT_YET_VALID', async (t) => {
  const { validator } = setup();
  await refuses(
    t,
    validator.verify(await sign(key, accessClaims({ nbf: NOW_S + 60 })), ACCESS),
    'ERR_TOKEN_NOT_YET_VALID',
    'nbf',
  );
  await refuses(
    t,
    validator.verify(await sign(key, accessClaims({ iat: NOW_S + 60, exp: NOW_S + 600 })), ACCESS),
    'ERR_TOKEN_NOT_YET_VALID',
    'iat in the future',
  );
  t.equal(
    (await validator.verify(await sign(key, accessClaims({ nbf: NOW_S + 4 })), ACCESS)).sub,
    'user-1',
    'tolerance',
  );
});

t.test('ERR_TOKEN_CLAIM_MISSING', async (t) => {
  const { validator } = setup();
  for (const claim of ['jti', 'sub', 'exp', 'iat', 'iss', 'aud']) {
    await refuses(
      t,
      validator.verify(await sign(key, accessClaims({ [claim]: undefined })), ACCESS),
      'ERR_TOKEN_CLAIM_MISSING',
      claim,
    );
  }
  await refuses(
    t,
    validator.verify(await sign(key, accessClaims({ jti: null })), ACCESS),
    'ERR_TOKEN_CLAIM_MISSING',
    'null jti',
  );
  const needsTxn: TokenProfile = { ...MESSAGE, requiredClaims: ['txn', 'act'] };
  const token = await sign(key, messageClaims({ txn: undefined }), { typ: 'message+jwt' });
  await refuses(t, validator.verify(token, needsTxn), 'ERR_TOKEN_CLAIM_MISSING', 'profile-required txn');
});

t.test('ERR_TOKEN_CLAIM_INVALID', async (t) => {
  const { validator } = setup();
  const cases: Record<string, Record<string, unknown>> = {
    'sub number': { sub: 7 },
    'sub empty': { sub: '' },
    'jti object': { jti: { id: 1 } },
    'exp string': { exp: String(NOW_S + 900) },
    'iat string': { iat: 'now' },
    'nbf string': { nbf: 'soon' },
    'aud number': { aud: 5 },
    'aud empty array': { aud: [] },
    'aud array with number': { aud: [API, 5] },
    'scope array': { scope: ['orders:read'] },
    'roles string': { roles: 'admin' },
    'roles with number': { roles: ['buyer', 1] },
    'org_id number': { org_id: 9 },
    'act string': { act: 'gateway' },
    'cnf array': { cnf: ['k'] },
    'exp before iat': { exp: NOW_S - 10, iat: NOW_S },
  };
  for (const [name, overrides] of Object.entries(cases)) {
    await refuses(
      t,
      validator.verify(await sign(key, accessClaims(overrides)), ACCESS),
      'ERR_TOKEN_CLAIM_INVALID',
      name,
    );
  }
});

t.test('ERR_TOKEN_LIFETIME', async (t) => {
  const { validator } = setup();
  await refuses(
    t,
    validator.verify(await sign(key, accessClaims({ exp: NOW_S + 901 })), ACCESS),
    'ERR_TOKEN_LIFETIME',
  );
  t.equal(
    (await validator.verify(await sign(key, accessClaims({ exp: NOW_S + 900 })), ACCESS)).sub,
    'user-1',
    'at the limit',
  );
  const unbounded: TokenProfile = { kind: 'service', typ: 'at+jwt', audience: API };
  t.equal(
    (await validator.verify(await sign(key, accessClaims({ exp: NOW_S + 99_999 })), unbounded)).sub,
    'user-1',
  );
});

t.test('ERR_TOKEN_REVOKED via the deny list, consulted only after the signature verifies', async (t) => {
  const asked: string[] = [];
  const denyList: DenyList = {
    has: async (jti) => {
      asked.push(jti);
      return jti === 'revoked';
    },
  };
  const { validator } = setup({ denyList });
  await refuses(
    t,
    validator.verify(await sign(key, accessClaims({ jti: 'revoked' })), ACCESS),
    'ERR_TOKEN_REVOKED',
  );
  await refuses(
    t,
    validator.verify(await sign(otherKey, accessClaims({ jti: 'forged' })), ACCESS),
    'ERR_TOKEN_SIGNATURE',
  );
  t.same(asked, ['revoked'], 'a forged token never reaches the deny list');
});

t.test('ERR_TOKEN_REVOKED after a cache hit: revocation takes effect at once', async (t) => {
  const denied = new Set<string>();
  let checks = 0;
  const { validator } = setup({
    denyList: {
      has: async (jti) => {
        checks++;
        return denied.has(jti);
      },
    },
  });
  const token = await sign(key);
  await validator.verify(token, ACCESS);
  await validator.verify(token, ACCESS);
  t.equal(checks, 2, 'the deny list is consulted on the cache hit too');
  denied.add('jti-1');
  await refuses(t, validator.verify(token, ACCESS), 'ERR_TOKEN_REVOKED', 'revoked while cached');
});

t.test('a deny list that cannot answer fails closed with 503', async (t) => {
  const { validator } = setup({
    denyList: {
      has: async () => {
        throw new Error('redis down');
      },
    },
  });
  await t.rejects(validator.verify(await sign(key), ACCESS), ValidatorUnavailableError);
  const error = await validator.verify(await sign(key), ACCESS).catch((e: unknown) => e);
  t.equal((error as ValidatorUnavailableError).status, 503);
  t.notOk(error instanceof TokenValidationError, 'not a token problem');
});

t.test('bad profiles and options are programmer errors (TypeError)', async (t) => {
  const { validator } = setup();
  const token = await sign(key);
  await t.rejects(validator.verify(token, { ...ACCESS, audience: [] }), TypeError);
  await t.rejects(validator.verify(token, { ...ACCESS, typ: '' }), TypeError);
  await t.rejects(validator.verify(token, { ...ACCESS, maxLifetimeSeconds: -1 }), TypeError);
  const keys = localKeys(() => ({ keys: [] }));
  t.throws(() => createValidator({ issuer: '', keys }), TypeError);
  t.throws(() => createValidator({ issuer: ISSUER, keys, maxTokenBytes: 0 }), TypeError);
  t.throws(() => createValidator({ issuer: ISSUER, keys, clockToleranceSeconds: -1 }), TypeError);
  t.throws(() => createValidator({ issuer: ISSUER, keys, cache: { maxEntries: -1 } }), TypeError);
  t.throws(() => createValidator({ issuer: ISSUER, keys, denyList: {} as DenyList }), TypeError);
});

t.test('isTokenValidationError narrows', async (t) => {
  const { validator } = setup();
  const error = await validator.verify('nope', ACCESS).catch((e: unknown) => e);
  t.ok(isTokenValidationError(error));
  t.notOk(isTokenValidationError(new Error('x')));
});
