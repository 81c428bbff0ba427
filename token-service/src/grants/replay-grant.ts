/**
 * Replay grants: what lets a consumer accept an event whose message token has expired.
 *
 * A producer (client credentials, scope events:replay) asks for one before it re-publishes stored
 * events. It is issued by oidc-provider's own client_credentials grant, as a JWT access token for a
 * resource of its own (REPLAY_RESOURCE, RFC 8707), and reshaped here through the provider's jwt
 * format customizer:
 *   - typ replay+jwt: never mistaken for an access token (at+jwt) or a message token;
 *   - aud: every consumer audience (the events it covers go to all of them);
 *   - replay: { id, from?, to? }: the replay's id and, when the producer states one, the event-time
 *     range it covers (replay_from / replay_to, RFC 3339). Consumers refuse an event outside it.
 * Short-lived (REPLAY_GRANT_TTL, default 5 min): it authorises a re-publication now, not a standing
 * right to replay.
 */
import { type AsymmetricSigningAlgorithm, errors, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import { TYP } from '../tokens/token-types.ts';

export const REPLAY_SCOPE = 'events:replay';

export interface ReplayGrantSettings {
  /** The resource indicator replay grants are issued for (REPLAY_RESOURCE). */
  resource: string;
  /** The aud of a replay grant: every consumer. */
  consumerAudiences: string[];
  ttl: number;
  alg: AsymmetricSigningAlgorithm;
}

/** The resource server oidc-provider issues replay grants for: one scope, its own TTL, JWT format. */
export function replayResourceServer(settings: ReplayGrantSettings, grantType: unknown): ResourceServer {
  // Only client credentials: a user's code flow must never yield a replay grant.
  if (grantType !== 'client_credentials') {
    throw new errors.InvalidTarget('replay grants are issued by the client_credentials grant only');
  }
  return {
    scope: REPLAY_SCOPE,
    audience: settings.resource,
    accessTokenTTL: settings.ttl,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: settings.alg } },
  };
}

/** client_credentials asking for events:replay without naming a resource means a replay grant. */
export function wantsReplayGrant(params: Record<string, unknown> | undefined): boolean {
  if (params?.grant_type !== 'client_credentials') return false;
  return String(params.scope ?? '').split(' ').includes(REPLAY_SCOPE);
}

interface StructuredToken {
  header?: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/** formats.customizers.jwt: reshape the JWTs issued for the replay resource, leave the rest alone. */
export function customizeReplayGrant(
  settings: ReplayGrantSettings,
  ctx: KoaContextWithOIDC | undefined,
  jwt: StructuredToken,
): void {
  if (jwt.payload.aud !== settings.resource) return;
  // oidc-provider keeps only a grant's registered parameters in ctx.oidc.params, and
  // client_credentials' are fixed; the parsed request body still holds ours. A repeated parameter
  // arrives as an array and is refused as not a date-time.
  const range = replayRange(ctx?.oidc?.body as Record<string, unknown> | undefined);
  jwt.header = { ...jwt.header, typ: TYP.replay };
  jwt.payload.aud = [...settings.consumerAudiences];
  jwt.payload.replay = { id: jwt.payload.jti, ...range };
}

/** replay_from / replay_to: RFC 3339 date-times, from not after to. Refused as invalid_request. */
export function replayRange(params: Record<string, unknown> | undefined): { from?: string; to?: string } {
  const range: { from?: string; to?: string } = {};
  for (const [param, member] of [
    ['replay_from', 'from'],
    ['replay_to', 'to'],
  ] as const) {
    const value = params?.[param];
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string' || !isRfc3339(value)) {
      throw new errors.InvalidRequest(`${param} must be an RFC 3339 date-time`);
    }
    range[member] = new Date(value).toISOString();
  }
  if (range.from && range.to && range.from > range.to) {
    throw new errors.InvalidRequest('replay_from must not be after replay_to');
  }
  return range;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function isRfc3339(value: string): boolean {
  return RFC3339.test(value) && !Number.isNaN(Date.parse(value));
}
