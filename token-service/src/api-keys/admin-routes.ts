/**
 * The admin API for producer API keys (JSON; errors are RFC 9457 application/problem+json, as this
 * is an API and not an OAuth endpoint):
 *
 *   POST   /admin/api-keys       {name, scopes, expires_in?} -> 201 with the key, shown this once
 *   GET    /admin/api-keys       the caller's org's keys, never the key itself
 *   DELETE /admin/api-keys/:id   revoke -> 204; 404 for a missing key or another org's
 *
 * The caller presents a user access token (Bearer, at+jwt, aud API_RESOURCE) with role admin; it
 * manages the keys of its own org_id only. Authentication runs on onRequest, before any body is read.
 */
import { type AuditLog, hashSubject } from '@gatehouse/observability';
import { type Principal, type TokenProfile, TokenValidationError, type Validator } from '@gatehouse/validator';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TokenServiceMetrics } from '../metrics.ts';
import type { GrantTokenIndex, JtiDenyList } from '../stores/types.ts';
import { TYP } from '../tokens/token-types.ts';
import { issuedTokensIndex } from './exchange.ts';
import { type CreateKeyRules, parseCreateKey } from './input.ts';
import { type ApiKeyService, TooManyKeysError } from './service.ts';
import type { ApiKeyRecord } from './types.ts';

export const ADMIN_ROLE = 'admin';
const KEY_ID = /^ak_[0-9A-Za-z]{16}$/;
const BODY_LIMIT = 8 * 1024;

export interface AdminRoutesDeps {
  /** undefined when API keys are disabled: every route answers 503. */
  service: ApiKeyService | undefined;
  validator: Validator;
  apiResource: string;
  rules: CreateKeyRules;
  issuedTokens: GrantTokenIndex;
  denyList: JtiDenyList;
  audit: AuditLog;
  metrics: TokenServiceMetrics;
}

interface Problem {
  status: number;
  slug: string;
  title: string;
  detail: string;
  errors?: string[];
}

function sendProblem(reply: FastifyReply, problem: Problem, challenge?: string): FastifyReply {
  if (challenge) reply.header('www-authenticate', challenge);
  const { slug, errors, ...rest } = problem;
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send({ type: `urn:gatehouse:problem:${slug}`, ...rest, ...(errors ? { errors } : {}) });
}

/** The public view of a record: no hash, no creator; times as ISO 8601, null when unset. */
export function keyView(record: ApiKeyRecord) {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    id: record.id,
    prefix: record.prefix,
    name: record.name,
    scopes: record.scopes,
    org_id: record.org_id,
    created_at: iso(record.created_at),
    expires_at: iso(record.expires_at),
    last_used_at: iso(record.last_used_at),
    revoked_at: iso(record.revoked_at),
  };
}

