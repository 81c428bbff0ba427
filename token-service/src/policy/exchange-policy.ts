/**
 * ExchangePolicy: what a client may obtain through RFC 8693 token exchange, as data, and the one
 * pure function that evaluates a request against it. No I/O, no clock, no framework: the grant
 * handler (grants/token-exchange.ts) validates tokens and feeds the facts in; this decides.
 *
 * Invariants the evaluation guarantees:
 *  - the issued scope is a subset of what the subject token grants, mapped through the policy
 *    (orders:write may become orders.created; nothing else widens);
 *  - the lifetime never exceeds the target's maxTtl;
 *  - only the claims the target lists are carried;
 *  - cnf binding is present when the target requires it, and names a producer the target allows;
 *  - a target serves one kind of subject token: a user's access token never reaches an API key
 *    target (and the reverse), and only clients listing a subject type may present it.
 */
import { z } from 'zod';

/** Claims an exchanged token may carry from its subject. Anything else (email, name...) never is. */
export const CARRIABLE_CLAIMS = ['org_id', 'subscription_level', 'roles'] as const;
export type CarriableClaim = (typeof CARRIABLE_CLAIMS)[number];

/**
 * Subject token kinds a client may exchange. access_token: a user's access token, exchanged for a
 * message token. api_key: a producer's API key (api-keys/), exchanged for a short-lived access token.
 */
export const SUBJECT_TOKEN_TYPES = ['access_token', 'api_key'] as const;
export type SubjectTokenType = (typeof SUBJECT_TOKEN_TYPES)[number];

const targetSchema = z.strictObject({
  /** The kind of subject token this target serves. */
  subjectTokenType: z.enum(SUBJECT_TOKEN_TYPES).default('access_token'),
  /** A request's audiences/resources must all be in this list. */
  audiences: z.array(z.string().min(1)).min(1),
  /** subject scope -> scopes it may become in the issued token. */
  scopeMap: z.record(z.string(), z.array(z.string().min(1))),
  defaultTtl: z.number().int().positive(),
  maxTtl: z.number().int().positive(),
  claims: z.array(z.enum(CARRIABLE_CLAIMS)),
  /** required: refuse without a producer; optional: bind when asked; never: refuse a producer. */
  cnf: z.enum(['required', 'optional', 'never']),
  /** Clients whose public key the token may be bound to ("self" = the requesting client). */
  producers: z.array(z.string().min(1)).default([]),
});

const clientSchema = z.strictObject({
  subjectTokenTypes: z.array(z.enum(SUBJECT_TOKEN_TYPES)).min(1),
  targets: z.array(targetSchema).min(1),
});

export const exchangePolicySchema = z.strictObject({
  clients: z.record(z.string(), clientSchema),
});

export type ExchangePolicy = z.output<typeof exchangePolicySchema>;
export type ExchangeTarget = z.output<typeof targetSchema>;

export function parseExchangePolicy(value: unknown): ExchangePolicy {
  const policy = exchangePolicySchema.parse(value);
  for (const [client, rules] of Object.entries(policy.clients)) {
    for (const target of rules.targets) {
      if (target.defaultTtl > target.maxTtl) {
        throw new Error(`exchange policy: client ${client}: defaultTtl exceeds maxTtl`);
      }
      if (target.cnf === 'required' && target.producers.length === 0) {
        throw new Error(`exchange policy: client ${client}: cnf required but no producers listed`);
      }
      if (!rules.subjectTokenTypes.includes(target.subjectTokenType)) {
        throw new Error(
          `exchange policy: client ${client}: a ${target.subjectTokenType} target, but ${target.subjectTokenType} is not in subjectTokenTypes`,
        );
      }
      // The token an API key becomes is a plain bearer access token: nothing to bind it to.
      if (target.subjectTokenType === 'api_key' && target.cnf !== 'never') {
        throw new Error(`exchange policy: client ${client}: api_key targets take cnf "never"`);
      }
    }
    for (const type of rules.subjectTokenTypes) {
      if (!rules.targets.some((t) => t.subjectTokenType === type)) {
        throw new Error(`exchange policy: client ${client}: no target for subject token type ${type}`);
      }
    }
  }
  return policy;
}

/** The facts of one request, established by the caller (tokens already verified). */
export interface ExchangeRequest {
  clientId: string;
  subjectTokenType: string;
  subjectScopes: readonly string[];
  subjectClaims: Readonly<Record<string, unknown>>;
  audiences: readonly string[];
  /** Scopes asked for; undefined = everything the mapping allows. */
  requestedScopes?: readonly string[];
  requestedTtl?: number;
  /** Client id whose key the token should be bound to, if asked. */
  producer?: string;
}

export interface ExchangeDecision {
  audiences: string[];
  scopes: string[];
  ttl: number;
  claims: Partial<Record<CarriableClaim, unknown>>;
  /** Client id whose public key goes into cnf, if any. */
  bindTo?: string;
}

export type ExchangeError = 'unauthorized_client' | 'invalid_request' | 'invalid_target' | 'invalid_scope';

export type ExchangeResult =
  | { ok: true; decision: ExchangeDecision }
  | { ok: false; error: ExchangeError; reason: string };

