/**
 * The gateway's client for the token service's RFC 8693 token exchange (POST <issuer>/token),
 * authenticated as the gateway client with client_secret_basic. Used for message tokens (subject =
 * a user's access token) and for API keys (subject = the key, a Gatehouse token type).
 *
 * Node's global fetch (undici) keeps connections alive by default, so steady-state exchanges reuse
 * a socket. Every call is bounded by timeoutMs, body included: a slow token service must turn into
 * a quick 503, never a request hanging at the gateway.
 *
 * Outcomes are typed: a grant, or a TokenServiceError whose kind is
 *   'unavailable'  unreachable, timeout, 5xx, an unreadable answer, or our own client refused (401
 *                  invalid_client is the gateway's misconfiguration, not the caller's fault);
 *   'refused'      a 4xx OAuth error about the request (invalid_grant, invalid_scope...), with its code.
 */

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_API_KEY = 'urn:gatehouse:params:oauth:token-type:api-key';

export interface ExchangeRequest {
  subjectToken: string;
  subjectTokenType: string;
  /** Repeated as audience parameters (RFC 8693 allows several). */
  audience: string[];
  scope?: string | undefined;
  /** Seconds (Gatehouse extension); the token service caps it. */
  requestedLifetime?: number | undefined;
  /** The client the message token is bound to in cnf (Gatehouse extension). */
  producer?: string | undefined;
}

export interface ExchangeGrant {
  token: string;
  issuedTokenType: string;
  /** Seconds from the token service's answer. */
  expiresIn: number;
  scope: string | undefined;
}

export type TokenServiceErrorKind = 'unavailable' | 'refused';

export class TokenServiceError extends Error {
  readonly kind: TokenServiceErrorKind;
  /** The OAuth error code (invalid_grant...) for 'refused'; a short internal reason for 'unavailable'. */
  readonly reason: string;
  readonly status: number | undefined;
  constructor(kind: TokenServiceErrorKind, reason: string, status?: number, options?: { cause?: unknown }) {
    super(`token exchange ${kind}: ${reason}${status === undefined ? '' : ` (${status})`}`, options);
    this.name = 'TokenServiceError';
    this.kind = kind;
    this.reason = reason;
    this.status = status;
  }
}

export interface TokenServiceClientOptions {
  /** The token service's base URL (the issuer); the endpoint is <url>/token. */
  url: string;
  clientId: string;
  clientSecret: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

export interface TokenServiceClient {
  exchange(request: ExchangeRequest): Promise<ExchangeGrant>;
}

/** RFC 6749 2.3.1: client_secret_basic form-urlencodes id and secret before base64. */
function basicAuth(id: string, secret: string): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

export function exchangeBody(request: ExchangeRequest): URLSearchParams {
  const body = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: request.subjectToken,
    subject_token_type: request.subjectTokenType,
  });
  for (const audience of request.audience) body.append('audience', audience);
  if (request.scope !== undefined) body.set('scope', request.scope);
  if (request.requestedLifetime !== undefined) body.set('requested_lifetime', String(request.requestedLifetime));
  if (request.producer !== undefined) body.set('producer', request.producer);
  return body;
}

export function createTokenServiceClient(options: TokenServiceClientOptions): TokenServiceClient {
  const endpoint = `${options.url}/token`;
  const authorization = basicAuth(options.clientId, options.clientSecret);
  const doFetch = options.fetch ?? fetch;

  return {
    async exchange(request) {
      let status: number;
      let payload: Record<string, unknown>;
      try {
        const response = await doFetch(endpoint, {
          method: 'POST',
          headers: {
            authorization,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: exchangeBody(request),
          signal: AbortSignal.timeout(options.timeoutMs),
          redirect: 'error',
        });
        status = response.status;
        // The body is read under the same timeout signal; a JSON that is not an object is unreadable.
        const parsed: unknown = await response.json().catch(() => undefined);
        payload = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
      } catch (error) {
        const reason = (error as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable';
        throw new TokenServiceError('unavailable', reason, undefined, { cause: error });
      }
      if (status >= 500) throw new TokenServiceError('unavailable', 'server_error', status);
      if (status !== 200) {
        const code = typeof payload.error === 'string' ? payload.error : 'invalid_response';
        // Our own credentials refused: the caller did nothing wrong, the gateway is misconfigured.
        if (status === 401 || code === 'invalid_client' || code === 'unauthorized_client') {
          throw new TokenServiceError('unavailable', code, status);
        }
        throw new TokenServiceError('refused', code, status);
      }
      const { access_token: token, expires_in: expiresIn, issued_token_type: type, scope } = payload;
      if (typeof token !== 'string' || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
        throw new TokenServiceError('unavailable', 'invalid_response', status);
      }
      return {
        token,
        expiresIn,
        issuedTokenType: typeof type === 'string' ? type : '',
        scope: typeof scope === 'string' ? scope : undefined,
      };
    },
  };
}