export async function apiKeyAdminRoutes(app: FastifyInstance, deps: AdminRoutesDeps): Promise<void> {
  const profile: TokenProfile = {
    kind: 'access',
    typ: TYP.access,
    audience: deps.apiResource,
    requiredClaims: ['client_id'],
  };
  const callers = new WeakMap<FastifyRequest, Principal & { orgId: string }>();

  const denied = (request: FastifyRequest, reason: string, sub?: string) => {
    deps.audit.record({
      event: 'api_key.admin_denied',
      outcome: 'denied',
      reason,
      sub: hashSubject(sub),
      method: request.method,
      ip: request.ip,
    });
    deps.metrics.apiKeys.inc({ event: 'admin_denied', reason });
  };

  // JSON only: Fastify would otherwise hand a text/plain body to the handler as a string.
  app.removeContentTypeParser('text/plain');

  app.addHook('onSend', async (_request, reply) => {
    // A created key is in a response body: no cache anywhere may keep it.
    reply.header('cache-control', 'no-store');
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error.message }, 'api key admin request failed');
    const detail =
      status === 415
        ? 'send application/json'
        : status === 413
          ? 'request body too large'
          : status === 500
            ? 'internal error'
            : 'malformed request body';
    return sendProblem(reply, { status, slug: status === 500 ? 'internal' : 'invalid-request', title: 'Request refused', detail });
  });

  app.addHook('onRequest', async (request, reply) => {
    if (!deps.service) {
      return sendProblem(reply, {
        status: 503,
        slug: 'api-keys-disabled',
        title: 'API keys are disabled',
        detail: 'this server has no API_KEY_HASH_SECRET',
      });
    }
    const match = /^Bearer ([^\s]+)$/i.exec(request.headers.authorization ?? '');
    if (!match) {
      denied(request, request.headers.authorization ? 'malformed_authorization' : 'no_token');
      return sendProblem(
        reply,
        { status: 401, slug: 'unauthorized', title: 'Unauthorized', detail: 'a Bearer access token is required' },
        'Bearer realm="gatehouse"',
      );
    }
    let principal: Principal;
    try {
      principal = await deps.validator.verify(match[1], profile);
    } catch (error) {
      if (!(error instanceof TokenValidationError)) throw error;
      denied(request, `invalid_token:${error.code}`);
      return sendProblem(
        reply,
        { status: 401, slug: 'unauthorized', title: 'Unauthorized', detail: 'the access token is not valid' },
        'Bearer realm="gatehouse", error="invalid_token"',
      );
    }
    if (!principal.roles.includes(ADMIN_ROLE) || !principal.orgId) {
      denied(request, principal.orgId ? 'not_admin' : 'no_org', principal.sub);
      return sendProblem(
        reply,
        { status: 403, slug: 'forbidden', title: 'Forbidden', detail: `role ${ADMIN_ROLE} in an organisation is required` },
        'Bearer realm="gatehouse", error="insufficient_scope"',
      );
    }
    callers.set(request, { ...principal, orgId: principal.orgId });
  });

  app.post('/admin/api-keys', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    const caller = callers.get(request)!;
    const parsed = parseCreateKey(request.body, deps.rules);
    if (!parsed.ok) {
      return sendProblem(reply, {
        status: 400,
        slug: 'invalid-request',
        title: 'Invalid API key request',
        detail: parsed.problems.join('; '),
        errors: parsed.problems,
      });
    }
    let created: Awaited<ReturnType<ApiKeyService['create']>>;
    try {
      created = await deps.service!.create(caller.orgId, hashSubject(caller.sub)!, parsed.input);
    } catch (error) {
      if (!(error instanceof TooManyKeysError)) throw error;
      return sendProblem(reply, { status: 409, slug: 'too-many-keys', title: 'Too many API keys', detail: error.message });
    }
    const { record, key } = created;
    deps.audit.record({
      event: 'api_key.created',
      outcome: 'success',
      key_id: record.id,
      key_prefix: record.prefix,
      org_id: record.org_id,
      name: record.name,
      scopes: record.scopes,
      expires_at: Math.floor(record.expires_at / 1000),
      sub: record.created_by,
      client_id: caller.clientId,
    });
    deps.metrics.apiKeys.inc({ event: 'created', reason: 'ok' });
    return reply.code(201).send({ ...keyView(record), key });
  });

  app.get('/admin/api-keys', async (request) => {
    const caller = callers.get(request)!;
    return { api_keys: (await deps.service!.list(caller.orgId)).map(keyView) };
  });

  app.delete<{ Params: { id: string } }>('/admin/api-keys/:id', async (request, reply) => {
    const caller = callers.get(request)!;
    const { id } = request.params;
    const revoked = KEY_ID.test(id) ? await deps.service!.revoke(caller.orgId, id) : undefined;
    if (!revoked) {
      return sendProblem(reply, { status: 404, slug: 'not-found', title: 'Not found', detail: 'no such API key' });
    }
    // Tokens already exchanged for the key stop working too, not just new exchanges.
    const tokens = await deps.issuedTokens.take(issuedTokensIndex(id));
    await Promise.all(tokens.map((t) => deps.denyList.add(t.jti, t.expiresAt)));
    if (revoked.newly) {
      deps.audit.record({
        event: 'api_key.revoked',
        outcome: 'success',
        key_id: id,
        key_prefix: revoked.record.prefix,
        org_id: revoked.record.org_id,
        sub: hashSubject(caller.sub),
        client_id: caller.clientId,
        tokens_denied: tokens.length,
      });
      deps.metrics.apiKeys.inc({ event: 'revoked', reason: 'ok' });
    }
    return reply.code(204).send();
  });
}
