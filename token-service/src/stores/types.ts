// Small stores behind the token service's pure policies. Each has a memory and a Redis implementation
// with identical behaviour (test/stores.test.ts runs one suite against both).

export interface AttemptCounter {
  /** Records one failed attempt for key; returns the number of failures in the current window.
   *  The window starts at the first failure and lasts windowSeconds (fixed window, not sliding). */
  hit(key: string, windowSeconds: number): Promise<number>;
  count(key: string): Promise<number>;
  /** Seconds until the key's window ends; 0 when there is none. */
  secondsLeft(key: string): Promise<number>;
  clear(key: string): Promise<void>;
}

/** Revoked JWT ids, kept until the token would have expired anyway. Validators (gateway, services) consult it. */
export interface JtiDenyList {
  /** TTL = exp - now, at least 1 s; an already-expired token is a no-op. */
  add(jti: string, expiresAtEpochSeconds: number): Promise<void>;
  has(jti: string): Promise<boolean>;
}

/** Which JWT access tokens a grant has issued, so revoking a grant can deny-list them. */
export interface GrantTokenIndex {
  record(grantId: string, jti: string, expiresAtEpochSeconds: number): Promise<void>;
  /** Returns and forgets every unexpired (jti, exp) recorded for the grant. */
  take(grantId: string): Promise<Array<{ jti: string; expiresAt: number }>>;
}

export interface Stores {
  readonly kind: 'memory' | 'redis';
  attempts: AttemptCounter;
  denyList: JtiDenyList;
  grantTokens: GrantTokenIndex;
  /** true when the backing store answers (readiness). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
