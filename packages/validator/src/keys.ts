/**
 * Key sources: given a verified-to-be-allowed header (alg, kid), return the public key to verify with.
 *
 * remoteKeys is our own small JWKS cache rather than jose's createRemoteJWKSet, because the guarantees
 * we need are not all expressible through its options: a hard cap on the response body (it reads the
 * whole body before parsing), a cap on the number of keys kept, refusing duplicate JSON members in the
 * set, serving the last good set after a failed refresh only up to 2 x maxAge, and one cooldown that
 * applies to every kind of refetch (stale set, unknown kid, failed attempt) so that nothing a caller
 * sends can make us fetch more than once per cooldown. Key matching itself is still jose's
 * (createLocalJWKSet over the cached set), so kty/crv/alg/use/key_ops rules are the library's.
 */
import type { CryptoKey, JSONWebKeySet, JWK, KeyObject, LocalJWKSet } from 'jose';
import { createLocalJWKSet } from 'jose';
import { TokenValidationError } from './errors.ts';
import { parseStrictJsonObject } from './json.ts';

/** Resolves the verification key for a token header; jose's JWTVerifyGetKey, narrowed. */
export type KeySource = (protectedHeader: {
  alg: string;
  kid?: string;
}) => Promise<CryptoKey | Uint8Array | KeyObject>;

function keyUnknown(cause?: unknown): TokenValidationError {
  return new TokenValidationError(
    'ERR_TOKEN_KEY_UNKNOWN',
    'no key is known for this token',
    cause === undefined ? {} : { cause },
  );
}

function isNoMatchingKey(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ERR_JWKS_NO_MATCHING_KEY';
}

// ---------------------------------------------------------------------------------------------------
// localKeys

/**
 * Keys the process holds itself (the token service verifying its own tokens, tests). getJwks is called
 * on every lookup and the jose key set is rebuilt only when it returns a different object, so a key
 * rotation that swaps the JWKS object is picked up at once without re-importing keys per request.
 */
export function localKeys(getJwks: () => { keys: object[] }): KeySource {
  let current: object | undefined;
  let keySet: LocalJWKSet | undefined;
  return async (protectedHeader) => {
    const jwks = getJwks();
    if (keySet === undefined || jwks !== current) {
      try {
        keySet = createLocalJWKSet(jwks as JSONWebKeySet);
        current = jwks;
      } catch (error) {
        throw keyUnknown(error);
      }
    }
    try {
      return await keySet(protectedHeader);
    } catch (error) {
      throw keyUnknown(error);
    }
  };
}

// ---------------------------------------------------------------------------------------------------
// remoteKeys

export interface RemoteKeysOptions {
  /** A set older than this is refreshed before use. Default 300_000 (5 min). */
  maxAgeMs?: number;
  /** At most one fetch attempt per cooldown, whatever triggers it. Default 30_000. */
  cooldownMs?: number;
  /** Per fetch, body included. Default 2_000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Millisecond clock, for tests. */
  now?: () => number;
  /** Called after every fetch attempt, for metrics and logs (error only on 'error'). */
  onRefresh?: (outcome: 'ok' | 'error', error?: unknown) => void;
}

export type RemoteKeySource = KeySource & {
  /** Fetch now (ignoring the cooldown, sharing an in-flight fetch); rejects if the fetch fails. */
  refresh(): Promise<void>;
  /** When the current set was fetched (ms, by options.now), undefined before the first success. */
  readonly lastFetchedAt: number | undefined;
  /**
   * Whether a key set is in hand that may still be trusted (fetched, and renewed within two
   * max-ages). When false, ERR_TOKEN_KEY_UNKNOWN means "the issuer's keys are unavailable", not
   * "this token names no key of the issuer's": callers answer 503 or retry rather than refuse.
   */
  readonly usable: boolean;
};

/** A JWKS is a few keys; anything near this is a misconfiguration or an attack on our memory. */
export const MAX_JWKS_BYTES = 64 * 1024;
export const MAX_JWKS_KEYS = 100;

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth', 'priv'];
const SIGNING_KTY = new Set(['EC', 'OKP', 'RSA']);

