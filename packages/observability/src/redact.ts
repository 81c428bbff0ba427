import { hash } from 'node:crypto';

/**
 * A short, stable, non-reversible name for a secret or token, for logs and audit records:
 * enough to correlate two records, useless to replay. Never log the value itself.
 */
export function fingerprint(value: string): string {
  // One-shot crypto.hash: no Hash object per call (this runs for every audited request).
  return hash('sha256', value, 'base64url').slice(0, 16);
}

/** Audit records name users by a hash of their subject, so the audit stream is not a user directory. */
export function hashSubject(sub: string | undefined): string | undefined {
  return sub === undefined ? undefined : `sub_${fingerprint(`sub:${sub}`)}`;
}
