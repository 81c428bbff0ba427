/**
 * createValidator: the one verification path for every Gatehouse token, HTTP and Kafka alike.
 * The steps and their order are documented in the README; each step is a function in checks.ts.
 */
import { compactVerify } from 'jose';
import { VerifiedTokenCache } from './cache.ts';
import {
  checkAlgorithm,
  checkAudience,
  checkClaimTypes,
  checkCrit,
  checkIssuer,
  checkKeyHeaders,
  checkKid,
  checkLifetime,
  checkNotBefore,
  checkNotNested,
  checkPresent,
  checkRequiredClaims,
  checkSize,
  checkTyp,
  decodeSegment,
  isExpired,
  SUPPORTED_ALGORITHMS,
  splitCompact,
} from './checks.ts';
import { TokenValidationError, ValidatorUnavailableError } from './errors.ts';
import type { KeySource } from './keys.ts';
import type { Principal } from './principal.ts';
import { buildPrincipal, copyPrincipal, deepFreeze, sha256Base64url } from './principal.ts';
import type { NormalizedProfile, TokenProfile } from './profile.ts';
import { normalizeProfile } from './profile.ts';

export interface DenyList {
  has(jti: string): Promise<boolean>;
}

export interface ValidatorOptions {
  /** Exact match with the iss claim. */
  issuer: string;
  keys: KeySource;
  /** Allow-list, default ['ES256', 'EdDSA', 'RS256']; 'none' and HS* are refused at construction. */
  algorithms?: string[];
  /** Default 5. Applies to exp, nbf and iat. */
  clockToleranceSeconds?: number;
  /** Default 8192; checked before any parsing. */
  maxTokenBytes?: number;
  /** Consulted after the signature verifies, and on every cache hit. */
  denyList?: DenyList;
  /** Verified-token cache, default { maxEntries: 10_000 }. */
  cache?: { maxEntries: number } | false;
  /** Millisecond clock, for tests. */
  now?: () => number;
}

export interface Validator {
  verify(token: string | undefined, profile: TokenProfile): Promise<Principal>;
  /** Drops every cached verification (e.g. after an emergency key withdrawal). */
  clearCache(): void;
}

export const DEFAULT_ALGORITHMS: readonly string[] = Object.freeze(['ES256', 'EdDSA', 'RS256']);

interface Settings {
  issuer: string;
  keys: KeySource;
  algorithms: ReadonlySet<string>;
  toleranceSeconds: number;
  maxTokenBytes: number;
  denyList: DenyList | undefined;
  now: () => number;
}

/**
 * What the cache keeps of a verified token: the principal, and the header's alg and kid, so that a
 * hit can re-resolve the key without decoding the header again.
 */
interface Verified {
  principal: Principal;
  alg: string;
  kid: string | undefined;
}

export function createValidator(options: ValidatorOptions): Validator {
  const settings = readOptions(options);
  const cacheOption = options.cache ?? { maxEntries: 10_000 };
  const cache =
    cacheOption === false
      ? undefined
      : new VerifiedTokenCache<Verified>(entriesOption(cacheOption.maxEntries));

  async function verify(token: string | undefined, profile: TokenProfile): Promise<Principal> {
    const normalized = normalizeProfile(profile);
    // 1. Size, before anything else (and before hashing: an oversized token costs nothing).
    checkPresent(token);
    checkSize(token, settings.maxTokenBytes);
    const tokenHash = sha256Base64url(token);
    // 7 (early). A token verified before for this very profile skips steps 1 (its shape) to 5, but
    // never step 6. The key is the token's SHA-256: a hit is byte for byte a token that passed them.
    const cacheKey = `${normalized.id}.${tokenHash}`;
    const cached = cache?.get(cacheKey, settings.now());
    if (cached !== undefined) {
      // Its key must still be trusted: a withdrawn key (pruned, emergency-revoked) ends its
      // tokens at once, not when they expire.
      await resolveKey(settings.keys, cached.alg, cached.kid);
      await checkDenyList(settings.denyList, cached.principal.jti);
      return copyPrincipal(cached.principal);
    }
    const verified = await verifyUncached(settings, splitCompact(token), token, tokenHash, normalized);
    cache?.set(cacheKey, verified, verified.principal.exp * 1000, settings.now());
    return copyPrincipal(verified.principal);
  }

  return { verify, clearCache: () => cache?.clear() };
}

