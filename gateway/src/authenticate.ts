/**
 * Authentication per route, as a route-level onRequest hook: it runs before the body is read, so an
 * unauthenticated caller never makes the gateway buffer a body. On success request.principal holds
 * the validated Principal and request.accessToken the token (forwarded upstream, never logged).
 *
 * 'bearer'  RFC 6750 2.1 Authorization: Bearer <token>, verified as a user access token.
 * 'none'    no credential needed (and none forwarded).
 * 'api-key' X-API-Key exchanged for a JWT at the token service (api-keys/authenticate.ts).
 * 'session' mode: the BFF's cookie session (CSRF-checked), its access token verified like a bearer token.
 */
import type { AuditLog } from '@gatehouse/observability';
import { hashSubject } from '@gatehouse/observability';
import {
  bearerOf,
  type CredentialRefusal,
  sendCredentialRefusal,
  sendValidationUnavailable,
  tokenInQuery,
  unavailableCode,
} from '@gatehouse/service-http';
import { isTokenValidationError, type Principal, type TokenProfile, type Validator } from '@gatehouse/validator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clientIp } from './client-ip.ts';
import type { GatewayMetrics } from './metrics.ts';
import { sendProblem } from './problem.ts';
import { type AuthMode, authModes, type Route } from './routes.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; undefined on auth 'none' routes. */
    principal?: Principal;
    /** The validated bearer token, forwarded upstream as Authorization. Never log it. */
    accessToken?: string;
  }
}

// The access-token profile and the bearer reader are every hop's (@gatehouse/service-http).
export { accessTokenProfile, bearerOf as extractBearer, RETRY_AFTER_SECONDS } from '@gatehouse/service-http';

/**
 * The audit record's hashed subject, once per verified token rather than per request: the
 * validator's cache hits share one frozen claims object, which keys this memo (and lets it go).
 */
const subjectHashes = new WeakMap<object, string | undefined>();

function auditSubject(principal: Principal): string | undefined {
  let hashed = subjectHashes.get(principal.claims);
  if (hashed === undefined) {
    hashed = hashSubject(principal.sub);
    subjectHashes.set(principal.claims, hashed);
  }
  return hashed;
}


export type { CredentialRefusal };

export interface AuthenticateDeps {
  validator: Validator;
  profile: TokenProfile;
  audit: AuditLog;
  metrics: GatewayMetrics;
  /** False while no JWKS has ever been fetched: an unknown key then means "unavailable", not "invalid". */
  keysAvailable: () => boolean;
  /** The 'api-key' mode's hook for a route (api-keys/authenticate.ts); without it the mode fails closed. */
  apiKeys?: (route: Route) => (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;
  /** The 'session' mode: the BFF's cookie session (bff/); without it the mode fails closed. */
  session?: SessionAuthentication;
}

/** What the BFF provides for routes called by the browser with its session cookie. */
export interface SessionAuthentication {
  /** Whether the request carries the session cookie at all (picks the mode on multi-mode routes). */
  present(request: FastifyRequest): boolean;
  /** CSRF rule for cookie-authenticated calls: a refusal for unsafe requests that fail it. */
  csrf(request: FastifyRequest): { code: string; detail: string } | undefined;
  /** The session's current access token (refreshed when due), or why there is none. */
  accessToken(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<{ accessToken: string } | { refusal: { status: 401 | 503; code: string } }>;
}

export function authenticateHook(route: Route, deps: AuthenticateDeps) {
  const fail = (request: FastifyRequest, reply: FastifyReply, refusal: CredentialRefusal) => {
    deps.metrics.authFailure(refusal.code);
    deps.audit.record({
      event: 'auth.failure',
      outcome: 'failure',
      reason: refusal.code,
      route: route.name,
      method: request.method,
      ip: clientIp(request),
      request_id: request.id,
    });
    return sendCredentialRefusal(reply, refusal);
  };

  const unavailable = (request: FastifyRequest, reply: FastifyReply, code: string) => {
    deps.metrics.authFailure(code);
    deps.audit.record({
      event: 'auth.failure',
      outcome: 'failure',
      reason: code,
      route: route.name,
      method: request.method,
      ip: clientIp(request),
      request_id: request.id,
    });
    return sendValidationUnavailable(reply, code);
  };

  /** The same checks for a bearer token and a session's token: the session is only a carrier. */
  const verifyAndAttach = async (
    request: FastifyRequest,
    reply: FastifyReply,
    token: string,
  ): Promise<FastifyReply | undefined> => {
    let principal: Principal;
    try {
      principal = await deps.validator.verify(token, deps.profile);
    } catch (error) {
      const outage = unavailableCode(error, deps.keysAvailable);
      if (outage) return unavailable(request, reply, outage);
      if (!isTokenValidationError(error)) throw error;
      return fail(request, reply, {
        status: 401,
        code: error.code,
        error: 'invalid_token',
        description: error.message,
      });
    }
    request.principal = principal;
    request.accessToken = token;
    deps.audit.record({
      event: 'auth.success',
      outcome: 'success',
      route: route.name,
      method: request.method,
      sub: auditSubject(principal),
      client_id: principal.clientId,
      jti: principal.jti,
      request_id: request.id,
    });
  };

  const bearer = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const credential = bearerOf(request);
    if (!('token' in credential)) return fail(request, reply, credential);
    return verifyAndAttach(request, reply, credential.token);
  };

