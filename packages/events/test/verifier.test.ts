// createEventVerifier with real tokens and a real validator: the round trip, then each refusal of
// docs/events.md's verification order on a record that differs from an accepted one by one defect.
import { CompactSign } from 'jose';
import t, { type Test } from 'tap';
import type { Validator } from '@gatehouse/validator';
import { createValidator, localKeys, ValidatorUnavailableError } from '@gatehouse/validator';
import type { EventRecord, EventVerifier } from '../src/index.ts';
import {
  createEventVerifier,
  createProofSigner,
  createSignaturePool,
  digest,
  encodeData,
  encodeEvent,
  HEADER,
  SIZE_BUDGET,
  STRICT_POLICY,
} from '../src/index.ts';
import { refuses } from './support/assert.ts';
import type { World } from './support/fixtures.ts';
import {
  attributes,
  expiredMessageToken,
  HOUR,
  INVOICING,
  ISSUER,
  makeKey,
  makeWorld,
  messageToken,
  NOW,
  NOW_S,
  orderData,
  publicOnly,
  replayGrant,
  SHIPPING,
  sealed,
  signJwt,
  signRaw,
  verifier,
  withHeaders,
} from './support/fixtures.ts';

const world = await makeWorld();
// The same verifier with its proofs checked on a signature pool's thread: steps 4-6 must refuse
// alike (code and message) on both paths.
const pool = createSignaturePool({ threads: 1 });
t.teardown(() => pool.close());
const pooled = () =>
  createEventVerifier({ validator: world.validator, audience: SHIPPING, policy: STRICT_POLICY, now: () => NOW, signatures: pool });

/** Both verifiers refuse `record` with `code`, and with the same message. */
async function bothRefuse(t: Test, record: EventRecord, code: string, label: string) {
  const here = await refuses(t, verifier(world).verify(record), code, label);
  const there = await refuses(t, pooled().verify(record), code, `${label} (pool)`);
  t.equal(there?.message, here?.message, `${label}: the same message on both paths`);
}

t.test('round trip: sealed by the producer, accepted by the consumer', async (t) => {
  const token = await messageToken(world);
  const record = await sealed(world, { token });
  const accepted = await verifier(world).verify(record);
  t.equal(accepted.basis, 'fresh');
  t.notOk('replay' in accepted);
  t.equal(accepted.attributes.id, record.headers.ce_id);
  t.same(accepted.data, orderData());
  t.equal(accepted.principal.sub, 'user-1');
  t.equal(accepted.principal.orgId, 'org-9');
  t.same(accepted.principal.scopes, ['orders.created']);
  t.same(accepted.principal.act, { sub: 'gateway', client_id: 'gateway' });
  t.equal(accepted.principal.tokenHash, digest(token));
  t.ok(await verifier(world, STRICT_POLICY).verify(record), 'a fresh record needs no replay policy');
});

t.test('proof signatures on a signature pool: the same verdicts', async (t) => {
  const signatures = createSignaturePool({ threads: 1 });
  t.teardown(() => signatures.close());
  const pooled = createEventVerifier({ validator: world.validator, audience: SHIPPING, policy: STRICT_POLICY, now: () => NOW, signatures });
  const record = await sealed(world);
  t.equal((await pooled.verify(record)).attributes.id, record.headers.ce_id, 'accepted');
  const other = await makeKey('sales-1'); // same kid, another key pair
  const forged = await sealed({ ...world, signer: await createProofSigner(other.privateJwk as Record<string, unknown>) });
  await refuses(t, pooled.verify(forged), 'ERR_EVENT_PROOF_INVALID', 'a proof by another key');
  const altered = withHeaders(record, { [HEADER.proof]: `${record.headers[HEADER.proof]!.slice(0, -4)}AAAA` });
  await refuses(t, pooled.verify(altered), 'ERR_EVENT_PROOF_INVALID', 'a proof with an altered signature');
});

t.test('an EdDSA producer key is accepted by default', async (t) => {
  const ed = await makeKey('sales-ed', 'EdDSA');
  const signer = await createProofSigner(ed.privateJwk as Record<string, unknown>, { now: () => NOW });
  const edWorld: World = { ...world, producer: ed, signer };
  const record = await sealed(edWorld);
  t.equal((await verifier(edWorld).verify(record)).basis, 'fresh');
  const esOnly = createEventVerifier({
    validator: world.validator,
    audience: SHIPPING,
    policy: STRICT_POLICY,
    now: () => NOW,
    proofAlgorithms: ['ES256'],
  });
  await refuses(t, esOnly.verify(record), 'ERR_EVENT_CNF_INVALID', 'not when the consumer allows ES256 only');
});

