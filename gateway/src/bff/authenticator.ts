/**
 * The 'session' auth mode's credential source: the access token from the session cookie,
 * refreshed (once, see refresh.ts) when it is about to expire.
 */
import { hashSubject } from '@gatehouse/observability';
import type { FastifyReply, FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import type { BffContext } from './context.ts';
import type { RefreshOutcome } from './refresh.ts';
import { clearSession, readSession, type Session, writeSession } from './session.ts';
import { sessionFromRefresh } from './tokens.ts';

export type SessionAuthResult =
  | { accessToken: string }
  | {
      refusal: {
        /** 401: no usable session (log in again). 503: the token service could not refresh it now. */
        status: 401 | 503;
        code: 'ERR_SESSION_MISSING' | 'ERR_SESSION_INVALID' | 'ERR_SESSION_EXPIRED' | 'ERR_SESSION_REFRESH_UNAVAILABLE';
      };
    };

function isInvalidGrant(error: unknown): boolean {
  return error instanceof client.ResponseBodyError && error.error === 'invalid_grant';
}

async function refreshSession(ctx: BffContext, session: Session, request: FastifyRequest): Promise<RefreshOutcome<Session>> {
  const config = await ctx.oidc();
  try {
    const tokens = await client.refreshTokenGrant(config, session.rt!);
    ctx.audit.record({ event: 'bff.refresh', outcome: 'success', sub: hashSubject(session.claims.sub), request_id: request.id });
    return { session: sessionFromRefresh(session, tokens) };
  } catch (error) {
    const refused = isInvalidGrant(error);
    ctx.audit.record({
      event: 'bff.refresh_failed',
      outcome: 'failure',
      reason: refused ? 'invalid_grant' : 'unavailable',
      sub: hashSubject(session.claims.sub),
      request_id: request.id,
    });
    if (!refused) request.log.warn({ err: error }, 'session refresh failed');
    return refused ? { refused: true } : { unavailable: true };
  }
}

export async function authenticateSession(
  ctx: BffContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<SessionAuthResult> {
  const now = Date.now();
  const read = readSession(request, ctx.cookies, now);
  if ('absent' in read) return { refusal: { status: 401, code: 'ERR_SESSION_MISSING' } };
  if ('invalid' in read) {
    clearSession(reply, ctx.cookies);
    return { refusal: { status: 401, code: 'ERR_SESSION_INVALID' } };
  }
  const { session } = read;
  if (session.atExp - now > ctx.options.refreshSkewSeconds * 1000) return { accessToken: session.at };
  if (!session.rt) {
    clearSession(reply, ctx.cookies);
    return { refusal: { status: 401, code: 'ERR_SESSION_EXPIRED' } };
  }
  const outcome = await ctx.refresher.run(session.sid, session.rt, () => refreshSession(ctx, session, request));
  if ('session' in outcome) {
    writeSession(reply, ctx.cookies, outcome.session);
    return { accessToken: outcome.session.at };
  }
  if ('refused' in outcome) {
    clearSession(reply, ctx.cookies);
    return { refusal: { status: 401, code: 'ERR_SESSION_EXPIRED' } };
  }
  // Keep the cookie: the refresh token may still be good once the token service is back.
  return { refusal: { status: 503, code: 'ERR_SESSION_REFRESH_UNAVAILABLE' } };
}
