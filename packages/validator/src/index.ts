/**
 * @gatehouse/validator: one token validator for every Gatehouse token kind, over HTTP and Kafka alike.
 * Transport-free by design: no HTTP framework, broker or store is imported here; the deny list is an
 * injected interface and remote keys are fetched with the platform fetch (or an injected one).
 */
export type { DenyListCacheOptions } from './deny-list.ts';
export { cachedDenyList } from './deny-list.ts';
export type { TokenValidationErrorOptions, ValidationCode } from './errors.ts';
export { isTokenValidationError, TokenValidationError, ValidatorUnavailableError } from './errors.ts';
export { JsonDuplicateKeyError, JsonSyntaxError, parseStrictJson, parseStrictJsonObject } from './json.ts';
export type { KeySource, RemoteKeySource, RemoteKeysOptions } from './keys.ts';
export { jwksReadiness, localKeys, MAX_JWKS_BYTES, MAX_JWKS_KEYS, remoteKeys } from './keys.ts';
export type { Principal } from './principal.ts';
export { sha256Base64url } from './principal.ts';
export type { TokenProfile } from './profile.ts';
export type { DenyList, Validator, ValidatorOptions } from './validator.ts';
export { SUPPORTED_ALGORITHMS } from './checks.ts';
export { createValidator, DEFAULT_ALGORITHMS } from './validator.ts';
