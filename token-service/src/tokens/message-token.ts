/**
 * MessageToken: the down-scoped, longer-lived JWT that travels with an event. Minted only by the
 * token-exchange grant from a decision of the ExchangePolicy; signed with the key ring's active key
 * so consumers verify it with the same JWKS as access tokens, told apart by typ.
 */
import { createPrivateKey, type JsonWebKey, type KeyObject, randomUUID, sign } from 'node:crypto';
import type { KeyAlg, KeyRing } from '@gatehouse/keys';
import type { ExchangeDecision } from '../policy/exchange-policy.ts';
import { derToP1363 } from './ecdsa.ts';
import { TYP } from './token-types.ts';

export interface MessageTokenInput {
  issuer: string;
  subject: string;
  /** The client that asked for the exchange (RFC 9068 client_id). */
  clientId: string;
  decision: ExchangeDecision;
  /** RFC 8693 act: the exchanging client, wrapping the subject token's own act if it had one. */
  act: Record<string, unknown>;
  /** RFC 7800 confirmation key: the producer's public JWK. */
  cnfJwk?: Record<string, unknown>;
  /** Transaction id (RFC 8417 txn), shared by the events of one request. */
  txn: string;
  now: number;
}

export interface MintedToken {
  token: string;
  jti: string;
  exp: number;
}

/**
 * JWS compact signing with node:crypto KeyObjects. On this hot path (one signature per exchange)
 * it costs about two thirds of jose's WebCrypto signing; verification stays with jose everywhere.
 * ES256 signatures are made in DER and converted to JOSE's r||s (ecdsa.ts: cheaper than asking
 * node:crypto for IEEE P1363).
 */
const keyObjects = new Map<string, KeyObject>();

function keyObjectFor(signing: ReturnType<KeyRing['signingKey']>): KeyObject {
  let key = keyObjects.get(signing.kid);
  if (!key) {
    key = createPrivateKey({ key: { ...signing.privateJwk } as JsonWebKey, format: 'jwk' });
    // kids are key thumbprints: a kid names one key for good.
    keyObjects.set(signing.kid, key);
  }
  return key;
}

function signCompact(header: Record<string, unknown>, payload: Record<string, unknown>, alg: KeyAlg, key: KeyObject) {
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`;
  const data = Buffer.from(input);
  const signature =
    alg === 'EdDSA'
      ? sign(null, data, key)
      : alg === 'ES256'
        ? derToP1363(sign('sha256', data, key), 32)
        : sign('sha256', data, key);
  return `${input}.${signature.toString('base64url')}`;
}

const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** Signs a JWT with the ring's active key: shared with the other tokens minted here (API key tokens). */
export function signWithActiveKey(keys: KeyRing, typ: string, payload: Record<string, unknown>): string {
  const signing = keys.signingKey();
  return signCompact({ alg: signing.alg, kid: signing.kid, typ }, payload, signing.alg, keyObjectFor(signing));
}

export async function mintMessageToken(keys: KeyRing, input: MessageTokenInput): Promise<MintedToken> {
  const signing = keys.signingKey();
  const jti = randomUUID();
  const iat = Math.floor(input.now / 1000);
  const exp = iat + input.decision.ttl;
  const { audiences, scopes, claims } = input.decision;
  const token = signCompact(
    { alg: signing.alg, kid: signing.kid, typ: TYP.message },
    {
      iss: input.issuer,
      sub: input.subject,
      aud: audiences.length === 1 ? audiences[0]! : audiences,
      iat,
      exp,
      jti,
      ...claims,
      client_id: input.clientId,
      scope: scopes.join(' '),
      act: input.act,
      txn: input.txn,
      ...(input.cnfJwk ? { cnf: { jwk: input.cnfJwk } } : {}),
    },
    signing.alg,
    keyObjectFor(signing),
  );
  return { token, jti, exp };
}

/** RFC 8693 section 4.1: the new actor wraps any previous one. */
export function actClaim(actorClientId: string, previous: unknown): Record<string, unknown> {
  const act: Record<string, unknown> = { sub: actorClientId, client_id: actorClientId };
  if (previous && typeof previous === 'object') act.act = previous;
  return act;
}

export const newTransactionId = (): string => randomUUID();
