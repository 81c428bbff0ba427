/**
 * Steps 4c-6 of docs/events.md, consumer side of the event proof: verify it under the cnf key
 * (jose), then our strict checks on its header and claims, then its binding to this record.
 */
import { compactVerify } from 'jose';
import type { ConfirmationKey } from './cnf.ts';
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

function invalid(message: string, cause?: unknown): EventRefusal {
  return new EventRefusal('ERR_EVENT_PROOF_INVALID', message, cause === undefined ? {} : { cause });
}

/** Signature under the confirmation key, typ, no key headers, strict JSON; returns the claims. */
export async function verifyProof(proof: string, key: ConfirmationKey): Promise<ProofClaims> {
  const segments = splitCompact(proof);
  if (segments === undefined) throw invalid('proof is not a compact JWS');
  let header: Record<string, unknown>;
  try {
    header = decodeSegment(segments[0]);
  } catch (error) {
    throw invalid('proof header is not a strict JSON object', error);
  }
  checkProofHeader(header, key);
  let payload: Uint8Array;
  try {
    // The allow-list is the key's one algorithm: the proof cannot pick how it is verified.
    ({ payload } = await compactVerify(proof, key.key, { algorithms: [key.alg] }));
  } catch (error) {
    throw invalid('proof signature does not verify under the cnf key', error);
  }
  let claims: Record<string, unknown>;
  try {
    claims = parseJsonBytes(payload);
  } catch (error) {
    throw invalid('proof payload is not a strict JSON object', error);
  }
  return checkProofClaims(claims);
}

function checkProofHeader(header: Record<string, unknown>, key: ConfirmationKey): void {
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

/** Step 5: the proof names this record's event and the message token it carries. */
export function checkProofBinding(claims: ProofClaims, event: DecodedEvent, messageToken: string): void {
  const { attributes } = event;
  const mismatch = (what: string) =>
    new EventRefusal('ERR_EVENT_PROOF_MISMATCH', `proof is not for this ${what}`);
  if (claims.evt !== attributes.id) throw mismatch('event id');
  if (claims.evt_type !== attributes.type) throw mismatch('event type');
  if (claims.src !== attributes.source) throw mismatch('event source');
  if (claims.time !== attributes.time) throw mismatch('event time');
  if (claims.evt_subject !== attributes.subject) throw mismatch('event subject');
  if (claims.ath !== digest(messageToken)) throw mismatch('message token');
}

/** Step 6: the value bytes are exactly those the producer signed. */
export function checkDigest(claims: ProofClaims, value: Buffer): void {
  if (claims.dig !== digest(value)) {
    throw new EventRefusal('ERR_EVENT_DIGEST_MISMATCH', 'event data does not match the proof digest');
  }
}
