/**
 * One small function per check, each refusing with one code. validator.ts calls them in the order
 * documented in the README; the order matters: cheap structural checks run before any key lookup or
 * signature work, and no claim is looked at before the signature is known to be good.
 */
import { TokenValidationError } from './errors.ts';
import { JsonDuplicateKeyError, parseStrictJsonObject } from './json.ts';
import type { NormalizedProfile } from './profile.ts';

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------
// 1. Shape, before any parsing

/** `undefined`, `null` and '' all mean "no credential presented" (the caller's 401 with a challenge). */
export function checkPresent(token: unknown): asserts token is string {
  if (token === undefined || token === null || token === '') {
    throw new TokenValidationError('ERR_TOKEN_MISSING', 'no token was presented');
  }
  if (typeof token !== 'string') throw new TokenValidationError('ERR_TOKEN_MALFORMED', 'token is malformed');
}

/** Before anything else touches the token, so an oversized one costs no decoding or hashing. */
export function checkSize(token: string, maxBytes: number): void {
  // .length <= bytes, so the cheap test settles the common oversized case; byteLength the rest.
  if (token.length > maxBytes || Buffer.byteLength(token, 'utf8') > maxBytes) {
    throw new TokenValidationError('ERR_TOKEN_TOO_LARGE', 'token is too large');
  }
}

// Header and payload must be non-empty; the signature may be empty here so that an unsecured
// (alg "none") token is refused for what it is, ERR_TOKEN_ALG_NOT_ALLOWED, not as malformed.
const SEGMENT = /^[A-Za-z0-9_-]+$/;
const SIGNATURE_SEGMENT = /^[A-Za-z0-9_-]*$/;

/**
 * Compact JWS only: exactly three base64url segments, no padding. A JWE (five segments) is refused as
 * malformed: we never decrypt, so it is not a token this library can read at all (a nested JWT,
 * cty "JWT", is a separate refusal: ERR_TOKEN_NESTED).
 */
export function splitCompact(token: string): [string, string, string] {
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenValidationError('ERR_TOKEN_MALFORMED', 'token is malformed');
  const [header, payload, signature] = parts as [string, string, string];
  if (!isBase64url(header, SEGMENT) || !isBase64url(payload, SEGMENT)) {
    throw new TokenValidationError('ERR_TOKEN_MALFORMED', 'token is malformed');
  }
  if (!isBase64url(signature, SIGNATURE_SEGMENT)) {
    throw new TokenValidationError('ERR_TOKEN_MALFORMED', 'token is malformed');
  }
  return [header, payload, signature];
}

function isBase64url(segment: string, pattern: RegExp): boolean {
  // A length of 4n+1 cannot be produced by any byte string: it is garbage, not base64url.
  return pattern.test(segment) && segment.length % 4 !== 1;
}

// ---------------------------------------------------------------------------------------------------
// 2. Decode, refusing duplicate member names

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** base64url -> strict UTF-8 -> strict JSON object (duplicate member names refused at any depth). */
export function decodeSegment(segment: string): Json {
  let text: string;
  try {
    text = utf8.decode(Buffer.from(segment, 'base64url'));
  } catch {
    throw new TokenValidationError('ERR_TOKEN_MALFORMED', 'token is malformed');
  }
  try {
    return parseStrictJsonObject(text);
  } catch (error) {
    if (error instanceof JsonDuplicateKeyError) {
      throw new TokenValidationError('ERR_TOKEN_DUPLICATE_KEY', 'token contains a duplicate member name');
    }
    throw new TokenValidationError('ERR_TOKEN_MALFORMED', 'token is malformed');
  }
}

// ---------------------------------------------------------------------------------------------------
// 3. Protected header

/** Algorithms this library will ever verify: asymmetric only. Symmetric (HS*) would let anyone who
 * holds the public key mint tokens (the classic alg-confusion attack); 'none' needs no key at all. */
export const SUPPORTED_ALGORITHMS: ReadonlySet<string> = new Set([
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
]);

export function checkAlgorithm(header: Json, allowed: ReadonlySet<string>): string {
  const { alg } = header;
  // The SUPPORTED test is redundant with createValidator's option check; kept so that no future
  // change to the allow-list plumbing can ever admit 'none' or HS*.
  if (typeof alg !== 'string' || !SUPPORTED_ALGORITHMS.has(alg) || !allowed.has(alg)) {
    throw new TokenValidationError('ERR_TOKEN_ALG_NOT_ALLOWED', 'token algorithm is not allowed');
  }
  return alg;
}

/** Header parameters that would let the token name its own verification key (RFC 8725 3.10). */
const KEY_BEARING_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;

export function checkKeyHeaders(header: Json): void {
  for (const name of KEY_BEARING_HEADERS) {
    if (Object.hasOwn(header, name)) {
      throw new TokenValidationError('ERR_TOKEN_HEADER_NOT_ALLOWED', `token header "${name}" is not allowed`);
    }
  }
}

/** We implement no JWS extension, so any crit (even an empty one, which RFC 7515 forbids) is refused. */
export function checkCrit(header: Json): void {
  if (Object.hasOwn(header, 'crit')) {
    throw new TokenValidationError(
      'ERR_TOKEN_CRIT_UNSUPPORTED',
      'token uses an unsupported critical extension',
    );
  }
}

