/**
 * The message token the gateway minted for this request (RFC 8693 exchange, typ message+jwt). It
 * rides into the event, so before anything is stored we check that it is for this very caller and
 * for us: the same subject and organisation as the access token, the event scope, and cnf naming
 * our own signing key (else the consumers would refuse every proof we sign).
 * bindingRefusal is pure; the adapter that reads the header and runs the validator is in routes.
 */
import type { Principal, TokenProfile } from '@gatehouse/validator';

export const ORDER_CREATED = 'orders.created';

export function messageTokenProfile(audiences: string[]): TokenProfile {
  return { kind: 'message', typ: 'message+jwt', audience: audiences, requiredClaims: ['cnf', 'act'] };
}

export interface MessageTokenRefusal {
  status: 401 | 403;
  code: string;
  detail: string;
}

/** The public members that identify a key, per kty (RFC 7638's thumbprint members). */
const KEY_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

export function sameKey(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return KEY_MEMBERS.every((m) => a[m] === b[m]) && typeof a.kty === 'string';
}

function cnfKey(message: Principal): Record<string, unknown> | undefined {
  const jwk = (message.cnf as { jwk?: unknown } | undefined)?.jwk;
  return typeof jwk === 'object' && jwk !== null && !Array.isArray(jwk) ? (jwk as Record<string, unknown>) : undefined;
}

/** First failing rule, or undefined when the message token belongs to this request and to us. */
export function bindingRefusal(
  access: Principal,
  message: Principal,
  ourKey: Record<string, unknown> & { kid: string },
): MessageTokenRefusal | undefined {
  if (message.sub !== access.sub) {
    return { status: 403, code: 'ERR_MESSAGE_TOKEN_SUBJECT', detail: 'The message token was issued for another user.' };
  }
  if (message.orgId === undefined || message.orgId !== access.orgId) {
    return { status: 403, code: 'ERR_MESSAGE_TOKEN_ORG', detail: 'The message token is for another organisation.' };
  }
  if (!message.scopes.includes(ORDER_CREATED)) {
    return { status: 403, code: 'ERR_MESSAGE_TOKEN_SCOPE', detail: `The message token does not allow ${ORDER_CREATED} events.` };
  }
  const jwk = cnfKey(message);
  if (!jwk || jwk.kid !== ourKey.kid || !sameKey(jwk, ourKey)) {
    return { status: 403, code: 'ERR_MESSAGE_TOKEN_CNF', detail: "The message token is not bound to this service's key." };
  }
  return undefined;
}
