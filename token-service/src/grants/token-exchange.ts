/**
 * RFC 8693 token exchange as a node-oidc-provider grant (registerGrantType). This file is the
 * adapter: it reads parameters, verifies the subject (and actor) token with the shared validator,
 * asks the pure ExchangePolicy for a decision, mints the MessageToken and audits the outcome.
 *
 * Error mapping (RFC 8693 section 2.2.2, RFC 6749 section 5.2):
 *   missing/unsupported parameters      -> invalid_request
 *   subject token expired, revoked, not ours, malformed, or itself a message token -> invalid_grant
 *   audience/resource not allowed       -> invalid_target
 *   scope beyond subject or policy      -> invalid_scope
 *   client without an exchange policy   -> unauthorized_client
 *
 * A subject_token of type urn:gatehouse:params:oauth:token-type:api-key goes to the API key branch
 * (api-keys/exchange.ts) instead: unknown, revoked or expired keys are invalid_grant there too.
 */
import type { KeyRing } from '@gatehouse/keys';
import { type AuditLog, hashSubject } from '@gatehouse/observability';
import { type TokenProfile, TokenValidationError, type Validator } from '@gatehouse/validator';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { ApiKeyExchangeRequest, ApiKeyExchangeResult } from '../api-keys/exchange.ts';
import type { TokenServiceMetrics } from '../metrics.ts';
import {
  type ExchangeError,
  type ExchangePolicy,
  evaluateExchange,
  TOKEN_TYPE_API_KEY,
} from '../policy/exchange-policy.ts';
import { actClaim, mintMessageToken, newTransactionId } from '../tokens/message-token.ts';
import { TOKEN_EXCHANGE_GRANT, TOKEN_TYPE, TYP } from '../tokens/token-types.ts';

export const grantType = TOKEN_EXCHANGE_GRANT;

/** RFC 8693 parameters, plus two Gatehouse extensions: producer (cnf binding) and requested_lifetime. */
export const parameters = new Set([
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'requested_token_type',
  'audience',
  'resource',
  'scope',
  'producer',
  'requested_lifetime',
]);

/** Parameters that may repeat (RFC 8693: several audience and resource values). */
export const allowedDuplicateParameters = ['audience', 'resource'];

/** One profile object: the validator caches its normalised form by identity. */
const accessProfile = (apiResource: string): TokenProfile => ({
  kind: 'access',
  typ: TYP.access,
  audience: apiResource,
  requiredClaims: ['client_id'],
});

export interface TokenExchangeDeps {
  issuer: string;
  apiResource: string;
  keys: () => KeyRing;
  validator: Validator;
  policy: () => ExchangePolicy;
  /** Public JWKs of producing clients, for cnf binding. */
  producerKey: (clientId: string) => Record<string, unknown> | undefined;
  audit: AuditLog;
  metrics: TokenServiceMetrics;
  /** The API key branch; without it an API key subject is an unsupported subject_token_type. */
  apiKeys?: (request: ApiKeyExchangeRequest) => Promise<ApiKeyExchangeResult>;
  now?: () => number;
}

type Params = Record<string, string | string[] | undefined>;

const OAUTH_ERRORS: Record<ExchangeError | 'invalid_grant', (description: string) => Error> = {
  invalid_request: (d) => new errors.InvalidRequest(d),
  invalid_grant: (d) => new errors.InvalidGrant(d),
  invalid_target: (d) => new errors.InvalidTarget(d),
  invalid_scope: (d) => new errors.InvalidScope(d, ''),
  unauthorized_client: (d) => new errors.UnauthorizedClient(d),
};

class Refusal extends Error {
  readonly error: ExchangeError | 'invalid_grant';
  readonly reason: string;
  constructor(error: ExchangeError | 'invalid_grant', reason: string, description: string) {
    super(description);
    this.error = error;
    this.reason = reason;
  }
}

