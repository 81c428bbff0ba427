/**
 * The browser session: the tokens, sealed in an HttpOnly cookie. Nothing is kept server-side, so
 * any gateway replica can serve any request. A refresh is coordinated across replicas on Redis
 * (refresh-redis.ts; see README).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clearCookie, readCookie, setCookie } from './cookies.ts';
import { type CookieKey, seal, unseal } from './cookie-crypto.ts';

/** The claims the UI may see: never a token, never anything beyond these. */
export interface UiClaims {
  sub: string;
  preferred_username?: string;
  org_id?: string;
  roles?: string[];
  subscription_level?: string;
}

export interface Session {
  /** Random id: keys the refresh single-flight (in Redis too); not a secret, not a token. */
  sid: string;
  /** Access token and its expiry (epoch ms). */
  at: string;
  atExp: number;
  /** Refresh token (rotated on every refresh). */
  rt?: string;
  /** ID token, for id_token_hint at logout; dropped when the cookie would be too large. */
  idt?: string;
  claims: UiClaims;
  /** Absolute end of the session (epoch ms), whatever refreshes happen. */
  exp: number;
}

export interface Transaction {
  verifier: string;
  state: string;
  nonce: string;
  returnTo: string;
  /** Epoch ms: a transaction older than this is refused even if the browser kept the cookie. */
  exp: number;
}

/** Browsers cap a cookie (name + value + attributes) near 4096 bytes; keep a margin. */
export const MAX_COOKIE_VALUE_BYTES = 3800;

export interface CookieSettings {
  key: CookieKey;
  secure: boolean;
}

export function sessionCookieName(secure: boolean): string {
  // __Host-: the browser refuses it unless Secure, Path=/ and no Domain, so a sibling subdomain
  // cannot plant or shadow the session.
  return secure ? '__Host-gatehouse-session' : 'gatehouse-session';
}

export function transactionCookieName(secure: boolean): string {
  return secure ? '__Host-gatehouse-login' : 'gatehouse-login';
}

function isSession(value: unknown): value is Session {
  const s = value as Session | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.sid === 'string' &&
    typeof s.at === 'string' &&
    typeof s.atExp === 'number' &&
    typeof s.exp === 'number' &&
    typeof s.claims === 'object' &&
    s.claims !== null &&
    typeof s.claims.sub === 'string'
  );
}

function isTransaction(value: unknown): value is Transaction {
  const t = value as Transaction | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.verifier === 'string' &&
    typeof t.state === 'string' &&
    typeof t.nonce === 'string' &&
    typeof t.returnTo === 'string' &&
    typeof t.exp === 'number'
  );
}

export type SessionRead =
  | { session: Session }
  | { absent: true }
  /** A cookie was sent but cannot be used (tampered, foreign key, expired): clear it. */
  | { invalid: true };

export function readSession(request: FastifyRequest, settings: CookieSettings, now = Date.now()): SessionRead {
  const raw = readCookie(request, sessionCookieName(settings.secure));
  if (raw === undefined || raw === '') return { absent: true };
  const value = unseal(settings.key, 'session', raw);
  if (!isSession(value) || value.exp <= now) return { invalid: true };
  return { session: value };
}

/** Seals the session; drops the ID token first if the cookie would be too large (see README). */
export function sealSession(settings: CookieSettings, session: Session): string {
  const sealed = seal(settings.key, 'session', session);
  if (sealed.length <= MAX_COOKIE_VALUE_BYTES || session.idt === undefined) return sealed;
  const { idt: _dropped, ...rest } = session;
  return seal(settings.key, 'session', rest);
}

export function writeSession(reply: FastifyReply, settings: CookieSettings, session: Session, now = Date.now()): void {
  setCookie(reply, sessionCookieName(settings.secure), sealSession(settings, session), {
    httpOnly: true,
    secure: settings.secure,
    // Strict: the cookie never rides on a cross-site request, the first line of CSRF defence.
    sameSite: 'Strict',
    maxAge: (session.exp - now) / 1000,
  });
}

export function clearSession(reply: FastifyReply, settings: CookieSettings): void {
  clearCookie(reply, sessionCookieName(settings.secure), { httpOnly: true, secure: settings.secure, sameSite: 'Strict' });
}

export function readTransaction(
  request: FastifyRequest,
  settings: CookieSettings,
  now = Date.now(),
): Transaction | undefined {
  const raw = readCookie(request, transactionCookieName(settings.secure));
  if (raw === undefined || raw === '') return undefined;
  const value = unseal(settings.key, 'transaction', raw);
  return isTransaction(value) && value.exp > now ? value : undefined;
}

export function writeTransaction(reply: FastifyReply, settings: CookieSettings, tx: Transaction, now = Date.now()): void {
  setCookie(reply, transactionCookieName(settings.secure), seal(settings.key, 'transaction', tx), {
    httpOnly: true,
    secure: settings.secure,
    // Lax: the callback arrives as a cross-site top-level redirect from the token service, on
    // which a Strict cookie would not be sent.
    sameSite: 'Lax',
    maxAge: (tx.exp - now) / 1000,
  });
}

export function clearTransaction(reply: FastifyReply, settings: CookieSettings): void {
  clearCookie(reply, transactionCookieName(settings.secure), { httpOnly: true, secure: settings.secure, sameSite: 'Lax' });
}
