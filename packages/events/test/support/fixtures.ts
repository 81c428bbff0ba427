// Real keys and real tokens: an issuer key ring behind a real validator (localKeys), a producer key
// pair whose public half the message tokens bind in cnf.jwk, and a fixed clock.
import type { CryptoKey, JWK } from 'jose';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { DenyList, Validator } from '@gatehouse/validator';
import { createValidator, localKeys } from '@gatehouse/validator';
import type { EventAttributes, EventRecord, ExpiryPolicy, ProofSigner } from '../../src/index.ts';
import { createEventVerifier, createProofSigner, sealEvent } from '../../src/index.ts';

export const ISSUER = 'https://auth.gatehouse.test';
export const SHIPPING = 'urn:gatehouse:consumer:shipping';
export const INVOICING = 'urn:gatehouse:consumer:invoicing';
/** A fixed clock (ms); tokens and events are made relative to it. */
export const NOW = 1_760_000_000_000;
export const NOW_S = NOW / 1000;
export const HOUR = 3600;

export const REPLAY_POLICY: ExpiryPolicy = {
  replay: { allowedClients: ['sales'], eventTypes: ['orders.created'], maxEventAgeSeconds: 30 * 24 * HOUR },
};

export interface KeyPair {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  privateJwk: JWK;
}

export async function makeKey(kid: string, alg = 'ES256'): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk, privateJwk };
}

export interface World {
  issuer: KeyPair;
  producer: KeyPair;
  signer: ProofSigner;
  validator: Validator;
}

export async function makeWorld(options: { denyList?: DenyList } = {}): Promise<World> {
  const issuer = await makeKey('issuer-1');
  const producer = await makeKey('sales-1');
  const signer = await createProofSigner(producer.privateJwk as Record<string, unknown>, { now: () => NOW });
  const jwks = { keys: [issuer.publicJwk] };
  const validator = createValidator({
    issuer: ISSUER,
    keys: localKeys(() => jwks),
    now: () => NOW,
    ...(options.denyList ? { denyList: options.denyList } : {}),
  });
  return { issuer, producer, signer, validator };
}

let serial = 0;

/** `undefined` in overrides removes that claim. */
export async function signJwt(
  key: KeyPair,
  typ: string,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const payload = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ, ...header } as { alg: string })
    .sign(key.privateKey);
}

export function messageClaims(
  world: World,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    iss: ISSUER,
    sub: 'user-1',
    aud: [SHIPPING, INVOICING],
    iat: NOW_S - 60,
    exp: NOW_S + HOUR,
    jti: `msg-${++serial}`,
    client_id: 'gateway',
    scope: 'orders.created',
    org_id: 'org-9',
    subscription_level: 'gold',
    act: { sub: 'gateway', client_id: 'gateway' },
    cnf: { jwk: publicOnly(world.producer.publicJwk) },
    txn: 'txn-1',
    ...overrides,
  };
}

/** The cnf form the token service binds (token-service/src/clients.ts producerConfirmationKey). */
export function publicOnly(jwk: JWK): Record<string, unknown> {
  const { kty, crv, x, y, kid, alg } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, kid, alg }).filter(([, v]) => v !== undefined));
}

export function messageToken(world: World, overrides: Record<string, unknown> = {}): Promise<string> {
  return signJwt(world.issuer, 'message+jwt', messageClaims(world, overrides));
}

/** A message token that expired an hour ago (lived 24 h). */
export function expiredMessageToken(world: World, overrides: Record<string, unknown> = {}): Promise<string> {
  return messageToken(world, { iat: NOW_S - 25 * HOUR, exp: NOW_S - HOUR, ...overrides });
}

export function replayGrant(world: World, overrides: Record<string, unknown> = {}): Promise<string> {
  return signJwt(world.issuer, 'replay+jwt', {
    iss: ISSUER,
    sub: 'sales',
    aud: [SHIPPING, INVOICING],
    iat: NOW_S - 30,
    exp: NOW_S + 270,
    jti: `grant-${++serial}`,
    client_id: 'sales',
    scope: 'events:replay',
    replay: { id: 'replay-1' },
    ...overrides,
  });
}

export function attributes(overrides: Partial<EventAttributes> = {}): EventAttributes {
  return {
    id: `0b7e6a8c-3f4d-4a8e-9c1b-${String(++serial).padStart(12, '0')}`,
    type: 'orders.created',
    source: 'urn:gatehouse:sales',
    // Two hours before NOW: inside an unexpired token's life and well inside the replay window.
    time: new Date(NOW - 2 * HOUR * 1000).toISOString(),
    subject: 'order-42',
    ...overrides,
  };
}

export function orderData(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { order_id: 'order-42', org_id: 'org-9', total: 1250, currency: 'EUR', ...overrides };
}

export async function sealed(
  world: World,
  options: {
    token?: string;
    grant?: string;
    attributes?: EventAttributes;
    data?: Record<string, unknown>;
  } = {},
): Promise<EventRecord> {
  return sealEvent(world.signer, {
    attributes: options.attributes ?? attributes(),
    data: options.data ?? orderData(),
    messageToken: options.token ?? (await messageToken(world)),
    ...(options.grant === undefined ? {} : { replayGrant: options.grant }),
  });
}

export function verifier(
  world: World,
  policy: ExpiryPolicy = REPLAY_POLICY,
  validator: Validator = world.validator,
) {
  return createEventVerifier({ validator, audience: SHIPPING, policy, now: () => NOW });
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** Signs exactly these header and payload texts with an ES256 key (for hostile JSON jose won't make). */
export async function signRaw(key: KeyPair, headerJson: string, payloadJson: string): Promise<string> {
  const input = `${b64(headerJson)}.${b64(payloadJson)}`;
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    key.privateKey,
    new TextEncoder().encode(input),
  );
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

export function withHeaders(record: EventRecord, headers: Record<string, string | undefined>): EventRecord {
  const merged: Record<string, string> = { ...record.headers };
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) delete merged[name];
    else merged[name] = value;
  }
  return { ...record, headers: merged };
}
