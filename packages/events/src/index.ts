/**
 * @gatehouse/events: the event envelope (CloudEvents 1.0, Kafka binary mode), the event proof, the
 * expiry/replay policy and the consumers' per-record verifier (docs/events.md). Transport-free: it
 * works on plain { key, value, headers } records and imports no broker, framework or database.
 */
export { CE, HEADER, SIZE_BUDGET, TYP } from './constants.ts';
export type { EventRefusalCode, EventEnvelopeErrorCode } from './errors.ts';
export { EventEnvelopeError, EventRefusal, isEventRefusal } from './errors.ts';
export type { DecodedEvent, EventAttributes, EventRecord } from './types.ts';
export { digest, encodeData } from './digest.ts';
export type { ProofClaims, ProofSigner, ProofSignerOptions } from './proof.ts';
export { createProofSigner } from './proof.ts';
export type { EncodeEventInput, SealEventInput } from './encode.ts';
export { encodeEvent, sealEvent } from './encode.ts';
export { decodeEvent } from './decode.ts';
export type { ExpiryInput, ExpiryPolicy, ExpiryVerdict, ReplayGrantFacts, ReplayPolicy } from './policy.ts';
export { evaluateExpiry, parseExpiryPolicy, REPLAY_SCOPE, STRICT_POLICY } from './policy.ts';
export type { CheckedProof, ProofChecker } from './proof-check.ts';
export type { SignaturePool, SignaturePoolOptions } from './signature-pool.ts';
export { createSignaturePool, SignaturePoolError } from './signature-pool.ts';
export type { AcceptedEvent, EventVerifier, EventVerifierOptions } from './verifier.ts';
export { createEventVerifier, DEFAULT_PROOF_ALGORITHMS } from './verifier.ts';
export type { InspectedEvent, InspectedJws } from './inspect.ts';
export { inspectEvent } from './inspect.ts';
export type { DeadLetterInfo } from './dead-letter.ts';
export { deadLetterRecord } from './dead-letter.ts';
