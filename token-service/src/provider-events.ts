/**
 * Wires node-oidc-provider's events to the audit stream, the metrics and the deny list:
 * every token issued is audited and counted; when a grant is revoked (logout, refresh-token
 * reuse, revocation of a refresh token) the JWT access tokens it issued are deny-listed.
 */
import { type AuditLog, hashSubject, type Logger } from '@gatehouse/observability';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { TokenServiceMetrics } from './metrics.ts';
import type { Stores } from './stores/types.ts';

interface OAuthError {
  error?: string;
  error_description?: string;
  /** oidc-provider's internal reason, never sent to the client. */
  error_detail?: string;
}

interface IssuedToken {
  jti: string;
  kind: string;
  clientId?: string;
  accountId?: string;
  scope?: string;
  exp?: number;
  iat?: number;
  /** Lifetime in seconds; oidc-provider sets exp only on stored tokens, so JWTs derive it. */
  expiration?: number;
  grantId?: string;
}

function expiresAt(token: IssuedToken): number | undefined {
  if (token.exp) return token.exp;
  if (!token.expiration) return undefined;
  // +1 s: the JWT's own iat may be taken a moment after this event fires.
  return (token.iat ?? Math.floor(Date.now() / 1000)) + token.expiration + 1;
}

export function wireProviderEvents(
  provider: Provider,
  {
    audit,
    metrics,
    stores,
    logger,
  }: { audit: AuditLog; metrics: TokenServiceMetrics; stores: Stores; logger: Logger },
): void {
  const issued = (kind: string) => (token: IssuedToken) => {
    const exp = expiresAt(token);
    audit.record({
      event: 'token.issued',
      outcome: 'success',
      kind,
      client_id: token.clientId,
      sub: hashSubject(token.accountId),
      scope: token.scope,
      jti: token.jti,
      exp,
    });
    metrics.tokensIssued.inc({ kind, client: token.clientId ?? 'unknown' });
    if (kind === 'access_token' && token.grantId && exp) {
      stores.grantTokens.record(token.grantId, token.jti, exp).catch((error: unknown) => {
        logger.error(
          { err: error },
          'could not index an access token by grant; grant revocation may miss it',
        );
      });
    }
  };
  provider.on('access_token.issued', issued('access_token'));
  provider.on('access_token.saved', issued('access_token'));
  provider.on('client_credentials.issued', issued('service_token'));
  provider.on('client_credentials.saved', issued('service_token'));
  provider.on('refresh_token.saved', issued('refresh_token'));

  provider.on('grant.revoked', (_ctx: KoaContextWithOIDC, grantId: string) => {
    void denyGrantTokens(grantId);
  });
  async function denyGrantTokens(grantId: string) {
    try {
      const tokens = await stores.grantTokens.take(grantId);
      await Promise.all(tokens.map((t) => stores.denyList.add(t.jti, t.expiresAt)));
      audit.record({
        event: 'grant.revoked',
        outcome: 'success',
        grant: grantId,
        access_tokens_denied: tokens.length,
      });
      metrics.revocations.inc({ kind: 'grant' }, 1);
    } catch (error) {
      logger.error({ err: error }, 'grant revoked but its access tokens could not be deny-listed');
    }
  }

  for (const [event, endpoint] of [
    ['grant.error', 'token'],
    ['introspection.error', 'introspection'],
    ['revocation.error', 'revocation'],
  ] as const) {
    (provider as unknown as NodeJS.EventEmitter).on(event, (ctx: KoaContextWithOIDC, error: OAuthError) => {
      if (error.error === 'invalid_client') {
        metrics.clientAuthFailures.inc({ endpoint });
        audit.record({
          event: 'client.auth_failed',
          outcome: 'failure',
          reason: 'invalid_client',
          endpoint,
          client_id: claimedClientId(ctx),
          ip: ctx.ip,
        });
      } else if (error.error === 'invalid_grant' && ctx.oidc?.params?.grant_type === 'refresh_token') {
        audit.record({
          event: 'refresh.refused',
          outcome: 'denied',
          reason: error.error_detail ?? error.error_description ?? 'invalid_grant',
          client_id: ctx.oidc?.client?.clientId,
        });
      }
    });
  }
  provider.on('server_error', (_ctx: KoaContextWithOIDC, error: Error) => {
    logger.error({ err: error }, 'token service error');
  });
}

/** The client id a failed request claimed, from the body or the Basic header; never the secret. */
function claimedClientId(ctx: KoaContextWithOIDC): string | undefined {
  const fromParams = ctx.oidc?.params?.client_id;
  if (typeof fromParams === 'string') return fromParams.slice(0, 128);
  const header = ctx.get('authorization');
  if (!header.toLowerCase().startsWith('basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const id = decoded.split(':')[0];
  return id ? decodeURIComponent(id).slice(0, 128) : undefined;
}
