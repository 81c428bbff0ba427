// What every CLI command shares: resolved paths and durations, and the locked
// read -> lifecycle function -> atomic write -> audit sequence used by every mutation.
import { auditRecords, openAuditLog } from './audit.ts';
import { acquireStoreLock, CliError, EXIT, parseDuration } from './cli-support.ts';
import { KeyStoreError } from './errors.ts';
import {
  DEFAULT_JWKS_MAX_AGE_SECONDS,
  DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  DEFAULT_REPLAY_WINDOW_SECONDS,
  type KeyTransition,
} from './lifecycle.ts';
import { readKeyStore, writeKeyStore } from './store.ts';
import type { KeyStoreFile } from './types.ts';

export const DEFAULT_STORE_PATH = '.gatehouse/keys/keystore.json';
export const DEFAULT_AUDIT_PATH = '.gatehouse/audit/keys.jsonl';

export const OPTIONS = {
  store: { type: 'string' },
  audit: { type: 'string' },
  alg: { type: 'string' },
  json: { type: 'boolean' },
  force: { type: 'boolean' },
  k8s: { type: 'boolean' },
  namespace: { type: 'string' },
  'jwks-max-age': { type: 'string' },
  'max-token-lifetime': { type: 'string' },
  'replay-window': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type OptionName = keyof typeof OPTIONS;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  cwd: string;
}

export interface Context {
  io: CliIo;
  values: Partial<Record<OptionName, string | boolean>>;
  /** The <kid> argument, '' for commands without one. */
  kid: string;
  storePath: string;
  auditPath: string;
  now: Date;
}

// Flag beats environment beats default.
function duration(context: Context, option: OptionName, envName: string, fallback: number): number {
  const flag = context.values[option];
  if (typeof flag === 'string') return parseDuration(`--${option}`, flag);
  const env = context.io.env[envName];
  return env === undefined || env === '' ? fallback : parseDuration(envName, env);
}

export function jwksMaxAge(context: Context): number {
  return duration(context, 'jwks-max-age', 'GATEHOUSE_JWKS_MAX_AGE', DEFAULT_JWKS_MAX_AGE_SECONDS);
}

export function retention(context: Context): {
  maxTokenLifetimeSeconds: number;
  replayWindowSeconds: number;
} {
  const lifetime = duration(
    context,
    'max-token-lifetime',
    'GATEHOUSE_MAX_TOKEN_LIFETIME',
    DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  );
  const replay = duration(context, 'replay-window', 'GATEHOUSE_REPLAY_WINDOW', DEFAULT_REPLAY_WINDOW_SECONDS);
  return { maxTokenLifetimeSeconds: lifetime, replayWindowSeconds: replay };
}

export async function readExisting(context: Context): Promise<KeyStoreFile> {
  try {
    return await readKeyStore(context.storePath);
  } catch (error) {
    if (!(error instanceof KeyStoreError && error.code === 'KEYSTORE_NOT_FOUND')) throw error;
    throw new KeyStoreError(
      'KEYSTORE_NOT_FOUND',
      `${error.message} (use --store PATH or GATEHOUSE_KEYSTORE, or run \`generate\` to create a new store)`,
      { path: context.storePath },
    );
  }
}

// Only `generate` may start a new store: any other mutation on a missing store means a wrong path.
async function readForMutation(context: Context, createIfMissing: boolean): Promise<KeyStoreFile> {
  if (!createIfMissing) return readExisting(context);
  try {
    return await readKeyStore(context.storePath);
  } catch (error) {
    if (error instanceof KeyStoreError && error.code === 'KEYSTORE_NOT_FOUND')
      return { version: 1, keys: [] };
    throw error;
  }
}

export interface MutationResult {
  store: KeyStoreFile;
  changes: KeyTransition[];
  auditExtra?: Record<string, unknown>;
  /** Prints the outcome; called only once the store is written. */
  report: () => void;
}

/**
 * Lock, read strictly, apply, write atomically, audit. The audit log is opened before anything
 * changes so that an unwritable log refuses the command instead of leaving an unaudited change.
 */
export async function mutate(
  context: Context,
  event: string,
  apply: (store: KeyStoreFile) => Promise<MutationResult> | MutationResult,
  options: { createIfMissing?: boolean } = {},
): Promise<void> {
  const lock = await acquireStoreLock(context.storePath);
  try {
    const before = await readForMutation(context, options.createIfMissing === true);
    const audit = await openAuditLog(context.auditPath);
    try {
      const result = await apply(before);
      if (result.changes.length > 0) await writeKeyStore(context.storePath, result.store);
      const extra = result.auditExtra === undefined ? {} : { extra: result.auditExtra };
      const records = auditRecords(event, result.changes, {
        now: context.now,
        store: context.storePath,
        ...extra,
      });
      // The audit record before any output: output can fail (a closed pipe), the record must not
      // depend on it.
      const auditFailure = await audit.append(records).then(
        () => undefined,
        (error: unknown) => {
          // The store has changed: print the records so the operator can file them by hand.
          context.io.err(records.map((record) => JSON.stringify(record)).join('\n'));
          return new CliError(
            'AUDIT_FAILED',
            `store updated but the audit log ${context.auditPath} could not be written: ${String(error)}`,
            EXIT.AUDIT,
          );
        },
      );
      result.report();
      if (auditFailure !== undefined) throw auditFailure;
    } finally {
      await audit.close();
    }
  } finally {
    await lock.release();
  }
}
