/**
 * A Principal for an expired message token. The validator hands back an expired token's claims
 * (every other check passed, signature included) but no Principal, so the verifier builds the same
 * shape the validator would have (see packages/validator/src/principal.ts).
 */
import type { Principal } from '@gatehouse/validator';
import { sha256Base64url } from '@gatehouse/validator';

export function principalFromClaims(
  kind: string,
  claims: Readonly<Record<string, unknown>>,
  token: string,
): Principal {
  const principal: Principal = {
    kind,
    sub: claims.sub as string,
    scopes: parseScope(claims.scope),
    roles: Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [],
    jti: claims.jti as string,
    iat: claims.iat as number,
    exp: claims.exp as number,
    claims,
    tokenHash: sha256Base64url(token),
  };
  if (typeof claims.client_id === 'string') principal.clientId = claims.client_id;
  if (typeof claims.org_id === 'string') principal.orgId = claims.org_id;
  if (typeof claims.subscription_level === 'string') principal.subscriptionLevel = claims.subscription_level;
  if (isObject(claims.act)) principal.act = claims.act;
  if (isObject(claims.cnf)) principal.cnf = claims.cnf;
  return principal;
}

/** RFC 6749 3.3: space-delimited, case-sensitive. */
function parseScope(scope: unknown): string[] {
  if (typeof scope !== 'string') return [];
  return [...new Set(scope.split(' ').filter((s) => s !== ''))];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
