/**
 * Strict handling of a compact JWS before and after jose verifies it: the same rules the shared
 * validator applies to tokens (duplicate JSON members refused, no key-bearing headers, no crit),
 * for the one JWS that is not a validator token, the event proof.
 */
import { JsonDuplicateKeyError, parseStrictJsonObject, SUPPORTED_ALGORITHMS } from '@gatehouse/validator';

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Signature algorithms an event proof may use: the validator's own list, asymmetric only (HS* would
 * let any consumer forge a proof).
 */
export const ASYMMETRIC_ALGORITHMS: ReadonlySet<string> = SUPPORTED_ALGORITHMS;

/** Header parameters that would let a JWS name its own verification key (RFC 8725 3.10). */
export const KEY_BEARING_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;

export class StrictJsonError extends Error {
  readonly duplicate: boolean;
  constructor(message: string, duplicate: boolean) {
    super(message);
    this.name = 'StrictJsonError';
    this.duplicate = duplicate;
  }
}

/** Three non-empty base64url segments, or undefined. */
export function splitCompact(jws: string): [string, string, string] | undefined {
  const parts = jws.split('.');
  if (parts.length !== 3 || !parts.every((part) => SEGMENT.test(part) && part.length % 4 !== 1)) {
    return undefined;
  }
  return parts as [string, string, string];
}

/** Strict UTF-8 then strict JSON object; throws StrictJsonError. */
export function parseJsonBytes(bytes: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new StrictJsonError('not UTF-8', false);
  }
  try {
    return parseStrictJsonObject(text);
  } catch (error) {
    if (error instanceof JsonDuplicateKeyError) throw new StrictJsonError('duplicate member name', true);
    throw new StrictJsonError('not a JSON object', false);
  }
}

export function decodeSegment(segment: string): Record<string, unknown> {
  return parseJsonBytes(Buffer.from(segment, 'base64url'));
}

/** 'application/event-proof+JWT' and 'event-proof+jwt' are the same media type (RFC 7515 4.1.9). */
export function normalizeMediaType(value: string): string {
  const lower = value.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}