t.test('step 1: envelope', async (t) => {
  const good = await sealed(world);
  await refuses(
    t,
    verifier(world).verify({ ...good, value: Buffer.from('{"a":1,"a":2}') }),
    'ERR_EVENT_MALFORMED',
    'duplicate keys',
  );
  await refuses(
    t,
    verifier(world).verify(withHeaders(good, { ce_time: undefined })),
    'ERR_EVENT_MALFORMED',
    'no ce_time',
  );
  await refuses(
    t,
    verifier(world).verify({ ...good, value: Buffer.alloc(SIZE_BUDGET.data + 1, 0x20) }),
    'ERR_EVENT_TOO_LARGE',
    'value over budget',
  );

  // Duplicate keys even under a valid proof and digest: the producer's own bytes are refused too.
  const dupValue = Buffer.from('{"order_id":"order-42","org_id":"org-9","org_id":"org-1"}');
  const attrs = attributes();
  const token = await messageToken(world);
  const proof = await world.signer.sign(attrs, digest(dupValue), token);
  const signedDup = encodeEvent({ attributes: attrs, data: dupValue, messageToken: token, proof });
  await refuses(t, verifier(world).verify(signedDup), 'ERR_EVENT_MALFORMED', 'signed duplicate keys');
});

t.test('step 2: message token present', async (t) => {
  const good = await sealed(world);
  await refuses(
    t,
    verifier(world).verify(withHeaders(good, { [HEADER.messageToken]: undefined })),
    'ERR_EVENT_TOKEN_MISSING',
  );
  await refuses(
    t,
    verifier(world).verify(withHeaders(good, { [HEADER.messageToken]: '' })),
    'ERR_EVENT_TOKEN_MISSING',
    'empty',
  );
});

t.test('step 3: the message token through the shared validator', async (t) => {
  const forger = await makeKey('issuer-1');
  const unknown = await makeKey('issuer-9');
  const cases: [string, Promise<string>, string][] = [
    ['wrong audience', messageToken(world, { aud: INVOICING }), 'ERR_TOKEN_AUDIENCE'],
    [
      'signed by a forger under the real kid',
      signJwt(forger, 'message+jwt', { iss: ISSUER }),
      'ERR_TOKEN_SIGNATURE',
    ],
    ['unknown key', signJwt(unknown, 'message+jwt', {}), 'ERR_TOKEN_KEY_UNKNOWN'],
    ['an access token', signJwt(world.issuer, 'at+jwt', {}), 'ERR_TOKEN_TYP'],
    ['no cnf', messageToken(world, { cnf: undefined }), 'ERR_TOKEN_CLAIM_MISSING'],
    ['no act', messageToken(world, { act: undefined }), 'ERR_TOKEN_CLAIM_MISSING'],
    ['other issuer', messageToken(world, { iss: 'https://evil.test' }), 'ERR_TOKEN_ISSUER'],
    ['not a JWS', Promise.resolve('not-a-token'), 'ERR_TOKEN_MALFORMED'],
  ];
  for (const [label, pending, code] of cases) {
    const token = await pending;
    const record = await sealed(world, { token });
    const refusal = await refuses(t, verifier(world).verify(record), code, label);
    t.notOk(refusal?.message.includes(token), `${label}: the refusal does not quote the token`);
  }
  // A revoked token must not reach the replay policy as "merely expired".
  const revoking = createValidator({
    issuer: ISSUER,
    keys: localKeys(() => ({ keys: [world.issuer.publicJwk] })),
    now: () => NOW,
    denyList: { has: async () => true },
  });
  const revoked = await sealed(world, {
    token: await expiredMessageToken(world),
    grant: await replayGrant(world),
  });
  await refuses(
    t,
    verifier(world, undefined, revoking).verify(revoked),
    'ERR_TOKEN_REVOKED',
    'revoked, expired, with grant',
  );
});