const deny = (error: ExchangeError, reason: string): ExchangeResult => ({ ok: false, error, reason });

export const TOKEN_TYPE_ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
/** Gatehouse's own RFC 8693 token type URI for a producer API key presented as subject_token. */
export const TOKEN_TYPE_API_KEY = 'urn:gatehouse:params:oauth:token-type:api-key';
const SUBJECT_TYPE_NAMES: Record<string, SubjectTokenType> = {
  [TOKEN_TYPE_ACCESS]: 'access_token',
  [TOKEN_TYPE_API_KEY]: 'api_key',
};

/**
 * May this client present this kind of subject token at all? The first step of evaluateExchange,
 * exported so an adapter can ask before it spends anything on the subject (an API key lookup).
 */
export function checkSubjectTokenType(
  policy: ExchangePolicy,
  clientId: string,
  subjectTokenType: string,
): { ok: true; subjectType: SubjectTokenType } | { ok: false; error: ExchangeError; reason: string } {
  const rules = policy.clients[clientId];
  if (!rules) return { ok: false, error: 'unauthorized_client', reason: 'no_exchange_policy_for_client' };
  const subjectType = SUBJECT_TYPE_NAMES[subjectTokenType];
  if (!subjectType || !rules.subjectTokenTypes.includes(subjectType)) {
    return { ok: false, error: 'invalid_request', reason: 'subject_token_type_not_allowed' };
  }
  return { ok: true, subjectType };
}

export function evaluateExchange(policy: ExchangePolicy, request: ExchangeRequest): ExchangeResult {
  const allowed = checkSubjectTokenType(policy, request.clientId, request.subjectTokenType);
  if (!allowed.ok) return deny(allowed.error, allowed.reason);
  const rules = policy.clients[request.clientId]!;

  if (request.audiences.length === 0) return deny('invalid_target', 'audience_required');
  const target = findTarget(
    rules.targets.filter((t) => t.subjectTokenType === allowed.subjectType),
    request.audiences,
  );
  if (!target) return deny('invalid_target', 'audience_not_allowed');

  const scopes = mapScopes(target, request.subjectScopes, request.requestedScopes);
  if (!scopes.ok) return deny('invalid_scope', scopes.reason);

  const ttl = chooseTtl(target, request.requestedTtl);
  if (ttl === undefined) return deny('invalid_request', 'requested_lifetime_invalid');

  const binding = chooseBinding(target, request.clientId, request.producer);
  if (!binding.ok) return deny(binding.error, binding.reason);

  return {
    ok: true,
    decision: {
      audiences: [...new Set(request.audiences)],
      scopes: scopes.scopes,
      ttl,
      claims: pickClaims(target, request.subjectClaims),
      ...(binding.bindTo ? { bindTo: binding.bindTo } : {}),
    },
  };
}

function findTarget(targets: readonly ExchangeTarget[], audiences: readonly string[]) {
  return targets.find((t) => audiences.every((aud) => t.audiences.includes(aud)));
}

function mapScopes(
  target: ExchangeTarget,
  subjectScopes: readonly string[],
  requested: readonly string[] | undefined,
): { ok: true; scopes: string[] } | { ok: false; reason: string } {
  const allowed = new Set(subjectScopes.flatMap((s) => target.scopeMap[s] ?? []));
  if (allowed.size === 0) return { ok: false, reason: 'subject_scope_maps_to_nothing' };
  if (requested === undefined) return { ok: true, scopes: [...allowed].sort() };
  if (requested.length === 0) return { ok: false, reason: 'empty_scope' };
  const beyond = requested.filter((s) => !allowed.has(s));
  if (beyond.length > 0) return { ok: false, reason: 'scope_exceeds_subject_or_policy' };
  return { ok: true, scopes: [...new Set(requested)].sort() };
}

function chooseTtl(target: ExchangeTarget, requested: number | undefined): number | undefined {
  if (requested === undefined) return target.defaultTtl;
  if (!Number.isInteger(requested) || requested <= 0) return undefined;
  return Math.min(requested, target.maxTtl);
}

function chooseBinding(
  target: ExchangeTarget,
  clientId: string,
  producer: string | undefined,
): { ok: true; bindTo?: string } | { ok: false; error: ExchangeError; reason: string } {
  if (producer === undefined) {
    if (target.cnf === 'required')
      return { ok: false, error: 'invalid_request', reason: 'producer_required' };
    return { ok: true };
  }
  if (target.cnf === 'never') return { ok: false, error: 'invalid_request', reason: 'binding_not_allowed' };
  const resolved = producer === 'self' ? clientId : producer;
  const allowed = target.producers.map((p) => (p === 'self' ? clientId : p));
  if (!allowed.includes(resolved))
    return { ok: false, error: 'invalid_request', reason: 'producer_not_allowed' };
  return { ok: true, bindTo: resolved };
}

function pickClaims(target: ExchangeTarget, claims: Readonly<Record<string, unknown>>) {
  const picked: Partial<Record<CarriableClaim, unknown>> = {};
  for (const name of target.claims) if (claims[name] !== undefined) picked[name] = claims[name];
  return picked;
}
