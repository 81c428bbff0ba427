/**
 * Every error the gateway itself produces is an RFC 9457 problem (application/problem+json):
 * { type, title, status, detail, code, requestId }. `code` is a stable machine-readable reason
 * (ERR_TOKEN_EXPIRED, ERR_INSUFFICIENT_SCOPE...) that clients may switch on; `detail` is safe to
 * show. Nothing internal (addresses, stack traces, library messages) is ever put in a problem:
 * those go to the log, correlated by requestId.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
/** Problem type URIs: stable identifiers, not meant to be dereferenced. */
export const PROBLEM_TYPE_PREFIX = 'urn:gatehouse:problem:';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code?: string;
  [extension: string]: unknown;
}

export interface ProblemInit {
  /** Short kebab-case name; becomes urn:gatehouse:problem:<slug>. */
  slug: string;
  detail?: string;
  code?: string;
  title?: string;
  extensions?: Record<string, unknown>;
}

export function problem(status: number, init: ProblemInit): Problem {
  return {
    type: `${PROBLEM_TYPE_PREFIX}${init.slug}`,
    title: init.title ?? STATUS_CODES[status] ?? 'Error',
    status,
    ...(init.detail === undefined ? {} : { detail: init.detail }),
    ...(init.code === undefined ? {} : { code: init.code }),
    ...init.extensions,
  };
}

/** Sends a problem with its status, content type and any extra headers (WWW-Authenticate, Allow...). */
export function sendProblem(
  reply: FastifyReply,
  status: number,
  init: ProblemInit,
  headers: Record<string, string> = {},
): FastifyReply {
  const body = { ...problem(status, init), requestId: reply.request.id };
  // A Buffer, so Fastify does not append "; charset=utf-8" (JSON is UTF-8 by definition, RFC 8259).
  return reply.code(status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(Buffer.from(JSON.stringify(body)));
}

/** Fastify's own refusals, mapped to problems with fixed, safe wording. */
function fastifyErrorProblem(error: FastifyError): { status: number; init: ProblemInit } {
  const status = error.statusCode ?? 500;
  if (status === 413 || error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return {
      status: 413,
      init: { slug: 'body-too-large', code: 'ERR_BODY_TOO_LARGE', detail: 'The request body is too large.' },
    };
  }
  if (status === 415) {
    return {
      status: 415,
      init: { slug: 'unsupported-media-type', code: 'ERR_MEDIA_TYPE', detail: 'The content type is not supported.' },
    };
  }
  if (status >= 400 && status < 500) {
    return {
      status,
      init: { slug: 'bad-request', code: 'ERR_BAD_REQUEST', detail: 'The request could not be processed.' },
    };
  }
  return {
    status: 500,
    init: { slug: 'internal', code: 'ERR_INTERNAL', detail: 'The gateway could not process the request.' },
  };
}

export function replyWithError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const { status, init } = fastifyErrorProblem(error);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: error.code, status }, 'request refused');
  sendProblem(reply, status, init);
}

/** The error and not-found handlers of the whole gateway. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => replyWithError(error, request, reply));
  app.setNotFoundHandler((_request, reply) => {
    sendProblem(reply, 404, {
      slug: 'not-found',
      code: 'ERR_NOT_FOUND',
      detail: 'No route matches this path.',
    });
  });
}