t.test('step 4: proof present, cnf usable, proof valid under cnf', async (t) => {
  const good = await sealed(world);
  await refuses(
    t,
    verifier(world).verify(withHeaders(good, { [HEADER.proof]: undefined })),
    'ERR_EVENT_PROOF_MISSING',
  );

  const { producer } = world;
  const cnfCases: [string, Record<string, unknown>][] = [
    ['cnf without jwk', { jkt: 'abc' }],
    ['private key in cnf', { jwk: producer.privateJwk }],
    ['symmetric key', { jwk: { kty: 'oct', k: 'c2VjcmV0', alg: 'HS256' } }],
    ['alg not allowed', { jwk: { ...publicOnly(producer.publicJwk), alg: 'RS256' } }],
    ['not a signature key', { jwk: { ...publicOnly(producer.publicJwk), use: 'enc' } }],
    ['no alg and none implied', { jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } }],
    ['broken coordinates', { jwk: { ...publicOnly(producer.publicJwk), x: 'AAAA' } }],
  ];
  for (const [label, cnf] of cnfCases) {
    const record = await sealed(world, { token: await messageToken(world, { cnf }) });
    await refuses(t, verifier(world).verify(record), 'ERR_EVENT_CNF_INVALID', label);
  }
  const { alg: _alg, ...noAlg } = publicOnly(producer.publicJwk);
  const implied = await sealed(world, { token: await messageToken(world, { cnf: { jwk: noAlg } }) });
  t.equal((await verifier(world).verify(implied)).basis, 'fresh', 'a P-256 key without alg implies ES256');

  // Proofs that do not verify under the cnf key, or that break the strict rules.
  const attrs = attributes();
  const data = encodeData(orderData());
  const token = await messageToken(world);
  const claims = {
    evt: attrs.id,
    evt_type: attrs.type,
    src: attrs.source,
    time: attrs.time,
    evt_subject: attrs.subject,
    dig: digest(data),
    ath: digest(token),
    iat: NOW_S,
  };
  const other = await makeKey('sales-1'); // same kid, another key pair
  const otherSigner = await createProofSigner(other.privateJwk as Record<string, unknown>);
  const rawProof = (header: object, payload: string) => signRaw(producer, JSON.stringify(header), payload);
  const header = { alg: 'ES256', kid: 'sales-1', typ: 'event-proof+jwt' };
  const proofCases: [string, Promise<string>][] = [
    ['signed by another key', otherSigner.sign(attrs, digest(data), token)],
    ['typ JWT', rawProof({ ...header, typ: 'JWT' }, JSON.stringify(claims))],
    ['typ message+jwt', rawProof({ ...header, typ: 'message+jwt' }, JSON.stringify(claims))],
    [
      'embedded jwk header',
      rawProof({ ...header, jwk: publicOnly(producer.publicJwk) }, JSON.stringify(claims)),
    ],
    ['jku header', rawProof({ ...header, jku: 'https://evil.test/jwks' }, JSON.stringify(claims))],
    ['crit header', rawProof({ ...header, crit: ['exp'] }, JSON.stringify(claims))],
    ['alg other than the key', rawProof({ ...header, alg: 'ES384' }, JSON.stringify(claims))],
    ['kid of another key', rawProof({ ...header, kid: 'sales-2' }, JSON.stringify(claims))],
    ['duplicate claim', rawProof(header, JSON.stringify(claims).replace('{', '{"dig":"forged",'))],
    ['missing dig', rawProof(header, JSON.stringify({ ...claims, dig: undefined }))],
    ['iat not a number', rawProof(header, JSON.stringify({ ...claims, iat: 'now' }))],
    ['not a compact JWS', Promise.resolve('garbage')],
    [
      'alg none',
      Promise.resolve(
        `${Buffer.from(JSON.stringify({ ...header, alg: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`,
      ),
    ],
  ];
  for (const [label, pending] of proofCases) {
    const record = encodeEvent({ attributes: attrs, data, messageToken: token, proof: await pending });
    await bothRefuse(t, record, 'ERR_EVENT_PROOF_INVALID', label);
  }
  const okProof = await rawProof(header, JSON.stringify(claims));
  const ok = encodeEvent({ attributes: attrs, data, messageToken: token, proof: okProof });
  t.equal((await verifier(world).verify(ok)).basis, 'fresh', 'the same raw proof, well-formed, passes');
  const noKid = await new CompactSign(Buffer.from(JSON.stringify(claims)))
    .setProtectedHeader({ alg: 'ES256', typ: 'application/event-proof+jwt' })
    .sign(producer.privateKey);
  const kidless = encodeEvent({ attributes: attrs, data, messageToken: token, proof: noKid });
  t.equal(
    (await verifier(world).verify(kidless)).basis,
    'fresh',
    'kid is optional; full media type accepted',
  );
});

