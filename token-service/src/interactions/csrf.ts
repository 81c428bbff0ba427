/**
 * CSRF tokens for the login and consent forms: an HMAC of the interaction uid under a server key.
 * The interaction is already bound to the browser by oidc-provider's signed interaction cookie;
 * the token adds a check that the form came from our page, and the Origin check refuses
 * cross-site posts from browsers that send Origin.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function csrfToken(key: string, uid: string): string {
  return createHmac('sha256', key).update(`csrf:${uid}`).digest('base64url');
}

export function csrfValid(key: string, uid: string, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  const expected = Buffer.from(csrfToken(key, uid));
  const actual = Buffer.from(presented);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Absent Origin (older browsers, non-browser clients) passes; a present one must be ours. */
export function originAllowed(origin: string | undefined, issuer: string): boolean {
  return origin === undefined || origin === new URL(issuer).origin;
}