export function tokenExchangeHandler(deps: TokenExchangeDeps) {
  const now = deps.now ?? Date.now;
  const profile = accessProfile(deps.apiResource);
  return async function tokenExchange(ctx: KoaContextWithOIDC): Promise<void> {
    const clientId = ctx.oidc.client!.clientId;
    const params = ctx.oidc.params as Params;
    const started = performance.now();
    try {
      const body = await exchange(deps, profile, clientId, params, now());
      ctx.body = body;
      deps.metrics.exchanges.inc({ client: clientId, outcome: 'granted', reason: 'ok' });
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      deps.audit.record({
        event: 'exchange.denied',
        outcome: 'denied',
        reason: error.reason,
        error: error.error,
        client_id: clientId,
      });
      deps.metrics.exchanges.inc({ client: clientId, outcome: 'denied', reason: error.reason });
      throw OAUTH_ERRORS[error.error](error.message);
    } finally {
      deps.metrics.exchangeSeconds.observe((performance.now() - started) / 1000);
    }
  };
}

async function exchange(
  deps: TokenExchangeDeps,
  profile: TokenProfile,
  clientId: string,
  params: Params,
  now: number,
) {
  const subjectToken = single(params, 'subject_token');
  const subjectTokenType = single(params, 'subject_token_type');
  if (!subjectToken || !subjectTokenType) {
    throw new Refusal(
      'invalid_request',
      'missing_subject_token',
      'subject_token and subject_token_type are required',
    );
  }
  const requestedType = single(params, 'requested_token_type');
  if (subjectTokenType === TOKEN_TYPE_API_KEY && deps.apiKeys) {
    const result = await deps.apiKeys({
      clientId,
      subjectToken,
      audiences: [...many(params, 'audience'), ...many(params, 'resource')],
      scope: single(params, 'scope'),
      lifetime: single(params, 'requested_lifetime'),
      producer: single(params, 'producer'),
      requestedTokenType: requestedType,
      actorPresent: single(params, 'actor_token') !== undefined || single(params, 'actor_token_type') !== undefined,
      now,
    });
    if (!result.ok) throw new Refusal(result.error, result.reason, result.description);
    return result.body;
  }
  if (requestedType !== undefined && requestedType !== TOKEN_TYPE.jwt) {
    throw new Refusal(
      'invalid_request',
      'requested_token_type_unsupported',
      'unsupported requested_token_type',
    );
  }
  if (subjectTokenType !== TOKEN_TYPE.accessToken) {
    throw new Refusal('invalid_request', 'subject_token_type_unsupported', 'unsupported subject_token_type');
  }

  const subject = await verifySubject(deps, profile, subjectToken, 'subject');
  const actor = await verifyActor(deps, profile, params, clientId);

  const audiences = [...many(params, 'audience'), ...many(params, 'resource')];
  const scope = single(params, 'scope');
  const lifetime = single(params, 'requested_lifetime');
  const result = evaluateExchange(deps.policy(), {
    clientId,
    subjectTokenType,
    subjectScopes: subject.scopes,
    subjectClaims: subject.claims,
    audiences,
    ...(scope !== undefined ? { requestedScopes: scope.split(' ').filter(Boolean) } : {}),
    ...(lifetime !== undefined ? { requestedTtl: Number(lifetime) } : {}),
    ...(single(params, 'producer') !== undefined ? { producer: single(params, 'producer') } : {}),
  });
  if (!result.ok) throw new Refusal(result.error, result.reason, describe(result.error, result.reason));

  const { decision } = result;
  let cnfJwk: Record<string, unknown> | undefined;
  if (decision.bindTo) {
    cnfJwk = deps.producerKey(decision.bindTo);
    if (!cnfJwk)
      throw new Refusal('invalid_request', 'producer_key_unknown', 'producer has no registered key');
  }

  const minted = await mintMessageToken(deps.keys(), {
    issuer: deps.issuer,
    subject: subject.sub,
    clientId,
    decision,
    act: actClaim(actor ?? clientId, subject.act),
    ...(cnfJwk ? { cnfJwk } : {}),
    txn: newTransactionId(),
    now,
  });

  const sub = hashSubject(subject.sub);
  deps.audit.record({
    event: 'exchange.granted',
    outcome: 'success',
    client_id: clientId,
    sub,
    subject_jti: subject.jti,
    jti: minted.jti,
    aud: decision.audiences,
    scope: decision.scopes.join(' '),
    exp: minted.exp,
    bound_to: decision.bindTo,
  });
  deps.audit.record({
    event: 'token.issued',
    outcome: 'success',
    kind: 'message_token',
    client_id: clientId,
    sub,
    scope: decision.scopes.join(' '),
    jti: minted.jti,
    exp: minted.exp,
  });
  deps.metrics.tokensIssued.inc({ kind: 'message_token', client: clientId });

  return {
    access_token: minted.token,
    issued_token_type: TOKEN_TYPE.jwt,
    // RFC 8693 section 2.2.1: N_A when the issued token is not an OAuth access token.
    token_type: 'N_A',
    expires_in: decision.ttl,
    scope: decision.scopes.join(' '),
  };
}