t.test('step 5: the proof is bound to this record', async (t) => {
  const tokenA = await messageToken(world);
  const tokenB = await messageToken(world);
  const recordA = await sealed(world, { token: tokenA });
  const recordB = await sealed(world, { token: tokenB });
  // A Kafka writer moves A's token onto B (B keeps its own proof, which hashes B's token).
  await refuses(
    t,
    verifier(world).verify(withHeaders(recordB, { [HEADER.messageToken]: tokenA })),
    'ERR_EVENT_PROOF_MISMATCH',
    'token moved to another event',
  );
  // ... or moves A's token and proof together onto B's data and attributes (the digest does not
  // match either: step 5 answers first, on both paths).
  await bothRefuse(
    t,
    withHeaders(recordB, { [HEADER.messageToken]: tokenA, [HEADER.proof]: recordA.headers[HEADER.proof] }),
    'ERR_EVENT_PROOF_MISMATCH',
    'token and proof moved to another event',
  );
  const edits: [string, Record<string, string>][] = [
    ['ce_id changed', { ce_id: 'another-id' }],
    ['ce_type changed', { ce_type: 'orders.cancelled' }],
    ['ce_source changed', { ce_source: 'urn:gatehouse:evil' }],
    ['ce_time changed', { ce_time: new Date(NOW).toISOString() }],
    ['ce_time rewritten to the same instant', { ce_time: recordA.headers.ce_time!.replace('Z', '+00:00') }],
    ['ce_subject changed', { ce_subject: 'order-43' }],
  ];
  for (const [label, headers] of edits) {
    await refuses(
      t,
      verifier(world).verify(withHeaders(recordA, headers)),
      'ERR_EVENT_PROOF_MISMATCH',
      label,
    );
  }
});

t.test('step 6: the digest covers the value bytes exactly', async (t) => {
  const record = await sealed(world);
  const altered = Buffer.from(record.value.toString('utf8').replace('1250', '1'));
  await bothRefuse(t, { ...record, value: altered }, 'ERR_EVENT_DIGEST_MISMATCH', 'amount altered');
  const reordered = encodeData(Object.fromEntries(Object.entries(orderData()).reverse()));
  await bothRefuse(t, { ...record, value: reordered }, 'ERR_EVENT_DIGEST_MISMATCH', 'same JSON, other bytes');
});

t.test('step 7: the token scope lists the event type', async (t) => {
  const record = await sealed(world, {
    token: await messageToken(world, { scope: 'orders.cancelled orders.read' }),
  });
  await refuses(t, verifier(world).verify(record), 'ERR_EVENT_SCOPE');
  const none = await sealed(world, { token: await messageToken(world, { scope: undefined }) });
  await refuses(t, verifier(world).verify(none), 'ERR_EVENT_SCOPE', 'no scope at all');
  const prefixed = await sealed(world, { token: await messageToken(world, { scope: 'orders' }) });
  await refuses(t, verifier(world).verify(prefixed), 'ERR_EVENT_SCOPE', 'a prefix is not the type');
});

t.test('step 8: data org_id equals the token org_id', async (t) => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['other org in data', orderData({ org_id: 'org-1' }), {}],
    ['no org in data', orderData({ org_id: undefined }), {}],
    ['org as a number', orderData({ org_id: 9 }), { org_id: '9' }],
    ['no org in the token', orderData(), { org_id: undefined }],
  ];
  for (const [label, data, claims] of cases) {
    const record = await sealed(world, { data, token: await messageToken(world, claims) });
    await refuses(t, verifier(world).verify(record), 'ERR_EVENT_ORG_MISMATCH', label);
  }
});

t.test('step 9: an expired token without replay is refused', async (t) => {
  const record = await sealed(world, { token: await expiredMessageToken(world) });
  await refuses(t, verifier(world, STRICT_POLICY).verify(record), 'ERR_EVENT_EXPIRED', 'strict policy');
  await refuses(t, verifier(world).verify(record), 'ERR_EVENT_EXPIRED', 'replay policy, but no grant');
  const grant = await replayGrant(world);
  const withGrant = await sealed(world, { token: await expiredMessageToken(world), grant });
  await refuses(
    t,
    verifier(world, STRICT_POLICY).verify(withGrant),
    'ERR_EVENT_EXPIRED',
    'strict policy ignores a grant',
  );
  // Expired and another defect: the other defect wins (step 9 comes last).
  const bad = await sealed(world, {
    token: await expiredMessageToken(world, { scope: 'orders.read' }),
    grant,
  });
  await refuses(
    t,
    verifier(world).verify(bad),
    'ERR_EVENT_SCOPE',
    'earlier steps still apply to an expired token',
  );
});

