#!/usr/bin/env node
/**
 * Prints the Argon2id hash of a password read from standard input, for ACCOUNTS_FILE entries:
 *   printf '%s' "$PASSWORD" | npm run -s hash-password
 * The password is read from stdin, never from arguments (which other users can see in ps).
 */
import { hashPassword, PasswordPolicyError } from '../accounts.ts';

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const password = Buffer.concat(chunks)
  .toString('utf8')
  .replace(/\r?\n$/, '');
try {
  process.stdout.write(`${await hashPassword(password)}\n`);
} catch (error) {
  if (!(error instanceof PasswordPolicyError)) throw error;
  process.stderr.write(`hash-password: ${error.message}\n`);
  process.exit(2);
}
