// Real keys and real tokens for the tests: jose's SignJWT for well-formed tokens, and a raw signer
// for the hostile ones jose refuses to produce (duplicate members, crit, alg none).
import type { CryptoKey, JWK } from 'jose';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { TokenProfile } from '../../src/index.ts';

export const ISSUER = 'https://auth.gatehouse.test';
export const API = 'https://api.gatehouse.test';
/** A fixed clock (ms). Tokens are minted relative to it; tests advance it instead of sleeping. */
export const NOW = 1_760_000_000_000;
export const NOW_S = NOW / 1000;

export const ACCESS: TokenProfile = { kind: 'access', typ: 'at+jwt', audience: API, maxLifetimeSeconds: 900 };
export const MESSAGE: TokenProfile = {
  kind: 'message',
  typ: 'message+jwt',
  audience: ['shipping', 'invoicing'],
  maxLifetimeSeconds: 86_400,
};

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

export async function makeKey(kid: string, alg = 'ES256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

export function accessClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: ISSUER,
    sub: 'user-1',
    aud: API,
    iat: NOW_S,
    exp: NOW_S + 900,
    jti: 'jti-1',
    client_id: 'web',
    scope: 'orders:read orders:write',
    roles: ['buyer'],
    org_id: 'org-9',
    subscription_level: 'gold',
    ...overrides,
  };
}

/** A well-formed token via jose. `undefined` in claims removes that claim. */
export async function sign(
  key: TestKey,
  claims: Record<string, unknown> = accessClaims(),
  header: Record<string, unknown> = {},
): Promise<string> {
  const payload = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header } as { alg: string })
    .sign(key.privateKey);
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** Signs exactly these header and payload JSON texts with an ES256 key (raw P1363 signature). */
export async function signRaw(key: TestKey, headerJson: string, payloadJson: string): Promise<string> {
  const input = `${b64(headerJson)}.${b64(payloadJson)}`;
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    key.privateKey,
    new TextEncoder().encode(input),
  );
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

export function encodeUnsigned(header: object, payload: object): string {
  return `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}.`;
}
