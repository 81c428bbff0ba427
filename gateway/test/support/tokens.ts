/** Tokens for gateway tests: real ones from a real token service, and forged ones signed with its real key. */
import { importJWK, SignJWT } from 'jose';
import type { RunningTokenService } from '../../../token-service/test/support/token-service.ts';

/**
 * Signs claims with the token service's own active key, so every check but the one under test
 * passes: an expired or wrong-audience token is refused for exactly that reason.
 */
export async function signWithServiceKey(
  ts: RunningTokenService,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const { kid, alg, privateJwk } = ts.service.keys.current.signingKey();
  const key = await importJWK(privateJwk as Parameters<typeof importJWK>[0], alg);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: ts.issuer,
    sub: 'forged-subject',
    aud: 'urn:gatehouse:api',
    client_id: 'gateway',
    scope: 'orders:read orders:write',
    jti: `jti-${Math.random().toString(36).slice(2)}`,
    iat: now,
    exp: now + 300,
    ...claims,
  })
    .setProtectedHeader({ alg, kid, typ: 'at+jwt', ...header })
    .sign(key);
}
