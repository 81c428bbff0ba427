import t from 'tap';
import { client, decodeJwt, loginWithCode, oauthClient, oauthError } from './support/oauth.ts';
import { startTokenService } from './support/token-service.ts';

const { issuer, audit } = await startTokenService(t);

t.test('discovery advertises the endpoints, PKCE S256 only and the grant types', async (t) => {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  t.equal(response.status, 200);
  const meta = (await response.json()) as {
    issuer: string;
    jwks_uri: string;
    code_challenge_methods_supported: string[];
    grant_types_supported: string[];
    token_endpoint_auth_methods_supported: string[];
    [other: string]: unknown;
  };
  t.equal(meta.issuer, issuer);
  t.same(meta.code_challenge_methods_supported, ['S256']);
  t.ok(meta.grant_types_supported.includes('urn:ietf:params:oauth:grant-type:token-exchange'));
  t.ok(meta.grant_types_supported.includes('client_credentials'));
  t.ok(
    meta.introspection_endpoint &&
      meta.revocation_endpoint &&
      meta.end_session_endpoint &&
      meta.userinfo_endpoint,
  );
  t.same(meta.token_endpoint_auth_methods_supported.sort(), ['client_secret_basic', 'private_key_jwt']);
  const jwks = (await (await fetch(meta.jwks_uri)).json()) as { keys: Array<Record<string, unknown>> };
  t.ok(jwks.keys.length >= 1, 'JWKS has keys');
  t.notOk(
    jwks.keys.some((k: Record<string, unknown>) => 'd' in k),
    'JWKS never publishes private parts',
  );
});

t.test('authorization code + PKCE through the login form yields an RFC 9068 access token', async (t) => {
  const { tokens } = await loginWithCode(issuer, 'alice');
  const { header, payload } = decodeJwt(tokens.access_token);
  t.equal(header.typ, 'at+jwt');
  t.equal(header.alg, 'ES256');
  t.equal(payload.iss, issuer);
  t.equal(payload.aud, 'urn:gatehouse:api');
  t.equal(payload.sub, 'alice');
  t.equal(payload.client_id, 'gateway');
  t.equal(payload.org_id, 'acme');
  t.equal(payload.subscription_level, 'premium');
  t.same(payload.roles, []);
  t.match(payload.scope, /orders:write/);
  t.type(payload.jti, 'string');
  t.equal((payload.exp as number) - (payload.iat as number), 900, '15 minutes');
  t.notOk('email' in payload || 'name' in payload);
  t.ok(tokens.refresh_token, 'a refresh token for the BFF');
  t.ok(tokens.id_token);
  t.ok(
    audit.some((r) => r.event === 'login.success'),
    'login audited',
  );
  t.ok(
    audit.some((r) => r.event === 'token.issued' && r.kind === 'access_token' && r.jti === payload.jti),
    'issuance audited by jti',
  );
  t.notOk(JSON.stringify(audit).includes(tokens.access_token), 'no token in the audit stream');
});

t.test('admin carries the admin role', async (t) => {
  const { tokens } = await loginWithCode(issuer, 'admin');
  t.same(decodeJwt(tokens.access_token).payload.roles, ['admin']);
});

t.test('an authorization request without PKCE is refused', async (t) => {
  const config = await oauthClient(issuer, 'gateway');
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: 'http://localhost:8080/auth/callback',
    scope: 'openid',
    state: 's',
  });
  const response = await fetch(url, { redirect: 'manual' });
  const location = new URL(response.headers.get('location')!);
  t.equal(location.searchParams.get('error'), 'invalid_request');
  t.match(location.searchParams.get('error_description'), /PKCE/);
});

t.test('refresh tokens rotate; reusing a rotated one revokes the family', async (t) => {
  const config = await oauthClient(issuer, 'gateway');
  const { tokens } = await loginWithCode(issuer, 'bob');
  const first = tokens.refresh_token!;
  const second = await client.refreshTokenGrant(config, first);
  t.ok(second.refresh_token && second.refresh_token !== first, 'rotated');
  const accessJti = decodeJwt(second.access_token).payload.jti;

  const reuse = await client.refreshTokenGrant(config, first).catch((e) => e);
  t.equal(reuse.error, 'invalid_grant', 'reuse of the rotated token is refused');
  const family = await client.refreshTokenGrant(config, second.refresh_token!).catch((e) => e);
  t.equal(family.error, 'invalid_grant', 'the newer token of the family is revoked too');

  const introspected = await client.tokenIntrospection(config, second.access_token);
  t.equal(introspected.active, false, 'access tokens of the family are deny-listed');
  await t.resolveMatch(Promise.resolve(audit.find((r) => r.event === 'grant.revoked')), {
    outcome: 'success',
  });
  t.ok(accessJti);
});

