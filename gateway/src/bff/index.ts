export { bff, csrfCheck, csrfGuard, sessionAuthenticator, sessionCookiePresent } from './plugin.ts';
export type { BffOptions } from './context.ts';
export { DEFAULT_SCOPE } from './context.ts';
export type { SessionAuthResult } from './authenticator.ts';
export type { CsrfRefusal } from './csrf.ts';
export type { Session, UiClaims } from './session.ts';
