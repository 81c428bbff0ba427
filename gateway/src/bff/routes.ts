/** The BFF's endpoints: /auth/login, /auth/callback, /auth/logout, /auth/session. */
import { timingSafeEqual } from 'node:crypto';
import { hashSubject } from '@gatehouse/observability';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import { clientIp } from '../client-ip.ts';
import { sendProblem } from '../problem.ts';
import type { BffContext } from './context.ts';
import { checkCsrfAudited } from './guard.ts';
import { clearSession, clearTransaction, readSession, readTransaction, writeSession, writeTransaction } from './session.ts';
import { safeReturnPath } from './return-to.ts';
import { sessionFromLogin } from './tokens.ts';

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function firstQuery(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

const unavailable = (reply: FastifyReply) =>
  sendProblem(
    reply,
    503,
    { slug: 'token-service-unavailable', code: 'ERR_TOKEN_SERVICE_UNAVAILABLE', detail: 'Sign-in is unavailable right now. Retry later.' },
    { 'retry-after': '5' },
  );

export function registerBffRoutes(app: FastifyInstance, ctx: BffContext): void {
  const { options, cookies, audit } = ctx;

  // Nothing the BFF answers may be cached: session claims, one-time redirects. (The caller
  // registers these routes in their own encapsulated context, so the hook stays on them.)
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.get('/auth/login', async (request, reply) => {
    const returnTo = safeReturnPath(firstQuery(request, 'returnTo'));
    if (returnTo === undefined) {
      return sendProblem(reply, 400, {
        slug: 'invalid-return-to',
        code: 'ERR_INVALID_RETURN_TO',
        detail: 'returnTo must be a path on this site.',
      });
    }
    let config: client.Configuration;
    try {
      config = await ctx.oidc();
    } catch (error) {
      request.log.warn({ err: error }, 'token service discovery failed');
      return unavailable(reply);
    }
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: options.redirectUri,
      scope: options.scope,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    writeTransaction(reply, cookies, { verifier, state, nonce, returnTo, exp: Date.now() + options.loginTtlSeconds * 1000 });
    return reply.redirect(url.href, 302);
  });

  app.get('/auth/callback', async (request, reply) => {
    const tx = readTransaction(request, cookies);
    // One attempt per transaction, whatever happens next.
    clearTransaction(reply, cookies);
    const fail = (status: 400 | 503, code: string, detail: string, reason: string) => {
      audit.record({ event: 'bff.login', outcome: 'failure', reason, ip: clientIp(request), request_id: request.id });
      return status === 503 ? unavailable(reply) : sendProblem(reply, status, { slug: 'login-failed', code, detail });
    };
    if (!tx) return fail(400, 'ERR_LOGIN_TRANSACTION', 'The sign-in attempt expired or was not started here. Start again.', 'no_transaction');
    const state = firstQuery(request, 'state');
    if (state === undefined || !sameString(state, tx.state)) {
      return fail(400, 'ERR_STATE_MISMATCH', 'The sign-in response does not match this sign-in attempt.', 'state_mismatch');
    }
    if (firstQuery(request, 'error') !== undefined) {
      // e.g. access_denied: the user cancelled; the description is the token service's, not shown.
      return fail(400, 'ERR_LOGIN_FAILED', 'Sign-in was not completed.', `authorization_${firstQuery(request, 'error')}`);
    }
    let config: client.Configuration;
    try {
      config = await ctx.oidc();
    } catch (error) {
      request.log.warn({ err: error }, 'token service discovery failed');
      return fail(503, 'ERR_TOKEN_SERVICE_UNAVAILABLE', '', 'unavailable');
    }
    // The registered redirect URI plus the query we received: the Host header plays no part.
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, new URL(`${options.redirectUri}${query}`), {
        pkceCodeVerifier: tx.verifier,
        expectedState: tx.state,
        expectedNonce: tx.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      const oauth = error instanceof client.ResponseBodyError || error instanceof client.AuthorizationResponseError;
      const validation = (error as { code?: unknown }).code !== undefined && !oauth && !(error instanceof TypeError);
      request.log.info({ err: error }, 'code grant failed');
      if (oauth || validation) return fail(400, 'ERR_LOGIN_FAILED', 'Sign-in could not be completed. Start again.', 'code_grant');
      return fail(503, 'ERR_TOKEN_SERVICE_UNAVAILABLE', '', 'unavailable');
    }
    const session = sessionFromLogin(tokens, options.sessionTtlSeconds * 1000);
    if (!session) return fail(400, 'ERR_LOGIN_FAILED', 'Sign-in could not be completed. Start again.', 'no_subject');
    writeSession(reply, cookies, session);
    audit.record({
      event: 'bff.login',
      outcome: 'success',
      sub: hashSubject(session.claims.sub),
      ip: clientIp(request),
      request_id: request.id,
    });
    return reply.redirect(tx.returnTo, 302);
  });

  app.post('/auth/logout', async (request, reply) => {
    const refusal = checkCsrfAudited(ctx, request);
    if (refusal) {
      return sendProblem(reply, 403, { slug: 'csrf', code: refusal.code, detail: refusal.detail });
    }
    const read = readSession(request, cookies);
    clearSession(reply, cookies);
    const session = 'session' in read ? read.session : undefined;
    let config: client.Configuration | undefined;
    try {
      config = await ctx.oidc();
    } catch (error) {
      request.log.warn({ err: error }, 'token service discovery failed');
    }
    if (config && session?.rt) {
      // Best effort: revoking the refresh token ends the grant at the token service; the cookie
      // is cleared whatever the outcome.
      await client.tokenRevocation(config, session.rt, { token_type_hint: 'refresh_token' }).catch((error: unknown) => {
        request.log.warn({ err: error }, 'refresh token revocation failed');
      });
    }
    audit.record({
      event: 'bff.logout',
      outcome: 'success',
      ...(session ? { sub: hashSubject(session.claims.sub) } : {}),
      ip: clientIp(request),
      request_id: request.id,
    });
    // RP-initiated logout: the UI navigates there to end the token service's own session. JSON,
    // not a 302: this is a fetch (it must carry the CSRF header), which cannot hand a redirect to
    // another origin over to the window.
    const endSessionUrl = config
      ? client
          .buildEndSessionUrl(config, {
            post_logout_redirect_uri: options.postLogoutRedirectUri,
            ...(session?.idt ? { id_token_hint: session.idt } : { client_id: options.clientId }),
          })
          .href
      : options.postLogoutRedirectUri;
    return reply.code(200).send({ end_session_url: endSessionUrl });
  });

  app.get('/auth/session', async (request, reply) => {
    const read = readSession(request, cookies);
    if (!('session' in read)) {
      if ('invalid' in read) clearSession(reply, cookies);
      return sendProblem(reply, 401, { slug: 'no-session', code: 'ERR_SESSION_MISSING', detail: 'Not signed in.' });
    }
    const { claims, exp } = read.session;
    return reply.send({ ...claims, expires_at: Math.floor(exp / 1000) });
  });
}
