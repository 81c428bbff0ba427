/**
 * Sealed cookie values: AES-256-GCM with a key derived (HKDF-SHA256) from the configured cookie
 * secret. The cookie's purpose (session, transaction) is bound in as additional authenticated
 * data, so a value sealed for one cookie cannot be replayed as the other. Pure: no I/O, no clock.
 *
 * Format: base64url( version(1) | iv(12) | ciphertext | tag(16) ).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const MIN_SECRET_LENGTH = 32;

export interface CookieKey {
  readonly key: Buffer;
}

export function deriveCookieKey(secret: string): CookieKey {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`the BFF cookie secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  // A fixed salt and info: the secret is the only entropy; info names this use so the same
  // secret used elsewhere would still yield an unrelated key.
  const key = Buffer.from(hkdfSync('sha256', secret, 'gatehouse-bff', 'gatehouse bff cookie aes-256-gcm v1', 32));
  return { key };
}

export function seal(key: CookieKey, purpose: string, value: unknown): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(Buffer.from(`${VERSION}:${purpose}`));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** The value sealed for `purpose`, or undefined when the cookie is malformed, tampered or foreign. */
export function unseal(key: CookieKey, purpose: string, sealed: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(sealed)) return undefined;
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < 1 + IV_BYTES + TAG_BYTES + 1 || raw[0] !== VERSION) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, raw.subarray(1, 1 + IV_BYTES));
    decipher.setAAD(Buffer.from(`${VERSION}:${purpose}`));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(raw.subarray(1 + IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
