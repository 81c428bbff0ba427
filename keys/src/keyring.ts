// The in-memory view the token service signs and publishes with. Built once per store load and
// immutable, so a reload swaps one KeyRing for another atomically and requests never see a mix.
import { KeyStoreError } from './errors.ts';
import type {
  KeyAlg,
  KeyState,
  KeyStoreFile,
  PrivateJwk,
  ProviderJwk,
  PublicJwk,
  StoredKey,
} from './types.ts';

type PublishedKey = StoredKey & { privateJwk: PrivateJwk };

// Publication order: oidc-provider signs with the first key matching the alg, so active comes first.
const PUBLISH_ORDER: Partial<Record<KeyState, number>> = { active: 0, next: 1, retiring: 2 };

function isPublished(key: StoredKey): key is PublishedKey {
  return PUBLISH_ORDER[key.state] !== undefined && key.privateJwk !== undefined;
}

function byPublishOrder(a: StoredKey, b: StoredKey): number {
  return (PUBLISH_ORDER[a.state] ?? 9) - (PUBLISH_ORDER[b.state] ?? 9);
}

function toProviderJwk(key: PublishedKey): ProviderJwk {
  return { ...key.privateJwk, kid: key.kid, alg: key.alg, use: 'sig' };
}

// Built from an allow-list of public members rather than by deleting private ones, so a private
// member we did not anticipate can never leak into the JWKS.
function toPublicJwk(key: PublishedKey): PublicJwk {
  const jwk = key.privateJwk;
  const base = { kid: key.kid, alg: key.alg, use: 'sig' as const };
  switch (jwk.kty) {
    case 'EC':
      return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, ...base };
    case 'OKP':
      return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, ...base };
    case 'RSA':
      return { kty: jwk.kty, n: jwk.n, e: jwk.e, ...base };
  }
}

function selectActive(store: KeyStoreFile): PublishedKey {
  const active = store.keys.filter((key) => key.state === 'active');
  if (active.length > 1) {
    throw new KeyStoreError(
      'KEYSTORE_CORRUPT',
      `key store has ${active.length} active keys; exactly one may sign`,
    );
  }
  const [key] = active;
  if (key === undefined) {
    throw new KeyStoreError(
      'KEYSTORE_NO_ACTIVE_KEY',
      'key store has no active signing key: generate one and activate it (npm run keys -- generate; activate <kid>)',
    );
  }
  if (!isPublished(key))
    throw new KeyStoreError('KEYSTORE_CORRUPT', `active key ${key.kid} has no private key`);
  return key;
}

export class KeyRing {
  readonly activeKid: string;
  readonly activeAlg: KeyAlg;
  readonly containsDevKeys: boolean;
  readonly #published: readonly PublishedKey[];

  private constructor(published: readonly PublishedKey[], active: PublishedKey) {
    this.#published = published;
    this.activeKid = active.kid;
    this.activeAlg = active.alg;
    this.containsDevKeys = published.some((key) => key.dev === true);
  }

  /** Throws KeyStoreError KEYSTORE_NO_ACTIVE_KEY when no key is active. */
  static fromStore(store: KeyStoreFile): KeyRing {
    const active = selectActive(store);
    // structuredClone: later changes to the caller's store object must not leak into a live ring.
    const published = structuredClone(store.keys.filter(isPublished).sort(byPublishOrder));
    return new KeyRing(published, active);
  }

  signingKey(): { kid: string; alg: KeyAlg; privateJwk: ProviderJwk } {
    const active = this.#published[0]!;
    return { kid: active.kid, alg: active.alg, privateJwk: toProviderJwk(active) };
  }

  /** Private JWKs for node-oidc-provider's `jwks` option: active first, then next, then retiring. */
  providerJwks(): { keys: ProviderJwk[] } {
    return { keys: this.#published.map(toProviderJwk) };
  }

  /** The same keys as providerJwks, public members only: what /jwks serves. */
  publicJwks(): { keys: PublicJwk[] } {
    return { keys: this.#published.map(toPublicJwk) };
  }

  /** True for published kids (next, active, retiring); false for revoked and unknown ones. */
  has(kid: string): boolean {
    return this.#published.some((key) => key.kid === kid);
  }

  /** Non-secret summary, e.g. for metrics and for auditing what a reload changed. */
  describe(): { kid: string; alg: KeyAlg; state: KeyState; dev: boolean }[] {
    return this.#published.map((key) => ({
      kid: key.kid,
      alg: key.alg,
      state: key.state,
      dev: key.dev === true,
    }));
  }
}
