import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  jwtVerify,
  SignJWT,
} from 'jose';
import t from 'tap';
import { client, decodeJwt, exchange, loginWithCode, oauthClient, exchangeRefusal } from './support/oauth.ts';
import { startTokenService } from './support/token-service.ts';

const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';
const SHIPPING = 'urn:gatehouse:consumer:shipping';
const INVOICING = 'urn:gatehouse:consumer:invoicing';

const { issuer, audit, dir } = await startTokenService(t);
const gateway = await oauthClient(issuer, 'gateway');
const alice = (await loginWithCode(issuer, 'alice')).tokens;

const orderExchange = (subject: string, extra: Record<string, string | string[]> = {}) => ({
  subject_token: subject,
  subject_token_type: ACCESS,
  audience: [SHIPPING, INVOICING],
  producer: 'sales',
  ...extra,
});

const refusal = (params: Record<string, string | string[]>, config = gateway) => exchangeRefusal(config, params);

t.test('a user access token becomes a down-scoped, bound message token', async (t) => {
  const response = await exchange(gateway, orderExchange(alice.access_token));
  t.equal(response.issued_token_type, JWT);
  t.equal(response.token_type, 'n_a', 'N_A: not an OAuth access token');
  t.equal(response.scope, 'orders.created');
  t.equal(response.expires_in, 24 * 3600, 'dev default lifetime 24 h');

  const jwks = createLocalJWKSet((await (await fetch(`${issuer}/jwks`)).json()) as JSONWebKeySet);
  const { payload, protectedHeader } = await jwtVerify(response.access_token, jwks, {
    issuer,
    typ: 'message+jwt',
    audience: SHIPPING,
  });
  t.equal(protectedHeader.typ, 'message+jwt', 'a typ distinct from at+jwt');
  t.equal(protectedHeader.alg, 'ES256');
  const subject = decodeJwt(alice.access_token).payload;
  t.equal(payload.sub, subject.sub, 'same subject');
  t.same(payload.aud, [SHIPPING, INVOICING], 'the consumers of the topic');
  t.equal(payload.scope, 'orders.created', 'orders:write mapped to the message scope; nothing else');
  t.equal(payload.org_id, 'acme');
  t.equal(payload.subscription_level, 'premium');
  t.same(payload.roles, []);
  t.equal(payload.client_id, 'gateway');
  t.same(payload.act, { sub: 'gateway', client_id: 'gateway' }, 'act names the exchanging client');
  t.type(payload.jti, 'string');
  t.not(payload.jti, subject.jti, 'a jti of its own');
  t.type(payload.txn, 'string');
  t.equal((payload.exp as number) - (payload.iat as number), 24 * 3600);
  for (const absent of ['email', 'name', 'preferred_username', 'sid'])
    t.notOk(absent in payload, `no ${absent}`);

  const salesJwks = JSON.parse(await readFile(join(dir, 'clients', 'sales.jwks.json'), 'utf8'));
  const cnf = payload.cnf as { jwk: Record<string, unknown> };
  t.equal(cnf.jwk.x, salesJwks.keys[0].x, "cnf names the sales service's public key");
  t.notOk('d' in cnf.jwk, 'never a private part');

  const granted = audit.find((r) => r.event === 'exchange.granted' && r.jti === payload.jti);
  t.match(granted, {
    client_id: 'gateway',
    subject_jti: subject.jti,
    scope: 'orders.created',
    bound_to: 'sales',
  });
  t.notOk(JSON.stringify(audit).includes(response.access_token), 'the token itself is never audited');
});

t.test('the key named in cnf verifies what the producer signs', async (t) => {
  const response = await exchange(gateway, orderExchange(alice.access_token));
  const privateJwk = JSON.parse(await readFile(join(dir, 'clients', 'sales.private.jwk.json'), 'utf8'));
  const proof = await new SignJWT({ evt: 'e1' })
    .setProtectedHeader({ alg: 'ES256', typ: 'proof+jwt' })
    .sign(await importJWK(privateJwk, 'ES256'));
  const cnf = decodeJwt(response.access_token).payload.cnf as { jwk: Record<string, unknown> };
  const { payload } = await jwtVerify(proof, await importJWK(cnf.jwk as never, 'ES256'));
  t.equal(payload.evt, 'e1');
});