async function verifySubject(
  deps: TokenExchangeDeps,
  profile: TokenProfile,
  token: string,
  role: 'subject' | 'actor',
) {
  try {
    return await deps.validator.verify(token, profile);
  } catch (error) {
    if (!(error instanceof TokenValidationError)) throw error;
    const reason = subjectRefusalReason(error.code, token);
    throw new Refusal(
      'invalid_grant',
      `${role}_${reason}`,
      `${role} token is ${reason.replaceAll('_', ' ')}`,
    );
  }
}

async function verifyActor(deps: TokenExchangeDeps, profile: TokenProfile, params: Params, clientId: string) {
  const token = single(params, 'actor_token');
  const type = single(params, 'actor_token_type');
  if (token === undefined && type === undefined) return undefined;
  if (!token || !type) {
    throw new Refusal(
      'invalid_request',
      'actor_token_incomplete',
      'actor_token and actor_token_type go together',
    );
  }
  if (type !== TOKEN_TYPE.accessToken) {
    throw new Refusal('invalid_request', 'actor_token_type_unsupported', 'unsupported actor_token_type');
  }
  const actor = await verifySubject(deps, profile, token, 'actor');
  // The actor token must speak for the client presenting it, or anyone could claim any actor.
  if (actor.clientId !== clientId) {
    throw new Refusal(
      'invalid_grant',
      'actor_not_requesting_client',
      'actor token was not issued to this client',
    );
  }
  return actor.sub;
}

/** Reason codes for the audit log; the client sees only their readable form. */
function subjectRefusalReason(code: string, token: string): string {
  switch (code) {
    case 'ERR_TOKEN_EXPIRED':
      return 'expired';
    case 'ERR_TOKEN_REVOKED':
      return 'revoked';
    case 'ERR_TOKEN_ISSUER':
    case 'ERR_TOKEN_KEY_UNKNOWN':
      return 'from_unknown_issuer';
    case 'ERR_TOKEN_TYP':
      return isMessageToken(token) ? 'a_message_token' : 'not_an_access_token';
    default:
      return 'invalid';
  }
}

function isMessageToken(token: string): boolean {
  try {
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8'));
    return typeof header.typ === 'string' && header.typ.toLowerCase().endsWith(TYP.message);
  } catch {
    return false;
  }
}

function describe(error: ExchangeError, reason: string): string {
  switch (error) {
    case 'invalid_target':
      return 'audience or resource not allowed for this client';
    case 'invalid_scope':
      return 'requested scope exceeds what the subject token and policy allow';
    case 'unauthorized_client':
      return 'client is not allowed to exchange tokens';
    default:
      // The policy's reason codes are written to be shown: producer_required -> "producer required".
      return `refused by the exchange policy: ${reason.replaceAll('_', ' ')}`;
  }
}

function single(params: Params, name: string): string | undefined {
  const value = params[name];
  return Array.isArray(value) ? value[0] : value;
}

function many(params: Params, name: string): string[] {
  const value = params[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
