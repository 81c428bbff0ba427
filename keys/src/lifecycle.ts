// The key lifecycle as pure functions: each takes a store and returns a new one (the input is never
// mutated), or throws KeyLifecycleError. No I/O and no clock: `now` is always passed in, so every
// rule is unit-testable and the CLI decides when to persist.
import { KeyLifecycleError } from './errors.ts';
import { assertKeyAlg, createKeyMaterial } from './keygen.ts';
import type { KeyAlg, KeyState, KeyStoreFile, StoredKey } from './types.ts';

/** Validators' JWKS cache maximum age (jose's createRemoteJWKSet default is 10 minutes). */
export const DEFAULT_JWKS_MAX_AGE_SECONDS = 10 * 60;
/** Longest-lived token a key may sign: message tokens, 24 h. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;
/** How long an expired message token may still be replayed under policy. */
export const DEFAULT_REPLAY_WINDOW_SECONDS = 7 * 24 * 60 * 60;

/** One key changing state; `from: null` means the key did not exist before. The CLI audits these. */
export interface KeyTransition {
  kid: string;
  alg: KeyAlg;
  from: KeyState | null;
  to: KeyState;
  retireAfter?: string;
}

export interface RetentionOptions {
  maxTokenLifetimeSeconds?: number;
  replayWindowSeconds?: number;
}

export interface ActivateOptions extends RetentionOptions {
  now: Date;
  jwksMaxAgeSeconds?: number;
  force?: boolean;
}

function findKey(store: KeyStoreFile, kid: string): StoredKey {
  const key = store.keys.find((candidate) => candidate.kid === kid);
  if (key === undefined)
    throw new KeyLifecycleError('UNKNOWN_KID', `no key with kid ${kid} in the store`, kid);
  return key;
}

function assertState(key: StoredKey, allowed: readonly KeyState[], action: string): void {
  if (allowed.includes(key.state)) return;
  throw new KeyLifecycleError(
    'ILLEGAL_TRANSITION',
    `cannot ${action} key ${key.kid}: it is ${key.state} (only ${allowed.join(' or ')} keys can be ${action}d)`,
    key.kid,
  );
}

function seconds(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!Number.isFinite(result) || result < 0) {
    throw new KeyLifecycleError(
      'BAD_OPTION',
      `${name} must be a non-negative number of seconds, got ${value}`,
    );
  }
  return result;
}

function addSeconds(date: Date, amount: number): Date {
  return new Date(date.getTime() + amount * 1000);
}

function replaceKeys(store: KeyStoreFile, updates: ReadonlyMap<string, StoredKey>): KeyStoreFile {
  return { version: store.version, keys: store.keys.map((key) => updates.get(key.kid) ?? key) };
}

function toRetiring(key: StoredKey, now: Date, retireAfter: Date): StoredKey {
  return { ...key, state: 'retiring', retiringAt: now.toISOString(), retireAfter: retireAfter.toISOString() };
}

// A key that signed must stay published until every token it signed is past its lifetime and the
// replay window. A key that never signed (next) has nothing to keep verifying.
function retentionEnd(key: StoredKey, now: Date, options: RetentionOptions): Date {
  if (key.state !== 'active') return now;
  const lifetime = seconds(
    'maxTokenLifetimeSeconds',
    options.maxTokenLifetimeSeconds,
    DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  );
  const replay = seconds('replayWindowSeconds', options.replayWindowSeconds, DEFAULT_REPLAY_WINDOW_SECONDS);
  return addSeconds(now, lifetime + replay);
}

function transition(before: StoredKey, after: StoredKey): KeyTransition {
  const change: KeyTransition = { kid: after.kid, alg: after.alg, from: before.state, to: after.state };
  if (after.retireAfter !== undefined && after.state === 'retiring') change.retireAfter = after.retireAfter;
  return change;
}

