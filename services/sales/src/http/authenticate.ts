/**
 * Authentication and authorisation of a service behind the gateway. The gateway already checked the
 * caller, but a service never trusts a hop: it verifies the user's access token again with the
 * shared validator, and reads identity only from the verified Principal, never from headers.
 * Refusals have the gateway's shapes: 401 + WWW-Authenticate (error="invalid_token"), 403
 * insufficient_scope, 503 + Retry-After when the keys cannot be had, all problem+json.
 */
import { type AuditLog, hashSubject } from '@gatehouse/observability';
import {
  bearerOf,
  sendCredentialRefusal,
  sendForbidden,
  sendValidationUnavailable,
  unavailableCode,
} from '@gatehouse/service-http';
import { isTokenValidationError, type Principal, type TokenProfile, type Validator } from '@gatehouse/validator';
import type { FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller, set by the authenticate hook. */
    principal?: Principal;
  }
}

export interface AuthDeps {
  validator: Validator;
  profile: TokenProfile;
  audit: AuditLog;
  /** False while no JWKS has ever been fetched: an unknown key then means "unavailable", not "invalid". */
  keysAvailable: () => boolean;
  onFailure?: (code: string) => void;
}

function auditFailure(deps: AuthDeps, request: FastifyRequest, code: string): void {
  deps.onFailure?.(code);
  deps.audit.record({
    event: 'auth.failure',
    outcome: 'failure',
    reason: code,
    method: request.method,
    route: request.routeOptions.url,
    ip: request.ip,
    request_id: request.id,
  });
}

export function unavailable(reply: FastifyReply, code: string, detail: string): FastifyReply {
  return sendValidationUnavailable(reply, code, { slug: 'dependency-unavailable', detail });
}

/** onRequest hook: runs before the body is read, so an unauthenticated caller costs no parsing. */
export function authenticate(deps: AuthDeps) {
  return async function authenticateRequest(request: FastifyRequest, reply: FastifyReply) {
    const credential = bearerOf(request);
    if (!('token' in credential)) {
      auditFailure(deps, request, credential.code);
      return sendCredentialRefusal(reply, credential);
    }
    try {
      request.principal = await deps.validator.verify(credential.token, deps.profile);
    } catch (error) {
      const code = unavailableCode(error, deps.keysAvailable);
      if (code) {
        auditFailure(deps, request, code);
        return unavailable(reply, code, 'The access token cannot be checked right now. Retry later.');
      }
      if (!isTokenValidationError(error)) throw error;
      auditFailure(deps, request, error.code);
      return sendCredentialRefusal(reply, { status: 401, code: error.code, error: 'invalid_token', description: error.message });
    }
  };
}

export interface Requirement {
  scopes?: string[];
  /** Any one of these roles. */
  roles?: string[];
}

/** Pure: which of the requirement's scopes the principal lacks, and whether it lacks every role. */
export function missing(principal: Pick<Principal, 'scopes' | 'roles'>, requirement: Requirement) {
  const held = new Set(principal.scopes);
  const scopes = (requirement.scopes ?? []).filter((s) => !held.has(s));
  const roles = requirement.roles ?? [];
  const role = roles.length > 0 && !roles.some((r) => principal.roles.includes(r));
  return { scopes, role };
}

/** preHandler hook after authenticate: 403 insufficient_scope / missing role. */
export function authorize(requirement: Requirement, deps: Pick<AuthDeps, 'audit' | 'onFailure'>) {
  return async function authorizeRequest(request: FastifyRequest, reply: FastifyReply) {
    const principal = request.principal;
    if (!principal) throw new Error('authorize hook without authenticate');
    const lack = missing(principal, requirement);
    if (lack.scopes.length === 0 && !lack.role) return;
    const reason = lack.scopes.length > 0 ? 'insufficient_scope' : 'missing_role';
    deps.onFailure?.(reason);
    deps.audit.record({
      event: 'authz.denied',
      outcome: 'denied',
      reason,
      method: request.method,
      route: request.routeOptions.url,
      missing_scopes: lack.scopes,
      missing_role: lack.role,
      sub: hashSubject(principal.sub),
      client_id: principal.clientId,
      jti: principal.jti,
      request_id: request.id,
    });
    return sendForbidden(reply, { missingScopes: lack.scopes, requiredScopes: requirement.scopes ?? [] });
  };
}