t.test('a requested lifetime is honoured up to the policy maximum, never beyond', async (t) => {
  const short = await exchange(gateway, orderExchange(alice.access_token, { requested_lifetime: '600' }));
  t.equal(short.expires_in, 600);
  const long = await exchange(
    gateway,
    orderExchange(alice.access_token, { requested_lifetime: String(30 * 24 * 3600) }),
  );
  t.equal(long.expires_in, 24 * 3600, 'capped at maxTtl');
  t.same(await refusal(orderExchange(alice.access_token, { requested_lifetime: '-5' })), {
    error: 'invalid_request',
    status: 400,
  });
});

t.test('a narrower scope may be requested; a wider one is invalid_scope', async (t) => {
  const ok = await exchange(gateway, orderExchange(alice.access_token, { scope: 'orders.created' }));
  t.equal(ok.scope, 'orders.created');
  t.same(await refusal(orderExchange(alice.access_token, { scope: 'orders.created orders.deleted' })), {
    error: 'invalid_scope',
    status: 400,
  });
  const readOnly = (await loginWithCode(issuer, 'bob', undefined, 'openid orders:read')).tokens;
  t.same(
    await refusal(orderExchange(readOnly.access_token)),
    { error: 'invalid_scope', status: 400 },
    'orders:read maps to nothing',
  );
});

t.test('the exchange of an exchanged token nests act', async (t) => {
  const sales = await oauthClient(issuer, 'sales');
  const actor = await client.clientCredentialsGrant(sales, { scope: 'orders:read' });
  const response = await exchange(
    sales,
    orderExchange(alice.access_token, {
      producer: 'self',
      actor_token: actor.access_token,
      actor_token_type: ACCESS,
    }),
  );
  const { payload } = decodeJwt(response.access_token);
  t.same(payload.act, { sub: 'sales', client_id: 'sales' });
  t.equal(payload.client_id, 'sales');
});

t.test('refusals: each with its RFC 8693 / RFC 6749 error and status', async (t) => {
  const cases: Array<[string, Record<string, string | string[]>, string]> = [
    [
      'missing subject_token',
      { subject_token_type: ACCESS, audience: SHIPPING, producer: 'sales' },
      'invalid_request',
    ],
    [
      'unsupported subject_token_type',
      orderExchange(alice.access_token, { subject_token_type: JWT }),
      'invalid_request',
    ],
    [
      'unsupported requested_token_type',
      orderExchange(alice.access_token, { requested_token_type: 'urn:ietf:params:oauth:token-type:saml2' }),
      'invalid_request',
    ],
    [
      'actor_token without its type',
      orderExchange(alice.access_token, { actor_token: alice.access_token }),
      'invalid_request',
    ],
    [
      'producer missing where cnf is required',
      { subject_token: alice.access_token, subject_token_type: ACCESS, audience: SHIPPING },
      'invalid_request',
    ],
    ['producer not allowed', orderExchange(alice.access_token, { producer: 'shipping' }), 'invalid_request'],
    ['malformed subject token', orderExchange('not.a.jwt'), 'invalid_grant'],
    [
      'audience not allowed',
      orderExchange(alice.access_token, { audience: 'urn:gatehouse:consumer:payroll' }),
      'invalid_target',
    ],
    [
      'no audience at all',
      { subject_token: alice.access_token, subject_token_type: ACCESS, producer: 'sales' },
      'invalid_target',
    ],
  ];
  for (const [name, params, error] of cases) {
    t.same(await refusal(params), { error, status: 400 }, name);
  }
  t.ok(
    audit.some((r) => r.event === 'exchange.denied' && r.reason === 'audience_not_allowed'),
    'denials audited with reason',
  );
});

