/**
 * API key facts the gateway can decide without the token service: the format check (a malformed
 * key is refused without a network call) and the cache key (an HMAC of the key under a secret
 * random per process, so neither the key nor a plain hash of it is ever a map key or log field).
 */
import { createHmac, randomBytes } from 'node:crypto';

export const API_KEY_HEADER = 'x-api-key';
/** gth_live_ / gth_test_ + 32 base62 characters (docs/token-service.md, API keys). */
export const API_KEY_FORMAT = /^gth_(live|test)_[A-Za-z0-9]{32}$/;
/** The display prefix the token service logs too: the first 15 characters. */
export const API_KEY_PREFIX_LENGTH = 15;

export type ApiKeyRead = { key: string } | { refusal: 'missing' | 'malformed' | 'repeated' };

export function readApiKey(rawHeaders: string[], value: string | string[] | undefined): ApiKeyRead {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === API_KEY_HEADER) count += 1;
  if (count > 1 || Array.isArray(value)) return { refusal: 'repeated' };
  if (value === undefined || value === '') return { refusal: 'missing' };
  return API_KEY_FORMAT.test(value) ? { key: value } : { refusal: 'malformed' };
}

/** Safe to log: the public display prefix only. */
export function apiKeyPrefix(key: string): string {
  return key.slice(0, API_KEY_PREFIX_LENGTH);
}

export function apiKeyCacheKey(secret: Buffer = randomBytes(32)): (key: string) => string {
  return (key) => createHmac('sha256', secret).update(key).digest('base64url');
}
