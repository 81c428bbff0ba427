/**
 * The browser UI's backend-for-frontend as a Fastify plugin. It registers /auth/* and exposes,
 * for the gateway's 'session' auth mode, sessionAuthenticator (the access token of the session
 * cookie, refreshed when due) and csrfCheck (the CSRF rule for unsafe methods).
 */
import { readCookie } from './cookies.ts';
import { sessionCookieName } from './session.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { sendProblem } from '../problem.ts';
import { authenticateSession, type SessionAuthResult } from './authenticator.ts';
import { type BffContext, type BffOptions, createContext } from './context.ts';
import type { CsrfRefusal } from './csrf.ts';
import { checkCsrfAudited } from './guard.ts';
import { registerBffRoutes } from './routes.ts';

declare module 'fastify' {
  interface FastifyInstance {
    gatehouseBff: BffContext;
  }
}

async function bffPlugin(app: FastifyInstance, options: BffOptions): Promise<void> {
  const ctx = createContext(options);
  app.decorate('gatehouseBff', ctx);
  await app.register(async (routes) => registerBffRoutes(routes, ctx));
}

/** Not encapsulated: the decoration must be visible to the gateway's route contexts. */
export const bff = fp(bffPlugin, { name: 'gatehouse-bff', fastify: '5.x' });

function context(request: FastifyRequest): BffContext {
  const ctx = request.server.gatehouseBff as BffContext | undefined;
  if (!ctx) throw new Error('the bff plugin is not registered');
  return ctx;
}

/** Whether the request carries a session cookie at all (valid or not): picks the session mode. */
export function sessionCookiePresent(request: FastifyRequest): boolean {
  const { cookies } = context(request);
  return readCookie(request, sessionCookieName(cookies.secure)) !== undefined;
}

/**
 * The session's current access token, refreshed first when it expires within the refresh skew
 * (the rotated session cookie is then set on `reply`). The caller validates the token as for
 * bearer. On refusal the cookie has been cleared when the session is over (401); a 503 keeps it.
 */
export function sessionAuthenticator(request: FastifyRequest, reply: FastifyReply): Promise<SessionAuthResult> {
  return authenticateSession(context(request), request, reply);
}

/**
 * The CSRF rule for requests authenticated by the session cookie: undefined for safe methods and
 * for unsafe ones carrying the custom header from an allowed origin; the refusal (already audited
 * as bff.csrf_refused) otherwise, for the caller to answer 403.
 */
export function csrfCheck(request: FastifyRequest): CsrfRefusal | undefined {
  return checkCsrfAudited(context(request), request);
}

/** csrfCheck as an onRequest/preHandler hook: answers 403 problem+json (ERR_CSRF) on refusal. */
export async function csrfGuard(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const refusal = csrfCheck(request);
  if (refusal) return sendProblem(reply, refusal.status, { slug: 'csrf', code: refusal.code, detail: refusal.detail });
  return undefined;
}
