// API key records and their store. Memory and Redis implementations behave identically
// (test/api-keys-store.test.ts runs one suite against both). Times are epoch milliseconds.

export interface ApiKeyRecord {
  id: string;
  org_id: string;
  name: string;
  scopes: string[];
  /** Display prefix, e.g. gth_test_Ab12Cd: enough to recognise a key, useless to use it. */
  prefix: string;
  /** HMAC-SHA256 of the full key (base64url). The key itself is never stored. */
  hash: string;
  /** Hashed subject of the admin who created it (audit correlation, not a user directory). */
  created_by: string;
  created_at: number;
  expires_at: number;
  last_used_at?: number;
  revoked_at?: number;
}

export interface ApiKeyStore {
  /** Stores a new record; its id and hash are fresh, so this never overwrites. */
  create(record: ApiKeyRecord): Promise<void>;
  /** The record whose key has this HMAC (one lookup), revoked or not. */
  findByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  /** Every key of the org, revoked and expired included, newest first. */
  list(orgId: string): Promise<ApiKeyRecord[]>;
  /**
   * Marks the key revoked at `at` (kept for the listing and the audit trail). undefined when there
   * is no such key in this org, so another org's key looks exactly like a missing one. Revoking
   * twice keeps the first time.
   */
  revoke(orgId: string, id: string, at: number): Promise<ApiKeyRecord | undefined>;
  /** Records a use. Best effort: callers do not fail an exchange over it. */
  touch(id: string, at: number): Promise<void>;
}
