/**
 * Problems: every error the services (sales, shipping, invoicing) produce is an
 * RFC 9457 problem (application/problem+json): { type, title, status, detail, code, requestId },
 * the same shape as the gateway's (gateway/src/problem.ts), so a client sees one error format
 * whichever hop refused. Schema violations carry an `errors` array of JSON pointers.
 * Nothing internal (SQL, stack traces, library messages) is ever put in a problem: those go to the
 * log, correlated by requestId.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
export const PROBLEM_TYPE_PREFIX = 'urn:gatehouse:problem:';

export interface ProblemInit {
  /** Short kebab-case name; becomes urn:gatehouse:problem:<slug>. */
  slug: string;
  detail?: string;
  code?: string;
  title?: string;
  extensions?: Record<string, unknown>;
}

/** An RFC 9457 problem object; extensions (code, errors, ...) beside the standard members. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code?: string;
  [extension: string]: unknown;
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

/** One entry per schema violation: a JSON pointer into the request part and what is wrong there. */
export interface FieldError {
  pointer: string;
  detail: string;
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** The JSON pointer of the offending member itself (for required/additionalProperties, the member named). */
function pointerOf(error: AjvError): string {
  const member = error.params.missingProperty ?? error.params.additionalProperty;
  return typeof member === 'string' ? `${error.instancePath}/${member}` : error.instancePath;
}

function messageOf(error: AjvError): string {
  if (error.keyword === 'additionalProperties') return 'is not allowed';
  if (error.keyword === 'required') return 'is required';
  return error.message ?? 'is invalid';
}

export function fieldErrors(errors: readonly AjvError[]): FieldError[] {
  return errors.map((error) => ({ pointer: pointerOf(error), detail: messageOf(error) }));
}

function validationProblem(error: FastifyError): ProblemInit {
  const part = error.validationContext ?? 'body';
  const errors = fieldErrors((error.validation ?? []) as AjvError[]);
  const first = errors[0];
  return {
    slug: 'validation',
    code: 'ERR_VALIDATION',
    detail: first ? `${part}${first.pointer} ${first.detail}` : `${part} is invalid`,
    extensions: { errors: errors.map((e) => ({ ...e, in: part })) },
  };
}

const INTERNAL_DETAIL = 'The request could not be processed.';

/** Fastify's own refusals, mapped to problems with fixed, safe wording. */
function fastifyErrorProblem(error: FastifyError, internalDetail: string): { status: number; init: ProblemInit } {
  const status = error.statusCode ?? 500;
  if (error.validation) return { status: 400, init: validationProblem(error) };
  if (status === 413 || error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, init: { slug: 'body-too-large', code: 'ERR_BODY_TOO_LARGE', detail: 'The request body is too large.' } };
  }
  if (status === 415) {
    return {
      status: 415,
      init: { slug: 'unsupported-media-type', code: 'ERR_MEDIA_TYPE', detail: 'The content type is not supported.' },
    };
  }
  if (status >= 400 && status < 500) {
    return { status, init: { slug: 'bad-request', code: 'ERR_BAD_REQUEST', detail: 'The request could not be processed.' } };
  }
  return { status: 500, init: { slug: 'internal', code: 'ERR_INTERNAL', detail: internalDetail } };
}

export function replyWithError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  internalDetail = INTERNAL_DETAIL,
): void {
  const { status, init } = fastifyErrorProblem(error, internalDetail);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: init.code, status }, 'request refused');
  sendProblem(reply, status, init);
}

export interface ProblemHandlerOptions {
  /** The detail of a 500 (e.g. "The gateway could not process the request."); nothing internal. */
  internalDetail?: string;
}

export function installProblemHandlers(app: FastifyInstance, options: ProblemHandlerOptions = {}): void {
  const internalDetail = options.internalDetail ?? INTERNAL_DETAIL;
  app.setErrorHandler((error: FastifyError, request, reply) => replyWithError(error, request, reply, internalDetail));
  app.setNotFoundHandler((_request, reply) => {
    sendProblem(reply, 404, { slug: 'not-found', code: 'ERR_NOT_FOUND', detail: 'No route matches this path.' });
  });
}

/** The one "not yours or not there" answer: another org's record is indistinguishable from none. */
export function notFound(reply: FastifyReply, what: string): FastifyReply {
  return sendProblem(reply, 404, { slug: 'not-found', code: 'ERR_NOT_FOUND', detail: `No such ${what}.` });
}