t.test('step 9: an expired token with a valid replay grant is accepted as a replay', async (t) => {
  const grant = await replayGrant(world, {
    jti: 'grant-77',
    replay: { id: 'replay-7', from: '2025-10-01T00:00:00Z' },
  });
  const token = await expiredMessageToken(world);
  const record = await sealed(world, { token, grant });
  const accepted = await verifier(world).verify(record);
  t.equal(accepted.basis, 'replay');
  t.same(accepted.replay, { clientId: 'sales', grantId: 'grant-77', replayId: 'replay-7' });
  t.equal(accepted.principal.sub, 'user-1', 'the principal is the expired token user');
  t.equal(accepted.principal.orgId, 'org-9');
  t.equal(accepted.principal.kind, 'message');
  t.equal(accepted.principal.exp, NOW_S - HOUR);
  t.equal(accepted.principal.tokenHash, digest(token));

  const fresh = await sealed(world, { grant });
  const freshAccepted = await verifier(world).verify(fresh);
  t.equal(freshAccepted.basis, 'fresh', 'a fresh token with a grant is simply fresh');
  t.notOk('replay' in freshAccepted);
});

t.test('step 9: every replay refusal', async (t) => {
  const replayOf = async (grant: Promise<string>, attrs = attributes()) =>
    sealed(world, { token: await expiredMessageToken(world), grant: await grant, attributes: attrs });
  const grant = (overrides: Record<string, unknown> = {}) => replayGrant(world, overrides);
  const hoursAgo = (hours: number) => new Date(NOW - hours * HOUR * 1000).toISOString();
  const accessShaped = signJwt(world.issuer, 'at+jwt', {
    iss: ISSUER,
    sub: 'sales',
    aud: SHIPPING,
    iat: NOW_S,
    exp: NOW_S + 60,
    jti: 'g',
    client_id: 'sales',
    scope: 'events:replay',
    replay: { id: 'r' },
  });
  const cancelledOnly = createEventVerifier({
    validator: world.validator,
    audience: SHIPPING,
    now: () => NOW,
    policy: {
      replay: { allowedClients: ['sales'], eventTypes: ['orders.cancelled'], maxEventAgeSeconds: HOUR },
    },
  });
  const INVALID = 'ERR_EVENT_REPLAY_GRANT_INVALID';
  const cases: [string, Promise<EventRecord>, string, EventVerifier?][] = [
    ['grant expired', replayOf(grant({ iat: NOW_S - 600, exp: NOW_S - 300 })), INVALID],
    ['grant of another typ', replayOf(accessShaped), INVALID],
    ['a message token as grant', replayOf(messageToken(world)), INVALID],
    ['grant for another audience', replayOf(grant({ aud: INVOICING })), INVALID],
    ['grant living over an hour', replayOf(grant({ exp: NOW_S + 2 * HOUR })), INVALID],
    ['grant without replay claim', replayOf(grant({ replay: undefined })), INVALID],
    ['grant replay claim without id', replayOf(grant({ replay: { from: hoursAgo(5) } })), INVALID],
    ['grant replay bound not RFC 3339', replayOf(grant({ replay: { id: 'r', to: 'tomorrow' } })), INVALID],
    [
      'grant by an unknown key',
      replayOf(makeKey('issuer-x').then((k) => signJwt(k, 'replay+jwt', {}))),
      INVALID,
    ],
    ['client not allowed', replayOf(grant({ client_id: 'billing' })), 'ERR_EVENT_REPLAY_CLIENT'],
    ['scope lacks events:replay', replayOf(grant({ scope: 'events:read' })), 'ERR_EVENT_REPLAY_SCOPE'],
    ['event type not replayable', replayOf(grant()), 'ERR_EVENT_REPLAY_TYPE', cancelledOnly],
    ['event too old', replayOf(grant(), attributes({ time: hoursAgo(31 * 24) })), 'ERR_EVENT_REPLAY_TOO_OLD'],
    [
      'event before the grant range',
      replayOf(grant({ replay: { id: 'r', from: hoursAgo(1) } })),
      'ERR_EVENT_REPLAY_OUT_OF_RANGE',
    ],
    [
      'event after the grant range',
      replayOf(grant({ replay: { id: 'r', to: hoursAgo(3) } })),
      'ERR_EVENT_REPLAY_OUT_OF_RANGE',
    ],
  ];
  for (const [label, pending, code, custom] of cases) {
    await refuses(t, (custom ?? verifier(world)).verify(await pending), code, label);
  }
});

