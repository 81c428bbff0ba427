/**
 * Accounts: users who can log in, with Argon2id password hashes (@node-rs/argon2). Demo users
 * exist only in development; production reads ACCOUNTS_FILE (hashes made with `npm run
 * hash-password -w @gatehouse/token-service`).
 */
import { readFile } from 'node:fs/promises';
import { hash, type Options, verify } from '@node-rs/argon2';
import { z } from 'zod';

export const MIN_PASSWORD_LENGTH = 12;

export interface Account {
  id: string;
  username: string;
  org_id: string;
  roles: string[];
  subscription_level: 'basic' | 'premium';
  /** Marks the built-in demo users, which production refuses. */
  demo?: boolean;
}

interface StoredAccount extends Account {
  passwordHash: string;
}

export class PasswordPolicyError extends Error {
  readonly code = 'PASSWORD_TOO_SHORT';
  override readonly name = 'PasswordPolicyError';
}

// OWASP's Argon2id baseline (19 MiB, t=2, p=1). 2 is Algorithm.Argon2id: a const enum, which
// verbatimModuleSyntax cannot import.
const ARGON2: Options = {
  algorithm: 2 as Options['algorithm'],
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
};

export async function hashPassword(password: string): Promise<string> {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new PasswordPolicyError(`passwords must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  return hash(password, ARGON2);
}

const accountFileSchema = z.array(
  z.strictObject({
    id: z.string().min(1),
    username: z.string().min(1),
    passwordHash: z.string().startsWith('$argon2id$', 'must be an Argon2id hash'),
    org_id: z.string().min(1),
    roles: z.array(z.string()).default([]),
    subscription_level: z.enum(['basic', 'premium']).default('basic'),
  }),
);

export class AccountStore {
  readonly #byUsername = new Map<string, StoredAccount>();
  readonly #byId = new Map<string, StoredAccount>();
  /** Verified against when the username is unknown, so both paths cost one Argon2 verification. */
  #decoyHash = '';

  static async create(
    accounts: Array<(Account & { password: string }) | StoredAccount>,
  ): Promise<AccountStore> {
    const store = new AccountStore();
    store.#decoyHash = await hash('decoy-password-never-matches', ARGON2);
    for (const account of accounts) {
      const passwordHash =
        'password' in account ? await hashPassword(account.password) : account.passwordHash;
      const { password: _omit, ...rest } = account as Account & { password?: string; passwordHash?: string };
      store.#add({ ...rest, passwordHash });
    }
    return store;
  }

  static async fromFile(path: string): Promise<AccountStore> {
    const parsed = accountFileSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    if (!parsed.success) {
      throw new Error(
        `ACCOUNTS_FILE: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    return AccountStore.create(parsed.data);
  }

  #add(account: StoredAccount): void {
    const key = account.username.toLowerCase();
    if (this.#byUsername.has(key) || this.#byId.has(account.id)) {
      throw new Error(`duplicate account ${account.username}`);
    }
    this.#byUsername.set(key, account);
    this.#byId.set(account.id, account);
  }

  get hasDemoAccounts(): boolean {
    return [...this.#byId.values()].some((a) => a.demo);
  }

  findById(id: string): Account | undefined {
    return publicPart(this.#byId.get(id));
  }

  /** The account when the password matches; undefined otherwise, at the same cost either way. */
  async authenticate(username: string, password: string): Promise<Account | undefined> {
    const account = this.#byUsername.get(username.trim().toLowerCase());
    const ok = await verify(account?.passwordHash ?? this.#decoyHash, password).catch(() => false);
    return ok && account ? publicPart(account) : undefined;
  }
}

function publicPart(account: StoredAccount | undefined): Account | undefined {
  if (!account) return undefined;
  const { passwordHash: _secret, ...rest } = account;
  return rest;
}

export function demoAccounts(password: string): Array<Account & { password: string }> {
  const demo = (
    id: string,
    org_id: string,
    subscription_level: Account['subscription_level'],
    roles: string[],
  ) => ({
    id,
    username: id,
    org_id,
    subscription_level,
    roles,
    password,
    demo: true,
  });
  return [
    demo('alice', 'acme', 'premium', []),
    demo('bob', 'acme', 'basic', []),
    demo('carol', 'globex', 'premium', []),
    demo('admin', 'acme', 'premium', ['admin']),
  ];
}
