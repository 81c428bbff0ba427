/**
 * Bearer authentication and scope checks for a consumer's read API, with the gateway's shapes
 * (gateway/src/authenticate.ts, gateway/src/authorize.ts): RFC 6750 challenges, problem+json bodies,
 * the same codes. The gateway has already checked the token, but a service never trusts that: it
 * verifies the access token again with the same validator and decides from its claims alone.
 */
import { type AuditLog, hashSubject } from '@gatehouse/observability';
import {
  bearerOf,
  type CredentialRefusal,
  sendCredentialRefusal,
  sendForbidden,
  sendValidationUnavailable,
  unavailableCode,
} from '@gatehouse/service-http';
import { isTokenValidationError, type Principal, type TokenProfile, type Validator } from '@gatehouse/validator';
import type { FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller, set by the bearer hook. */
    principal?: Principal;
  }
}

export interface BearerAuthOptions {
  validator: Validator;
  profile: TokenProfile;
  audit: AuditLog;
  /** False while no JWKS was ever fetched: an unknown key then means "unavailable", not "invalid". */
  keysAvailable: () => boolean;
}

export type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

/** A route-level onRequest hook: a valid access token holding every scope in `scopes`. */
export function requireBearer(options: BearerAuthOptions, scopes: string[]): Hook {
  const auditFailure = (request: FastifyRequest, reason: string) =>
    options.audit.record({
      event: 'auth.failure',
      outcome: 'failure',
      reason,
      route: request.routeOptions.url,
      method: request.method,
      ip: request.ip,
      request_id: request.id,
    });

  const refuse = (request: FastifyRequest, reply: FastifyReply, refusal: CredentialRefusal) => {
    auditFailure(request, refusal.code);
    return sendCredentialRefusal(reply, refusal);
  };

  const unavailable = (request: FastifyRequest, reply: FastifyReply, code: string) => {
    auditFailure(request, code);
    return sendValidationUnavailable(reply, code);
  };

  const insufficientScope = (request: FastifyRequest, reply: FastifyReply, principal: Principal, missing: string[]) => {
    options.audit.record({
      event: 'authz.denied',
      outcome: 'denied',
      reason: 'insufficient_scope',
      route: request.routeOptions.url,
      method: request.method,
      missing_scopes: missing,
      sub: hashSubject(principal.sub),
      client_id: principal.clientId,
      jti: principal.jti,
      request_id: request.id,
    });
    return sendForbidden(reply, { missingScopes: missing, requiredScopes: scopes });
  };

  return async (request, reply) => {
    const credential = bearerOf(request);
    if (!('token' in credential)) return refuse(request, reply, credential);
    let principal: Principal;
    try {
      principal = await options.validator.verify(credential.token, options.profile);
    } catch (error) {
      const outage = unavailableCode(error, options.keysAvailable);
      if (outage) return unavailable(request, reply, outage);
      if (!isTokenValidationError(error)) throw error;
      return refuse(request, reply, {
        status: 401,
        code: error.code,
        error: 'invalid_token',
        description: error.message,
      });
    }
    const held = new Set(principal.scopes);
    const missing = scopes.filter((s) => !held.has(s));
    if (missing.length > 0) return insufficientScope(request, reply, principal, missing);
    request.principal = principal;
  };
}
