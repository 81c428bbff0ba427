/**
 * The HTTP side of a consumer: a Fastify server with the ops endpoints (healthz, readyz over the
 * database and the bus, metrics), problem+json errors, request ids, and a guard for read routes
 * (bearer access token + scopes + the caller's visibility). The services add their own routes.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ops, type ReadinessCheck } from '@gatehouse/fastify-ops';
import type { AuditLog, Logger, Metrics } from '@gatehouse/observability';
import type { Validator } from '@gatehouse/validator';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { type Visibility, visibilityOf } from '../visibility.ts';
import { accessTokenProfile } from '@gatehouse/service-http';
import { type Hook, requireBearer } from './authenticate.ts';
import { installProblemHandlers, installRequestLog, sendProblem } from '@gatehouse/service-http';

export interface ReadApiOptions {
  logger: Logger;
  metrics: Metrics;
  audit: AuditLog;
  validator: Validator;
  /** The aud of user access tokens (API_AUDIENCE). */
  apiAudience: string;
  keysAvailable: () => boolean;
  readiness: Record<string, ReadinessCheck>;
}

export interface ReadApi {
  app: FastifyInstance;
  /** onRequest hook for a read route: a valid access token with every one of these scopes. */
  requireScopes(scopes: string[]): Hook;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The gateway's X-Request-Id is kept (one id across hops) when short and plain; else a new one. */
function requestId(request: IncomingMessage): string {
  const incoming = request.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

export async function buildReadApi(options: ReadApiOptions): Promise<ReadApi> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    genReqId: requestId,
    // Fastify's own request log prints query strings; ours prints the path.
    logController: new LogController({ disableRequestLogging: true }),
  });
  installProblemHandlers(app);
  installRequestLog(app);
  await app.register(ops, { metrics: options.metrics, readiness: options.readiness });
  const bearer = {
    validator: options.validator,
    profile: accessTokenProfile(options.apiAudience),
    audit: options.audit,
    keysAvailable: options.keysAvailable,
  };
  return { app, requireScopes: (scopes) => requireBearer(bearer, scopes) };
}

/**
 * The caller's visibility, or a 403 already sent: a token bound to no organisation (a service
 * token) has nobody's records to read.
 */
export function visibilityOrRefuse(request: FastifyRequest, reply: FastifyReply): Visibility | undefined {
  const visibility = request.principal ? visibilityOf(request.principal) : undefined;
  if (visibility === undefined) {
    sendProblem(reply, 403, {
      slug: 'organisation-required',
      code: 'ERR_ORG_REQUIRED',
      detail: 'This token is not bound to an organisation.',
    });
  }
  return visibility;
}
