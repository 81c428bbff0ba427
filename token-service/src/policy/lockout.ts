/**
 * LockoutPolicy: after maxAttempts failed logins within the window, refuse further attempts
 * until the window ends, independently per account name and per source IP. Pure: the counts
 * come from an AttemptCounter, the decision is made here.
 *
 * The account key is the submitted username whether or not such an account exists, so a
 * lockout reveals nothing about which usernames are real.
 */
export interface LockoutPolicy {
  maxAttempts: number;
  windowSeconds: number;
}

export type LockoutScope = 'account' | 'ip';

export function lockoutKeys(username: string, ip: string): Record<LockoutScope, string> {
  return { account: `login:account:${username.trim().toLowerCase()}`, ip: `login:ip:${ip}` };
}

/** The first scope whose failures reached the limit, if any. */
export function lockedScope(
  policy: LockoutPolicy,
  failures: Record<LockoutScope, number>,
): LockoutScope | undefined {
  if (failures.account >= policy.maxAttempts) return 'account';
  if (failures.ip >= policy.maxAttempts) return 'ip';
  return undefined;
}
