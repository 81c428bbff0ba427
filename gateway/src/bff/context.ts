/** The BFF's options and the state shared by its routes, sessionAuthenticator and csrfCheck. */
import type { AuditLog } from '@gatehouse/observability';
import * as client from 'openid-client';
import type { RedisRefreshOptions } from './refresh-redis.ts';
import { redisRefreshCoordinator } from './refresh-redis.ts';
import { deriveCookieKey } from './cookie-crypto.ts';
import type { RefreshCoordinator } from './refresh.ts';
import { createRefreshCoordinator } from './refresh.ts';
import type { CookieSettings } from './session.ts';

export const DEFAULT_SCOPE = 'openid profile orders:read orders:write shipments:read invoices:read';

export interface BffOptions {
  /** The token service's issuer URL (discovery at <issuer>/.well-known/openid-configuration). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Must be registered at the token service, e.g. http://localhost:8080/auth/callback. */
  redirectUri: string;
  postLogoutRedirectUri: string;
  /** 32+ characters; the AES-256-GCM cookie key is derived from it. */
  cookieSecret: string;
  /** Secure cookies and __Host- names: true whenever the browser reaches the gateway over TLS. */
  secureCookies: boolean;
  /** Origins whose requests may change state with the session cookie (CSRF). */
  allowedOrigins: string[];
  audit: AuditLog;
  scope?: string;
  /** Refresh when the access token expires within this many seconds. Default 30. */
  refreshSkewSeconds?: number;
  /** Absolute session lifetime (seconds). Default 7 days, the token service's refresh-token TTL. */
  sessionTtlSeconds?: number;
  /** Login transaction lifetime (seconds). Default 600. */
  loginTtlSeconds?: number;
  /**
   * The gateway's Redis: refreshes are then claimed there, so that replicas behind a balancer
   * that is not sticky rotate a session's refresh token once (refresh-redis.ts). Without it, per
   * process.
   */
  redis?: RedisRefreshOptions['redis'];
}

export interface BffContext {
  readonly options: Required<Omit<BffOptions, 'audit' | 'redis'>>;
  readonly audit: AuditLog;
  readonly cookies: CookieSettings;
  readonly refresher: RefreshCoordinator;
  /** The discovered token service, fetched on first use and again after a failure. */
  oidc(): Promise<client.Configuration>;
}

export function createContext(options: BffOptions): BffContext {
  const normalized = {
    issuer: options.issuer,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    redirectUri: options.redirectUri,
    postLogoutRedirectUri: options.postLogoutRedirectUri,
    cookieSecret: options.cookieSecret,
    secureCookies: options.secureCookies,
    allowedOrigins: options.allowedOrigins,
    scope: options.scope ?? DEFAULT_SCOPE,
    refreshSkewSeconds: options.refreshSkewSeconds ?? 30,
    sessionTtlSeconds: options.sessionTtlSeconds ?? 7 * 24 * 3600,
    loginTtlSeconds: options.loginTtlSeconds ?? 600,
  };
  const cookies = { key: deriveCookieKey(options.cookieSecret), secure: options.secureCookies };
  let discovered: Promise<client.Configuration> | undefined;
  const oidc = () => {
    discovered ??= client
      .discovery(
        new URL(options.issuer),
        options.clientId,
        undefined,
        client.ClientSecretBasic(options.clientSecret),
        // Plain http only for a loopback/dev issuer; production config requires https.
        options.issuer.startsWith('http:') ? { execute: [client.allowInsecureRequests] } : undefined,
      )
      .catch((error: unknown) => {
        discovered = undefined;
        throw error;
      });
    return discovered;
  };
  const ctx: BffContext = {
    options: normalized,
    audit: options.audit,
    cookies,
    oidc,
    refresher: options.redis ? redisRefreshCoordinator({ redis: options.redis, key: cookies.key }) : createRefreshCoordinator(),
  };
  return ctx;
}
