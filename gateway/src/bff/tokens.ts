/** Building a session from a token endpoint response (code grant or refresh). */
import { randomBytes } from 'node:crypto';
import type * as client from 'openid-client';
import type { Session, UiClaims } from './session.ts';

type TokenResponse = client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;

/**
 * The access token's payload, read without verification: it came straight from the token
 * service's token endpoint over the back channel (the gateway still validates it, as for bearer,
 * before using it for anything). Only UI claims the ID token lacks are taken from it.
 */
function accessTokenPayload(token: string): Record<string, unknown> {
  try {
    const payload = token.split('.')[1];
    if (!payload) return {};
    const value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function uiClaims(sources: Array<Record<string, unknown> | undefined>, sub: string): UiClaims {
  const pick = (name: string): unknown => {
    for (const source of sources) if (source && source[name] !== undefined) return source[name];
    return undefined;
  };
  const claims: UiClaims = { sub };
  const username = pick('preferred_username');
  if (typeof username === 'string') claims.preferred_username = username;
  const org = pick('org_id');
  if (typeof org === 'string') claims.org_id = org;
  const roles = pick('roles');
  if (Array.isArray(roles) && roles.every((r) => typeof r === 'string')) claims.roles = roles;
  const level = pick('subscription_level');
  if (typeof level === 'string') claims.subscription_level = level;
  return claims;
}

export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/** The session after the code grant; the ID token (verified by openid-client) names the user. */
export function sessionFromLogin(tokens: TokenResponse, sessionTtlMs: number, now = Date.now()): Session | undefined {
  const idClaims = tokens.claims();
  if (!idClaims || typeof idClaims.sub !== 'string') return undefined;
  return {
    sid: newSessionId(),
    at: tokens.access_token,
    atExp: now + (tokens.expires_in ?? 60) * 1000,
    ...(tokens.refresh_token ? { rt: tokens.refresh_token } : {}),
    ...(tokens.id_token ? { idt: tokens.id_token } : {}),
    claims: uiClaims([idClaims as Record<string, unknown>, accessTokenPayload(tokens.access_token)], idClaims.sub),
    exp: now + sessionTtlMs,
  };
}

/** The session after a refresh: new tokens, same id, user and absolute end. */
export function sessionFromRefresh(previous: Session, tokens: TokenResponse, now = Date.now()): Session {
  const idClaims = tokens.claims() as Record<string, unknown> | undefined;
  return {
    ...previous,
    at: tokens.access_token,
    atExp: now + (tokens.expires_in ?? 60) * 1000,
    // Rotation: the token service always returns a new one; keep the old only if it did not.
    rt: tokens.refresh_token ?? previous.rt,
    ...(tokens.id_token ? { idt: tokens.id_token } : {}),
    claims: uiClaims([idClaims, accessTokenPayload(tokens.access_token), { ...previous.claims }], previous.claims.sub),
  };
}