t.test('a message token offered as subject is invalid_grant', async (t) => {
  const message = await exchange(gateway, orderExchange(alice.access_token));
  t.same(await refusal(orderExchange(message.access_token)), { error: 'invalid_grant', status: 400 });
  t.ok(audit.some((r) => r.event === 'exchange.denied' && r.reason === 'subject_a_message_token'));
});

t.test('a subject token from an unknown issuer or key is invalid_grant', async (t) => {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = await calculateJwkThumbprint(await exportJWK(publicKey));
  const forged = await new SignJWT({ scope: 'orders:write', client_id: 'gateway', org_id: 'acme' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
    .setIssuer(issuer)
    .setSubject('alice')
    .setAudience('urn:gatehouse:api')
    .setIssuedAt()
    .setExpirationTime('5m')
    .setJti('forged-1')
    .sign(privateKey);
  t.same(await refusal(orderExchange(forged)), { error: 'invalid_grant', status: 400 });
  t.ok(audit.some((r) => r.event === 'exchange.denied' && r.reason === 'subject_from_unknown_issuer'));
});

t.test('a revoked subject token is invalid_grant', async (t) => {
  const bob = (await loginWithCode(issuer, 'bob')).tokens;
  await client.tokenRevocation(gateway, bob.access_token);
  t.same(await refusal(orderExchange(bob.access_token)), { error: 'invalid_grant', status: 400 });
  t.ok(audit.some((r) => r.event === 'exchange.denied' && r.reason === 'subject_revoked'));
});

t.test('an actor token issued to another client is invalid_grant', async (t) => {
  const shipping = await oauthClient(issuer, 'shipping');
  const foreign = await client.clientCredentialsGrant(shipping, { scope: 'orders:read' });
  t.same(
    await refusal(
      orderExchange(alice.access_token, { actor_token: foreign.access_token, actor_token_type: ACCESS }),
    ),
    { error: 'invalid_grant', status: 400 },
  );
});

t.test('a client with the grant but no exchange policy entry is unauthorized_client', async (t) => {
  const { issuer: other } = await startTokenService(t, {
    EXCHANGE_POLICY_FILE: await policyFileWithoutGateway(dir),
  });
  const gw = await oauthClient(other, 'gateway');
  const token = (await loginWithCode(other, 'alice')).tokens.access_token;
  t.same(await refusal(orderExchange(token), gw), { error: 'unauthorized_client', status: 400 });
});

t.test('a wrong client secret is invalid_client (401)', async (t) => {
  const bad = await oauthClient(issuer, 'gateway', client.ClientSecretBasic('not-the-gateway-secret'));
  t.same(await refusal(orderExchange(alice.access_token), bad), { error: 'invalid_client', status: 401 });
});

t.test('an expired subject token is invalid_grant', async (t) => {
  const { issuer: shortLived } = await startTokenService(t, { ACCESS_TOKEN_TTL: '1' });
  const gw = await oauthClient(shortLived, 'gateway');
  const token = (await loginWithCode(shortLived, 'alice')).tokens.access_token;
  await new Promise((resolve) => setTimeout(resolve, 7000));
  t.same(await refusal(orderExchange(token), gw), { error: 'invalid_grant', status: 400 });
});

async function policyFileWithoutGateway(base: string): Promise<string> {
  const { writeFile } = await import('node:fs/promises');
  const path = join(base, 'policy.json');
  const target = {
    audiences: [SHIPPING],
    scopeMap: { 'orders:write': ['orders.created'] },
    defaultTtl: 3600,
    maxTtl: 3600,
    claims: ['org_id'],
    cnf: 'required',
    producers: ['self'],
  };
  await writeFile(
    path,
    JSON.stringify({ clients: { sales: { subjectTokenTypes: ['access_token'], targets: [target] } } }),
  );
  return path;
}

t.test('policy refusals say which rule refused', async (t) => {
  const error = await exchange(gateway, {
    subject_token: alice.access_token,
    subject_token_type: ACCESS,
    audience: SHIPPING,
  }).catch((e) => e);
  t.equal(error.error, 'invalid_request');
  t.equal(error.error_description, 'refused by the exchange policy: producer required');
});
