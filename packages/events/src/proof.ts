/**
 * The event proof, producer side: a compact JWS by the producing service's own key over the
 * event's identity, the digest of its value bytes, the hash of the message token it carries and,
 * for a replay, the hash of its replay grant (docs/events.md, Event proof).
 */
import { CompactSign, importJWK } from 'jose';
import { attributesProblem } from './attributes.ts';
import { TYP } from './constants.ts';
import { digest } from './digest.ts';
import { EventEnvelopeError } from './errors.ts';
import { ASYMMETRIC_ALGORITHMS } from './jose-strict.ts';
import type { EventAttributes } from './types.ts';

/** The proof's payload. `evt_subject` binds ce_subject (the record key) when the event has one. */
export interface ProofClaims {
  evt: string;
  evt_type: string;
  src: string;
  time: string;
  evt_subject?: string;
  dig: string;
  ath: string;
  rgh?: string;
  iat: number;
}

export interface ProofSigner {
  kid: string;
  alg: string;
  sign(
    attributes: EventAttributes,
    dataDigest: string,
    messageToken: string,
    replayGrant?: string,
  ): Promise<string>;
}

export interface ProofSignerOptions {
  /** Millisecond clock for iat, for tests. */
  now?: () => number;
}

/** From the producer's private JWK (must carry kid and alg, e.g. token-service's dev file sales.private.jwk.json). */
export async function createProofSigner(
  privateJwk: Record<string, unknown>,
  options: ProofSignerOptions = {},
): Promise<ProofSigner> {
  const { kid, alg } = signingKeyParameters(privateJwk);
  let key: Awaited<ReturnType<typeof importJWK>>;
  try {
    key = await importJWK(privateJwk, alg);
  } catch (error) {
    throw new EventEnvelopeError('ERR_EVENT_SIGNING_KEY', 'the proof signing key cannot be imported', {
      cause: error,
    });
  }
  const now = options.now ?? Date.now;

  async function sign(
    attributes: EventAttributes,
    dataDigest: string,
    messageToken: string,
    replayGrant?: string,
  ): Promise<string> {
    const problem = attributesProblem(attributes);
    if (problem !== undefined) throw new EventEnvelopeError('ERR_EVENT_ATTRIBUTES', problem);
    if (typeof dataDigest !== 'string' || dataDigest === '') throw new TypeError('dataDigest is required');
    if (typeof messageToken !== 'string' || messageToken === '')
      throw new TypeError('messageToken is required');
    const claims: ProofClaims = {
      evt: attributes.id,
      evt_type: attributes.type,
      src: attributes.source,
      time: attributes.time,
      ...(attributes.subject === undefined ? {} : { evt_subject: attributes.subject }),
      dig: dataDigest,
      ath: digest(messageToken),
      ...(replayGrant === undefined ? {} : { rgh: digest(replayGrant) }),
      iat: Math.floor(now() / 1000),
    };
    return new CompactSign(Buffer.from(JSON.stringify(claims), 'utf8'))
      .setProtectedHeader({ alg, kid, typ: TYP.proof })
      .sign(key);
  }

  return { kid, alg, sign };
}

/** A private key file missing kid/alg would sign proofs no consumer can pick a key for: fail at start. */
function signingKeyParameters(jwk: Record<string, unknown>): { kid: string; alg: string } {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw new EventEnvelopeError('ERR_EVENT_SIGNING_KEY', 'the proof signing key must be a JWK object');
  }
  const { kid, alg, d } = jwk;
  if (typeof kid !== 'string' || kid === '') {
    throw new EventEnvelopeError('ERR_EVENT_SIGNING_KEY', 'the proof signing key must carry a kid');
  }
  if (typeof alg !== 'string' || !ASYMMETRIC_ALGORITHMS.has(alg)) {
    throw new EventEnvelopeError(
      'ERR_EVENT_SIGNING_KEY',
      'the proof signing key must carry an asymmetric alg',
    );
  }
  if (typeof d !== 'string' || d === '') {
    throw new EventEnvelopeError('ERR_EVENT_SIGNING_KEY', 'the proof signing key must be a private key');
  }
  return { kid, alg };
}