async function verifyUncached(
  settings: Settings,
  segments: [string, string, string],
  token: string,
  tokenHash: string,
  profile: NormalizedProfile,
): Promise<Verified> {
  // 2. Decode both JSON parts strictly (duplicate member names refused).
  const header = decodeSegment(segments[0]);
  const payload = decodeSegment(segments[1]);
  // 3. Header, before any key lookup: nothing in the token chooses how it is verified.
  const alg = checkAlgorithm(header, settings.algorithms);
  checkKeyHeaders(header);
  checkCrit(header);
  checkNotNested(header);
  checkTyp(header, profile);
  const kid = checkKid(header);
  // 4. Key and signature.
  const key = await resolveKey(settings.keys, alg, kid);
  await checkSignature(token, key, settings.algorithms);
  // 5. Claims of a payload now known to be the issuer's.
  checkRequiredClaims(payload, profile);
  checkClaimTypes(payload);
  checkIssuer(payload, settings.issuer);
  checkAudience(payload, profile);
  const nowSeconds = settings.now() / 1000;
  checkNotBefore(payload, nowSeconds, settings.toleranceSeconds);
  checkLifetime(payload, profile);
  const claims = deepFreeze(payload);
  const expired = isExpired(payload, nowSeconds, settings.toleranceSeconds);
  // 6. Deny list. Consulted before the expiry refusal too: a revoked token must not reach the
  // consumers' replay policy as "merely expired".
  await checkDenyList(settings.denyList, payload.jti as string);
  // Expiry last, so the claims it carries have passed every other check.
  if (expired) throw new TokenValidationError('ERR_TOKEN_EXPIRED', 'token has expired', { claims });
  return { principal: buildPrincipal(profile.kind, claims, tokenHash), alg, kid };
}

async function resolveKey(keys: KeySource, alg: string, kid: string | undefined) {
  try {
    return await keys(kid === undefined ? { alg } : { alg, kid });
  } catch (error) {
    if (error instanceof TokenValidationError) throw error;
    // No match, several matches for a kid-less token (ambiguous: refused rather than tried in turn),
    // an unusable set, a failing custom source: all mean "no key we trust for this token".
    throw new TokenValidationError('ERR_TOKEN_KEY_UNKNOWN', 'no key is known for this token', {
      cause: error,
    });
  }
}

async function checkSignature(
  token: string,
  key: Awaited<ReturnType<KeySource>>,
  algorithms: ReadonlySet<string>,
) {
  try {
    // algorithms again: jose enforces the allow-list itself, a second lock on the same door.
    await compactVerify(token, key, { algorithms: [...algorithms] });
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') {
      throw new TokenValidationError('ERR_TOKEN_SIGNATURE', 'token signature is invalid', { cause: error });
    }
    if (code === 'ERR_JWS_INVALID') {
      throw new TokenValidationError('ERR_TOKEN_MALFORMED', 'token is malformed', { cause: error });
    }
    if (code === 'ERR_JOSE_ALG_NOT_ALLOWED') {
      throw new TokenValidationError('ERR_TOKEN_ALG_NOT_ALLOWED', 'token algorithm is not allowed', {
        cause: error,
      });
    }
    // The key source returned a key that cannot verify this alg (wrong type, too short an RSA key).
    throw new TokenValidationError('ERR_TOKEN_KEY_UNKNOWN', 'no key is known for this token', {
      cause: error,
    });
  }
}

/** Fail closed: an unanswerable deny list refuses the token, as 503 (not the token's fault). */
async function checkDenyList(denyList: DenyList | undefined, jti: string): Promise<void> {
  if (denyList === undefined) return;
  let revoked: boolean;
  try {
    revoked = await denyList.has(jti);
  } catch (error) {
    throw new ValidatorUnavailableError('token revocation status is unavailable', { cause: error });
  }
  if (revoked !== false) throw new TokenValidationError('ERR_TOKEN_REVOKED', 'token has been revoked');
}

function readOptions(options: ValidatorOptions): Settings {
  if (typeof options !== 'object' || options === null) throw new TypeError('validator options are required');
  const { issuer, keys, denyList } = options;
  if (typeof issuer !== 'string' || issuer === '') throw new TypeError('issuer must be a non-empty string');
  if (typeof keys !== 'function') throw new TypeError('keys must be a key source function');
  if (denyList !== undefined && typeof denyList?.has !== 'function') {
    throw new TypeError('denyList must have a has(jti) method');
  }
  const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new TypeError('algorithms must be a non-empty array');
  }
  for (const alg of algorithms) {
    if (!SUPPORTED_ALGORITHMS.has(alg)) {
      throw new TypeError(`algorithm ${String(alg)} is not allowed (asymmetric signature algorithms only)`);
    }
  }
  const toleranceSeconds = options.clockToleranceSeconds ?? 5;
  if (typeof toleranceSeconds !== 'number' || !Number.isFinite(toleranceSeconds) || toleranceSeconds < 0) {
    throw new TypeError('clockToleranceSeconds must be a non-negative number');
  }
  const maxTokenBytes = options.maxTokenBytes ?? 8192;
  if (!Number.isSafeInteger(maxTokenBytes) || maxTokenBytes <= 0) {
    throw new TypeError('maxTokenBytes must be a positive integer');
  }
  return {
    issuer,
    keys,
    algorithms: new Set(algorithms),
    toleranceSeconds,
    maxTokenBytes,
    denyList,
    now: options.now ?? Date.now,
  };
}

function entriesOption(maxEntries: number): number {
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 0) {
    throw new TypeError('cache.maxEntries must be a non-negative integer');
  }
  return maxEntries;
}
