/**
 * Token profiles: what is expected of one kind of token. Profiles are normally module-level constants,
 * so each is checked and normalised once (WeakMap) rather than on every verify.
 */
import { createHash } from 'node:crypto';
import { normalizeMediaType } from './checks.ts';

/** What is expected of one kind of token. A token of one kind is never accepted as another. */
export interface TokenProfile {
  /** 'access' | 'message' | 'replay' | 'service' ...: a free string, used in errors and metrics. */
  kind: string;
  /** Exact JOSE typ header, e.g. 'at+jwt' (compared case-insensitively, 'application/' optional). */
  typ: string;
  /** The token's aud must contain one of these. */
  audience: string | string[];
  /** Beyond iss, sub, aud, exp, iat and jti, which are always required. */
  requiredClaims?: string[];
  /** Refuse a token whose exp - iat exceeds this. */
  maxLifetimeSeconds?: number;
}

export interface NormalizedProfile {
  readonly kind: string;
  readonly typ: string;
  readonly audiences: readonly string[];
  readonly requiredClaims: readonly string[];
  readonly maxLifetimeSeconds: number | undefined;
  /**
   * Digest of everything above. The verified-token cache keys on it with the token, so two profiles
   * that share a kind but differ in audience or typ (two consumers in one process) never share a hit.
   */
  readonly id: string;
}

const normalized = new WeakMap<TokenProfile, NormalizedProfile>();

/** Programmer errors (a bad profile) are TypeErrors, never 401s: they must fail loudly in tests. */
export function normalizeProfile(profile: TokenProfile): NormalizedProfile {
  if (typeof profile !== 'object' || profile === null) throw new TypeError('a token profile is required');
  const known = normalized.get(profile);
  if (known) return known;
  const { kind, typ, audience, requiredClaims = [], maxLifetimeSeconds } = profile;
  if (typeof kind !== 'string' || kind === '') throw new TypeError('profile.kind must be a non-empty string');
  if (typeof typ !== 'string' || typ === '') throw new TypeError('profile.typ must be a non-empty string');
  const audiences = typeof audience === 'string' ? [audience] : audience;
  if (
    !Array.isArray(audiences) ||
    audiences.length === 0 ||
    audiences.some((a) => typeof a !== 'string' || !a)
  ) {
    throw new TypeError('profile.audience must be a non-empty string or array of non-empty strings');
  }
  if (!Array.isArray(requiredClaims) || requiredClaims.some((c) => typeof c !== 'string' || !c)) {
    throw new TypeError('profile.requiredClaims must be an array of claim names');
  }
  if (
    maxLifetimeSeconds !== undefined &&
    (typeof maxLifetimeSeconds !== 'number' ||
      !Number.isFinite(maxLifetimeSeconds) ||
      maxLifetimeSeconds <= 0)
  ) {
    throw new TypeError('profile.maxLifetimeSeconds must be a positive number');
  }
  const fields = {
    kind,
    typ: normalizeMediaType(typ),
    audiences: Object.freeze([...audiences]),
    requiredClaims: Object.freeze([...requiredClaims]),
    maxLifetimeSeconds,
  };
  const id = createHash('sha256')
    .update(
      JSON.stringify([fields.kind, fields.typ, fields.audiences, fields.requiredClaims, maxLifetimeSeconds]),
    )
    .digest('base64url');
  const result: NormalizedProfile = Object.freeze({ ...fields, id });
  normalized.set(profile, result);
  return result;
}