t.test('step 9: a grant lifted onto another record is unbound', async (t) => {
  const grantA = await replayGrant(world);
  const grantB = await replayGrant(world);
  const recordA = await sealed(world, { token: await expiredMessageToken(world), grant: grantA });
  t.equal((await verifier(world).verify(recordA)).basis, 'replay', 'its own grant passes');
  await refuses(
    t,
    verifier(world).verify(withHeaders(recordA, { [HEADER.replayGrant]: grantB })),
    'ERR_EVENT_REPLAY_UNBOUND',
    'another valid grant swapped in',
  );
  // An expired record sealed without a grant: a writer adds a valid grant it got hold of.
  const plain = await sealed(world, { token: await expiredMessageToken(world) });
  await refuses(
    t,
    verifier(world).verify(withHeaders(plain, { [HEADER.replayGrant]: grantA })),
    'ERR_EVENT_REPLAY_UNBOUND',
    'grant added to a record whose proof names none',
  );
});

t.test('a validator that cannot answer is not a refusal', async (t) => {
  const down = await makeWorld({
    denyList: {
      has: async () => {
        throw new Error('redis down');
      },
    },
  });
  const record = await sealed(down);
  const error = await verifier(down)
    .verify(record)
    .then(
      () => undefined,
      (caught: unknown) => caught,
    );
  t.ok(error instanceof ValidatorUnavailableError, 'message token: ValidatorUnavailableError passes through');

  // The grant's verification is unavailable (message token verified fine, expired).
  const grantDown: Validator = {
    clearCache: () => world.validator.clearCache(),
    verify: (token, profile) =>
      profile.kind === 'replay'
        ? Promise.reject(new ValidatorUnavailableError('jwks unavailable'))
        : world.validator.verify(token, profile),
  };
  const replay = await sealed(world, {
    token: await expiredMessageToken(world),
    grant: await replayGrant(world),
  });
  const grantError = await verifier(world, undefined, grantDown)
    .verify(replay)
    .then(
      () => undefined,
      (caught: unknown) => caught,
    );
  t.ok(
    grantError instanceof ValidatorUnavailableError,
    'replay grant: ValidatorUnavailableError passes through',
  );
});

t.test('an unknown key while the issuer keys are unusable is an outage, not a refusal', async (t) => {
  const record = await sealed(world);
  // A genuine TokenValidationError from a validator whose key source finds nothing.
  const empty = createValidator({ issuer: ISSUER, keys: localKeys(() => ({ keys: [] })) });
  let usable = false;
  const outage = createEventVerifier({ validator: empty, audience: SHIPPING, policy: STRICT_POLICY, keysUsable: () => usable });
  const error = await outage.verify(record).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  t.ok(error instanceof ValidatorUnavailableError, 'keys unusable: retried, never dead-lettered');
  usable = true;
  await refuses(t, outage.verify(record), 'ERR_TOKEN_KEY_UNKNOWN', 'keys usable: the token names no key of ours');
});

t.test('createEventVerifier refuses bad options', async (t) => {
  const base = { validator: world.validator, audience: SHIPPING, policy: STRICT_POLICY };
  t.throws(() => createEventVerifier({ ...base, audience: '' }), TypeError);
  t.throws(() => createEventVerifier({ ...base, validator: {} as Validator }), TypeError);
  t.throws(() => createEventVerifier({ ...base, proofAlgorithms: ['HS256'] }), TypeError);
  t.throws(() => createEventVerifier({ ...base, proofAlgorithms: [] }), TypeError);
  t.throws(() => createEventVerifier({ ...base, policy: { replay: { allowedClients: [] } } as never }), {
    code: 'CONFIG_INVALID',
  });
});

t.test('messageTokenMaxLifetimeSeconds bounds the token lifetime', async (t) => {
  const record = await sealed(world, { token: await messageToken(world, { exp: NOW_S + 48 * HOUR }) });
  const bounded = createEventVerifier({
    validator: world.validator,
    audience: SHIPPING,
    policy: STRICT_POLICY,
    now: () => NOW,
    messageTokenMaxLifetimeSeconds: 24 * HOUR,
  });
  await refuses(t, bounded.verify(record), 'ERR_TOKEN_LIFETIME');
  t.equal((await verifier(world).verify(record)).basis, 'fresh', 'unbounded by default');
});