/** Adds a freshly generated key in state next (published, not signing). */
export async function generateKey(
  store: KeyStoreFile,
  options: { alg?: string; now: Date },
): Promise<{ store: KeyStoreFile; key: StoredKey; changes: KeyTransition[] }> {
  const alg = assertKeyAlg(options.alg ?? 'ES256');
  const { kid, privateJwk } = await createKeyMaterial(alg);
  if (store.keys.some((key) => key.kid === kid)) {
    throw new KeyLifecycleError('DUPLICATE_KID', `generated kid ${kid} already exists in the store`, kid);
  }
  const at = options.now.toISOString();
  const key: StoredKey = { kid, alg, use: 'sig', state: 'next', createdAt: at, publishedAt: at, privateJwk };
  return {
    store: { version: store.version, keys: [...store.keys, key] },
    key,
    changes: [{ kid, alg, from: null, to: 'next' }],
  };
}

/** When a next key may be activated without --force. */
export function activatableAt(
  key: StoredKey,
  jwksMaxAgeSeconds: number = DEFAULT_JWKS_MAX_AGE_SECONDS,
): Date | undefined {
  if (key.state !== 'next' || key.publishedAt === undefined) return undefined;
  return addSeconds(new Date(key.publishedAt), jwksMaxAgeSeconds);
}

// Validators cache JWKS; a token signed by a key they have not fetched yet fails until they refetch.
function checkPublishedLongEnough(key: StoredKey, options: ActivateOptions): string[] {
  const maxAge = seconds('jwksMaxAgeSeconds', options.jwksMaxAgeSeconds, DEFAULT_JWKS_MAX_AGE_SECONDS);
  const readyAt = activatableAt(key, maxAge);
  if (readyAt === undefined || readyAt.getTime() <= options.now.getTime()) return [];
  const publishedFor = Math.max(
    0,
    Math.floor((options.now.getTime() - new Date(key.publishedAt!).getTime()) / 1000),
  );
  const message =
    `key ${key.kid} has been published for ${publishedFor}s, less than the validators' JWKS max cache age ` +
    `of ${maxAge}s (it can be activated from ${readyAt.toISOString()})`;
  if (!options.force) throw new KeyLifecycleError('NOT_PUBLISHED_LONG_ENOUGH', message, key.kid);
  return [
    `${message}. Activating anyway (--force): validators whose cached JWKS predates this key will reject ` +
      'its tokens until they refetch (on the unknown kid, subject to their refetch cooldown).',
  ];
}

/** next -> active; the previously active key (if any) becomes retiring with its retention computed. */
export function activateKey(
  store: KeyStoreFile,
  kid: string,
  options: ActivateOptions,
): { store: KeyStoreFile; warnings: string[]; changes: KeyTransition[] } {
  const key = findKey(store, kid);
  assertState(key, ['next'], 'activate');
  const warnings = checkPublishedLongEnough(key, options);
  const activated: StoredKey = { ...key, state: 'active', activatedAt: options.now.toISOString() };
  const updates = new Map([[kid, activated]]);
  const changes = [transition(key, activated)];
  const previous = store.keys.find((candidate) => candidate.state === 'active');
  if (previous !== undefined) {
    const retiring = toRetiring(previous, options.now, retentionEnd(previous, options.now, options));
    updates.set(previous.kid, retiring);
    changes.push(transition(previous, retiring));
  }
  return { store: replaceKeys(store, updates), warnings, changes };
}

/**
 * next -> retiring. The active key is refused: retiring it would leave nothing to sign with and the
 * token service would refuse the store. Replace it with `activate <other>` (which retires it), or,
 * if it is compromised, with emergencyRevoke after activating another key.
 */
export function retireKey(
  store: KeyStoreFile,
  kid: string,
  options: RetentionOptions & { now: Date },
): { store: KeyStoreFile; changes: KeyTransition[] } {
  const key = findKey(store, kid);
  if (key.state === 'active') {
    throw new KeyLifecycleError(
      'WOULD_LEAVE_NO_ACTIVE_KEY',
      `cannot retire ${kid}: it is the active signing key. Activate another key instead (activate <kid> retires it)`,
      kid,
    );
  }
  assertState(key, ['next'], 'retire');
  const retiring = toRetiring(key, options.now, retentionEnd(key, options.now, options));
  return { store: replaceKeys(store, new Map([[kid, retiring]])), changes: [transition(key, retiring)] };
}

