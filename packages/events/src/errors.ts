/**
 * Typed errors. An EventRefusal is a consumer's verdict on one record: its code is the dead-letter
 * reason. An EventEnvelopeError is the producer's own mistake (oversized event, bad attributes, an
 * unusable signing key): it is never put on the wire.
 */

export type EventRefusalCode =
  | 'ERR_EVENT_MALFORMED'
  | 'ERR_EVENT_TOO_LARGE'
  | 'ERR_EVENT_TOKEN_MISSING'
  | 'ERR_EVENT_PROOF_MISSING'
  | 'ERR_EVENT_CNF_INVALID'
  | 'ERR_EVENT_PROOF_INVALID'
  | 'ERR_EVENT_PROOF_MISMATCH'
  | 'ERR_EVENT_DIGEST_MISMATCH'
  | 'ERR_EVENT_SCOPE'
  | 'ERR_EVENT_ORG_MISMATCH'
  | 'ERR_EVENT_EXPIRED'
  | 'ERR_EVENT_REPLAY_GRANT_INVALID'
  | 'ERR_EVENT_REPLAY_CLIENT'
  | 'ERR_EVENT_REPLAY_SCOPE'
  | 'ERR_EVENT_REPLAY_TYPE'
  | 'ERR_EVENT_REPLAY_TOO_OLD'
  | 'ERR_EVENT_REPLAY_UNBOUND'
  | 'ERR_EVENT_REPLAY_OUT_OF_RANGE';

export class EventRefusal extends Error {
  /** An EventRefusalCode, or the validator's ERR_TOKEN_* code for a refused message token (step 3). */
  readonly code: EventRefusalCode | string;

  constructor(code: EventRefusalCode | string, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EventRefusal';
    this.code = code;
  }
}

export function isEventRefusal(value: unknown): value is EventRefusal {
  return value instanceof EventRefusal;
}

export type EventEnvelopeErrorCode = 'ERR_EVENT_TOO_LARGE' | 'ERR_EVENT_ATTRIBUTES' | 'ERR_EVENT_SIGNING_KEY';

export class EventEnvelopeError extends Error {
  readonly code: EventEnvelopeErrorCode;

  constructor(code: EventEnvelopeErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EventEnvelopeError';
    this.code = code;
  }
}