export function remoteKeys(jwksUrl: string, options: RemoteKeysOptions = {}): RemoteKeySource {
  const url = new URL(jwksUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('jwksUrl must be http(s)');
  const maxAgeMs = positive(options.maxAgeMs ?? 300_000, 'maxAgeMs');
  const cooldownMs = positive(options.cooldownMs ?? 30_000, 'cooldownMs');
  const timeoutMs = positive(options.timeoutMs ?? 2_000, 'timeoutMs');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const { onRefresh } = options;

  let keySet: LocalJWKSet | undefined;
  let fetchedAt: number | undefined;
  let attemptedAt: number | undefined;
  let inflight: Promise<void> | undefined;

  async function load(): Promise<void> {
    try {
      const jwks = await download(url, fetchImpl, timeoutMs);
      keySet = createLocalJWKSet(jwks);
      fetchedAt = now();
      onRefresh?.('ok');
    } catch (error) {
      onRefresh?.('error', error);
      throw error;
    }
  }

  /** Concurrent callers share one fetch; the attempt time starts the cooldown whatever the outcome. */
  function refresh(): Promise<void> {
    if (inflight === undefined) {
      attemptedAt = now();
      inflight = load().finally(() => {
        inflight = undefined;
      });
    }
    return inflight;
  }

  const mayAttempt = () => attemptedAt === undefined || now() - attemptedAt >= cooldownMs;
  const isStale = () => fetchedAt === undefined || now() - fetchedAt >= maxAgeMs;
  // After a failed refresh the last good set keeps serving, but not forever: a set we cannot renew
  // for two max-ages may still hold a key the issuer has since withdrawn.
  const isUsable = () => fetchedAt !== undefined && now() - fetchedAt < 2 * maxAgeMs;

  /** Waits for a fetch we may make (or one already running); failures are reported via onRefresh. */
  async function refreshIfAllowed(): Promise<boolean> {
    if (inflight === undefined && !mayAttempt()) return false;
    await refresh().catch(() => {});
    return true;
  }

  async function lookup(protectedHeader: { alg: string; kid?: string }): Promise<CryptoKey> {
    if (keySet === undefined || !isUsable()) throw keyUnknown();
    return keySet(protectedHeader);
  }

  const source = async (protectedHeader: { alg: string; kid?: string }): Promise<CryptoKey> => {
    if (isStale()) await refreshIfAllowed();
    try {
      return await lookup(protectedHeader);
    } catch (error) {
      if (!isNoMatchingKey(error)) throw error instanceof TokenValidationError ? error : keyUnknown(error);
    }
    // Unknown kid: perhaps a key published since our last fetch. Refetch once per cooldown at most,
    // so a stream of random kids costs one fetch, not one per token.
    if (!(await refreshIfAllowed())) throw keyUnknown();
    try {
      return await lookup(protectedHeader);
    } catch (error) {
      throw error instanceof TokenValidationError ? error : keyUnknown(error);
    }
  };

  Object.defineProperty(source, 'refresh', { value: refresh });
  Object.defineProperty(source, 'lastFetchedAt', { get: () => fetchedAt, enumerable: true });
  Object.defineProperty(source, 'usable', { get: isUsable, enumerable: true });
  return source as RemoteKeySource;
}

function positive(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${name} must be a positive number`);
  }
  return value;
}

/** Fetches and sanitises a JWKS. Errors name no URL: they may end up in a caller-facing cause chain. */
async function download(url: URL, fetchImpl: typeof fetch, timeoutMs: number): Promise<JSONWebKeySet> {
  const response = await fetchImpl(url, {
    signal: AbortSignal.timeout(timeoutMs),
    // A redirect could point the key fetch anywhere; the configured URL is the only trusted one.
    redirect: 'error',
    headers: { accept: 'application/jwk-set+json, application/json' },
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`JWKS fetch failed with HTTP ${response.status}`);
  }
  const text = await readCapped(response, MAX_JWKS_BYTES);
  const body = parseStrictJsonObject(text);
  if (!Array.isArray(body.keys)) throw new Error('JWKS has no "keys" array');
  return { keys: sanitize(body.keys) };
}

/** Reads at most `limit` bytes, trusting no Content-Length (it may be absent or lie). */
async function readCapped(response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > limit) {
    await response.body?.cancel();
    throw new Error('JWKS response is too large');
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw new Error('JWKS response is too large');
    }
    chunks.push(value);
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
}

/**
 * Keeps public signing keys only, at most MAX_JWKS_KEYS. A member carrying private key material is
 * dropped (never imported), as is anything that is not a signature key.
 */
function sanitize(keys: unknown[]): JWK[] {
  const kept: JWK[] = [];
  for (const key of keys) {
    if (kept.length >= MAX_JWKS_KEYS) break;
    if (typeof key !== 'object' || key === null || Array.isArray(key)) continue;
    const jwk = key as Record<string, unknown>;
    if (typeof jwk.kty !== 'string' || !SIGNING_KTY.has(jwk.kty)) continue;
    if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(jwk, member))) continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    kept.push(jwk as JWK);
  }
  return kept;
}

/**
 * A readiness check over a remote key set: ready once the JWKS has been fetched, or when it can be
 * fetched now. Probes are unauthenticated, so they trigger at most one fetch per cooldown: a
 * readiness endpoint cannot be used to hammer the issuer.
 */
export function jwksReadiness(keys: RemoteKeySource, cooldownMs: number): () => Promise<boolean> {
  let lastAttempt = Number.NEGATIVE_INFINITY;
  return async () => {
    if (keys.lastFetchedAt !== undefined) return true;
    if (Date.now() - lastAttempt < cooldownMs) return false;
    lastAttempt = Date.now();
    return keys.refresh().then(
      () => true,
      () => false,
    );
  };
}
