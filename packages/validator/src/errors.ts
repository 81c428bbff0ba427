/**
 * Typed refusals. Every token problem is a TokenValidationError with a stable code and status 401;
 * callers map the code to metrics and audit, and may show the message (it never names key material,
 * addresses or claim values). A missing scope is not a token problem: that is the caller's 403.
 */

export type ValidationCode =
  | 'ERR_TOKEN_MISSING'
  | 'ERR_TOKEN_TOO_LARGE'
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_DUPLICATE_KEY'
  | 'ERR_TOKEN_ALG_NOT_ALLOWED'
  | 'ERR_TOKEN_HEADER_NOT_ALLOWED'
  | 'ERR_TOKEN_CRIT_UNSUPPORTED'
  | 'ERR_TOKEN_NESTED'
  | 'ERR_TOKEN_TYP'
  | 'ERR_TOKEN_KEY_UNKNOWN'
  | 'ERR_TOKEN_SIGNATURE'
  | 'ERR_TOKEN_ISSUER'
  | 'ERR_TOKEN_AUDIENCE'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_NOT_YET_VALID'
  | 'ERR_TOKEN_CLAIM_MISSING'
  | 'ERR_TOKEN_CLAIM_INVALID'
  | 'ERR_TOKEN_LIFETIME'
  | 'ERR_TOKEN_REVOKED';

export interface TokenValidationErrorOptions {
  /** Only for ERR_TOKEN_EXPIRED; the constructor ignores it for every other code. */
  claims?: Readonly<Record<string, unknown>>;
  cause?: unknown;
}

export class TokenValidationError extends Error {
  readonly code: ValidationCode;
  readonly status = 401 as const;
  /**
   * The verified payload, present only on ERR_TOKEN_EXPIRED and only once the signature, iss, aud,
   * typ and every other check have passed: the consumers' expiry/replay policy decides on it.
   * Absent on every other code so no caller can be tempted to trust claims of a refused token.
   */
  // `declare`: no class-field initialiser, so the property is absent (not undefined) unless set.
  declare readonly claims?: Readonly<Record<string, unknown>>;

  constructor(code: ValidationCode, message: string, options: TokenValidationErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TokenValidationError';
    this.code = code;
    if (code === 'ERR_TOKEN_EXPIRED' && options.claims !== undefined) this.claims = options.claims;
  }
}

export function isTokenValidationError(value: unknown): value is TokenValidationError {
  return value instanceof TokenValidationError;
}

/**
 * Not a token problem: a dependency the validator needs (the deny list) did not answer. The token is
 * refused (fail closed) but with 503 so the caller retries instead of logging the user out.
 */
export class ValidatorUnavailableError extends Error {
  readonly code = 'ERR_VALIDATOR_UNAVAILABLE' as const;
  readonly status = 503 as const;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ValidatorUnavailableError';
  }
}
