/**
 * API key lifecycle over a store: create (the key is returned once and never kept), list, revoke,
 * and authenticate a presented key. No HTTP, no audit: the admin routes and the exchange do those.
 */
import {
  generateApiKey,
  hashApiKey,
  hashesEqual,
  type KeyEnvironment,
  newKeyId,
  parseApiKey,
} from './format.ts';
import type { CreateKeyInput } from './input.ts';
import type { ApiKeyRecord, ApiKeyStore } from './types.ts';

/** Active (unrevoked, unexpired) keys an org may hold: bounds what one admin account can create. */
export const MAX_ACTIVE_KEYS_PER_ORG = 100;
/** last_used_at is written at most this often per key, so a busy key costs no write per exchange. */
const TOUCH_INTERVAL_MS = 60_000;

export type KeyRefusal = 'malformed' | 'wrong_environment' | 'unknown' | 'revoked' | 'expired';

export type Authentication =
  | { ok: true; record: ApiKeyRecord }
  | { ok: false; reason: KeyRefusal; keyId?: string; prefix?: string };

export class TooManyKeysError extends Error {
  override readonly name = 'TooManyKeysError';
}

export interface ApiKeyServiceOptions {
  store: ApiKeyStore;
  /** API_KEY_HASH_SECRET. */
  secret: string;
  /** Which prefix new keys get, and the only one accepted. */
  environment: KeyEnvironment;
  maxActivePerOrg?: number;
  now?: () => number;
}

export interface CreatedKey {
  record: ApiKeyRecord;
  /** The full key: give it to the caller once, never log or store it. */
  key: string;
}

export class ApiKeyService {
  readonly #store: ApiKeyStore;
  readonly #secret: string;
  readonly #environment: KeyEnvironment;
  readonly #maxActive: number;
  readonly #now: () => number;

  constructor(options: ApiKeyServiceOptions) {
    this.#store = options.store;
    this.#secret = options.secret;
    this.#environment = options.environment;
    this.#maxActive = options.maxActivePerOrg ?? MAX_ACTIVE_KEYS_PER_ORG;
    this.#now = options.now ?? Date.now;
  }

  async create(orgId: string, createdBy: string, input: CreateKeyInput): Promise<CreatedKey> {
    const now = this.#now();
    const active = (await this.#store.list(orgId)).filter((r) => isActive(r, now));
    if (active.length >= this.#maxActive) {
      throw new TooManyKeysError(`an organisation may hold at most ${this.#maxActive} active API keys`);
    }
    const key = generateApiKey(this.#environment);
    const record: ApiKeyRecord = {
      id: newKeyId(),
      org_id: orgId,
      name: input.name,
      scopes: [...input.scopes],
      prefix: parseApiKey(key)!.displayPrefix,
      hash: hashApiKey(this.#secret, key),
      created_by: createdBy,
      created_at: now,
      expires_at: now + input.expiresIn * 1000,
    };
    await this.#store.create(record);
    return { record, key };
  }

  list(orgId: string): Promise<ApiKeyRecord[]> {
    return this.#store.list(orgId);
  }

  /** newly: false when it was revoked already (nothing to audit twice). */
  async revoke(orgId: string, id: string): Promise<{ record: ApiKeyRecord; newly: boolean } | undefined> {
    const at = this.#now();
    const record = await this.#store.revoke(orgId, id, at);
    return record && { record, newly: record.revoked_at === at };
  }

  async authenticate(presented: string): Promise<Authentication> {
    const parsed = parseApiKey(presented);
    if (!parsed) return { ok: false, reason: 'malformed' };
    const prefix = parsed.displayPrefix;
    // A live key at a test service (or the reverse) is refused before any lookup.
    if (parsed.environment !== this.#environment) return { ok: false, reason: 'wrong_environment', prefix };
    const hash = hashApiKey(this.#secret, presented);
    const record = await this.#store.findByHash(hash);
    // The lookup is by a keyed hash an attacker cannot compute; the constant-time comparison is
    // defence in depth against a store that matched loosely.
    if (!record || !hashesEqual(record.hash, hash)) return { ok: false, reason: 'unknown', prefix };
    const refused = (reason: KeyRefusal): Authentication => ({ ok: false, reason, keyId: record.id, prefix });
    if (record.revoked_at !== undefined) return refused('revoked');
    if (record.expires_at <= this.#now()) return refused('expired');
    return { ok: true, record };
  }

  /** Records a use, at most once a minute per key. */
  async recordUse(record: ApiKeyRecord): Promise<void> {
    const now = this.#now();
    if (record.last_used_at !== undefined && now - record.last_used_at < TOUCH_INTERVAL_MS) return;
    await this.#store.touch(record.id, now);
  }
}

function isActive(record: ApiKeyRecord, now: number): boolean {
  return record.revoked_at === undefined && record.expires_at > now;
}
