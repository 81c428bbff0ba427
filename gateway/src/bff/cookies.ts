/**
 * Minimal cookie reading and writing (RFC 6265): the BFF sets only two cookies of its own, so a
 * cookie plugin would add a dependency for a dozen lines.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface CookieAttributes {
  httpOnly: true;
  secure: boolean;
  sameSite: 'Strict' | 'Lax';
  /** Seconds; 0 expires the cookie now. Absent: a browser-session cookie. */
  maxAge?: number;
}

/** The value of the first cookie called `name`, if any. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function serializeCookie(name: string, value: string, attributes: CookieAttributes): string {
  // Path=/ always: the __Host- prefix requires it, and the session is used by every API path.
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', `SameSite=${attributes.sameSite}`];
  if (attributes.secure) parts.push('Secure');
  if (attributes.maxAge !== undefined) {
    parts.push(`Max-Age=${Math.max(0, Math.floor(attributes.maxAge))}`);
    if (attributes.maxAge <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  }
  return parts.join('; ');
}

/** Appends a Set-Cookie header, keeping any other cookie set on the same reply. */
export function setCookie(reply: FastifyReply, name: string, value: string, attributes: CookieAttributes): void {
  const line = serializeCookie(name, value, attributes);
  const existing = reply.getHeader('set-cookie');
  const lines = existing === undefined ? [] : Array.isArray(existing) ? existing.map(String) : [String(existing)];
  // A cookie re-issued twice on one reply (refresh, then logout) keeps only the last value.
  const kept = lines.filter((l) => !l.startsWith(`${name}=`));
  reply.header('set-cookie', [...kept, line]);
}

export function clearCookie(reply: FastifyReply, name: string, attributes: Omit<CookieAttributes, 'maxAge'>): void {
  setCookie(reply, name, '', { ...attributes, maxAge: 0 });
}
