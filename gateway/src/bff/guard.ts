/** The CSRF rule applied with the BFF's context: refusals are audited as bff.csrf_refused. */
import { hashSubject } from '@gatehouse/observability';
import type { FastifyRequest } from 'fastify';
import { clientIp } from '../client-ip.ts';
import type { BffContext } from './context.ts';
import { checkCsrf, type CsrfRefusal } from './csrf.ts';
import { readSession } from './session.ts';

export function checkCsrfAudited(ctx: BffContext, request: FastifyRequest): CsrfRefusal | undefined {
  const refusal = checkCsrf(request, ctx.options.allowedOrigins);
  if (refusal) {
    const read = readSession(request, ctx.cookies);
    ctx.audit.record({
      event: 'bff.csrf_refused',
      outcome: 'denied',
      reason: refusal.reason,
      ...('session' in read ? { sub: hashSubject(read.session.claims.sub) } : {}),
      method: request.method,
      ip: clientIp(request),
      request_id: request.id,
    });
  }
  return refusal;
}