  const session = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const bff = deps.session!;
    const csrf = bff.csrf(request);
    if (csrf) return sendProblem(reply, 403, { slug: 'csrf', code: csrf.code, detail: csrf.detail });
    const result = await bff.accessToken(request, reply);
    if ('refusal' in result) {
      if (result.refusal.status === 503) return unavailable(request, reply, result.refusal.code);
      return fail(request, reply, { status: 401, code: result.refusal.code, description: 'sign in again' });
    }
    return verifyAndAttach(request, reply, result.accessToken);
  };

  const notYetWired = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    // Wired by the BFF (session) and API-key work; until then these routes fail closed.
    return fail(request, reply, {
      status: 401,
      code: 'ERR_AUTH_MODE_UNAVAILABLE',
      description: `authentication mode ${authModes(route).join(', ')} is not available yet`,
    });
  };

  const none = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    // Public routes still refuse a token in the URL: it would be logged and forwarded.
    if (tokenInQuery(request.url)) {
      return fail(request, reply, {
        status: 400,
        code: 'ERR_TOKEN_IN_QUERY',
        error: 'invalid_request',
        description: 'access tokens are accepted in the Authorization header only',
      });
    }
  };

  const hookFor = (mode: AuthMode) => {
    switch (mode) {
      case 'bearer':
        return bearer;
      case 'none':
        return none;
      case 'api-key':
        return deps.apiKeys ? deps.apiKeys(route) : notYetWired;
      case 'session':
        return deps.session ? session : notYetWired;
      default:
        return notYetWired;
    }
  };
  const modes = authModes(route);
  if (modes.length === 1) return hookFor(modes[0]!);
  const hooks = new Map(modes.map((mode) => [mode, hookFor(mode)] as const));
  // The credential the request carries picks the mode; with none, the first mode answers 401.
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const carried = carriedCredential(request, deps.session?.present);
    const hook = (carried && hooks.get(carried)) ?? hooks.get(modes[0]!)!;
    return hook(request, reply);
  };
}

function carriedCredential(
  request: FastifyRequest,
  sessionPresent: ((request: FastifyRequest) => boolean) | undefined,
): AuthMode | undefined {
  if (request.headers.authorization !== undefined) return 'bearer';
  if (request.headers['x-api-key'] !== undefined) return 'api-key';
  if (sessionPresent?.(request)) return 'session';
  return undefined;
}
