/**
 * Replay grants from the token service: client credentials as client "sales" (client_secret_basic),
 * scope events:replay, resource = every consumer, optional replay_from / replay_to (docs/events.md,
 * Replay grant). Every call is bounded by timeoutMs, body included.
 *
 * Outcomes are typed: the grant, or a GrantError whose kind is
 *   'unavailable'  unreachable, timeout, 5xx, unreadable, or our own client refused (401
 *                  invalid_client is our misconfiguration, not the operator's request);
 *   'refused'      another OAuth error (invalid_scope, invalid_request…), with its code.
 */

export interface ReplayGrantRequest {
  from?: string;
  to?: string;
}

export interface ReplayGrant {
  token: string;
  /** The grant's replay.id (the replay id consumers audit), or its jti. */
  replayId: string;
  expiresIn: number;
}

export class GrantError extends Error {
  readonly code: 'ERR_REPLAY_GRANT_UNAVAILABLE' | 'ERR_REPLAY_GRANT_REFUSED';
  readonly kind: 'unavailable' | 'refused';
  readonly reason: string;
  constructor(kind: GrantError['kind'], reason: string, options?: { cause?: unknown }) {
    super(`replay grant ${kind}: ${reason}`, options);
    this.name = 'GrantError';
    this.kind = kind;
    this.code = kind === 'unavailable' ? 'ERR_REPLAY_GRANT_UNAVAILABLE' : 'ERR_REPLAY_GRANT_REFUSED';
    this.reason = reason;
  }
}

export interface GrantClientOptions {
  tokenServiceUrl: string;
  clientId: string;
  clientSecret: string;
  resource: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

export interface GrantClient {
  replayGrant(request: ReplayGrantRequest): Promise<ReplayGrant>;
}

/** RFC 6749 2.3.1: client_secret_basic form-urlencodes id and secret before base64. */
function basicAuth(id: string, secret: string): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

function decodePart(token: string, index: number): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(token.split('.')[index] ?? '', 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * We pass the grant on, we do not verify it (the consumers do, with the JWKS). We only make sure it
 * is a replay grant at all, so a misconfigured token service answering with an access token is
 * caught here rather than as a dead-letter storm downstream.
 */
function readGrant(token: string): { replayId: string } | undefined {
  if (decodePart(token, 0)?.typ !== 'replay+jwt') return undefined;
  const payload = decodePart(token, 1);
  const replay = payload?.replay as { id?: unknown } | undefined;
  const id = typeof replay?.id === 'string' ? replay.id : payload?.jti;
  return typeof id === 'string' ? { replayId: id } : undefined;
}

export function createGrantClient(options: GrantClientOptions): GrantClient {
  const endpoint = `${options.tokenServiceUrl}/token`;
  const authorization = basicAuth(options.clientId, options.clientSecret);
  const doFetch = options.fetch ?? fetch;

  return {
    async replayGrant(request) {
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        scope: 'events:replay',
        resource: options.resource,
      });
      if (request.from !== undefined) body.set('replay_from', request.from);
      if (request.to !== undefined) body.set('replay_to', request.to);
      let status: number;
      let payload: Record<string, unknown>;
      try {
        const response = await doFetch(endpoint, {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body,
          signal: AbortSignal.timeout(options.timeoutMs),
          redirect: 'error',
        });
        status = response.status;
        const parsed: unknown = await response.json().catch(() => undefined);
        payload = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
      } catch (error) {
        const reason = (error as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable';
        throw new GrantError('unavailable', reason, { cause: error });
      }
      if (status >= 500) throw new GrantError('unavailable', `server_error (${status})`);
      if (status !== 200) {
        const code = typeof payload.error === 'string' ? payload.error : 'invalid_response';
        if (status === 401 || code === 'invalid_client' || code === 'unauthorized_client') {
          throw new GrantError('unavailable', code);
        }
        throw new GrantError('refused', code);
      }
      const token = payload.access_token;
      const grant = typeof token === 'string' ? readGrant(token) : undefined;
      if (typeof token !== 'string' || !grant) throw new GrantError('unavailable', 'not a replay grant');
      const expiresIn = typeof payload.expires_in === 'number' ? payload.expires_in : 0;
      return { token, replayId: grant.replayId, expiresIn };
    },
  };
}
