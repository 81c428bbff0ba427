/**
 * Every error the gateway itself produces is an RFC 9457 problem (application/problem+json):
 * { type, title, status, detail, code, requestId }. `code` is a stable machine-readable reason
 * (ERR_TOKEN_EXPIRED, ERR_INSUFFICIENT_SCOPE...) that clients may switch on; `detail` is safe to
 * show. Nothing internal (addresses, stack traces, library messages) is ever put in a problem:
 * those go to the log, correlated by requestId.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  installProblemHandlers as installShared,
  replyWithError as replyShared,
} from '@gatehouse/service-http';

export {
  PROBLEM_CONTENT_TYPE,
  PROBLEM_TYPE_PREFIX,
  type Problem,
  type ProblemInit,
  problem,
  sendProblem,
} from '@gatehouse/service-http';

const INTERNAL_DETAIL = 'The gateway could not process the request.';

export function replyWithError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  replyShared(error, request, reply, INTERNAL_DETAIL);
}

/** The gateway's own refusals (no route, a body too large, a crash) as problems, one shape with the services'. */
export function installProblemHandlers(app: FastifyInstance): void {
  installShared(app, { internalDetail: INTERNAL_DETAIL });
}
