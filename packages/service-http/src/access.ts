/**
 * What every hop decides the same way once it holds a bearer credential: the user access token
 * profile it verifies against, and when a failed verification is the validator's outage (503 with
 * Retry-After) rather than the token's fault (401).
 */
import { isTokenValidationError, type TokenProfile, ValidatorUnavailableError } from '@gatehouse/validator';
import type { FastifyRequest } from 'fastify';
import { type CredentialRefusal, extractBearer } from './bearer.ts';

/** How long a client should wait when a dependency of validation (JWKS, deny list) is down. */
export const RETRY_AFTER_SECONDS = 5;

/** The user access token profile (RFC 9068): typ at+jwt, aud the API resource. */
export function accessTokenProfile(audience: string): TokenProfile {
  return { kind: 'access', typ: 'at+jwt', audience };
}

/** The one bearer credential of a Fastify request (extractBearer's rules), or why there is none. */
export function bearerOf(request: FastifyRequest): { token: string } | CredentialRefusal {
  return extractBearer({ url: request.url, authorization: request.headers.authorization, rawHeaders: request.raw.rawHeaders });
}

/**
 * The 503 code when a verification failed for want of keys or a deny list, undefined when it is the
 * token's own fault. keysAvailable: RemoteKeySource.usable; while it is false, "no key for this
 * token" means the issuer's keys could not be fetched.
 */
export function unavailableCode(error: unknown, keysAvailable: () => boolean): string | undefined {
  if (error instanceof ValidatorUnavailableError) return error.code;
  if (isTokenValidationError(error) && error.code === 'ERR_TOKEN_KEY_UNKNOWN' && !keysAvailable()) {
    return 'ERR_KEYS_UNAVAILABLE';
  }
  return undefined;
}
