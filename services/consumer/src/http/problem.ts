/**
 * RFC 9457 problems (application/problem+json), the same shape the gateway answers with
 * (gateway/src/problem.ts): { type, title, status, detail, code, requestId }. `code` is stable and
 * machine-readable; `detail` is safe to show. Nothing internal goes into a problem: that goes to the
 * log, correlated by requestId.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
export const PROBLEM_TYPE_PREFIX = 'urn:gatehouse:problem:';

export interface ProblemInit {
  /** Short kebab-case name; becomes urn:gatehouse:problem:<slug>. */
  slug: string;
  code: string;
  detail: string;
  extensions?: Record<string, unknown>;
}

export function sendProblem(
  reply: FastifyReply,
  status: number,
  init: ProblemInit,
  headers: Record<string, string> = {},
): FastifyReply {
  const body = {
    type: `${PROBLEM_TYPE_PREFIX}${init.slug}`,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail: init.detail,
    code: init.code,
    ...init.extensions,
    requestId: reply.request.id,
  };
  // A Buffer, so Fastify does not append "; charset=utf-8" (JSON is UTF-8 by definition, RFC 8259).
  return reply.code(status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(Buffer.from(JSON.stringify(body)));
}

/** Fastify's own refusals (bad query string, unknown route, crash) as problems with fixed wording. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      request.log.info({ code: error.code, status }, 'request refused');
      return sendProblem(reply, status, {
        slug: 'bad-request',
        code: 'ERR_BAD_REQUEST',
        detail: error.validation ? `Invalid request: ${error.message}.` : 'The request could not be processed.',
      });
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, 500, {
      slug: 'internal',
      code: 'ERR_INTERNAL',
      detail: 'The service could not process the request.',
    });
  });
  app.setNotFoundHandler((_request, reply) =>
    sendProblem(reply, 404, { slug: 'not-found', code: 'ERR_NOT_FOUND', detail: 'No route matches this path.' }),
  );
}

/** The one "not yours or not there" answer: another org's record is indistinguishable from none. */
export function notFound(reply: FastifyReply, what: string): FastifyReply {
  return sendProblem(reply, 404, { slug: 'not-found', code: 'ERR_NOT_FOUND', detail: `No such ${what}.` });
}
