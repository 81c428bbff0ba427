/**
 * Reading the one bearer credential of a request (RFC 6750 2.1), the same rules as the gateway's
 * (gateway/src/authenticate.ts extractBearer): the Authorization header only, exactly once.
 * Pure: a request's url and headers in, a token or a refusal out.
 */

export interface CredentialRefusal {
  status: 400 | 401;
  code: string;
  /** RFC 6750 3.1 error; absent when the request simply carries no bearer credential. */
  error?: 'invalid_request' | 'invalid_token';
  description: string;
}

// RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export interface CredentialSource {
  url: string;
  authorization: string | undefined;
  /** Node's rawHeaders: name, value, name, value… */
  rawHeaders: readonly string[];
}

export function extractBearer(source: CredentialSource): { token: string } | CredentialRefusal {
  if (tokenInQuery(source.url)) {
    // RFC 6750 2.3 allows it, but URLs end up in logs, histories and Referer headers.
    return {
      status: 400,
      code: 'ERR_TOKEN_IN_QUERY',
      error: 'invalid_request',
      description: 'access tokens are accepted in the Authorization header only',
    };
  }
  if (countHeader(source.rawHeaders, 'authorization') > 1) {
    // Node keeps only the first Authorization header; two are an ambiguity we refuse to resolve.
    return {
      status: 400,
      code: 'ERR_AUTH_HEADER_REPEATED',
      error: 'invalid_request',
      description: 'exactly one Authorization header is allowed',
    };
  }
  const header = source.authorization;
  if (header === undefined || header === '') {
    return { status: 401, code: 'ERR_TOKEN_MISSING', description: 'an access token is required' };
  }
  if (!/^bearer(\s|$)/i.test(header)) {
    return { status: 401, code: 'ERR_AUTH_SCHEME', description: 'the Bearer scheme is required' };
  }
  const match = BEARER.exec(header);
  if (!match) {
    return { status: 401, code: 'ERR_TOKEN_MALFORMED', error: 'invalid_token', description: 'the bearer credential is malformed' };
  }
  return { token: match[1]! };
}

/** An access_token query parameter (RFC 6750 2.3): refused everywhere, public routes included. */
export function tokenInQuery(url: string): boolean {
  const q = url.indexOf('?');
  if (q === -1) return false;
  try {
    return new URLSearchParams(url.slice(q + 1)).has('access_token');
  } catch {
    return false;
  }
}

export function countHeader(rawHeaders: readonly string[], name: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) count += 1;
  return count;
}

/** RFC 6750 3: quoted-string values; quotes, backslashes and line breaks are never let through. */
export function bearerChallenge(params: Record<string, string> = {}): string {
  const attributes = Object.entries({ realm: 'gatehouse', ...params }).map(
    ([k, v]) => `${k}="${v.replace(/["\\\r\n]/g, "'")}"`,
  );
  return `Bearer ${attributes.join(', ')}`;
}
