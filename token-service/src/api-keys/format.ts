/**
 * API key format and hashing. Pure apart from the random source.
 *
 *   gth_test_<32 base62>   issued when NODE_ENV is development or test
 *   gth_live_<32 base62>   issued when NODE_ENV is production
 *
 * 32 base62 characters carry about 190 bits. The key carries no id: the store finds a key by its
 * HMAC (one lookup), so nothing in the key helps an attacker aim at a particular record.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const KEY_PREFIXES = { test: 'gth_test_', live: 'gth_live_' } as const;
export type KeyEnvironment = keyof typeof KEY_PREFIXES;

export const KEY_RANDOM_LENGTH = 32;
/** Characters of the random part shown in listings and logs, to tell keys apart (about 36 bits). */
const DISPLAY_RANDOM_CHARS = 6;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
// 248 = 4 * 62: bytes at or above it are dropped so every character is equally likely.
const UNBIASED_LIMIT = 248;
const KEY_PATTERN = /^gth_(test|live)_[0-9A-Za-z]{32}$/;

/** n base62 characters from crypto.randomBytes, rejection-sampled (no modulo bias). */
export function randomBase62(n: number, random: (size: number) => Buffer = randomBytes): string {
  let out = '';
  while (out.length < n) {
    for (const byte of random(n - out.length + 8)) {
      if (byte >= UNBIASED_LIMIT) continue;
      out += BASE62[byte % 62];
      if (out.length === n) break;
    }
  }
  return out;
}

export function environmentFor(nodeEnv: string): KeyEnvironment {
  return nodeEnv === 'production' ? 'live' : 'test';
}

export function generateApiKey(environment: KeyEnvironment): string {
  return KEY_PREFIXES[environment] + randomBase62(KEY_RANDOM_LENGTH);
}

/** The record id: public, used by the admin API and in the sub of exchanged tokens. */
export function newKeyId(): string {
  return `ak_${randomBase62(16)}`;
}

export interface ParsedKey {
  environment: KeyEnvironment;
  /** Safe to show and log: the type prefix and the first few random characters. */
  displayPrefix: string;
}

/** undefined for anything that is not a well-formed key (checked before any store access). */
export function parseApiKey(value: string): ParsedKey | undefined {
  const match = KEY_PATTERN.exec(value);
  if (!match) return undefined;
  return {
    environment: match[1] === 'live' ? 'live' : 'test',
    displayPrefix: value.slice(0, KEY_PREFIXES.test.length + DISPLAY_RANDOM_CHARS),
  };
}

/** HMAC-SHA256 over the full key with the server secret, base64url. What the store keeps. */
export function hashApiKey(secret: string, key: string): string {
  return createHmac('sha256', secret).update(key).digest('base64url');
}

export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
