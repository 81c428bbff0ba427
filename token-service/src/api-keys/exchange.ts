/**
 * The API key branch of the token-exchange grant: a producer's API key (subject_token, type
 * urn:gatehouse:params:oauth:token-type:api-key) becomes a short-lived access token for the API.
 * The grant adapter (grants/token-exchange.ts) hands the parameters here and turns a refusal into
 * the OAuth error; the pure ExchangePolicy decides who may do this, for which audience and for how
 * long. The key itself is never logged or audited: records name it by id and display prefix.
 */
import { randomUUID } from 'node:crypto';
import type { KeyRing } from '@gatehouse/keys';
import { type AuditLog, hashSubject } from '@gatehouse/observability';
import type { TokenServiceMetrics } from '../metrics.ts';
import {
  checkSubjectTokenType,
  evaluateExchange,
  type ExchangeError,
  type ExchangePolicy,
  TOKEN_TYPE_API_KEY,
} from '../policy/exchange-policy.ts';
import type { GrantTokenIndex } from '../stores/types.ts';
import { signWithActiveKey } from '../tokens/message-token.ts';
import { TOKEN_TYPE, TYP } from '../tokens/token-types.ts';
import type { ApiKeyService } from './service.ts';
import type { ApiKeyRecord } from './types.ts';

export const API_KEY_SUBJECT_PREFIX = 'apikey:';

/** Where the jtis of a key's tokens are indexed, so revoking the key deny-lists them. */
export const issuedTokensIndex = (keyId: string): string => `api-key:${keyId}`;

export interface ApiKeyExchangeDeps {
  /** undefined when API keys are disabled (production without API_KEY_HASH_SECRET). */
  service: ApiKeyService | undefined;
  issuer: string;
  keys: () => KeyRing;
  policy: () => ExchangePolicy;
  issuedTokens: GrantTokenIndex;
  audit: AuditLog;
  metrics: TokenServiceMetrics;
  /** For a failed last-use write, which must not fail the exchange. */
  warn: (fields: Record<string, unknown>, message: string) => void;
}

export interface ApiKeyExchangeRequest {
  clientId: string;
  subjectToken: string;
  audiences: string[];
  scope?: string;
  lifetime?: string;
  producer?: string;
  requestedTokenType?: string;
  actorPresent: boolean;
  now: number;
}

export interface ExchangeBody {
  access_token: string;
  issued_token_type: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

export type ApiKeyExchangeResult =
  | { ok: true; body: ExchangeBody }
  | { ok: false; error: ExchangeError | 'invalid_grant'; reason: string; description: string };

export function apiKeyExchange(deps: ApiKeyExchangeDeps) {
  return async function exchangeApiKey(request: ApiKeyExchangeRequest): Promise<ApiKeyExchangeResult> {
    const { clientId } = request;
    const refuse = (
      error: ExchangeError | 'invalid_grant',
      reason: string,
      description: string,
      key: { keyId?: string; prefix?: string; orgId?: string } = {},
    ): ApiKeyExchangeResult => {
      deps.audit.record({
        event: 'api_key.refused',
        outcome: 'denied',
        reason,
        error,
        client_id: clientId,
        key_id: key.keyId,
        key_prefix: key.prefix,
        org_id: key.orgId,
      });
      deps.metrics.apiKeys.inc({ event: 'refused', reason });
      return { ok: false, error, reason, description };
    };

    // Who may present a key is settled before the key is looked at: another client learns nothing
    // about a key's validity and cannot touch its last use.
    const allowed = checkSubjectTokenType(deps.policy(), clientId, TOKEN_TYPE_API_KEY);
    if (!allowed.ok) {
      return refuse(allowed.error, allowed.reason, 'client may not exchange API keys');
    }
    if (!deps.service) {
      return refuse('invalid_request', 'api_keys_disabled', 'API keys are not enabled on this server');
    }
    if (request.actorPresent) {
      return refuse('invalid_request', 'actor_token_not_supported', 'actor_token is not supported with API keys');
    }
    if (request.requestedTokenType !== undefined && request.requestedTokenType !== TOKEN_TYPE.accessToken) {
      return refuse(
        'invalid_request',
        'requested_token_type_unsupported',
        'an API key exchanges for an access token only',
      );
    }

    const auth = await deps.service.authenticate(request.subjectToken);
    if (!auth.ok) {
      return refuse('invalid_grant', `api_key_${auth.reason}`, `API key is ${auth.reason.replaceAll('_', ' ')}`, auth);
    }
    const { record } = auth;
    const keyFacts = { keyId: record.id, prefix: record.prefix, orgId: record.org_id };

    const result = evaluateExchange(deps.policy(), {
      clientId,
      subjectTokenType: TOKEN_TYPE_API_KEY,
      subjectScopes: record.scopes,
      subjectClaims: { org_id: record.org_id },
      audiences: request.audiences,
      ...(request.scope !== undefined ? { requestedScopes: request.scope.split(' ').filter(Boolean) } : {}),
      ...(request.lifetime !== undefined ? { requestedTtl: Number(request.lifetime) } : {}),
      ...(request.producer !== undefined ? { producer: request.producer } : {}),
    });
    if (!result.ok) {
      return refuse(result.error, result.reason, `refused by the exchange policy: ${result.reason.replaceAll('_', ' ')}`, keyFacts);
    }

    const { decision } = result;
    const iat = Math.floor(request.now / 1000);
    const exp = iat + decision.ttl;
    const jti = randomUUID();
    const scope = decision.scopes.join(' ');
    const token = signWithActiveKey(deps.keys(), TYP.access, {
      iss: deps.issuer,
      sub: apiKeySubject(record),
      aud: decision.audiences.length === 1 ? decision.audiences[0]! : decision.audiences,
      iat,
      exp,
      jti,
      client_id: clientId,
      scope,
      ...decision.claims,
      api_key_id: record.id,
    });
    // Indexed before it is handed out: revoking the key must be able to deny-list this token.
    await deps.issuedTokens.record(issuedTokensIndex(record.id), jti, exp);
    await deps.service.recordUse(record).catch((error: Error) =>
      deps.warn({ err: error.message, key_id: record.id }, 'api key last use not recorded'),
    );

    deps.audit.record({
      event: 'api_key.exchanged',
      outcome: 'success',
      client_id: clientId,
      key_id: record.id,
      key_prefix: record.prefix,
      org_id: record.org_id,
      jti,
      aud: decision.audiences,
      scope,
      exp,
    });
    deps.audit.record({
      event: 'token.issued',
      outcome: 'success',
      kind: 'api_key_access_token',
      client_id: clientId,
      sub: hashSubject(apiKeySubject(record)),
      key_id: record.id,
      scope,
      jti,
      exp,
    });
    deps.metrics.apiKeys.inc({ event: 'exchanged', reason: 'ok' });
    deps.metrics.tokensIssued.inc({ kind: 'api_key_access_token', client: clientId });
    return {
      ok: true,
      body: {
        access_token: token,
        issued_token_type: TOKEN_TYPE.accessToken,
        token_type: 'Bearer',
        expires_in: decision.ttl,
        scope,
      },
    };
  };
}

/** sub of an API key's tokens: names the key, never a person (the key id is public, not secret). */
export function apiKeySubject(record: Pick<ApiKeyRecord, 'id'>): string {
  return `${API_KEY_SUBJECT_PREFIX}${record.id}`;
}
