/**
 * The node-oidc-provider configuration: the single source of truth for endpoints, clients,
 * token formats and lifetimes. Everything Gatehouse adds (token exchange, JWT revocation and
 * introspection, audit) is wired here through the provider's own extension points.
 */
import type { KeyRing } from '@gatehouse/keys';
import Provider, { type Configuration, errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { AccountStore } from './accounts.ts';
import { API_SCOPES, OIDC_SCOPES } from './clients.ts';
import type { TokenServiceConfig } from './config.ts';
import { customizeReplayGrant, REPLAY_SCOPE, type ReplayGrantSettings, replayResourceServer, wantsReplayGrant } from './grants/replay-grant.ts';
import { errorPage, logoutPage, postLogoutPage } from './interactions/views.ts';

export interface ProviderDeps {
  config: TokenServiceConfig;
  keys: KeyRing;
  accounts: AccountStore;
  clients: Configuration['clients'];
  adapter?: Configuration['adapter'];
  /** Every consumer audience: the aud of replay grants. */
  consumerAudiences: string[];
}

export function createProvider({ config, keys, accounts, clients, adapter, consumerAudiences }: ProviderDeps): Provider {
  const alg = keys.signingKey().alg;
  const replay: ReplayGrantSettings = {
    resource: config.REPLAY_RESOURCE,
    consumerAudiences,
    ttl: config.REPLAY_GRANT_TTL,
    alg,
  };
  const configuration: Configuration = {
    ...(adapter ? { adapter } : {}),
    clients,
    jwks: keys.providerJwks() as Configuration['jwks'],
    cookies: {
      keys: config.COOKIE_KEYS,
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    scopes: [...OIDC_SCOPES, ...API_SCOPES],
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'org_id', 'roles', 'subscription_level'],
    },
    async findAccount(_ctx, id) {
      const account = accounts.findById(id);
      if (!account) return undefined;
      return {
        accountId: account.id,
        claims: () => ({
          sub: account.id,
          preferred_username: account.username,
          org_id: account.org_id,
          roles: account.roles,
          subscription_level: account.subscription_level,
        }),
      };
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = logoutPage(form);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = postLogoutPage();
        },
      },
      resourceIndicators: {
        enabled: true,
        // One API resource: requests for its scopes that name no resource get it, so every API
        // access token has an audience.
        // Requests for OIDC scopes only get a userinfo token.
        defaultResource: (ctx, _client, oneOf) => {
          if (oneOf) return oneOf;
          if (wantsReplayGrant(ctx.oidc.params)) return config.REPLAY_RESOURCE;
          const { grant_type: grantType, scope } = ctx.oidc.params ?? {};
          if (grantType === 'client_credentials') return config.API_RESOURCE;
          const scopes = String(scope ?? '').split(' ');
          return scopes.some((s) => API_SCOPES.includes(s)) ? config.API_RESOURCE : undefined;
        },
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator) => {
          if (indicator === config.REPLAY_RESOURCE) return replayResourceServer(replay, ctx.oidc.params?.grant_type);
          if (indicator !== config.API_RESOURCE) throw new errors.InvalidTarget();
          const service = ctx.oidc.params?.grant_type === 'client_credentials';
          return {
            // events:replay is the replay resource's alone: an API token never carries it.
            scope: API_SCOPES.filter((s) => s !== REPLAY_SCOPE).join(' '),
            audience: config.API_RESOURCE,
            accessTokenTTL: service ? config.SERVICE_TOKEN_TTL : config.ACCESS_TOKEN_TTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg } },
          };
        },
      },
    },
    formats: {
      customizers: {
        jwt: async (ctx, _token, jwt) => customizeReplayGrant(replay, ctx, jwt as Parameters<typeof customizeReplayGrant>[2]),
      },
    },
    pkce: { required: () => true },
    clientAuthMethods: ['client_secret_basic', 'private_key_jwt'],
    clientDefaults: {
      id_token_signed_response_alg: alg,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
    enabledJWA: {
      clientAuthSigningAlgValues: ['ES256', 'EdDSA', 'RS256', 'PS256'],
      idTokenSigningAlgValues: ['ES256', 'EdDSA', 'RS256'],
    },
    ttl: {
      AccessToken: config.ACCESS_TOKEN_TTL,
      // A replay grant's lifetime is its resource server's (REPLAY_GRANT_TTL), not a service token's.
      ClientCredentials: (_ctx, token) =>
        token.aud === config.REPLAY_RESOURCE ? config.REPLAY_GRANT_TTL : config.SERVICE_TOKEN_TTL,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      // Refresh tokens without offline_access end with the session (oidc-provider's
      // expiresWithSession), so the session lasts as long as a refresh token may.
      Session: config.REFRESH_TOKEN_TTL,
      Grant: config.REFRESH_TOKEN_TTL,
      RefreshToken: config.REFRESH_TOKEN_TTL,
    },
    // The browser UI's backend-for-frontend keeps the user signed in with a refresh token, without
    // asking the user for offline_access; rotation on every use lets reuse be detected.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    extraTokenClaims: async (_ctx, token) => {
      if (token.kind !== 'AccessToken' || !('accountId' in token) || !token.accountId) return undefined;
      const account = accounts.findById(token.accountId);
      if (!account) return undefined;
      return { roles: account.roles, org_id: account.org_id, subscription_level: account.subscription_level };
    },
    renderError: async (ctx: KoaContextWithOIDC, out) => {
      ctx.type = 'html';
      ctx.body = errorPage(out.error, out.error_description);
    },
    conformIdTokenClaims: true,
  };
  const provider = new Provider(config.ISSUER, configuration);
  provider.proxy = config.TRUST_PROXY !== undefined;
  return provider;
}