t.test('client credentials give a service token for the API', async (t) => {
  const config = await oauthClient(issuer, 'shipping');
  const tokens = await client.clientCredentialsGrant(config, { scope: 'orders:read' });
  const { header, payload } = decodeJwt(tokens.access_token);
  t.equal(header.typ, 'at+jwt');
  t.equal(payload.sub, 'shipping');
  t.equal(payload.client_id, 'shipping');
  t.equal(payload.aud, 'urn:gatehouse:api');
  t.equal(payload.scope, 'orders:read');
  t.equal((payload.exp as number) - (payload.iat as number), 600);
});

t.test('client authentication failures are refused and audited', async (t) => {
  const config = await oauthClient(issuer, 'shipping', client.ClientSecretBasic('wrong-secret-wrong-secret'));
  const error = oauthError(await client.clientCredentialsGrant(config).catch((e) => e));
  t.same(error, { error: 'invalid_client', status: 401 });
  const record = audit.find((r) => r.event === 'client.auth_failed');
  t.match(record, { client_id: 'shipping', endpoint: 'token' });
  t.notOk(JSON.stringify(audit).includes('wrong-secret-wrong-secret'), 'the secret is never audited');
});

t.test('a client may not use a grant type it is not registered for', async (t) => {
  const config = await oauthClient(issuer, 'shipping');
  const error = await client
    .genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:token-exchange', { subject_token: 'x' })
    .catch((e) => e);
  t.equal(error.error, 'unauthorized_client');
  t.equal(error.status, 400);
});

t.test('introspection and revocation of JWT access tokens', async (t) => {
  const gateway = await oauthClient(issuer, 'gateway');
  const shipping = await oauthClient(issuer, 'shipping');
  const { tokens } = await loginWithCode(issuer, 'carol');
  const active = await client.tokenIntrospection(gateway, tokens.access_token);
  t.equal(active.active, true);
  t.equal(active.sub, 'carol');
  t.equal(active.org_id, 'globex');

  const foreign = await client.tokenRevocation(shipping, tokens.access_token).catch((e) => e);
  t.equal(foreign.error, 'invalid_request', 'another client cannot revoke it');
  t.equal((await client.tokenIntrospection(gateway, tokens.access_token)).active, true, 'still active');

  await client.tokenRevocation(gateway, tokens.access_token);
  t.equal((await client.tokenIntrospection(gateway, tokens.access_token)).active, false, 'revoked');
  t.ok(audit.some((r) => r.event === 'token.revoked' && r.kind === 'access'));

  const refresh = await client.tokenIntrospection(gateway, tokens.refresh_token!);
  t.equal(refresh.active, true, 'refresh tokens are introspectable');
  await client.tokenRevocation(gateway, tokens.refresh_token!);
  t.equal(
    (await client.tokenIntrospection(gateway, tokens.refresh_token!)).active,
    false,
    'refresh token revoked',
  );

  const garbage = await client.tokenIntrospection(gateway, 'not-a-token');
  t.equal(garbage.active, false);
});

t.test('userinfo returns the minimal profile claims', async (t) => {
  const config = await oauthClient(issuer, 'gateway');
  // An access token for userinfo is one issued for OIDC scopes only (no API resource).
  const { tokens } = await loginWithCode(issuer, 'alice', undefined, 'openid profile');
  const info = await client.fetchUserInfo(config, tokens.access_token, 'alice');
  t.equal(info.sub, 'alice');
  t.equal(info.org_id, 'acme');
});

t.test('end-session offers an RP-initiated logout page', async (t) => {
  const config = await oauthClient(issuer, 'gateway');
  const { tokens, browser } = await loginWithCode(issuer, 'alice');
  const url = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token!,
    post_logout_redirect_uri: 'http://localhost:8080/',
  });
  const response = await browser.request(url.href);
  t.equal(response.status, 200);
  const html = await response.text();
  t.match(html, /Sign out/);
  t.notMatch(html, /<script/, 'no script on the logout page');
  const form = /<form[^>]*action="([^"]+)"[\s\S]*?name="xsrf" value="([^"]+)"/.exec(html);
  t.ok(form, 'the logout form carries the provider CSRF token');
  const confirmed = await browser.request(new URL(form![1]!, issuer).href, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf: form![2]!, logout: 'yes' }).toString(),
  });
  t.equal(confirmed.status, 303);
  const done = await browser.follow(
    new URL(confirmed.headers.get('location')!, issuer).href,
    'http://localhost:8080/',
  );
  t.equal(done.url.startsWith('http://localhost:8080/'), true, 'returns to the post-logout redirect');
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!).catch((e) => e);
  t.equal(refreshed.error, 'invalid_grant', 'logout ended the refresh token family');
});
