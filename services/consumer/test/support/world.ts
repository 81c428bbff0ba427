// Real keys and real tokens for consumer tests, without a token service: an issuer key ring behind
// localKeys (what the validator verifies with), the sales producer's key pair (bound in cnf.jwk,
// signing the event proofs), demo users like the token service's, and a fixed clock.
import { randomUUID } from 'node:crypto';
import type { EventAttributes, EventRecord, ProofSigner } from '@gatehouse/events';
import { createProofSigner, sealEvent } from '@gatehouse/events';
import { type KeySource, localKeys } from '@gatehouse/validator';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export const ISSUER = 'https://auth.gatehouse.test';
export const API = 'urn:gatehouse:api';
export const SHIPPING = 'urn:gatehouse:consumer:shipping';
export const INVOICING = 'urn:gatehouse:consumer:invoicing';
/** A fixed clock (ms): tokens and events are made relative to it; services are given it. */
export const NOW = 1_760_000_000_000;
export const NOW_S = NOW / 1000;
export const HOUR = 3600;
export const now = () => NOW;

export interface User {
  sub: string;
  org: string;
  level: string;
  roles: string[];
}

/** The token service's demo accounts, as claims. */
export const USERS = {
  alice: { sub: 'sub-alice', org: 'acme', level: 'premium', roles: [] },
  bob: { sub: 'sub-bob', org: 'acme', level: 'basic', roles: [] },
  carol: { sub: 'sub-carol', org: 'globex', level: 'premium', roles: [] },
  admin: { sub: 'sub-admin', org: 'acme', level: 'premium', roles: ['admin'] },
} satisfies Record<string, User>;

interface KeyPair {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  privateJwk: JWK;
}

async function makeKey(kid: string, alg = 'ES256'): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  return { kid, privateKey, publicJwk, privateJwk };
}

/** `undefined` in claims removes that claim. */
async function signJwt(key: KeyPair, typ: string, claims: Record<string, unknown>): Promise<string> {
  const payload = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: key.kid, typ }).sign(key.privateKey);
}

export interface OrderInput {
  orderId?: string;
  items?: Array<{ sku: string; quantity: number; unit_price: number }>;
  data?: Record<string, unknown>;
  attributes?: Partial<EventAttributes>;
}

export interface SealInput extends OrderInput {
  token?: string;
  grant?: string;
  /** A proof signer other than the producer's (a forger). */
  signer?: ProofSigner;
}

export interface World {
  keys: KeySource;
  producerJwk: JWK;
  messageToken(user: User, overrides?: Record<string, unknown>): Promise<string>;
  /** Lived 24 h, expired an hour ago. */
  expiredMessageToken(user: User, overrides?: Record<string, unknown>): Promise<string>;
  replayGrant(overrides?: Record<string, unknown>): Promise<string>;
  accessToken(user: User, scope: string, overrides?: Record<string, unknown>): Promise<string>;
  /** An orders.created event for this user, sealed by the producer. */
  order(user: User, input?: SealInput): Promise<EventRecord>;
  /** A signer with a key nobody bound in a token (the producer's kid and algorithm). */
  forger(): Promise<ProofSigner>;
}

let serial = 0;

export interface WorldOptions {
  /** The producer's proof key algorithm (default ES256): its cnf key in every message token. */
  producerAlg?: string;
}

export async function makeWorld(options: WorldOptions = {}): Promise<World> {
  const issuer = await makeKey('issuer-1');
  const producer = await makeKey('sales-1', options.producerAlg);
  const signer = await createProofSigner(producer.privateJwk as Record<string, unknown>, { now });
  const jwks = { keys: [issuer.publicJwk] };
  // The public members only (EC: crv, x, y; RSA: n, e); JSON drops the undefined ones.
  const { kty, crv, x, y, n, e, kid, alg } = producer.publicJwk;

  const messageToken = (user: User, overrides: Record<string, unknown> = {}) =>
    signJwt(issuer, 'message+jwt', {
      iss: ISSUER,
      sub: user.sub,
      aud: [SHIPPING, INVOICING],
      iat: NOW_S - 60,
      exp: NOW_S + HOUR,
      jti: `msg-${++serial}`,
      client_id: 'gateway',
      scope: 'orders.created',
      org_id: user.org,
      subscription_level: user.level,
      roles: user.roles,
      act: { sub: 'gateway', client_id: 'gateway' },
      cnf: { jwk: { kty, crv, x, y, n, e, kid, alg } },
      txn: `txn-${serial}`,
      ...overrides,
    });

  const order = async (user: User, input: SealInput = {}): Promise<EventRecord> => {
    const orderId = input.orderId ?? randomUUID();
    const items = input.items ?? [
      { sku: 'TEA-100', quantity: 2, unit_price: 450 },
      { sku: 'MUG-200', quantity: 1, unit_price: 1200 },
    ];
    const data = {
      order_id: orderId,
      org_id: user.org,
      customer: user.sub,
      subscription_level: user.level,
      items,
      total: items.reduce((sum, item) => sum + item.quantity * item.unit_price, 0),
      currency: 'EUR',
      created_at: new Date(NOW - 60_000).toISOString(),
      ...input.data,
    };
    return sealEvent(input.signer ?? signer, {
      attributes: {
        id: randomUUID(),
        type: 'orders.created',
        source: 'urn:gatehouse:sales',
        time: new Date(NOW - 60_000).toISOString(),
        subject: orderId,
        ...input.attributes,
      },
      data,
      messageToken: input.token ?? (await messageToken(user)),
      ...(input.grant === undefined ? {} : { replayGrant: input.grant }),
    });
  };

  return {
    keys: localKeys(() => jwks),
    producerJwk: producer.publicJwk,
    messageToken,
    expiredMessageToken: (user, overrides = {}) =>
      messageToken(user, { iat: NOW_S - 25 * HOUR, exp: NOW_S - HOUR, ...overrides }),
    replayGrant: (overrides = {}) =>
      signJwt(issuer, 'replay+jwt', {
        iss: ISSUER,
        sub: 'sales',
        aud: [SHIPPING, INVOICING],
        iat: NOW_S - 30,
        exp: NOW_S + 270,
        jti: `grant-${++serial}`,
        client_id: 'sales',
        scope: 'events:replay',
        replay: { id: `replay-${serial}` },
        ...overrides,
      }),
    accessToken: (user, scope, overrides = {}) =>
      signJwt(issuer, 'at+jwt', {
        iss: ISSUER,
        sub: user.sub,
        aud: API,
        iat: NOW_S - 10,
        exp: NOW_S + 900,
        jti: `at-${++serial}`,
        client_id: 'gateway',
        scope,
        roles: user.roles,
        org_id: user.org,
        subscription_level: user.level,
        ...overrides,
      }),
    order,
    async forger() {
      const other = await makeKey('sales-1', options.producerAlg);
      return createProofSigner(other.privateJwk as Record<string, unknown>, { now });
    },
  };
}

/** Waits for a condition the system under test reaches asynchronously; fails after `ms`. */
export async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One series' value from a Prometheus text exposition (0 when absent). */
export function metricValue(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const matches = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (matches) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}
