/**
 * @gatehouse/service-http: what the Gatehouse services (sales, shipping, invoicing) answer and read
 * over HTTP the same way as the gateway: RFC 9457 problems, and the one bearer credential of a
 * request (RFC 6750) with its challenge. Fastify-facing helpers only; no token is verified here
 * (that is @gatehouse/validator's job).
 */
export { accessTokenProfile, bearerOf, RETRY_AFTER_SECONDS, unavailableCode } from './access.ts';
export {
  bearerChallenge,
  type CredentialRefusal,
  type CredentialSource,
  countHeader,
  extractBearer,
  tokenInQuery,
} from './bearer.ts';
export { installRequestLog } from './request-log.ts';
export { sendCredentialRefusal, sendForbidden, sendValidationUnavailable, VALIDATION_UNAVAILABLE_DETAIL } from './refusals.ts';
export {
  type FieldError,
  fieldErrors,
  installProblemHandlers,
  notFound,
  PROBLEM_CONTENT_TYPE,
  PROBLEM_TYPE_PREFIX,
  type ProblemInit,
  type Problem,
  type ProblemHandlerOptions,
  problem,
  replyWithError,
  sendProblem,
} from './problem.ts';
