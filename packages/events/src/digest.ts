import { createHash } from 'node:crypto';

/** The exact bytes that go on the wire for data (JSON.stringify, UTF-8). */
export function encodeData(data: Record<string, unknown>): Buffer {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new TypeError('event data must be a JSON object');
  }
  return Buffer.from(JSON.stringify(data), 'utf8');
}

/** base64url SHA-256 of bytes (the proof's dig; also ath/rgh over a token's string). */
export function digest(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('base64url');
}
