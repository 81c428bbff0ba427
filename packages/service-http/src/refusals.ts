/**
 * The replies every hop sends when a bearer credential does not let a request through, so the
 * gateway, sales and the consumers' read APIs answer alike: 400/401 with an RFC 6750 challenge, 503
 * with Retry-After when validation cannot be done, all problem+json.
 */
import type { FastifyReply } from 'fastify';
import { RETRY_AFTER_SECONDS } from './access.ts';
import { bearerChallenge, type CredentialRefusal } from './bearer.ts';
import { sendProblem } from './problem.ts';

/** 400 (malformed request) or 401 (no or bad token), the refusal's challenge, its description as detail. */
export function sendCredentialRefusal(reply: FastifyReply, refusal: CredentialRefusal): FastifyReply {
  const challenge = bearerChallenge(refusal.error ? { error: refusal.error, error_description: refusal.description } : {});
  return sendProblem(
    reply,
    refusal.status,
    {
      slug: refusal.status === 400 ? 'invalid-request' : 'invalid-token',
      code: refusal.code,
      detail: `${refusal.description[0]!.toUpperCase()}${refusal.description.slice(1)}.`,
    },
    { 'www-authenticate': challenge },
  );
}

export const VALIDATION_UNAVAILABLE_DETAIL = 'The access token cannot be checked right now. Retry later.';

/** 503 + Retry-After: a dependency of validation (JWKS, deny list) cannot answer. */
export function sendValidationUnavailable(
  reply: FastifyReply,
  code: string,
  { slug = 'validation-unavailable', detail = VALIDATION_UNAVAILABLE_DETAIL }: { slug?: string; detail?: string } = {},
): FastifyReply {
  return sendProblem(reply, 503, { slug, code, detail }, { 'retry-after': String(RETRY_AFTER_SECONDS) });
}

/**
 * 403 for a verified caller that lacks what the resource needs: the missing scopes (RFC 6750
 * insufficient_scope, its `scope` attribute listing every scope the resource needs, so a client
 * can ask for all of them at once) or, with every scope held, a role.
 */
export function sendForbidden(
  reply: FastifyReply,
  lack: { missingScopes: string[]; requiredScopes: string[] },
): FastifyReply {
  const scopeMissing = lack.missingScopes.length > 0;
  const scope = lack.requiredScopes.join(' ');
  const challenge = bearerChallenge({
    error: 'insufficient_scope',
    ...(scope ? { scope } : {}),
    error_description: scopeMissing ? 'a required scope is missing' : 'a required role is missing',
  });
  return sendProblem(
    reply,
    403,
    scopeMissing
      ? {
          slug: 'insufficient-scope',
          code: 'ERR_INSUFFICIENT_SCOPE',
          detail: `This request needs the scopes: ${lack.missingScopes.join(' ')}.`,
          extensions: { missingScopes: lack.missingScopes },
        }
      : { slug: 'missing-role', code: 'ERR_MISSING_ROLE', detail: 'This request needs a role the caller does not have.' },
    { 'www-authenticate': challenge },
  );
}
