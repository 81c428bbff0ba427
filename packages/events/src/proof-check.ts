/**
 * Steps 4c-6 of docs/events.md, consumer side of the event proof: verify it under the cnf key
 * (signature.ts, the key's one algorithm), then our strict checks on its header and claims, then its
 * binding to this record and the digest of its value. `checkProof` does 4c and computes 6's digest
 * comparison in one pure, synchronous call, so a signature pool's thread runs exactly the code the
 * event loop runs (ProofChecker: here, or on a pool); the binding (5) and the digest's verdict (6)
 * are then applied on the event loop, in that order.
 */
import type { KeyObject } from 'node:crypto';
import type { ConfirmationKey } from './cnf.ts';
import { signatureVerifies } from './signature.ts';
import { TYP } from './constants.ts';
import { digest } from './digest.ts';
import { EventRefusal } from './errors.ts';
import {
  decodeSegment,
  KEY_BEARING_HEADERS,
  normalizeMediaType,
  parseJsonBytes,
  splitCompact,
} from './jose-strict.ts';
import type { ProofClaims } from './proof.ts';
import type { DecodedEvent } from './types.ts';

/** A verified proof's claims, and whether its `dig` is the digest of the record's value bytes. */
export interface CheckedProof {
  claims: ProofClaims;
  digestMatches: boolean;
}

/** The cnf key as checkProof needs it (a pool's thread has the KeyObject, not the ConfirmationKey). */
export interface ProofKey {
  alg: string;
  kid?: string;
  key: KeyObject;
}

/**
 * Where a verifier has its proofs checked: here (synchronously) or on a signature pool's threads.
 * Refuses a bad proof with EventRefusal ERR_EVENT_PROOF_INVALID; any other rejection is transient.
 */
export interface ProofChecker {
  check(proof: string, key: ConfirmationKey, value: Uint8Array): CheckedProof | Promise<CheckedProof>;
}

/** On the event loop: for tools, tests and consumers configured without threads. */
export const IN_THREAD: ProofChecker = {
  check: (proof, key, value) => checkProof(proof, key, value),
};

function invalid(message: string, cause?: unknown): EventRefusal {
  return new EventRefusal('ERR_EVENT_PROOF_INVALID', message, cause === undefined ? {} : { cause });
}

/**
 * Step 4c, and step 6's comparison: the signature under the confirmation key, typ, no key headers,
 * strict JSON, the claims' types; then `dig` against the SHA-256 of `value`. Throws EventRefusal
 * ERR_EVENT_PROOF_INVALID.
 */
export function checkProof(proof: string, key: ProofKey, value: Uint8Array): CheckedProof {
  const segments = splitCompact(proof);
  if (segments === undefined) throw invalid('proof is not a compact JWS');
  let header: Record<string, unknown>;
  try {
    header = decodeSegment(segments[0]);
  } catch (error) {
    throw invalid('proof header is not a strict JSON object', error);
  }
  checkProofHeader(header, key);
  // The algorithm is the key's (checkProofHeader made the header agree): the proof cannot pick how
  // it is verified.
  if (!signatureVerifies(key.key, key.alg, `${segments[0]}.${segments[1]}`, segments[2])) {
    throw invalid('proof signature does not verify under the cnf key');
  }
  const payload = Buffer.from(segments[1], 'base64url');
  let claims: Record<string, unknown>;
  try {
    claims = parseJsonBytes(payload);
  } catch (error) {
    throw invalid('proof payload is not a strict JSON object', error);
  }
  const checked = checkProofClaims(claims);
  return { claims: checked, digestMatches: checked.dig === digest(value) };
}

function checkProofHeader(header: Record<string, unknown>, key: ProofKey): void {
  if (header.alg !== key.alg) throw invalid('proof alg is not the cnf key algorithm');
  if (typeof header.typ !== 'string' || normalizeMediaType(header.typ) !== TYP.proof) {
    throw invalid('proof typ is not event-proof+jwt');
  }
  for (const name of KEY_BEARING_HEADERS) {
    if (Object.hasOwn(header, name)) throw invalid(`proof header "${name}" is not allowed`);
  }
  // We implement no JWS extension (b64: false included), so crit is refused outright.
  if (Object.hasOwn(header, 'crit')) throw invalid('proof uses a critical extension');
  if (
    header.kid !== undefined &&
    (typeof header.kid !== 'string' || (key.kid !== undefined && header.kid !== key.kid))
  ) {
    throw invalid('proof kid does not name the cnf key');
  }
}

const REQUIRED_STRINGS = ['evt', 'evt_type', 'src', 'time', 'dig', 'ath'] as const;
const OPTIONAL_STRINGS = ['evt_subject', 'rgh'] as const;

function checkProofClaims(claims: Record<string, unknown>): ProofClaims {
  for (const name of REQUIRED_STRINGS) {
    if (typeof claims[name] !== 'string' || claims[name] === '')
      throw invalid(`proof claim "${name}" is missing`);
  }
  for (const name of OPTIONAL_STRINGS) {
    if (claims[name] !== undefined && (typeof claims[name] !== 'string' || claims[name] === '')) {
      throw invalid(`proof claim "${name}" is invalid`);
    }
  }
  if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat) || claims.iat < 0) {
    throw invalid('proof claim "iat" is invalid');
  }
  return claims as unknown as ProofClaims;
}

/**
 * Step 5: the proof names this record's event and the message token it carries. `tokenHash` is the
 * SHA-256 (base64url) of that token, as the validator's Principal.tokenHash gives it.
 */
export function checkProofBinding(claims: ProofClaims, event: DecodedEvent, tokenHash: string): void {
  const { attributes } = event;
  const mismatch = (what: string) =>
    new EventRefusal('ERR_EVENT_PROOF_MISMATCH', `proof is not for this ${what}`);
  if (claims.evt !== attributes.id) throw mismatch('event id');
  if (claims.evt_type !== attributes.type) throw mismatch('event type');
  if (claims.src !== attributes.source) throw mismatch('event source');
  if (claims.time !== attributes.time) throw mismatch('event time');
  if (claims.evt_subject !== attributes.subject) throw mismatch('event subject');
  if (claims.ath !== tokenHash) throw mismatch('message token');
}

/** Step 6: the value bytes are exactly those the producer signed (checkProof compared them). */
export function checkDigest(proof: CheckedProof): void {
  if (!proof.digestMatches) {
    throw new EventRefusal('ERR_EVENT_DIGEST_MISMATCH', 'event data does not match the proof digest');
  }
}
