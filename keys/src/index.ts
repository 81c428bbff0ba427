// Public API of @gatehouse/keys, imported by the token service.
export {
  KeyLifecycleError,
  type KeyLifecycleErrorCode,
  KeyStoreError,
  type KeyStoreErrorCode,
} from './errors.ts';
export { isKeyAlg } from './keygen.ts';
export { KeyRing } from './keyring.ts';
export {
  type ActivateOptions,
  activatableAt,
  activateKey,
  DEFAULT_JWKS_MAX_AGE_SECONDS,
  DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  DEFAULT_REPLAY_WINDOW_SECONDS,
  emergencyRevoke,
  generateKey,
  type KeyTransition,
  pruneKeys,
  type RetentionOptions,
  retireKey,
} from './lifecycle.ts';
export { checkKeyStore, type KeyStoreCheck } from './schema.ts';
export { ensureDevKeyStore, readKeyStore, serializeKeyStore, writeKeyStore } from './store.ts';
export {
  type EcPrivateJwk,
  KEY_ALGS,
  KEY_STATES,
  type KeyAlg,
  type KeyState,
  type KeyStoreFile,
  type OkpPrivateJwk,
  type PrivateJwk,
  type ProviderJwk,
  type PublicJwk,
  type RsaPrivateJwk,
  type StoredKey,
} from './types.ts';
