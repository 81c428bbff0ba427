/**
 * The expiry and replay policy: data, evaluated by one pure function (no I/O, no clock: now is an
 * argument). The order of the conditions is the table in docs/events.md; the first failing one is
 * the refusal.
 */
import { ConfigError } from '@gatehouse/config';
import { z } from 'zod';
import { parseRfc3339 } from './attributes.ts';
import type { EventRefusalCode } from './errors.ts';

export interface ReplayPolicy {
  allowedClients: string[];
  eventTypes: string[];
  maxEventAgeSeconds: number;
}

export interface ExpiryPolicy {
  replay?: ReplayPolicy;
}

/** No replay: an expired message token is always refused. */
export const STRICT_POLICY: ExpiryPolicy = Object.freeze({});

const name = z.string().min(1);

// strict(): a misspelt member ("replays") must fail at start-up, not silently mean "strict".
const policySchema = z
  .object({
    replay: z
      .object({
        allowedClients: z.array(name).min(1),
        eventTypes: z.array(name).min(1),
        maxEventAgeSeconds: z.number().int().positive(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** zod-validated; throws ConfigError (@gatehouse/config) naming the field, e.g. "replay.eventTypes". */
export function parseExpiryPolicy(json: unknown): ExpiryPolicy {
  const result = policySchema.safeParse(json);
  if (result.success) {
    const { replay } = result.data;
    return replay === undefined ? {} : { replay };
  }
  const fields = result.error.issues.map((issue) =>
    issue.path.length > 0 ? issue.path.map(String).join('.') : '(policy)',
  );
  const lines = result.error.issues.map((issue, i) => `  ${fields[i]}: ${issue.message}`);
  throw new ConfigError(`Invalid expiry policy:\n${lines.join('\n')}`, fields);
}

/** What the verifier established about a replay grant that passed the shared validator. */
export interface ReplayGrantFacts {
  clientId?: string;
  scopes: string[];
  range?: { from?: string; to?: string };
  /** base64url SHA-256 of the grant as carried (compared with the proof's rgh). */
  hash: string;
}

export type ExpiryVerdict =
  { accept: true; basis: 'fresh' | 'replay' } | { accept: false; code: EventRefusalCode };

export interface ExpiryInput {
  tokenExpired: boolean;
  policy: ExpiryPolicy;
  eventType: string;
  eventTime: string;
  nowMs: number;
  /** undefined: no grant header; 'invalid': present but failed validation. */
  grant: ReplayGrantFacts | undefined | 'invalid';
  /** The proof's rgh claim, when it has one. */
  proofGrantHash?: string;
}

export const REPLAY_SCOPE = 'events:replay';

const refuse = (code: EventRefusalCode): ExpiryVerdict => ({ accept: false, code });

export function evaluateExpiry(input: ExpiryInput): ExpiryVerdict {
  if (!input.tokenExpired) return { accept: true, basis: 'fresh' };
  const { replay } = input.policy;
  if (replay === undefined) return refuse('ERR_EVENT_EXPIRED');
  const { grant } = input;
  if (grant === undefined) return refuse('ERR_EVENT_EXPIRED');
  if (grant === 'invalid') return refuse('ERR_EVENT_REPLAY_GRANT_INVALID');
  if (grant.clientId === undefined || !replay.allowedClients.includes(grant.clientId)) {
    return refuse('ERR_EVENT_REPLAY_CLIENT');
  }
  if (!grant.scopes.includes(REPLAY_SCOPE)) return refuse('ERR_EVENT_REPLAY_SCOPE');
  if (!replay.eventTypes.includes(input.eventType)) return refuse('ERR_EVENT_REPLAY_TYPE');
  const eventMs = parseRfc3339(input.eventTime);
  // An unreadable time cannot be shown young enough: fail closed (the decoder refuses it earlier).
  if (eventMs === undefined || input.nowMs - eventMs > replay.maxEventAgeSeconds * 1000) {
    return refuse('ERR_EVENT_REPLAY_TOO_OLD');
  }
  if (input.proofGrantHash === undefined || input.proofGrantHash !== grant.hash) {
    return refuse('ERR_EVENT_REPLAY_UNBOUND');
  }
  if (!insideRange(eventMs, grant.range)) return refuse('ERR_EVENT_REPLAY_OUT_OF_RANGE');
  return { accept: true, basis: 'replay' };
}

/** Inclusive bounds; a bound that is not RFC 3339 excludes everything (fail closed). */
function insideRange(eventMs: number, range: ReplayGrantFacts['range']): boolean {
  if (range === undefined) return true;
  if (range.from !== undefined) {
    const from = parseRfc3339(range.from);
    if (from === undefined || eventMs < from) return false;
  }
  if (range.to !== undefined) {
    const to = parseRfc3339(range.to);
    if (to === undefined || eventMs > to) return false;
  }
  return true;
}
