/**
 * The replay grant, consumer side: verified by the shared validator (typ replay+jwt, aud = this
 * consumer, unexpired, at most an hour long), then its replay claim's shape. Any failure is the one
 * verdict 'invalid'; only an unanswerable validator is not a verdict (the record is retried).
 */
import type { TokenProfile, Validator } from '@gatehouse/validator';
import { isTokenValidationError, sha256Base64url } from '@gatehouse/validator';
import { parseRfc3339 } from './attributes.ts';
import { TYP } from './constants.ts';
import type { ReplayGrantFacts } from './policy.ts';

export interface VerifiedGrant {
  facts: ReplayGrantFacts;
  clientId: string;
  grantId: string;
  replayId: string;
}

export function replayGrantProfile(audience: string): TokenProfile {
  return {
    kind: 'replay',
    typ: TYP.replay,
    audience,
    requiredClaims: ['client_id', 'scope', 'replay'],
    maxLifetimeSeconds: 3600,
  };
}

export async function verifyReplayGrant(
  validator: Validator,
  grant: string,
  profile: TokenProfile,
): Promise<VerifiedGrant | 'invalid'> {
  let principal;
  try {
    principal = await validator.verify(grant, profile);
  } catch (error) {
    if (isTokenValidationError(error)) return 'invalid';
    throw error; // ValidatorUnavailableError and programmer errors: not the record's fault
  }
  const replay = readReplayClaim(principal.claims.replay);
  if (replay === undefined || principal.clientId === undefined) return 'invalid';
  const range: { from?: string; to?: string } = {};
  if (replay.from !== undefined) range.from = replay.from;
  if (replay.to !== undefined) range.to = replay.to;
  const facts: ReplayGrantFacts = {
    clientId: principal.clientId,
    scopes: principal.scopes,
    hash: sha256Base64url(grant),
    ...(replay.from === undefined && replay.to === undefined ? {} : { range }),
  };
  return { facts, clientId: principal.clientId, grantId: principal.jti, replayId: replay.id };
}

/** replay: { id, from?, to? } with RFC 3339 bounds; anything else makes the grant invalid. */
function readReplayClaim(value: unknown): { id: string; from?: string; to?: string } | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { id, from, to } = value as Record<string, unknown>;
  if (typeof id !== 'string' || id === '') return undefined;
  if (from !== undefined && parseRfc3339(from) === undefined) return undefined;
  if (to !== undefined && parseRfc3339(to) === undefined) return undefined;
  return {
    id,
    ...(from === undefined ? {} : { from: from as string }),
    ...(to === undefined ? {} : { to: to as string }),
  };
}
