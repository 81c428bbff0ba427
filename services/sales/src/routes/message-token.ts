/**
 * preHandler for POST /orders: the message token forwarded by the gateway must verify (typ
 * message+jwt, one of the consumer audiences, cnf and act present) and belong to this request
 * (orders/message-token.ts bindingRefusal). Refusals are problems with their own codes; keys
 * unavailable is 503 + Retry-After, and nothing is stored.
 */
import { hashSubject } from '@gatehouse/observability';
import { isTokenValidationError, type Principal } from '@gatehouse/validator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SalesContext } from '../context.ts';
import { unavailableCode } from '@gatehouse/service-http';
import { unavailable } from '../http/authenticate.ts';
import { countHeader } from '@gatehouse/service-http';
import { sendProblem } from '@gatehouse/service-http';
import { bindingRefusal, type MessageTokenRefusal } from '../orders/message-token.ts';

declare module 'fastify' {
  interface FastifyRequest {
    messageToken?: { token: string; principal: Principal };
  }
}

export function requireMessageToken(ctx: SalesContext) {
  const header = ctx.config.MESSAGE_TOKEN_HEADER;

  const refuse = (request: FastifyRequest, reply: FastifyReply, refusal: MessageTokenRefusal, reason?: string) => {
    ctx.metrics.orderRefused(refusal.code);
    ctx.audit.record({
      event: 'auth.failure',
      outcome: 'failure',
      reason: refusal.code,
      ...(reason ? { token_error: reason } : {}),
      credential: 'message_token',
      method: request.method,
      route: request.routeOptions.url,
      sub: hashSubject(request.principal?.sub),
      request_id: request.id,
    });
    return sendProblem(reply, refusal.status, {
      slug: 'message-token',
      code: refusal.code,
      detail: refusal.detail,
      ...(reason ? { extensions: { tokenError: reason } } : {}),
    });
  };

  return async function messageTokenHook(request: FastifyRequest, reply: FastifyReply) {
    const access = request.principal!;
    if (countHeader(request.raw.rawHeaders, header) > 1) {
      return refuse(request, reply, { status: 401, code: 'ERR_MESSAGE_TOKEN_REPEATED', detail: 'Exactly one message token is allowed.' });
    }
    const token = request.headers[header];
    if (typeof token !== 'string' || token === '') {
      return refuse(request, reply, {
        status: 401,
        code: 'ERR_MESSAGE_TOKEN_MISSING',
        detail: 'Placing an order needs the message token the gateway mints for it.',
      });
    }
    let principal: Principal;
    try {
      principal = await ctx.validator.verify(token, ctx.messageProfile);
    } catch (error) {
      const code = unavailableCode(error, ctx.auth.keysAvailable);
      if (code) {
        ctx.metrics.orderRefused(code);
        return unavailable(reply, code, 'The message token cannot be checked right now. Retry later.');
      }
      if (!isTokenValidationError(error)) throw error;
      return refuse(
        request,
        reply,
        { status: 401, code: 'ERR_MESSAGE_TOKEN_INVALID', detail: `The message token is not valid: ${error.message}.` },
        error.code,
      );
    }
    const refusal = bindingRefusal(access, principal, ctx.signingKey.publicJwk);
    if (refusal) return refuse(request, reply, refusal);
    request.messageToken = { token, principal };
  };
}
