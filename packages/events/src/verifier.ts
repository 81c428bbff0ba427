/**
 * The consumers' per-record check, steps 1-9 of docs/events.md, each one function refusing with one
 * code (the dead-letter reason). A validator that cannot answer is not a refusal: its
 * ValidatorUnavailableError is rethrown so the consumer retries the record and never dead-letters it.
 */
import type { Principal, TokenProfile, Validator } from '@gatehouse/validator';
import { isTokenValidationError, ValidatorUnavailableError } from '@gatehouse/validator';
import { confirmationKey } from './cnf.ts';
import { TYP } from './constants.ts';
import { decodeEvent } from './decode.ts';
import { EventRefusal } from './errors.ts';
import { verifyReplayGrant, replayGrantProfile } from './grant.ts';
import type { VerifiedGrant } from './grant.ts';
import { ASYMMETRIC_ALGORITHMS } from './jose-strict.ts';
import type { ExpiryPolicy } from './policy.ts';
import { evaluateExpiry, parseExpiryPolicy } from './policy.ts';
import { principalFromClaims } from './principal.ts';
import { checkDigest, checkProofBinding, IN_THREAD, type ProofChecker } from './proof-check.ts';
import type { DecodedEvent, EventAttributes, EventRecord } from './types.ts';

export interface EventVerifierOptions {
  validator: Validator;
  /** This consumer's audience, e.g. urn:gatehouse:consumer:shipping. */
  audience: string;
  policy: ExpiryPolicy;
  now?: () => number;
  /** Algorithms a producer's cnf key may use; default ES256, EdDSA. */
  proofAlgorithms?: string[];
  /** Upper bound on a message token's exp - iat, when the deployment sets one. */
  messageTokenMaxLifetimeSeconds?: number;
  /**
   * Whether the validator's keys may be trusted now (RemoteKeySource.usable). When they may not,
   * ERR_TOKEN_KEY_UNKNOWN is the issuer's JWKS being unreachable, not the record's fault: it is
   * turned into ValidatorUnavailableError, so the record is retried instead of dead-lettered.
   */
  keysUsable?: () => boolean;
  /**
   * Where proofs (signature, strict JSON, claims, digest comparison) are checked: on the event loop
   * (default) or on a signature pool's threads (createSignaturePool), for consumers that verify
   * records ahead of their turn.
   */
  signatures?: ProofChecker;
}

export interface AcceptedEvent {
  attributes: EventAttributes;
  data: Record<string, unknown>;
  /** From the message token (also when it expired and a replay grant let it through). */
  principal: Principal;
  basis: 'fresh' | 'replay';
  replay?: { clientId: string; grantId: string; replayId?: string };
}

export interface EventVerifier {
  verify(record: EventRecord): Promise<AcceptedEvent>;
}

export const DEFAULT_PROOF_ALGORITHMS: readonly string[] = Object.freeze(['ES256', 'EdDSA']);

interface TokenOutcome {
  principal: Principal;
  expired: boolean;
}

export function createEventVerifier(options: EventVerifierOptions): EventVerifier {
  const { audience } = options;
  const validator = options.keysUsable ? withKeyOutages(options.validator, options.keysUsable) : options.validator;
  if (typeof validator?.verify !== 'function') throw new TypeError('validator is required');
  if (typeof audience !== 'string' || audience === '')
    throw new TypeError('audience must be a non-empty string');
  const policy = parseExpiryPolicy(options.policy);
  const algorithms = proofAlgorithms(options.proofAlgorithms);
  const now = options.now ?? Date.now;
  const signatures = options.signatures ?? IN_THREAD;
  // Built once: the validator normalises (and caches verifications) per profile object.
  const messageProfile: TokenProfile = {
    kind: 'message',
    typ: TYP.message,
    audience,
    requiredClaims: ['cnf', 'act'],
    ...(options.messageTokenMaxLifetimeSeconds === undefined
      ? {}
      : { maxLifetimeSeconds: options.messageTokenMaxLifetimeSeconds }),
  };
  const grantProfile = replayGrantProfile(audience);

  async function verify(record: EventRecord): Promise<AcceptedEvent> {
    const event = decodeEvent(record); // 1
    const messageToken = requireToken(event); // 2
    const token = await verifyMessageToken(validator, messageToken, messageProfile); // 3
    const proof = requireProof(event); // 4a
    const key = await confirmationKey(token.principal.cnf, algorithms); // 4b
    const checked = await signatures.check(proof, key, event.value); // 4c (and 6's comparison)
    const { claims } = checked;
    checkProofBinding(claims, event, token.principal.tokenHash); // 5 (ath: the token's SHA-256)
    checkDigest(checked); // 6
    checkScope(token.principal, event.attributes.type); // 7
    checkOrg(token.principal, event.data); // 8
    const grant = token.expired ? await grantFor(event) : undefined;
    const verdict = evaluateExpiry({
      tokenExpired: token.expired,
      policy,
      eventType: event.attributes.type,
      eventTime: event.attributes.time,
      nowMs: now(),
      grant: grant === undefined || grant === 'invalid' ? grant : grant.facts,
      ...(claims.rgh === undefined ? {} : { proofGrantHash: claims.rgh }),
    }); // 9
    if (!verdict.accept) throw new EventRefusal(verdict.code, refusalMessage(verdict.code));
    return accepted(event, token.principal, verdict.basis, grant);
  }

  /** Only an expired token under a replay policy needs its grant verified (no work otherwise). */
  async function grantFor(event: DecodedEvent): Promise<VerifiedGrant | 'invalid' | undefined> {
    if (policy.replay === undefined || event.replayGrant === undefined) return undefined;
    return verifyReplayGrant(validator, event.replayGrant, grantProfile);
  }

  return { verify };
}

