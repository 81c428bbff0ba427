import { createHash } from 'node:crypto';

/**
 * A short, stable, non-reversible name for a secret or token, for logs and audit records:
 * enough to correlate two records, useless to replay. Never log the value itself.
 */
export function fingerprint(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 16);
}

/** Audit records name users by a hash of their subject, so the audit stream is not a user directory. */
export function hashSubject(sub: string | undefined): string | undefined {
  return sub === undefined ? undefined : `sub_${fingerprint(`sub:${sub}`)}`;
}
