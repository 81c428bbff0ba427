/**
 * The typed result of a successful verification. Built only from a payload whose every check passed
 * (so the casts below rely on checkClaimTypes having run).
 */
import { hash } from 'node:crypto';

export interface Principal {
  kind: string;
  sub: string;
  clientId?: string;
  scopes: string[];
  roles: string[];
  orgId?: string;
  subscriptionLevel?: string;
  jti: string;
  iat: number;
  exp: number;
  act?: Record<string, unknown>;
  cnf?: Record<string, unknown>;
  /** The full verified payload, deeply frozen (it is shared with the verified-token cache). */
  claims: Readonly<Record<string, unknown>>;
  /** base64url SHA-256 of the token (for ath binding and cache keys). */
  tokenHash: string;
}

/** base64url(SHA-256(value)): the `ath` form of RFC 9449, also used for cache keys. */
export function sha256Base64url(value: string): string {
  // One-shot crypto.hash: no Hash object per call (this runs on every verify, cache hits included).
  return hash('sha256', value, 'base64url');
}

export function buildPrincipal(
  kind: string,
  claims: Readonly<Record<string, unknown>>,
  tokenHash: string,
): Principal {
  const principal: Principal = {
    kind,
    sub: claims.sub as string,
    scopes: parseScope(claims.scope as string | undefined),
    roles: [...((claims.roles as string[] | undefined) ?? [])],
    jti: claims.jti as string,
    iat: claims.iat as number,
    exp: claims.exp as number,
    claims,
    tokenHash,
  };
  // Optional members are absent rather than undefined, so `'orgId' in p` and spreads behave.
  if (claims.client_id !== undefined) principal.clientId = claims.client_id as string;
  if (claims.org_id !== undefined) principal.orgId = claims.org_id as string;
  if (claims.subscription_level !== undefined)
    principal.subscriptionLevel = claims.subscription_level as string;
  if (claims.act !== undefined) principal.act = claims.act as Record<string, unknown>;
  if (claims.cnf !== undefined) principal.cnf = claims.cnf as Record<string, unknown>;
  return principal;
}

/** A cache hit hands out its own copy: a caller editing its scopes must not edit the next caller's. */
export function copyPrincipal(principal: Principal): Principal {
  return { ...principal, scopes: [...principal.scopes], roles: [...principal.roles] };
}

/** RFC 6749 3.3: space-delimited, case-sensitive; duplicates and extra spaces carry no meaning. */
function parseScope(scope: string | undefined): string[] {
  if (scope === undefined) return [];
  return [...new Set(scope.split(' ').filter((s) => s !== ''))];
}

/** Claims are JSON (bounded depth by json.ts), so a plain recursive freeze terminates. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