/** cty "JWT" means the payload is itself a JWT (RFC 7519 5.2); we verify one layer, never two. */
export function checkNotNested(header: Json): void {
  const { cty } = header;
  if (typeof cty === 'string' && normalizeMediaType(cty) === 'jwt') {
    throw new TokenValidationError('ERR_TOKEN_NESTED', 'nested tokens are not accepted');
  }
}

/** Explicit typing (RFC 8725 3.11) is what keeps a message token from passing as an access token. */
export function checkTyp(header: Json, profile: NormalizedProfile): void {
  const { typ } = header;
  if (typeof typ !== 'string' || normalizeMediaType(typ) !== profile.typ) {
    throw new TokenValidationError('ERR_TOKEN_TYP', `token is not of the expected type (${profile.kind})`);
  }
}

export function checkKid(header: Json): string | undefined {
  const { kid } = header;
  if (kid === undefined) return undefined;
  if (typeof kid !== 'string' || kid === '') {
    throw new TokenValidationError('ERR_TOKEN_MALFORMED', 'token is malformed');
  }
  return kid;
}

/** 'application/at+JWT' and 'at+jwt' are the same media type (RFC 8725 3.11, RFC 7515 4.1.9). */
export function normalizeMediaType(value: string): string {
  const lower = value.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

// ---------------------------------------------------------------------------------------------------
// 5. Claims (only ever called on a payload whose signature verified)

const ALWAYS_REQUIRED = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'] as const;

export function checkRequiredClaims(payload: Json, profile: NormalizedProfile): void {
  for (const claim of [...ALWAYS_REQUIRED, ...profile.requiredClaims]) {
    if (!Object.hasOwn(payload, claim) || payload[claim] === null) {
      throw new TokenValidationError('ERR_TOKEN_CLAIM_MISSING', `token is missing the "${claim}" claim`);
    }
  }
}

/** The Principal is typed; a claim of the wrong type is refused rather than coerced. */
export function checkClaimTypes(payload: Json): void {
  const invalid = (claim: string) =>
    new TokenValidationError('ERR_TOKEN_CLAIM_INVALID', `token claim "${claim}" is invalid`);
  for (const claim of ['iss', 'sub', 'jti'] as const) {
    if (typeof payload[claim] !== 'string' || payload[claim] === '') throw invalid(claim);
  }
  for (const claim of ['exp', 'iat'] as const) {
    if (!isNumericDate(payload[claim])) throw invalid(claim);
  }
  if (payload.nbf !== undefined && !isNumericDate(payload.nbf)) throw invalid('nbf');
  const { aud } = payload;
  if (typeof aud === 'string' ? aud === '' : !isNonEmptyStringArray(aud)) throw invalid('aud');
  for (const claim of ['scope', 'client_id', 'org_id', 'subscription_level'] as const) {
    if (payload[claim] !== undefined && typeof payload[claim] !== 'string') throw invalid(claim);
  }
  if (payload.roles !== undefined && !isStringArray(payload.roles)) throw invalid('roles');
  for (const claim of ['act', 'cnf'] as const) {
    if (payload[claim] !== undefined && !isPlainObject(payload[claim])) throw invalid(claim);
  }
}

export function checkIssuer(payload: Json, issuer: string): void {
  if (payload.iss !== issuer)
    throw new TokenValidationError('ERR_TOKEN_ISSUER', 'token issuer is not trusted');
}

export function checkAudience(payload: Json, profile: NormalizedProfile): void {
  const aud = payload.aud as string | string[];
  const presented = typeof aud === 'string' ? [aud] : aud;
  if (!presented.some((value) => profile.audiences.includes(value))) {
    throw new TokenValidationError('ERR_TOKEN_AUDIENCE', 'token is not meant for this audience');
  }
}

/** nbf in the future, or an iat in the future (a token "issued" later than now), beyond tolerance. */
export function checkNotBefore(payload: Json, nowSeconds: number, toleranceSeconds: number): void {
  const nbf = payload.nbf as number | undefined;
  const iat = payload.iat as number;
  if ((nbf !== undefined && nbf > nowSeconds + toleranceSeconds) || iat > nowSeconds + toleranceSeconds) {
    throw new TokenValidationError('ERR_TOKEN_NOT_YET_VALID', 'token is not yet valid');
  }
}

/** A token living longer than its kind allows was minted by a bug or a forger; both are refused. */
export function checkLifetime(payload: Json, profile: NormalizedProfile): void {
  const exp = payload.exp as number;
  const iat = payload.iat as number;
  if (exp < iat) throw new TokenValidationError('ERR_TOKEN_CLAIM_INVALID', 'token claim "exp" is invalid');
  if (profile.maxLifetimeSeconds !== undefined && exp - iat > profile.maxLifetimeSeconds) {
    throw new TokenValidationError('ERR_TOKEN_LIFETIME', 'token lifetime exceeds the allowed maximum');
  }
}

/** Not a throwing check: the expiry refusal carries the claims and is raised last (see validator.ts). */
export function isExpired(payload: Json, nowSeconds: number, toleranceSeconds: number): boolean {
  return (payload.exp as number) <= nowSeconds - toleranceSeconds;
}

// ---------------------------------------------------------------------------------------------------

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isNonEmptyStringArray(value: unknown): value is string[] {
  return isStringArray(value) && value.length > 0 && value.every((item) => item !== '');
}

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
