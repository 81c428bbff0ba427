// Small pieces the CLI needs: its error type, durations and the store lock.

import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { errnoCode, KeyStoreError } from './errors.ts';

/** Exit statuses of the CLI; documented in --help and the README. */
export const EXIT = { OK: 0, REFUSED: 1, USAGE: 2, KEYSTORE: 3, AUDIT: 4, INTERNAL: 70 } as const;

/** A refusal decided by the CLI itself (bad usage, unsafe export), with the exit status to use. */
export class CliError extends Error {
  override name = 'CliError';
  readonly code: 'USAGE' | 'DEV_KEYS_IN_EXPORT' | 'AUDIT_FAILED';
  readonly exitCode: number;

  constructor(code: CliError['code'], message: string, exitCode: number) {
    super(message);
    this.code = code;
    this.exitCode = exitCode;
  }
}

export function usage(message: string): CliError {
  return new CliError('USAGE', message, EXIT.USAGE);
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "600", "600s", "10m", "24h", "7d" -> seconds. */
export function parseDuration(name: string, text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (match === null) {
    throw usage(`${name} must be a duration like 600, 600s, 10m, 24h or 7d; got ${JSON.stringify(text)}`);
  }
  return Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1);
}

/**
 * Serialises CLI mutations on one store: two operators (or a script and an operator) doing
 * read-modify-write at once would silently lose one change. A crash leaves the lock file behind;
 * the message says how to clear it.
 */
export async function acquireStoreLock(storePath: string): Promise<{ release: () => Promise<void> }> {
  const lockPath = `${storePath}.lock`;
  try {
    await mkdir(dirname(storePath), { recursive: true, mode: 0o700 });
    const handle = await open(lockPath, 'wx', 0o600);
    await handle.writeFile(
      JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }),
    );
    await handle.close();
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') {
      const reason = errnoCode(error) ?? String(error);
      throw new KeyStoreError('KEYSTORE_WRITE_FAILED', `cannot lock key store ${storePath} (${reason})`, {
        path: storePath,
        cause: error,
      });
    }
    const holder = await readFile(lockPath, 'utf8').catch(() => 'unknown holder');
    throw new KeyStoreError(
      'KEYSTORE_LOCKED',
      `key store ${storePath} is locked by another gatehouse-keys run (${holder.trim()}); if that process is gone, delete ${lockPath}`,
      { path: storePath },
    );
  }
  return { release: () => unlink(lockPath).catch(() => undefined) };
}
