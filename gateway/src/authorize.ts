/**
 * Route authorisation: does this principal hold what this route and method require?
 * authorize() is pure (no I/O, no Fastify), so the rule is tested on its own; authorizeHook is the
 * adapter that turns a refusal into 403 + WWW-Authenticate insufficient_scope + problem+json.
 */
import type { AuditLog } from '@gatehouse/observability';
import { bearerChallenge, sendForbidden } from '@gatehouse/service-http';
import { hashSubject } from '@gatehouse/observability';
import type { Principal } from '@gatehouse/validator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayMetrics } from './metrics.ts';
import { type Route, requiredScopes } from './routes.ts';

export type Authorization =
  | { ok: true }
  | { ok: false; missingScopes: string[]; missingRole: boolean; requiredRoles: string[] };

/** Scopes: all required (for this method). Roles: any one of them. */
export function authorize(
  principal: Pick<Principal, 'scopes' | 'roles'>,
  route: Pick<Route, 'scopes' | 'roles'>,
  method: string,
): Authorization {
  const held = new Set(principal.scopes);
  const missingScopes = requiredScopes(route, method).filter((s) => !held.has(s));
  const missingRole = route.roles.length > 0 && !route.roles.some((r) => principal.roles.includes(r));
  if (missingScopes.length === 0 && !missingRole) return { ok: true };
  return { ok: false, missingScopes, missingRole, requiredRoles: [...route.roles] };
}

// RFC 6750 3's challenge is every hop's (quoted-string values that cannot be broken out of).
export { bearerChallenge };

export interface AuthorizeDeps {
  audit: AuditLog;
  metrics: GatewayMetrics;
}

export function authorizeHook(route: Route, deps: AuthorizeDeps) {
  const check = authorizeCheck(route, deps);
  return async function authorizeRequest(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    return check(request, reply);
  };
}

/**
 * The same decision without a promise: the route's hook (proxy.ts) runs it right after
 * authentication, in the same onRequest hook. A refusal is sent and returned, like a hook's.
 */
export function authorizeCheck(route: Route, deps: AuthorizeDeps) {
  return function authorizeRequest(request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
    const principal = request.principal;
    // Routes with auth 'none' have no principal and require nothing (the route table refuses
    // scopes or roles on them); authenticated routes always have one by the time we get here.
    if (principal === undefined) return;
    const decision = authorize(principal, route, request.method);
    if (decision.ok) return;
    deps.metrics.authzDenied(route.name);
    deps.audit.record({
      event: 'authz.denied',
      outcome: 'denied',
      reason: decision.missingScopes.length > 0 ? 'insufficient_scope' : 'missing_role',
      route: route.name,
      method: request.method,
      missing_scopes: decision.missingScopes,
      missing_role: decision.missingRole,
      sub: hashSubject(principal.sub),
      client_id: principal.clientId,
      jti: principal.jti,
      request_id: request.id,
    });
    return denied(reply, route, request.method, decision);
  };
}

function denied(
  reply: FastifyReply,
  route: Route,
  method: string,
  decision: Extract<Authorization, { ok: false }>,
): FastifyReply {
  return sendForbidden(reply, { missingScopes: decision.missingScopes, requiredScopes: requiredScopes(route, method) });
}