function keepReason(key: StoredKey, now: Date): string | undefined {
  switch (key.state) {
    case 'active':
      return 'active: signs new tokens';
    case 'next':
      return 'next: published, not yet activated';
    case 'retired':
      return `revoked at ${key.revokedAt}: kept as an audit record (not published, no private key)`;
    case 'retiring':
      if (new Date(key.retireAfter!).getTime() <= now.getTime()) return undefined;
      return `retiring: tokens it signed may still be verified (lifetime + replay window) until ${key.retireAfter}`;
  }
}

/** Drops retiring keys whose retention has passed; reports every other key and why it stays. */
export function pruneKeys(
  store: KeyStoreFile,
  options: { now: Date },
): {
  store: KeyStoreFile;
  removed: StoredKey[];
  kept: { kid: string; reason: string }[];
  changes: KeyTransition[];
} {
  const removed: StoredKey[] = [];
  const kept: { kid: string; reason: string }[] = [];
  for (const key of store.keys) {
    const reason = keepReason(key, options.now);
    if (reason === undefined) removed.push(key);
    else kept.push({ kid: key.kid, reason });
  }
  const remaining = store.keys.filter((key) => !removed.includes(key));
  const changes = removed.map(
    (key): KeyTransition => ({ kid: key.kid, alg: key.alg, from: key.state, to: 'retired' }),
  );
  return { store: { version: store.version, keys: remaining }, removed, kept, changes };
}

function revocationConsequences(key: StoredKey, jwksMaxAgeSeconds: number): string[] {
  const consequences = [
    `Key ${key.kid} (${key.alg}, was ${key.state}) is removed from the published JWKS and its private key is deleted from this store; the kid stays listed as revoked.`,
  ];
  if (key.activatedAt === undefined) {
    consequences.push('It never signed (it was never active): no token or event stops verifying.');
    return consequences;
  }
  const period = `from ${key.activatedAt} until ${key.retiringAt ?? 'now'}`;
  consequences.push(
    `Every token it signed (${period}) stops verifying: user access tokens, service tokens, message tokens and replay grants. Callers get 401 and must obtain new tokens (opaque refresh tokens are unaffected).`,
    'Kafka events whose message token it signed no longer verify: consumers dead-letter them, and they cannot be replayed (replay requires a key that is still retained).',
    `Validators drop the key when their cached JWKS expires (up to ${jwksMaxAgeSeconds}s); restart them to cut that window.`,
  );
  return consequences;
}

/**
 * Compromised key: any published state -> retired at once, private material dropped, no retention.
 * The active key is refused (nothing would be left to sign with): activate a replacement first,
 * with --force if there is no time to wait for JWKS caches.
 */
export function emergencyRevoke(
  store: KeyStoreFile,
  kid: string,
  options: { now: Date; jwksMaxAgeSeconds?: number },
): { store: KeyStoreFile; consequences: string[]; changes: KeyTransition[] } {
  const key = findKey(store, kid);
  if (key.state === 'active') {
    throw new KeyLifecycleError(
      'WOULD_LEAVE_NO_ACTIVE_KEY',
      `cannot revoke ${kid} while it is the active signing key: generate a key, activate it (--force in an emergency), then revoke ${kid}`,
      kid,
    );
  }
  assertState(key, ['next', 'retiring'], 'revoke');
  const maxAge = seconds('jwksMaxAgeSeconds', options.jwksMaxAgeSeconds, DEFAULT_JWKS_MAX_AGE_SECONDS);
  const { privateJwk: _destroyed, retireAfter: _noRetention, ...rest } = key;
  const revoked: StoredKey = { ...rest, state: 'retired', revokedAt: options.now.toISOString() };
  return {
    store: replaceKeys(store, new Map([[kid, revoked]])),
    consequences: revocationConsequences(key, maxAge),
    changes: [transition(key, revoked)],
  };
}
