/**
 * MessageToken: the down-scoped, longer-lived JWT that travels with an event. Minted only by the
 * token-exchange grant from a decision of the ExchangePolicy; signed with the key ring's active key
 * so consumers verify it with the same JWKS as access tokens, told apart by typ.
 */
import { randomUUID } from 'node:crypto';
import type { KeyRing } from '@gatehouse/keys';
import { importJWK, SignJWT } from 'jose';
import type { ExchangeDecision } from '../policy/exchange-policy.ts';
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

// Importing a JWK costs more than signing with it; kids are thumbprints, so a kid names one key forever.
const imported = new Map<string, Promise<Awaited<ReturnType<typeof importJWK>>>>();

function signingKeyFor(signing: ReturnType<KeyRing['signingKey']>) {
  let key = imported.get(signing.kid);
  if (!key) {
    key = importJWK(signing.privateJwk as Parameters<typeof importJWK>[0], signing.alg);
    imported.set(signing.kid, key);
  }
  return key;
}

export async function mintMessageToken(keys: KeyRing, input: MessageTokenInput): Promise<MintedToken> {
  const signing = keys.signingKey();
  const key = await signingKeyFor(signing);
  const jti = randomUUID();
  const iat = Math.floor(input.now / 1000);
  const exp = iat + input.decision.ttl;
  const { audiences, scopes, claims } = input.decision;
  const token = await new SignJWT({
    ...claims,
    client_id: input.clientId,
    scope: scopes.join(' '),
    act: input.act,
    txn: input.txn,
    ...(input.cnfJwk ? { cnf: { jwk: input.cnfJwk } } : {}),
  })
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: TYP.message })
    .setIssuer(input.issuer)
    .setSubject(input.subject)
    .setAudience(audiences.length === 1 ? audiences[0]! : audiences)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(key);
  return { token, jti, exp };
}

/** RFC 8693 section 4.1: the new actor wraps any previous one. */
export function actClaim(actorClientId: string, previous: unknown): Record<string, unknown> {
  const act: Record<string, unknown> = { sub: actorClientId, client_id: actorClientId };
  if (previous && typeof previous === 'object') act.act = previous;
  return act;
}

export const newTransactionId = (): string => randomUUID();
