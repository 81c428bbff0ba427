/**
 * Revocation (RFC 7009) and introspection (RFC 7662) of the JWTs Gatehouse issues.
 *
 * node-oidc-provider stores opaque tokens (refresh tokens, authorization codes) and revokes and
 * introspects those itself. JWT access tokens and message tokens are self-contained: nothing is
 * stored, so "revoked" means "its jti is on the deny list until it would have expired". The
 * validators (gateway, services, consumers) consult that list; this middleware feeds it and
 * answers introspection for JWTs.
 *
 * It runs as provider middleware after the provider's own handling, so client authentication and
 * parameter parsing are the provider's, and a JWT only gets here after the provider found no
 * opaque token by that value.
 */
import { type AuditLog, hashSubject } from '@gatehouse/observability';
import {
  type Principal,
  type TokenProfile,
  TokenValidationError,
  type Validator,
} from '@gatehouse/validator';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { TokenServiceMetrics } from './metrics.ts';
import type { JtiDenyList } from './stores/types.ts';
import { TYP } from './tokens/token-types.ts';

export interface JwtTokenDeps {
  validator: Validator;
  denyList: JtiDenyList;
  audit: AuditLog;
  metrics: TokenServiceMetrics;
  /** The profiles a JWT presented for revocation or introspection may match. */
  profiles: TokenProfile[];
  /**
   * How long past its exp a revoked message token stays on the deny list: consumers may accept an
   * expired message token under their replay policy, so "merely expired" must never be what a
   * revocation decays into within the replay window (REVOKED_MESSAGE_TOKEN_RETENTION).
   */
  messageTokenRetentionSeconds: number;
}

export function jwtTokenMiddleware(deps: JwtTokenDeps) {
  return async function jwtTokens(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    await next();
    const route = ctx.oidc?.route;
    if (route !== 'revocation' && route !== 'introspection') return;
    const token = ctx.oidc.params?.token;
    const client = ctx.oidc.client;
    if (typeof token !== 'string' || !client || !looksLikeJwt(token)) return;
    // The provider answers unsupported_token_type for structured tokens; an opaque token it found
    // (active, or revoked with 200) is already handled.
    const body = ctx.body as { active?: boolean; error?: string } | undefined;
    const providerDeclined = ctx.status === 400 && body?.error === 'unsupported_token_type';
    const notFound = ctx.status === 200 && (route === 'revocation' || body?.active === false);
    if (!providerDeclined && !notFound) return;

    const principal = await verifyAny(deps, token);
    if (!principal) {
      // Unknown, expired or invalid: RFC 7009 section 2.2 answers 200, RFC 7662 active:false.
      ctx.status = 200;
      ctx.body = route === 'introspection' ? { active: false } : '';
      return;
    }

    if (route === 'introspection') {
      ctx.status = 200;
      ctx.body = introspectionResponse(principal);
      return;
    }
    // RFC 7009 section 2.1: a client may revoke only tokens issued to it.
    if (principal.clientId !== client.clientId) {
      ctx.status = 400;
      ctx.body = {
        error: 'invalid_request',
        error_description: 'client is not authorized to revoke the presented token',
      };
      return;
    }
    const retention = principal.kind === 'message' ? deps.messageTokenRetentionSeconds : 0;
    await deps.denyList.add(principal.jti, principal.exp + retention);
    ctx.status = 200;
    ctx.body = '';
    deps.metrics.revocations.inc({ kind: principal.kind });
    deps.audit.record({
      event: 'token.revoked',
      outcome: 'success',
      kind: principal.kind,
      client_id: client.clientId,
      sub: hashSubject(principal.sub),
      jti: principal.jti,
      exp: principal.exp,
    });
  };
}

async function verifyAny(deps: JwtTokenDeps, token: string): Promise<Principal | undefined> {
  for (const profile of deps.profiles) {
    try {
      return await deps.validator.verify(token, profile);
    } catch (error) {
      if (!(error instanceof TokenValidationError)) throw error;
      if (error.code !== 'ERR_TOKEN_TYP') return undefined;
    }
  }
  return undefined;
}

function introspectionResponse(p: Principal): Record<string, unknown> {
  const { claims } = p;
  return {
    ...claims,
    active: true,
    token_type: claims.cnf ? 'N_A' : 'Bearer',
    // RFC 7662 names the audience aud and the client client_id, as the JWT does already.
  };
}

function looksLikeJwt(token: string): boolean {
  return token.length < 16_384 && token.split('.').length === 3;
}

/** The profiles of tokens this service issues as JWTs. */
export function issuedJwtProfiles(apiResource: string, messageAudiences: string[]): TokenProfile[] {
  return [
    { kind: 'access', typ: TYP.access, audience: apiResource },
    { kind: 'message', typ: TYP.message, audience: messageAudiences },
    // Replay grants carry every consumer audience, like message tokens.
    { kind: 'replay', typ: TYP.replay, audience: messageAudiences },
  ];
}
