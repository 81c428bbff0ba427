/** Real OAuth clients (openid-client 6) for the token service under test. */
import * as client from 'openid-client';
import { Browser, submitLogin } from './browser.ts';
import { DEMO_PASSWORD, REDIRECT_URI, SECRETS } from './token-service.ts';

export { client };

export async function oauthClient(
  issuer: string,
  clientId: keyof typeof SECRETS,
  auth: client.ClientAuth = client.ClientSecretBasic(SECRETS[clientId]),
): Promise<client.Configuration> {
  return client.discovery(new URL(issuer), clientId, undefined, auth, {
    execute: [client.allowInsecureRequests],
  });
}

export interface LoginResult {
  tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  browser: Browser;
}

export interface LoginPage {
  browser: Browser;
  url: string;
  html: string;
  status: number;
}

/** Starts an authorization request (code + PKCE S256) as the gateway and returns the login page. */
export async function openLoginPage(
  issuer: string,
  params: Record<string, string> = {},
): Promise<LoginPage & { config: client.Configuration; verifier: string }> {
  const config = await oauthClient(issuer, 'gateway');
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  });
  const browser = new Browser();
  const page = await browser.follow(url.href, REDIRECT_URI);
  if (!page.response) throw new Error('expected the login page');
  return { config, verifier, browser, url: page.url, html: await page.response.text(), status: page.response.status };
}

/** Authorization code + PKCE S256 through the real login form, as the gateway (BFF) does it. */
export async function loginWithCode(
  issuer: string,
  username: string,
  password = DEMO_PASSWORD,
  scope = 'openid profile orders:read orders:write',
): Promise<LoginResult> {
  const state = client.randomState();
  const nonce = client.randomNonce();
  const page = await openLoginPage(issuer, { scope, state, nonce });
  const posted = await submitLogin(page.browser, page.url, page.html, username, password);
  const location = posted.headers.get('location');
  if (!location) throw new Error(`login failed with status ${posted.status}`);
  const callback = await page.browser.follow(new URL(location, page.url).href, REDIRECT_URI);
  const tokens = await client.authorizationCodeGrant(page.config, new URL(callback.url), {
    pkceCodeVerifier: page.verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
  return { tokens, browser: page.browser };
}

export async function exchange(
  config: client.Configuration,
  params: Record<string, string | string[]>,
): Promise<Awaited<ReturnType<typeof client.genericGrantRequest>>> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const value of [v].flat()) body.append(k, value);
  return client.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:token-exchange', body);
}

export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')),
  };
}

/** The OAuth error of a failed openid-client call, from the body or the WWW-Authenticate challenge. */
export function oauthError(error: unknown): { error?: string; status?: number } {
  const e = error as { error?: string; status?: number; cause?: unknown };
  if (e.error) return { error: e.error, status: e.status };
  const challenge = Array.isArray(e.cause) ? (e.cause[0] as { parameters?: { error?: string } }) : undefined;
  return { error: challenge?.parameters?.error, status: e.status };
}

/** The OAuth error of a token exchange expected to fail ({} when it unexpectedly succeeds). */
export async function exchangeRefusal(
  config: client.Configuration,
  params: Record<string, string | string[]>,
): Promise<{ error?: string; status?: number }> {
  return oauthError(
    await exchange(config, params).then(
      () => ({}),
      (e) => e,
    ),
  );
}