function requireToken(event: DecodedEvent): string {
  if (event.messageToken === undefined) {
    throw new EventRefusal('ERR_EVENT_TOKEN_MISSING', 'record carries no message token');
  }
  return event.messageToken;
}

/** ERR_TOKEN_EXPIRED is held, not refused: its claims passed every other check, and step 9 decides. */
/** KEY_UNKNOWN while the key set is unusable is an outage (transient), never a refusal. */
function withKeyOutages(validator: Validator, keysUsable: () => boolean): Validator {
  if (typeof validator?.verify !== 'function') return validator;
  return {
    ...validator,
    async verify(token, profile) {
      try {
        return await validator.verify(token, profile);
      } catch (error) {
        if (isTokenValidationError(error) && error.code === 'ERR_TOKEN_KEY_UNKNOWN' && !keysUsable()) {
          throw new ValidatorUnavailableError("the issuer's signing keys are unavailable", { cause: error });
        }
        throw error;
      }
    },
  };
}

async function verifyMessageToken(
  validator: Validator,
  token: string,
  profile: TokenProfile,
): Promise<TokenOutcome> {
  try {
    return { principal: await validator.verify(token, profile), expired: false };
  } catch (error) {
    if (!isTokenValidationError(error)) throw error;
    if (error.code === 'ERR_TOKEN_EXPIRED' && error.claims !== undefined) {
      return { principal: principalFromClaims(profile.kind, error.claims, token), expired: true };
    }
    throw new EventRefusal(error.code, `message token refused: ${error.message}`, { cause: error });
  }
}

function requireProof(event: DecodedEvent): string {
  if (event.proof === undefined)
    throw new EventRefusal('ERR_EVENT_PROOF_MISSING', 'record carries no event proof');
  return event.proof;
}

/** Step 7: the user consented to this kind of event, not merely to some event. */
function checkScope(principal: Principal, eventType: string): void {
  if (!principal.scopes.includes(eventType)) {
    throw new EventRefusal('ERR_EVENT_SCOPE', 'message token scope does not cover this event type');
  }
}

/** Step 8: an event about one organisation cannot ride on a token of another. */
function checkOrg(principal: Principal, data: Record<string, unknown>): void {
  if (typeof data.org_id !== 'string' || principal.orgId === undefined || data.org_id !== principal.orgId) {
    throw new EventRefusal('ERR_EVENT_ORG_MISMATCH', 'event org_id does not match the message token');
  }
}

function accepted(
  event: DecodedEvent,
  principal: Principal,
  basis: 'fresh' | 'replay',
  grant: VerifiedGrant | 'invalid' | undefined,
): AcceptedEvent {
  const result: AcceptedEvent = { attributes: event.attributes, data: event.data, principal, basis };
  if (basis === 'replay' && grant !== undefined && grant !== 'invalid') {
    result.replay = { clientId: grant.clientId, grantId: grant.grantId, replayId: grant.replayId };
  }
  return result;
}

function refusalMessage(code: string): string {
  return code === 'ERR_EVENT_EXPIRED'
    ? 'message token has expired and no replay policy admits the record'
    : `replay refused (${code})`;
}

function proofAlgorithms(list: string[] | undefined): ReadonlySet<string> {
  const algorithms = list ?? DEFAULT_PROOF_ALGORITHMS;
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new TypeError('proofAlgorithms must be a non-empty array');
  }
  for (const alg of algorithms) {
    if (!ASYMMETRIC_ALGORITHMS.has(alg)) throw new TypeError(`proof algorithm ${String(alg)} is not allowed`);
  }
  return new Set(algorithms);
}
